package main

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cdnowSpec = `apiVersion: analytics.ltv-operator.io/v1alpha1
kind: LTVComputation
metadata:
  name: cdnow
spec:
  source:
    %s
  observation: {end: "1997-09-30", timeUnit: Week}
  model: {type: BGNBD, spend: GammaGamma, horizonMonths: 12}
`

func writeSpec(t *testing.T, source string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ltv.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(cdnowSpec, "%s", source, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// -o json prints status.result's field names with numbers, and the literature's parameter names.
func TestComputeJSONOnCDNOW(t *testing.T) {
	spec := writeSpec(t, "configMap: {name: unused, key: unused}")
	var out bytes.Buffer
	if err := compute([]string{"-f", spec, "--data", "../../testdata/cdnow_sample_transactions.csv", "-o", "json"}, &out); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Customers  int64   `json:"customers"`
		AverageLTV float64 `json:"averageLTV"`
		Model      struct {
			Parameters    map[string]float64 `json:"parameters"`
			LogLikelihood float64            `json:"logLikelihood"`
		} `json:"model"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if res.Customers != 2357 {
		t.Errorf("customers = %d, want 2357", res.Customers)
	}
	for name, want := range map[string]float64{"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426} {
		if got := res.Model.Parameters[name]; math.Abs(got-want) > 0.0005 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if math.Abs(res.Model.LogLikelihood+9582.4) > 0.05 {
		t.Errorf("logLikelihood = %v, want -9582.4", res.Model.LogLikelihood)
	}
}

// The samples run as the operator would run them, the ConfigMap and segments read from the files.
func TestComputeSamplesTable(t *testing.T) {
	var out bytes.Buffer
	if err := compute([]string{"-f", "../../config/samples"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Customers              400", "champions", "By channel", "LTV:CAC"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestComputeHTTPSource(t *testing.T) {
	data, err := os.ReadFile("../../testdata/cdnow_sample_transactions.csv")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(data) }))
	defer srv.Close()
	spec := writeSpec(t, "http: {url: \""+srv.URL+"/tx.csv\"}")
	var out bytes.Buffer
	if err := compute([]string{"-f", spec, "-o", "json"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"customers": 2357`) {
		t.Errorf("unexpected output: %s", out.String())
	}
}

func TestComputeErrorsNameTheProblem(t *testing.T) {
	spec := writeSpec(t, "configMap: {name: orders, key: orders.csv}")
	err := compute([]string{"-f", spec}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `ConfigMap "orders"`) {
		t.Errorf("err = %v, want it to name the missing ConfigMap", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("customer_id,date,amount\nc1,1997-01-01,abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = compute([]string{"-f", spec, "--data", bad}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "abc") {
		t.Errorf("err = %v, want line 2 and the value", err)
	}
}
