package apivalidation

import (
	"context"
	"strings"
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/testutil/invalidspecs"
)

func newValidator(t *testing.T) *Validator {
	t.Helper()
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every spec the API server refuses in TestInvalidSpecsAreRefused is refused here, naming the
// same fields; the base spec they start from is accepted.
func TestRefusesTheAPIServersInvalidSpecs(t *testing.T) {
	v := newValidator(t)
	cases, err := invalidspecs.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 12 {
		t.Fatalf("only %d cases in %s", len(cases), invalidspecs.Path())
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			res, err := v.Validate(context.Background(), c.Object("bad", ""))
			if err != nil {
				t.Fatal(err)
			}
			if res.Valid() {
				t.Fatalf("accepted %s", c.Name)
			}
			var fields []string
			for _, p := range res.Problems() {
				fields = append(fields, p.Field)
			}
			for _, want := range c.Paths {
				if !contains(fields, want) {
					t.Errorf("no problem names %s; problems: %v", want, res.Problems())
				}
			}
			msg := res.Err().Error()
			for _, w := range c.Want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not mention %q", msg, w)
				}
			}
		})
	}
	base, err := invalidspecs.Base()
	if err != nil {
		t.Fatal(err)
	}
	ok := (&invalidspecs.Case{Spec: base}).Object("valid", "")
	res, err := v.Validate(context.Background(), ok)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Valid() {
		t.Fatalf("the base spec was refused: %v", res.Err())
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
