package controllers

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestInMemoryCSVGzip(t *testing.T) {
	cols := summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}
	opts := summary.Options{CalibrationEnd: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}
	plain := []byte("customer_id,date,amount\n" + strings.Repeat("a,2026-01-01,1\n", 5000))
	gz := gzipBytes(t, plain)
	src := func(data []byte, max int64) *inMemoryCSV {
		return &inMemoryCSV{data: data, what: `ConfigMap ns/orders key "k"`, maxPlain: max}
	}
	ctx := context.Background()
	// plain, gzip, gzip of gzip: the same summary, the digest of the stored bytes
	want, err := src(plain, 1<<30).Summarize(ctx, cols, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{gz, gzipBytes(t, gz)} {
		got, err := src(data, 1<<30).Summarize(ctx, cols, opts)
		if err != nil || got.Rows != want.Rows || got.Digest == want.Digest {
			t.Fatalf("%v %+v", err, got)
		}
	}
	for _, c := range []struct {
		name string
		data []byte
		max  int64
		want string
	}{
		{"truncated", gz[:len(gz)/2], 1 << 30, "the gzip stream is truncated"},
		{"truncated inner", gzipBytes(t, gz[:len(gz)/2]), 1 << 30, "the gzip stream is truncated"},
		{"corrupt", append(append([]byte{}, gz[:20]...), bytes.Repeat([]byte{0xff}, 64)...), 1 << 30, "gzip stream"},
		{"too large", gz, int64(len(plain)) - 1, "decompresses to more than"},
		{"three layers", gzipBytes(t, gzipBytes(t, gz)), 1 << 30, "more than 2 nested gzip streams"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := src(c.data, c.max).Summarize(ctx, cols, opts)
			var pe *pipeline.Error
			if !errors.As(err, &pe) || pe.Reason != v1alpha1.ReasonInvalidData || !pe.Permanent ||
				!strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `ConfigMap ns/orders key "k"`) {
				t.Errorf("%v (%+v)", err, pe)
			}
		})
	}
}
