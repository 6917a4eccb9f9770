package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

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
	data := fs.String("data", "", "local CSV (or CSV.gz) that replaces the spec's source")
	end := fs.String("end", "", "observation end (YYYY-MM-DD) when the spec has none; default: yesterday")
	output := fs.String("o", "table", "output format: json or table")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file")
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
	if len(files) == 0 {
		return errors.New("compute: -f is required")
	}
	objs, err := readObjects(files)
	if err != nil {
		return err
	}
	if len(objs.computations) != 1 {
		return fmt.Errorf("compute: want exactly one LTVComputation in %v, found %d", []string(files), len(objs.computations))
	}
	c := objs.computations[0]
	segments, err := selectSegments(&c, objs.segments)
	if err != nil {
		return err
	}
	var src pipeline.Source
	switch {
	case *data != "":
		path := *data
		src = pipeline.CSVSource{Open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) }}
	case c.Spec.Source.ConfigMap != nil:
		ref := c.Spec.Source.ConfigMap
		cm, ok := objs.configMaps[ref.Name]
		if !ok {
			return fmt.Errorf("compute: the source is ConfigMap %q: pass it with -f or use --data", ref.Name)
		}
		content, ok := cm.Data[ref.Key]
		if !ok {
			if b, okb := cm.BinaryData[ref.Key]; okb {
				content, ok = string(b), true
			}
		}
		if !ok {
			return fmt.Errorf("compute: ConfigMap %q has no key %q", ref.Name, ref.Key)
		}
		src = pipeline.CSVSource{Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(content)), nil
		}}
	case c.Spec.Source.HTTP != nil:
		h := c.Spec.Source.HTTP
		if h.HeadersSecretRef != nil {
			return errors.New("compute: the http source's headers come from a Secret, which ltvctl cannot read; pass the data with --data")
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
			return err
		}
		src = hs
	default:
		return errors.New("compute: postgres sources need the operator's Secret; pass the data with --data")
	}

	nominal := time.Now()
	if *end != "" {
		t, err := time.Parse(time.DateOnly, *end)
		if err != nil {
			return fmt.Errorf("--end: %q is not a date (YYYY-MM-DD)", *end)
		}
		nominal = t.AddDate(0, 0, 1)
	}
	obsEnd, err := plan.ObservationEnd(&c.Spec, nominal, time.UTC)
	if err != nil {
		return err
	}
	cfg, err := plan.Config(&c.Spec, obsEnd, segments)
	if err != nil {
		return err
	}
	res, _, err := pipeline.Run(context.Background(), cfg, src)
	if err != nil {
		return fmt.Errorf("LTVComputation %s: %w", c.Name, err)
	}
	return printResult(stdout, res, *output)
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

type objects struct {
	computations []v1alpha1.LTVComputation
	segments     []v1alpha1.CustomerSegment
	configMaps   map[string]corev1.ConfigMap
}

// readObjects decodes every YAML document of the files (directories: their *.yaml files).
func readObjects(paths []string) (*objects, error) {
	out := &objects{configMaps: map[string]corev1.ConfigMap{}}
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			matches, _ := filepath.Glob(filepath.Join(p, "*.yaml"))
			sort.Strings(matches)
			files = append(files, matches...)
		} else {
			files = append(files, p)
		}
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
		for doc := 1; ; doc++ {
			chunk, err := rd.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(chunk, &tm); err != nil {
				return nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
			}
			switch tm.Kind {
			case "LTVComputation":
				var c v1alpha1.LTVComputation
				if err := yaml.UnmarshalStrict(chunk, &c); err != nil {
					return nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
				}
				out.computations = append(out.computations, c)
			case "CustomerSegment":
				var s v1alpha1.CustomerSegment
				if err := yaml.UnmarshalStrict(chunk, &s); err != nil {
					return nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
				}
				out.segments = append(out.segments, s)
			case "ConfigMap":
				var cm corev1.ConfigMap
				if err := yaml.Unmarshal(chunk, &cm); err != nil {
					return nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
				}
				out.configMaps[cm.Name] = cm
			}
		}
	}
	return out, nil
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
