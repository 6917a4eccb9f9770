package synth

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func generate(t *testing.T, cfg Config) ([]byte, int) {
	t.Helper()
	var buf bytes.Buffer
	n, err := Write(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), n
}

func TestWriteDeterministic(t *testing.T) {
	cfg := Config{Customers: 2000, Seed: 7}
	a, na := generate(t, cfg)
	b, nb := generate(t, cfg)
	if na != nb || !bytes.Equal(a, b) {
		t.Fatalf("same seed, different output: %d vs %d rows", na, nb)
	}
	c, _ := generate(t, Config{Customers: 2000, Seed: 8})
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same output")
	}
}

func TestWriteRows(t *testing.T) {
	cfg := Config{Customers: 5000, Seed: 1}
	out, n := generate(t, cfg)
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := recs[0]; len(got) != 5 || got[0] != "customer_id" || got[1] != "date" || got[2] != "amount" || got[3] != "channel" || got[4] != "country" {
		t.Fatalf("header %v", got)
	}
	recs = recs[1:]
	if len(recs) != n {
		t.Fatalf("Write said %d rows, the CSV has %d", n, len(recs))
	}
	perCustomer := float64(n) / float64(cfg.Customers)
	if perCustomer < 7 || perCustomer > 12 {
		t.Errorf("%.2f rows per customer, want about 9.5", perCustomer)
	}
	customers := map[string]bool{}
	channels := map[string]int{}
	first := map[string]string{}
	prev := ""
	end := DefaultStart.AddDate(0, 0, DefaultDays-1).Format(time.DateOnly)
	for _, r := range recs {
		customers[r[0]] = true
		channels[r[3]]++
		if c, ok := first[r[0]]; ok && c != r[3] {
			t.Fatalf("customer %s has channels %s and %s", r[0], c, r[3])
		}
		first[r[0]] = r[3]
		if r[1] < prev {
			t.Fatalf("rows not in date order: %s after %s", r[1], prev)
		}
		prev = r[1]
		if r[1] < "2025-01-01" || r[1] > end {
			t.Fatalf("date %s outside the window", r[1])
		}
		a, err := strconv.ParseFloat(r[2], 64)
		if err != nil || a <= 0 {
			t.Fatalf("amount %q", r[2])
		}
	}
	if len(customers) != cfg.Customers {
		t.Errorf("%d customers, want %d", len(customers), cfg.Customers)
	}
	for _, c := range []string{"paid_search", "email", "organic", "social", "referral"} {
		if channels[c] == 0 {
			t.Errorf("channel %s missing", c)
		}
	}
}

func TestWriteCustomChannels(t *testing.T) {
	out, _ := generate(t, Config{Customers: 300, Seed: 3, Channels: []string{"a", "b"}, Days: 60, Start: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)})
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs[1:] {
		seen[r[3]] = true
		if r[1] < "2024-02-01" || r[1] > "2024-03-31" {
			t.Fatalf("date %s outside the window", r[1])
		}
	}
	if len(seen) != 2 || !seen["a"] || !seen["b"] {
		t.Errorf("channels %v", seen)
	}
}

func TestWriteGzipFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tx.csv.gz")
	cfg := Config{Customers: 500, Seed: 5}
	n, err := WriteGzipFile(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	want, wn := generate(t, cfg)
	if n != wn || !bytes.Equal(got, want) {
		t.Errorf("gzip file differs from Write's output (%d vs %d rows)", n, wn)
	}
}

func TestWriteInvalid(t *testing.T) {
	if _, err := Write(io.Discard, Config{}); err == nil {
		t.Error("no error for zero customers")
	}
	if _, err := Write(io.Discard, Config{Customers: 1, R: -1}); err == nil {
		t.Error("no error for a negative parameter")
	}
}
