package httpsource

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/pipeline"
)

// A small gzip stream that expands a thousandfold is stopped at MaxDecompressedBytes (by
// default MaxBytes), not read to its end.
func TestGzipBombIsBounded(t *testing.T) {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write([]byte("customer_id,date,amount,channel\n"))
	row := []byte(strings.Repeat("a,2024-01-01,1,x\n", 1<<12))
	for range 1 << 10 { // 60 MiB of rows
		zw.Write(row)
	}
	zw.Close()
	srv := httptest.NewServer(serve(gz.Bytes()))
	defer srv.Close()
	if gz.Len() > 1<<20 {
		t.Fatalf("the stream is %d bytes", gz.Len())
	}
	_, err := summarize(t, Config{URL: srv.URL + "/bomb.csv.gz", MaxBytes: 1 << 20})
	pipelineError(t, err, pipeline.ReasonInvalidData, true)
	mustContain(t, err, "the decompressed data exceeds maxDecompressedBytes (1048576 bytes)")
}

// An http source pointed at something that is not a CSV file (an internal service's page) does
// not echo its first line into the column error; a real CSV header is still listed.
func TestColumnErrorsDoNotEchoAForeignFirstLine(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/admin", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html><title>admin token=s3cr3t-admin</title>,x\n1,2\n"))
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"AccessKeyId":"AKIAEXAMPLE","SecretAccessKey":"wJalr"}` + "\n"))
	})
	mux.HandleFunc("/orders.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("client,ordered_at,total,channel\na,2024-01-01,5,x\n"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, p := range []string{"/admin", "/json"} {
		_, err := summarize(t, Config{URL: srv.URL + p})
		pipelineError(t, err, pipeline.ReasonMissingColumn, true)
		mustContain(t, err, "not shown")
		mustNotContain(t, err, "s3cr3t", "token", "AKIA", "wJalr", "Secret")
	}
	_, err := summarize(t, Config{URL: srv.URL + "/orders.csv"})
	pipelineError(t, err, pipeline.ReasonMissingColumn, true)
	mustContain(t, err, `["client" "ordered_at" "total" "channel"]`)
}
