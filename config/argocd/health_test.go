package argocd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := json.Unmarshal(js, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestHealthCases runs health.lua on every case of health_test.yaml, the file Argo CD's own
// resource_customizations tests read.
func TestHealthCases(t *testing.T) {
	var cases struct {
		Tests []struct {
			HealthStatus Health `json:"healthStatus"`
			InputPath    string `json:"inputPath"`
		} `json:"tests"`
	}
	readYAML(t, "health_test.yaml", &cases)
	if len(cases.Tests) == 0 {
		t.Fatal("no cases")
	}
	seen := map[string]bool{}
	for _, c := range cases.Tests {
		t.Run(strings.TrimSuffix(filepath.Base(c.InputPath), ".yaml"), func(t *testing.T) {
			var obj map[string]any
			readYAML(t, c.InputPath, &obj)
			got, err := Evaluate(Script, obj)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.HealthStatus {
				t.Errorf("health = %+v, want %+v", got, c.HealthStatus)
			}
			seen[obj["kind"].(string)+"/"+got.Status] = true
		})
	}
	for _, want := range []string{"LTVComputation/Healthy", "LTVComputation/Progressing", "LTVComputation/Degraded", "LTVComputation/Suspended",
		"CustomerSegment/Healthy", "CustomerSegment/Degraded", "CustomerSegment/Progressing"} {
		if !seen[want] {
			t.Errorf("no case covers %s", want)
		}
	}
	// Every file in testdata is a case.
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) != len(cases.Tests) {
		t.Errorf("%d files in testdata, %d cases", len(files), len(cases.Tests))
	}
}

// The argocd-cm patch registers health.lua verbatim for both kinds.
func TestConfigMapPatchCarriesTheScript(t *testing.T) {
	var cm struct {
		Metadata struct{ Name string }
		Data     map[string]string
	}
	readYAML(t, "argocd-cm-patch.yaml", &cm)
	if cm.Metadata.Name != "argocd-cm" {
		t.Errorf("patch targets %q, want argocd-cm", cm.Metadata.Name)
	}
	for _, kind := range []string{"LTVComputation", "CustomerSegment"} {
		key := "resource.customizations.health.analytics.ltv-operator.io_" + kind
		if got, ok := cm.Data[key]; !ok {
			t.Errorf("no %s", key)
		} else if got != Script {
			t.Errorf("%s differs from health.lua: regenerate argocd-cm-patch.yaml", key)
		}
	}
	if len(cm.Data) != 2 {
		t.Errorf("patch has %d keys, want 2", len(cm.Data))
	}
}

// The script never fails on odd objects: missing fields, empty conditions, numbers as floats.
func TestHealthOddObjects(t *testing.T) {
	// Argo CD always passes metadata; anything else may be missing.
	for name, obj := range map[string]map[string]any{
		"only metadata":        {"metadata": map[string]any{}},
		"empty conditions":     {"kind": "LTVComputation", "metadata": map[string]any{"generation": 1.0}, "status": map[string]any{"observedGeneration": 1.0, "conditions": []any{}}},
		"condition no message": {"kind": "CustomerSegment", "metadata": map[string]any{}, "status": map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}},
	} {
		h, err := Evaluate(Script, obj)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if h.Status != "Progressing" && h.Status != "Healthy" {
			t.Errorf("%s: %+v", name, h)
		}
	}
}
