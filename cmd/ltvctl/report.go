package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/report"
	reporthtml "github.com/ltv-operator/ltv-operator/internal/report/html"
)

// reportCommand is `ltvctl report`: the results as one self-contained HTML page, computed from
// the files (as compute does) or read from a summary.json the operator published.
func reportCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	var files fileList
	fs.Var(&files, "f", "YAML file or directory (repeatable): the computation to run, as for compute")
	data := fs.String("data", "", "local CSV, CSV.gz or Parquet file that replaces the spec's source")
	end := fs.String("end", "", "observation end (YYYY-MM-DD) when the spec has none; default: yesterday")
	summaryFile := fs.String("summary", "", "a summary.json from the results ConfigMap, instead of -f")
	out := fs.String("html", reporthtml.File, "the page to write (- for standard output)")
	title := fs.String("title", "", "the page's title (default: the computation's namespace/name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var res *report.Result
	name := *title
	switch {
	case *summaryFile != "" && len(files) > 0:
		return errors.New("report: -f and --summary exclude each other")
	case *summaryFile != "":
		raw, err := os.ReadFile(*summaryFile)
		if err != nil {
			return err
		}
		res = &report.Result{}
		if err := json.Unmarshal(raw, res); err != nil {
			return fmt.Errorf("%s: %w", *summaryFile, err)
		}
		// summary.json leaves the cohort tables out; the cohort curves come from the cohorts.csv
		// next to it, when there is one.
		if f, err := os.Open(filepath.Join(filepath.Dir(*summaryFile), report.CohortsFile)); err == nil {
			t, err := report.ReadCohortsCSV(f)
			f.Close()
			if err != nil {
				return err
			}
			res.CohortTables = []report.CohortTable{t}
		}
	case len(files) > 0:
		r, _, c, err := runFiles(files, *data, *end)
		if err != nil {
			return err
		}
		res = r
		if name == "" {
			name = pageTitle(c)
		}
	default:
		return errors.New("report: -f or --summary is required")
	}
	page, err := reporthtml.Render(res, reporthtml.Options{Title: name})
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err = stdout.Write(page)
		return err
	}
	if err := os.WriteFile(*out, page, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d KiB)\n", *out, (len(page)+1023)/1024)
	return nil
}

// pageTitle names a computation in the report's title.
func pageTitle(c *v1alpha1.LTVComputation) string {
	if c == nil {
		return ""
	}
	if c.Namespace != "" {
		return c.Namespace + "/" + c.Name
	}
	return c.Name
}
