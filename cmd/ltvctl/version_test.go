package main

import (
	"bytes"
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/version"
)

func TestVersionPrintsStampedVersion(t *testing.T) {
	defer func(v, r string) { version.Version, version.Revision = v, r }(version.Version, version.Revision)
	version.Version, version.Revision = "v0.1.0", "0123456789abcdef0123456789abcdef01234567"
	var out bytes.Buffer
	if err := printVersion(nil, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "ltvctl v0.1.0 (revision 0123456789abcdef0123456789abcdef01234567)\n"; got != want {
		t.Errorf("ltvctl version printed %q, want %q", got, want)
	}
	if err := printVersion([]string{"extra"}, &out); err == nil {
		t.Error("ltvctl version extra: no error")
	}
}
