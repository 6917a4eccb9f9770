package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/plan"
	"github.com/ltv-operator/ltv-operator/internal/report"
	httpsource "github.com/ltv-operator/ltv-operator/internal/source/http"
)

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

func compute(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compute", flag.ContinueOnError)
	var files fileList
	fs.Var(&files, "f", "YAML file or directory (repeatable)")
	data := fs.String("data", "", "local CSV, CSV.gz or Parquet file that replaces the spec's source")
	outDir := fs.String("out", "", "also write the results ConfigMap's files, report.html and customers.csv (every customer) into this directory")
	end := fs.String("end", "", "observation end (YYYY-MM-DD) when the spec has none; default: yesterday")
	output := fs.String("o", "table", "output format: json or table")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	memProfile := fs.String("memprofile", "", "write an allocation profile (every allocation's size and site) to this file at the end")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer writeAllocProfile(*memProfile)
	}
	if len(files) == 0 {
		return errors.New("compute: -f is required")
	}
	res, scores, c, err := runFiles(files, *data, *end)
	if err != nil {
		return err
	}
	if *outDir != "" {
		if err := writeOut(*outDir, res, scores, pageTitle(c)); err != nil {
			return err
		}
	}
	return printResult(stdout, res, *output)
}

// writeAllocProfile writes the allocation profile; a failure is reported, not returned, since the
// computation itself succeeded.
func writeAllocProfile(path string) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "memprofile: %v\n", err)
	}
}

// runFiles validates the files' objects as the API server would, then runs their one
// LTVComputation: with the data of --data when given, else of its source.
func runFiles(files []string, data, end string) (res *report.Result, scores *pipeline.Scores, comp *v1alpha1.LTVComputation, err error) {
	objs, err := readObjects(context.Background(), files)
	if err != nil {
		return nil, nil, nil, err
	}
	// The spec is validated as the API server would, first: a spec the cluster refuses is not run.
	if refused := objs.refused(); len(refused) > 0 {
		var msg bytes.Buffer
		writeRefusals(&msg, refused)
		return nil, nil, nil, fmt.Errorf("the API server would refuse %d object(s); fix them first:\n%s", len(refused), strings.TrimRight(msg.String(), "\n"))
	}
	if len(objs.computations) != 1 {
		return nil, nil, nil, fmt.Errorf("compute: want exactly one LTVComputation in %v, found %d", []string(files), len(objs.computations))
	}
	c := objs.computations[0]
	segments, err := selectSegments(&c, objs.segments)
	if err != nil {
		return nil, nil, nil, err
	}
	var src pipeline.Source
	switch {
	case data != "":
		if src, err = localSource(data); err != nil {
			return nil, nil, nil, err
		}
	case c.Spec.Source.ConfigMap != nil:
		ref := c.Spec.Source.ConfigMap
		cm, ok := objs.configMaps[ref.Name]
		if !ok {
			return nil, nil, nil, fmt.Errorf("compute: the source is ConfigMap %q: pass it with -f or use --data", ref.Name)
		}
		content, ok := cm.Data[ref.Key]
		if !ok {
			if b, okb := cm.BinaryData[ref.Key]; okb {
				content, ok = string(b), true
			}
		}
		if !ok {
			return nil, nil, nil, fmt.Errorf("compute: ConfigMap %q has no key %q", ref.Name, ref.Key)
		}
		src = pipeline.CSVSource{Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(content)), nil
		}}
	case c.Spec.Source.HTTP != nil:
		h := c.Spec.Source.HTTP
		if h.HeadersSecretRef != nil {
			return nil, nil, nil, errors.New("compute: the http source's headers come from a Secret, which ltvctl cannot read; pass the data with --data")
		}
		cfg := httpsource.Config{URL: h.URL, Format: httpsource.Format(h.Format)}
		if h.MaxBytes != nil {
			cfg.MaxBytes = *h.MaxBytes
		}
		if h.MaxDecompressedBytes != nil {
			cfg.MaxDecompressedBytes = *h.MaxDecompressedBytes
		}
		if h.TimeoutSeconds != nil {
			cfg.Timeout = time.Duration(*h.TimeoutSeconds) * time.Second
		}
		hs, err := httpsource.New(cfg)
		if err != nil {
			return nil, nil, nil, err
		}
		src = hs
	default:
		return nil, nil, nil, errors.New("compute: postgres sources need the operator's Secret; pass the data with --data")
	}

	nominal := time.Now()
	if end != "" {
		t, err := time.Parse(time.DateOnly, end)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--end: %q is not a date (YYYY-MM-DD)", end)
		}
		nominal = t.AddDate(0, 0, 1)
	}
	obsEnd, err := plan.ObservationEnd(&c.Spec, nominal, time.UTC)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := plan.Config(&c.Spec, obsEnd, segments)
	if err != nil {
		return nil, nil, nil, err
	}
	res, scores, err = pipeline.Run(context.Background(), cfg, src)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("LTVComputation %s: %w", c.Name, err)
	}
	return res, scores, &c, nil
}

func printResult(w io.Writer, res *report.Result, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	case "table", "":
		return report.WriteTable(w, res)
	}
	return fmt.Errorf("-o %q: want json or table", format)
}

func selectSegments(c *v1alpha1.LTVComputation, all []v1alpha1.CustomerSegment) ([]v1alpha1.CustomerSegment, error) {
	if c.Spec.SegmentSelector == nil {
		return nil, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(c.Spec.SegmentSelector)
	if err != nil {
		return nil, fmt.Errorf("spec.segmentSelector: %w", err)
	}
	var out []v1alpha1.CustomerSegment
	for _, s := range all {
		if sel.Matches(labels.Set(s.Labels)) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
