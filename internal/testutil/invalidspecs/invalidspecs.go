// Package invalidspecs reads testdata/invalid-specs.yaml: the LTVComputation specs the API server
// refuses, shared by the envtest test against a real kube-apiserver and by ltvctl's tests.
package invalidspecs

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"sigs.k8s.io/yaml"
)

// Case is one refused spec.
type Case struct {
	Name string `json:"name"`
	// Spec is the base spec with the case's merge patch applied.
	Spec map[string]any `json:"-"`
	// Patch is a JSON merge patch (RFC 7386) of the base spec.
	Patch map[string]any `json:"patch"`
	// Paths are the field paths the refusal names.
	Paths []string `json:"paths"`
	// Want are further fragments of the message.
	Want []string `json:"want"`
}

type file struct {
	Base  map[string]any `json:"base"`
	Cases []Case         `json:"cases"`
}

// Path is the table's location.
func Path() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..", "..", "testdata", "invalid-specs.yaml")
}

// Load reads the table.
func Load() ([]Case, error) {
	raw, err := os.ReadFile(Path())
	if err != nil {
		return nil, err
	}
	var f file
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", Path(), err)
	}
	for i := range f.Cases {
		c := &f.Cases[i]
		if c.Name == "" || len(c.Paths) == 0 {
			return nil, fmt.Errorf("%s: case %d needs a name and paths", Path(), i+1)
		}
		c.Spec = MergePatch(Copy(f.Base), c.Patch)
	}
	return f.Cases, nil
}

// Object is an LTVComputation with the case's spec, as a document ltvctl or the API server reads.
func (c *Case) Object(name, namespace string) map[string]any {
	meta := map[string]any{"name": name}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	return map[string]any{
		"apiVersion": "analytics.ltv-operator.io/v1alpha1",
		"kind":       "LTVComputation",
		"metadata":   meta,
		"spec":       Copy(c.Spec),
	}
}

// Base returns the base spec (accepted by the API server).
func Base() (map[string]any, error) {
	raw, err := os.ReadFile(Path())
	if err != nil {
		return nil, err
	}
	var f file
	if err := yaml.Unmarshal(raw, &f); err != nil {
		return nil, err
	}
	return f.Base, nil
}

// MergePatch applies an RFC 7386 merge patch to target and returns it.
func MergePatch(target, patch map[string]any) map[string]any {
	if target == nil {
		target = map[string]any{}
	}
	for k, pv := range patch {
		if pv == nil {
			delete(target, k)
			continue
		}
		if pm, ok := pv.(map[string]any); ok {
			tm, _ := target[k].(map[string]any)
			target[k] = MergePatch(tm, pm)
			continue
		}
		target[k] = pv
	}
	return target
}

// Copy deep-copies a decoded JSON value.
func Copy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return Copy(t)
	case []any:
		out := make([]any, len(t))
		for i := range t {
			out[i] = copyValue(t[i])
		}
		return out
	}
	return v
}
