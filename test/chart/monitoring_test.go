package chart

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	"github.com/ltv-operator/ltv-operator/controllers"
)

const (
	repoRoot       = "../.."
	dashboardFile  = "config/grafana/ltv-operator.json"
	rulesFile      = "config/prometheus/prometheusrule.yaml"
	chartDir       = "charts/ltv-operator"
	chartDashboard = "charts/ltv-operator/dashboards/ltv-operator.json"
)

// operatorPrefix: names with it must be the operator's own metrics, not merely registered.
const operatorPrefix = "ltv_"

type metricType int

const (
	scalarType metricType = iota // gauge, counter or untyped: selected by its own name
	histogramType
	summaryType
)

// exportedMetrics answers whether the operator's /metrics serves a series name.
type exportedMetrics struct {
	// own are the operator's collectors, by fully-qualified name (from their Desc).
	own map[string]metricType
	// registry is the registry the manager serves (controller-runtime's metrics.Registry):
	// controller-runtime registers its controller, workqueue, client-go, leader election, Go and
	// process collectors there when its packages are imported.
	registry prometheus.Registerer
}

// recordingRegisterer registers on the wrapped registry and keeps the collectors.
type recordingRegisterer struct {
	prometheus.Registerer
	collectors []prometheus.Collector
}

func (r *recordingRegisterer) Register(c prometheus.Collector) error {
	r.collectors = append(r.collectors, c)
	return r.Registerer.Register(c)
}

func (r *recordingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// fqNames returns the fully-qualified names of a collector's descriptors.
func fqNames(c prometheus.Collector) []string {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	var names []string
	for d := range ch {
		// Desc has no accessor for its name; its String() is
		// Desc{fqName: "name", help: "...", constLabels: {...}, variableLabels: {...}}.
		s := d.String()
		const key = `fqName: "`
		i := strings.Index(s, key)
		if i < 0 {
			panic("unexpected Desc format: " + s)
		}
		rest := s[i+len(key):]
		names = append(names, rest[:strings.IndexByte(rest, '"')])
	}
	return names
}

// newExportedMetrics registers the operator's metrics on controller-runtime's registry, as
// controllers.Setup does in the manager, and reads their names from the collectors' Desc.
func newExportedMetrics(t *testing.T) *exportedMetrics {
	t.Helper()
	rec := &recordingRegisterer{Registerer: metrics.Registry}
	if _, err := controllers.NewMetrics(rec); err != nil {
		t.Fatalf("registering the operator's metrics: %v", err)
	}
	e := &exportedMetrics{own: map[string]metricType{}, registry: metrics.Registry}
	for _, c := range rec.collectors {
		typ := scalarType
		switch c.(type) {
		case *prometheus.HistogramVec, prometheus.Histogram:
			typ = histogramType
		case *prometheus.SummaryVec, prometheus.Summary:
			typ = summaryType
		}
		for _, n := range fqNames(c) {
			e.own[n] = typ
		}
	}
	if len(e.own) == 0 {
		t.Fatal("controllers.NewMetrics registered no collectors")
	}
	return e
}

// registered reports whether the registry has a collector with a descriptor of this name: the
// registry refuses a second descriptor with a fully-qualified name it already has.
func (e *exportedMetrics) registered(name string) bool {
	probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "test/chart probe"})
	if err := e.registry.Register(probe); err != nil {
		return true
	}
	e.registry.Unregister(probe)
	return false
}

// check returns why the operator does not serve name, or "" when it does. Histograms are
// selected as name_bucket, name_sum and name_count; summaries as name, name_sum and name_count.
func (e *exportedMetrics) check(name string) string {
	base, suffix := name, ""
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if strings.HasSuffix(name, s) {
			base, suffix = strings.TrimSuffix(name, s), s
			break
		}
	}
	if typ, ok := e.own[name]; ok {
		switch typ {
		case scalarType, summaryType:
			return ""
		case histogramType:
			return "a histogram: select " + name + "_bucket, _sum or _count"
		}
	}
	if typ, ok := e.own[base]; ok && suffix != "" {
		switch {
		case typ == histogramType, typ == summaryType && suffix != "_bucket":
			return ""
		default:
			return fmt.Sprintf("%s is not a histogram: it has no %s series", base, suffix)
		}
	}
	if strings.HasPrefix(name, operatorPrefix) {
		return "not one of the operator's metrics (controllers/metrics.go, docs/metrics.md)"
	}
	if e.registered(name) || (suffix != "" && e.registered(base)) {
		return ""
	}
	return "not registered in controller-runtime's metrics.Registry (the manager's /metrics)"
}

// checkExpr returns the problems of one expression: unknown metrics or an unparsable expression.
func (e *exportedMetrics) checkExpr(expr string) []string {
	names, err := metricNames(expr)
	if err != nil {
		return []string{err.Error()}
	}
	if len(names) == 0 {
		return []string{fmt.Sprintf("%q uses no metric", expr)}
	}
	var problems []string
	for _, n := range names {
		if why := e.check(n); why != "" {
			problems = append(problems, fmt.Sprintf("%s: %s", n, why))
		}
	}
	return problems
}

func readRepoFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type prometheusRuleSpec struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Record      string            `json:"record"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

func parsePrometheusRule(t *testing.T, doc []byte) prometheusRuleSpec {
	t.Helper()
	var obj struct {
		Kind string             `json:"kind"`
		Spec prometheusRuleSpec `json:"spec"`
	}
	if err := yaml.Unmarshal(doc, &obj); err != nil {
		t.Fatal(err)
	}
	if obj.Kind != "PrometheusRule" {
		t.Fatalf("kind %q, want PrometheusRule", obj.Kind)
	}
	return obj.Spec
}

// dashboardQueries returns every PromQL expression of a Grafana dashboard: panel targets (rows
// and nested panels included) and query variables, keyed by where they are.
func dashboardQueries(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	out := map[string]string{}
	var walk func(panels []json.RawMessage)
	walk = func(panels []json.RawMessage) {
		for _, p := range panels {
			var panel struct {
				Title   string            `json:"title"`
				Panels  []json.RawMessage `json:"panels"`
				Targets []struct {
					RefID string `json:"refId"`
					Expr  string `json:"expr"`
				} `json:"targets"`
			}
			if err := json.Unmarshal(p, &panel); err != nil {
				t.Fatalf("dashboard panel: %v", err)
			}
			for _, tg := range panel.Targets {
				out[fmt.Sprintf("panel %q target %s", panel.Title, tg.RefID)] = tg.Expr
			}
			walk(panel.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		var s string
		if err := json.Unmarshal(v.Query, &s); err == nil {
			q.Query = s
		} else if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Fatalf("variable %s: %v", v.Name, err)
		}
		out["variable "+v.Name] = q.Query
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestMonitoringUsesExportedMetrics: every metric in the alerts and the dashboard is one the
// operator serves.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	e := newExportedMetrics(t)
	checked := map[string]bool{}

	rules := parsePrometheusRule(t, readRepoFile(t, rulesFile))
	alerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts++
			for _, p := range e.checkExpr(r.Expr) {
				t.Errorf("%s, alert %s: %s", rulesFile, r.Alert, p)
			}
			if r.Alert == "" || r.For == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s, alert %q: wants a name, for, a severity label, a summary and a description", rulesFile, r.Alert)
			}
			names, _ := metricNames(r.Expr)
			for _, n := range names {
				checked[n] = true
			}
		}
	}
	if alerts < 5 {
		t.Errorf("%s has %d alerts, want the 5 of docs/install.md", rulesFile, alerts)
	}

	queries := dashboardQueries(t, readRepoFile(t, dashboardFile))
	if len(queries) < 10 {
		t.Errorf("%s: %d queries found, the dashboard parse is broken", dashboardFile, len(queries))
	}
	for _, where := range sortedKeys(queries) {
		for _, p := range e.checkExpr(queries[where]) {
			t.Errorf("%s, %s: %s", dashboardFile, where, p)
		}
		names, _ := metricNames(queries[where])
		for _, n := range names {
			checked[n] = true
		}
	}

	var list []string
	for n := range checked {
		list = append(list, n)
	}
	sort.Strings(list)
	t.Logf("metrics checked against the operator's registry (%d): %s", len(list), strings.Join(list, " "))
}

// TestExportedMetricsCheck: the check itself, on synthetic expressions, so that a rule on a
// metric the operator does not export fails.
func TestExportedMetricsCheck(t *testing.T) {
	e := newExportedMetrics(t)
	for _, expr := range []string{
		`ltv_computation_average_ltv`,
		`ltv_computation_runs_total{result="Succeeded"}`,
		`histogram_quantile(0.9, sum by (le) (rate(ltv_computation_run_duration_seconds_bucket[1h])))`,
		`rate(ltv_computation_run_duration_seconds_sum[1h]) / rate(ltv_computation_run_duration_seconds_count[1h])`,
		`ltv_segment_value_share_ratio`,
		`rate(controller_runtime_reconcile_errors_total[5m])`,
		`histogram_quantile(0.9, rate(controller_runtime_reconcile_time_seconds_bucket[5m]))`,
		`workqueue_depth{name="ltvcomputation"}`,
		`rate(rest_client_requests_total[5m])`,
		`leader_election_master_status`,
		`go_goroutines + process_resident_memory_bytes`,
		`ltv_computation_ltv_to_cac_ratio{channel="email"}`, // label names and values are not checked
	} {
		if p := e.checkExpr(expr); len(p) > 0 {
			t.Errorf("%s: %v, want it accepted", expr, p)
		}
	}
	for _, expr := range []string{
		`rate(ltv_computation_failures_total[5m]) > 0`,          // not an operator metric
		`ltv_computation_average_ltv_lower`,                     // there is no interval metric
		`ltv_computation_average_ltv_bucket`,                    // a gauge has no buckets
		`ltv_computation_run_duration_seconds`,                  // a classic histogram has no bare series
		`rate(controller_runtime_reconcile_failures_total[5m])`, // not a controller-runtime metric
		`workqueue_not_a_metric`,
		`sum(rate(ltv_computation_runs_total[5m])`, // unbalanced
		`vector(1)`, // no metric at all
	} {
		if p := e.checkExpr(expr); len(p) == 0 {
			t.Errorf("%s accepted, want it rejected", expr)
		} else {
			t.Logf("rejected as expected: %s: %s", expr, strings.Join(p, "; "))
		}
	}
}

// TestMonitoringCopiesInSync: the chart's dashboard is config/grafana's file (make chart).
func TestMonitoringCopiesInSync(t *testing.T) {
	if !bytes.Equal(readRepoFile(t, dashboardFile), readRepoFile(t, chartDashboard)) {
		t.Errorf("%s differs from %s: run make chart", chartDashboard, dashboardFile)
	}
	var d map[string]any
	if err := json.Unmarshal(readRepoFile(t, dashboardFile), &d); err != nil {
		t.Fatal(err)
	}
	if d["uid"] != "ltv-operator" {
		t.Errorf("dashboard uid %v, want ltv-operator (links and provisioning rely on it)", d["uid"])
	}
	raw := string(readRepoFile(t, dashboardFile))
	if !strings.Contains(raw, `"uid": "${datasource}"`) {
		t.Error("the dashboard's panels should use the ${datasource} variable")
	}
	for _, v := range []string{`"name": "datasource"`, `"name": "namespace"`, `"name": "computation"`} {
		if !strings.Contains(raw, v) {
			t.Errorf("dashboard lacks the variable %s", v)
		}
	}
}
