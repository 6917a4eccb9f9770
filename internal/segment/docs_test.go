package segment

import (
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDocsExamples compiles every ```cel block and every CustomerSegment in a ```yaml block of
// docs/cel.md, and evaluates them over generated customers (some without attributes): the
// examples must compile, and must not fail at run time.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cel.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```(cel|yaml)\n(.*?)```").FindAllSubmatch(doc, -1)
	cs := genCustomers(5000, 3)
	for i := 0; i < len(cs); i += 7 {
		cs[i].Attributes = nil
	}
	cs = append(cs, *sample())
	Percentiles(cs)

	var defs []Definition
	for _, b := range blocks {
		switch string(b[1]) {
		case "cel":
			f, err := Compile(string(b[2]))
			if err != nil {
				t.Errorf("docs example does not compile: %v", err)
				continue
			}
			defs = append(defs, Definition{Name: string(b[2]), Filter: f})
		case "yaml":
			dec := yaml.NewDecoder(bytes.NewReader(b[2]))
			for {
				var obj struct {
					Kind     string
					Metadata struct{ Name string }
					Spec     struct {
						Filter    string
						ValueTier *struct {
							TopPercent        *int32  `yaml:"topPercent"`
							MinPredictedValue *string `yaml:"minPredictedValue"`
							MaxPredictedValue *string `yaml:"maxPredictedValue"`
						} `yaml:"valueTier"`
					}
				}
				if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatalf("docs YAML: %v", err)
				}
				if obj.Kind != "CustomerSegment" {
					continue
				}
				d := Definition{Name: obj.Metadata.Name}
				if obj.Spec.Filter != "" {
					if d.Filter, err = Compile(obj.Spec.Filter); err != nil {
						t.Errorf("segment %s: %v", d.Name, err)
						continue
					}
				}
				if vt := obj.Spec.ValueTier; vt != nil {
					d.Tier = &ValueTier{}
					if vt.TopPercent != nil {
						d.Tier.TopPercent = ptr(float64(*vt.TopPercent))
					}
					d.Tier.MinPredictedValue = parseDecimal(t, vt.MinPredictedValue)
					d.Tier.MaxPredictedValue = parseDecimal(t, vt.MaxPredictedValue)
				}
				defs = append(defs, d)
			}
		}
	}
	if len(defs) < 20 {
		t.Fatalf("found %d examples in docs/cel.md; the extraction is broken", len(defs))
	}
	members, err := Assign(defs, cs, testEnd)
	if err != nil {
		t.Fatalf("docs examples fail at run time: %v", err)
	}
	for d, m := range members {
		t.Logf("%5d customers: %s", len(m), strings.ReplaceAll(defs[d].Name, "\n", " "))
	}
}

func parseDecimal(t *testing.T, s *string) *float64 {
	if s == nil {
		return nil
	}
	v, err := strconv.ParseFloat(*s, 64)
	if err != nil {
		t.Fatalf("docs YAML: %v", err)
	}
	return &v
}
