// Command apidocs renders the CRDs' OpenAPI schemas (generated from the API types' doc comments
// and markers) into docs/api.md, so the reference cannot drift from what `kubectl explain` shows.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: apidocs CRD_DIR OUTPUT.md")
		os.Exit(2)
	}
	files, _ := filepath.Glob(filepath.Join(os.Args[1], "*.yaml"))
	sort.Strings(files)
	var b strings.Builder
	b.WriteString("# API reference\n\nGenerated from the CRDs by `make docs` (hack/apidocs); do not edit. ")
	b.WriteString("Group `analytics.ltv-operator.io`, version `v1alpha1`. The same text is available with `kubectl explain`.\n")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			fail(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			fail(err)
		}
		for _, v := range crd.Spec.Versions {
			s := v.Schema.OpenAPIV3Schema
			fmt.Fprintf(&b, "\n## %s (short names: %s)\n\n%s\n", crd.Spec.Names.Kind, strings.Join(crd.Spec.Names.ShortNames, ", "), s.Description)
			for _, top := range []string{"spec", "status"} {
				prop, ok := s.Properties[top]
				if !ok {
					continue
				}
				fmt.Fprintf(&b, "\n### %s\n\n| field | type | description |\n|---|---|---|\n", top)
				walk(&b, top, prop, requiredSet(s.Required)[top])
			}
		}
	}
	if err := os.WriteFile(os.Args[2], []byte(b.String()), 0o644); err != nil {
		fail(err)
	}
}

func requiredSet(names []string) map[string]bool {
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

func walk(b *strings.Builder, path string, s apiextensionsv1.JSONSchemaProps, required bool) {
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	req := requiredSet(s.Required)
	for _, n := range names {
		p := s.Properties[n]
		full := path + "." + n
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", full, typeOf(p, req[n]), cell(describe(p)))
		if p.Type == "object" && len(p.Properties) > 0 && !strings.HasSuffix(full, "metadata") {
			walk(b, full, p, req[n])
		}
		if p.Type == "array" && p.Items != nil && p.Items.Schema != nil && len(p.Items.Schema.Properties) > 0 && n != "conditions" {
			walk(b, full+"[]", *p.Items.Schema, false)
		}
	}
}

func typeOf(p apiextensionsv1.JSONSchemaProps, required bool) string {
	t := p.Type
	if t == "array" && p.Items != nil && p.Items.Schema != nil {
		t = "[]" + p.Items.Schema.Type
	}
	if t == "object" && p.AdditionalProperties != nil && p.AdditionalProperties.Schema != nil {
		t = "map[string]" + p.AdditionalProperties.Schema.Type
	}
	if required {
		t += ", required"
	}
	return t
}

func describe(p apiextensionsv1.JSONSchemaProps) string {
	d := p.Description
	var extra []string
	if len(p.Enum) > 0 {
		var vals []string
		for _, e := range p.Enum {
			vals = append(vals, strings.Trim(string(e.Raw), `"`))
		}
		extra = append(extra, "One of: "+strings.Join(vals, ", ")+".")
	}
	if p.Default != nil {
		extra = append(extra, "Default: `"+string(p.Default.Raw)+"`.")
	}
	if p.Pattern != "" {
		extra = append(extra, "Pattern: `"+p.Pattern+"`.")
	}
	if p.Minimum != nil || p.Maximum != nil {
		r := "Range: "
		if p.Minimum != nil {
			r += fmt.Sprint(*p.Minimum)
		}
		r += ".."
		if p.Maximum != nil {
			r += fmt.Sprint(*p.Maximum)
		}
		extra = append(extra, r+".")
	}
	for _, v := range p.XValidations {
		extra = append(extra, "Rule: "+v.Message+".")
	}
	if len(extra) > 0 {
		d += " " + strings.Join(extra, " ")
	}
	return d
}

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", "\\|")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "apidocs:", err)
	os.Exit(1)
}
