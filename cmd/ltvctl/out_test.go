package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/ltv-operator/ltv-operator/internal/report"
	reporthtml "github.com/ltv-operator/ltv-operator/internal/report/html"
)

// --data reads Parquet: the CDNOW sample as Parquet gives the result of the CSV, but for the digest.
func TestComputeParquetData(t *testing.T) {
	type row struct {
		CustomerID string  `parquet:"customer_id"`
		Date       string  `parquet:"date"`
		Amount     float64 `parquet:"amount"`
	}
	f, err := os.Open("../../testdata/cdnow_sample_transactions.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []row
	for _, r := range recs[1:] {
		a, err := strconv.ParseFloat(r[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row{r[0], r[1], a})
	}
	pq := filepath.Join(t.TempDir(), "orders.bin") // no .parquet: recognised by its magic bytes
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pq, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := writeSpec(t, "configMap: {name: unused, key: unused}")
	results := map[string]report.Result{}
	for name, data := range map[string]string{"csv": "../../testdata/cdnow_sample_transactions.csv", "parquet": pq} {
		var out bytes.Buffer
		if err := compute([]string{"-f", spec, "--data", data, "-o", "json"}, &out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var res report.Result
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		results[name] = res
	}
	c, p := results["csv"], results["parquet"]
	if p.Customers != 2357 || p.Transactions != c.Transactions || p.Revenue != c.Revenue || p.AverageLTV != c.AverageLTV {
		t.Errorf("parquet: customers %d, transactions %d, revenue %v, average LTV %v; csv: %d, %d, %v, %v",
			p.Customers, p.Transactions, p.Revenue, p.AverageLTV, c.Customers, c.Transactions, c.Revenue, c.AverageLTV)
	}
	if p.DataDigest == c.DataDigest || !strings.HasPrefix(p.DataDigest, "sha256:") {
		t.Errorf("digests: parquet %s, csv %s", p.DataDigest, c.DataDigest)
	}
}

// --out writes what the operator puts into the results ConfigMap, plus every customer.
func TestComputeOut(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := compute([]string{"-f", "../../config/samples", "--out", dir, "-o", "json"}, &out); err != nil {
		t.Fatal(err)
	}
	var res report.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	want, err := report.Files(&res)
	if err != nil {
		t.Fatal(err)
	}
	want[CustomersFile] = nil
	want[reporthtml.File] = nil
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got, wantNames []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	for name := range want {
		wantNames = append(wantNames, name)
	}
	sort.Strings(wantNames)
	if strings.Join(got, " ") != strings.Join(wantNames, " ") {
		t.Errorf("files %v, want %v", got, wantNames)
	}
	page, err := os.ReadFile(filepath.Join(dir, reporthtml.File))
	if err != nil || !bytes.Contains(page, []byte(`id="ltv-by-channel"`)) || !bytes.Contains(page, []byte("shop-ltv")) {
		t.Errorf("report.html lacks the channel chart or the title (err %v)", err)
	}
	for _, name := range []string{report.SegmentsFile, report.TopCustomersFile, report.BreakdownFile("channel")} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want[name]) {
			t.Errorf("%s differs from the ConfigMap's rendering", name)
		}
	}
	f, err := os.Open(filepath.Join(dir, CustomersFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != int(res.Customers)+1 {
		t.Fatalf("%s has %d rows, want a header and %d customers", CustomersFile, len(recs), res.Customers)
	}
	top, _ := os.ReadFile(filepath.Join(dir, report.TopCustomersFile))
	topHeader, _, _ := strings.Cut(string(top), "\n")
	if strings.Join(recs[0], ",") != topHeader {
		t.Errorf("%s header %v, want top-customers.csv's %s", CustomersFile, recs[0], topHeader)
	}
	// the sum of every customer's predicted value is the total LTV (to the cent per customer)
	total := 0.0
	for _, r := range recs[1:] {
		v, err := strconv.ParseFloat(r[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		total += v
	}
	if d := total - res.TotalLTV; d > 0.005*float64(res.Customers) || d < -0.005*float64(res.Customers) {
		t.Errorf("sum of predicted_value %.2f, total LTV %.2f", total, res.TotalLTV)
	}
}

// ltvctl report draws the same page from the spec as from the summary.json the operator
// publishes: summary.json carries everything the page shows.
func TestReportFromSpecAndFromSummary(t *testing.T) {
	dir := t.TempDir()
	if err := compute([]string{"-f", "../../config/samples", "--out", dir}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	fromSummary := filepath.Join(dir, "from-summary.html")
	var out bytes.Buffer
	if code := run([]string{"report", "--summary", filepath.Join(dir, report.SummaryFile), "--title", "shop-ltv", "--html", fromSummary}, &out, &out); code != 0 {
		t.Fatalf("exit code %d: %s", code, out.String())
	}
	a, err := os.ReadFile(fromSummary)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, reporthtml.File))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("the page from summary.json differs from the page of the run")
	}
	if code := run([]string{"report"}, &bytes.Buffer{}, &out); code != 1 || !strings.Contains(out.String(), "-f or --summary") {
		t.Errorf("report without input: exit code %d, %s", code, out.String())
	}
}
