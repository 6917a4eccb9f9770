package version

import "testing"

func TestStampedWins(t *testing.T) {
	defer func(v, r string) { Version, Revision = v, r }(Version, Revision)
	Version, Revision = "v1.2.3", "0123456789abcdef"
	if got, want := String(), "v1.2.3 (revision 0123456789abcdef)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestUnstampedHasDefaults(t *testing.T) {
	i := Get()
	if i.Version == "" || i.Revision == "" {
		t.Errorf("Get() = %+v, want non-empty fields", i)
	}
}
