package controllers

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
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
