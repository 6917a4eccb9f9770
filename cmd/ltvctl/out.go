package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/report"
	reporthtml "github.com/ltv-operator/ltv-operator/internal/report/html"
	httpsource "github.com/ltv-operator/ltv-operator/internal/source/http"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// CustomersFile is the per-customer CSV `--out` writes besides the results ConfigMap's files:
// every customer, in the columns of top-customers.csv.
const CustomersFile = "customers.csv"

// writeOut writes the results ConfigMap's files (as the operator renders them), report.html and
// customers.csv into dir.
func writeOut(dir string, res *report.Result, scores *pipeline.Scores, title string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files, err := report.Files(res)
	if err != nil {
		return err
	}
	page, err := reporthtml.Render(res, reporthtml.Options{Title: title})
	if err != nil {
		return err
	}
	files[reporthtml.File] = page
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	return writeCustomers(filepath.Join(dir, CustomersFile), res.Currency, scores)
}

func writeCustomers(path, currency string, scores *pipeline.Scores) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	var attrs []string
	if scores != nil && scores.Summary != nil {
		attrs = append(attrs, scores.Summary.AttributeNames...)
		sort.Strings(attrs)
	}
	cw := report.NewCustomerCSV(bw, currency, attrs)
	if scores != nil {
		_ = scores.Rows(func(row report.CustomerRow) error { cw.Write(&row); return nil })
	}
	if err := cw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return bw.Flush()
}

// localSource reads a local file given with --data: Parquet (by its PAR1 magic bytes or a
// .parquet name) with the http source's column mapping, otherwise CSV (gzip recognised).
func localSource(path string) (pipeline.Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	magic := make([]byte, 4)
	n, _ := io.ReadFull(f, magic)
	f.Close()
	if string(magic[:n]) == "PAR1" || strings.HasSuffix(strings.ToLower(path), ".parquet") {
		return parquetFile{path: path}, nil
	}
	return pipeline.CSVSource{Open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) }}, nil
}

// parquetFile is a local Parquet file.
type parquetFile struct{ path string }

// Summarize reads the file with the http source's Parquet reader; the digest is the file's sha256.
func (p parquetFile) Summarize(ctx context.Context, cols summary.Columns, opts summary.Options) (*summary.Summary, error) {
	f, err := os.Open(p.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.path, err)
	}
	sum, err := httpsource.SummarizeParquet(ctx, p.path, f, size, cols, opts)
	if err != nil {
		return nil, err
	}
	sum.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return sum, nil
}
