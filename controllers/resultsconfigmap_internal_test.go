package controllers

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/ltv-operator/ltv-operator/internal/report"
	reporthtml "github.com/ltv-operator/ltv-operator/internal/report/html"
)

func TestEncodeFilesStaysUnderTheBudget(t *testing.T) {
	small := map[string][]byte{"summary.json": []byte(`{"a":1}`)}
	data, binary, enc, err := encodeFiles(small)
	if err != nil || enc != "" || data["summary.json"] != `{"a":1}` || binary != nil {
		t.Fatalf("small files: %v %v %q %v", data, binary, enc, err)
	}
	// 1.2 MiB of repetitive CSV: too big for data, fine gzip-compressed.
	big := map[string][]byte{"top-customers.csv": []byte(strings.Repeat("c0000001,123.45,email\n", 60000))}
	data, binary, enc, err = encodeFiles(big)
	if err != nil || enc != "gzip" || data != nil || len(binary["top-customers.csv.gz"]) == 0 {
		t.Fatalf("big files: %v %q %v", len(binary), enc, err)
	}
	got, ok, err := resultFile(&corev1.ConfigMap{BinaryData: binary}, "top-customers.csv")
	if err != nil || !ok || !bytes.Equal(got, big["top-customers.csv"]) {
		t.Fatalf("reading back: ok=%v err=%v equal=%v", ok, err, bytes.Equal(got, big["top-customers.csv"]))
	}
	// Incompressible data over the budget is refused with advice.
	noise := make([]byte, 2<<20)
	rand.New(rand.NewSource(1)).Read(noise)
	_, _, _, err = encodeFiles(map[string][]byte{"x": noise})
	if err == nil || !strings.Contains(err.Error(), "topCustomers") {
		t.Fatalf("incompressible: err = %v", err)
	}
}

// report.html joins the files when it fits without changing how the others are stored.
func TestEncodeWithPage(t *testing.T) {
	res := &report.Result{ObservationEnd: "2026-10-31", Currency: "USD", Customers: 2, AverageLTV: 10, TotalLTV: 20,
		Model:      report.ModelResult{Type: "Historical"},
		Breakdowns: []report.Breakdown{{Attribute: "channel", Values: []report.BreakdownValue{{Value: "email", Customers: 2, AverageLTV: 10}}}}}
	files := map[string][]byte{"summary.json": []byte(`{"a":1}`)}
	data, _, enc, err := encodeWithPage(files, res, "shop/shop-ltv")
	if err != nil || enc != "" || !strings.Contains(data[reporthtml.File], "<svg") || !strings.Contains(data[reporthtml.File], "shop/shop-ltv") {
		t.Fatalf("small results: enc %q, err %v, report.html %d bytes", enc, err, len(data[reporthtml.File]))
	}
	// Files just under the budget: the page would push them into gzip, so it is left out.
	files = map[string][]byte{"top-customers.csv": bytes.Repeat([]byte("x"), configMapBudget-1000)}
	data, _, enc, err = encodeWithPage(files, res, "shop/shop-ltv")
	if err != nil || enc != "" || data[reporthtml.File] != "" || len(data["top-customers.csv"]) != configMapBudget-1000 {
		t.Fatalf("near the budget: enc %q, err %v, report.html %d bytes", enc, err, len(data[reporthtml.File]))
	}
	// Already compressed: the page is compressed with them.
	files = map[string][]byte{"top-customers.csv": []byte(strings.Repeat("c0000001,123.45,email\n", 60000))}
	_, binary, enc, err := encodeWithPage(files, res, "shop/shop-ltv")
	if err != nil || enc != "gzip" || len(binary[reporthtml.File+".gz"]) == 0 {
		t.Fatalf("compressed: enc %q, err %v, keys %d", enc, err, len(binary))
	}
}
