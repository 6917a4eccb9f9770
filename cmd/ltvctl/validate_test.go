package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ltv-operator/ltv-operator/internal/testutil/invalidspecs"
)

// ltvctl refuses every spec the API server refuses in controllers' TestInvalidSpecsAreRefused
// (the same table, testdata/invalid-specs.yaml), naming the same field paths, with the line of
// each field; compute refuses to run them.
func TestValidateRefusesWhatTheAPIServerRefuses(t *testing.T) {
	cases, err := invalidspecs.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			raw, err := yaml.Marshal(c.Object("bad", ""))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			if code := run([]string{"validate", "-f", path}, &out, &errOut); code != 1 {
				t.Fatalf("exit code %d, want 1; output:\n%s%s", code, out.String(), errOut.String())
			}
			for _, p := range c.Paths {
				// "  FILE:LINE: spec.x: ..." or "  FILE:LINE: unknown field "spec.x""
				if !strings.Contains(out.String(), ": "+p+": ") && !strings.Contains(out.String(), `unknown field "`+p+`"`) {
					t.Errorf("the output does not name %s:\n%s", p, out.String())
				}
			}
			for _, w := range c.Want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("the output does not say %q:\n%s", w, out.String())
				}
			}
			// every problem line carries the line of its field in the file
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n")[1:] {
				rest, ok := strings.CutPrefix(strings.TrimSpace(l), path+":")
				if !ok {
					t.Errorf("problem line without the file: %q", l)
					continue
				}
				n, _, _ := strings.Cut(rest, ":")
				if line, err := strconv.Atoi(n); err != nil || line < 1 || line > strings.Count(string(raw), "\n") {
					t.Errorf("problem line %q: line %q is not a line of the file", l, n)
				}
			}
			err = compute([]string{"-f", path, "--data", "../../testdata/cdnow_sample_transactions.csv"}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), "would refuse") {
				t.Errorf("compute ran a refused spec: %v", err)
			}
		})
	}
}

func TestValidateAcceptsTheSamples(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"validate", "-f", "../../config/samples"}, &out, &errOut); code != 0 {
		t.Fatalf("exit code %d:\n%s%s", code, out.String(), errOut.String())
	}
	if got := strings.Count(out.String(), " is valid\n"); got != 8 {
		t.Errorf("%d objects valid, want the 8 samples (1 LTVComputation, 7 CustomerSegments):\n%s", got, out.String())
	}
}

// A problem's line is its field's line, in a file of several documents.
func TestValidateNamesTheLine(t *testing.T) {
	doc := `# segments and a computation
apiVersion: analytics.ltv-operator.io/v1alpha1
kind: CustomerSegment
metadata: {name: ok}
spec: {filter: "customer.frequency > 2"}
---
apiVersion: analytics.ltv-operator.io/v1alpha1
kind: LTVComputation
metadata:
  name: shop
spec:
  source:
    configMap: {name: o, key: o.csv}
  breakdownBy:
  - channel
  economics:
    grossMargin: "2"
    margin: "0.3"
`
	path := filepath.Join(t.TempDir(), "shop.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := run([]string{"validate", "-f", path}, &out, &bytes.Buffer{}); code != 1 {
		t.Fatalf("exit code %d:\n%s", code, out.String())
	}
	for _, want := range []string{
		path + ":2: CustomerSegment ok is valid",
		path + ":7: LTVComputation shop is refused:",
		path + ":17: spec.economics.grossMargin: Invalid value: \"2\": grossMargin must be between 0 and 1",
		path + `:18: unknown field "spec.economics.margin"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"validate", "-h"}, {"compute", "--help"}, {"report", "-h"}, {"show", "-h"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 0 {
			t.Errorf("ltvctl %s: exit code %d: %s", strings.Join(args, " "), code, errOut.String())
		}
	}
	var out bytes.Buffer
	run([]string{"--help"}, &out, &bytes.Buffer{})
	for _, cmd := range []string{"ltvctl validate", "ltvctl compute", "ltvctl report", "ltvctl show", "ltvctl version"} {
		if !strings.Contains(out.String(), cmd) {
			t.Errorf("--help does not describe %s", cmd)
		}
	}
	if code := run([]string{"nonsense"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
		t.Errorf("unknown command: exit code %d, want 2", code)
	}
}
