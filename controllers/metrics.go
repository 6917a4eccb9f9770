package controllers

import (
	"errors"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/report"
)

// maxMetricSegments bounds the segment series of one computation (the API bounds the segments
// in status the same way).
const maxMetricSegments = 100

// Metrics publishes every computation's latest result and its runs on a Prometheus registry
// (the manager's endpoint in the operator). Series are per computation and per segment, never
// per customer; a deleted computation's series are dropped. docs/metrics.md lists them.
type Metrics struct {
	customers   *prometheus.GaugeVec
	averageLTV  *prometheus.GaugeVec
	ltvToCAC    *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
	duration    *prometheus.HistogramVec
	runs        *prometheus.CounterVec

	segCustomers  *prometheus.GaugeVec
	segAverageLTV *prometheus.GaugeVec
	segValueShare *prometheus.GaugeVec

	backtestRelativeError *prometheus.GaugeVec
	backtestTopDecile     *prometheus.GaugeVec

	mu sync.Mutex
	// published holds, per computation, the segments with series; a computation is present
	// once a result of it was published.
	published map[types.NamespacedName]map[string]bool
}

var _ MetricsRecorder = (*Metrics)(nil)

// NewMetrics creates the collectors and registers them. Registering twice on one registry (two
// managers in one process) reuses the collectors already there.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	computation := []string{"namespace", "name"}
	segment := []string{"namespace", "computation", "segment"}
	m := &Metrics{
		customers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ltv_computation_customers",
			Help: "Customers in the last successful run of the LTVComputation.",
		}, computation),
		averageLTV: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ltv_computation_average_ltv",
			Help: "Average lifetime value per customer in the last successful run, in the computation's currency.",
		}, computation),
		ltvToCAC: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ltv_computation_ltv_to_cac_ratio",
			Help: "Average LTV over average acquisition cost in the last successful run (only with spec.economics.acquisitionCost).",
		}, computation),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ltv_computation_last_success_timestamp_seconds",
			Help: "Unix time the last successful run of the LTVComputation finished.",
		}, computation),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ltv_computation_run_duration_seconds",
			Help:    "Duration of LTVComputation runs, successful or not.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 12), // 50 ms to about 20 minutes
		}, computation),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ltv_computation_runs_total",
			Help: "LTVComputation runs by result: Succeeded or the failure's condition reason.",
		}, []string{"namespace", "name", "result"}),
		segCustomers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ltv_segment_customers",
			Help: "Customers in the CustomerSegment in the computation's last successful run.",
		}, segment),
		segAverageLTV: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ltv_segment_average_ltv",
			Help: "Average lifetime value of the segment's customers in the computation's last successful run.",
		}, segment),
		segValueShare: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ltv_segment_value_share_ratio",
			Help: "The segment's share of the computation's total lifetime value (0 to 1).",
		}, segment),
		backtestRelativeError: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ltv_computation_backtest_relative_error",
			Help: "Value backtest of the last successful run (with observation.holdoutPeriods): (predicted - actual) / actual holdout net margin of all calibration customers.",
		}, computation),
		backtestTopDecile: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ltv_computation_backtest_top_decile_capture_ratio",
			Help: "Value backtest of the last successful run: share of the actual holdout net margin held by the 10% of customers with the highest predictions (0 to 1).",
		}, computation),
		published: map[types.NamespacedName]map[string]bool{},
	}
	var err error
	m.customers = register(reg, m.customers, &err)
	m.averageLTV = register(reg, m.averageLTV, &err)
	m.ltvToCAC = register(reg, m.ltvToCAC, &err)
	m.lastSuccess = register(reg, m.lastSuccess, &err)
	m.duration = register(reg, m.duration, &err)
	m.runs = register(reg, m.runs, &err)
	m.segCustomers = register(reg, m.segCustomers, &err)
	m.segAverageLTV = register(reg, m.segAverageLTV, &err)
	m.segValueShare = register(reg, m.segValueShare, &err)
	m.backtestRelativeError = register(reg, m.backtestRelativeError, &err)
	m.backtestTopDecile = register(reg, m.backtestTopDecile, &err)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if *errp != nil {
		return c
	}
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	if err != nil {
		*errp = err
	}
	return c
}

// RunFinished counts the run and, when it succeeded, publishes its result.
func (m *Metrics) RunFinished(obj *v1alpha1.LTVComputation, res *report.Result, reason string, duration time.Duration) {
	m.runs.WithLabelValues(obj.Namespace, obj.Name, reason).Inc()
	m.duration.WithLabelValues(obj.Namespace, obj.Name).Observe(duration.Seconds())
	if res == nil {
		return
	}
	segs := make([]segmentValues, 0, len(res.Segments))
	for _, s := range res.Segments {
		segs = append(segs, segmentValues{name: s.Name, customers: float64(s.Customers), averageLTV: s.AverageLTV, valueShare: s.ValueShare})
	}
	var bt backtestValues
	if b := res.Backtest; b != nil && b.Value != nil {
		bt = backtestValues{relativeError: b.Value.RelativeError, topDecile: b.Value.Top10PercentCapture}
	}
	m.publish(obj, float64(res.Customers), res.AverageLTV, res.LTVToCAC, res.ComputedAt, segs, bt)
}

// Observe publishes the result in status when none was published for the computation in this
// process: after a restart the gauges are back at the first reconcile, not at the next run.
func (m *Metrics) Observe(obj *v1alpha1.LTVComputation) {
	res := obj.Status.Result
	if res == nil {
		return
	}
	m.mu.Lock()
	_, done := m.published[types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}]
	m.mu.Unlock()
	if done {
		return
	}
	avg, err := strconv.ParseFloat(res.AverageLTV, 64)
	if err != nil {
		return
	}
	var ratio *float64
	if v, err := strconv.ParseFloat(res.LTVToCAC, 64); err == nil {
		ratio = &v
	}
	segs := make([]segmentValues, 0, len(res.Segments))
	for _, s := range res.Segments {
		a, _ := strconv.ParseFloat(s.AverageLTV, 64)
		v, _ := strconv.ParseFloat(s.ValueShare, 64)
		segs = append(segs, segmentValues{name: s.Name, customers: float64(s.Customers), averageLTV: a, valueShare: v})
	}
	computedAt := res.ComputedAt.Time
	if t := obj.Status.LastSuccessfulTime; t != nil {
		computedAt = t.Time
	}
	var bt backtestValues
	if b := res.Backtest; b != nil && b.Overall != nil {
		parse := func(s string) *float64 {
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				return &v
			}
			return nil
		}
		bt = backtestValues{relativeError: parse(b.Overall.RelativeError), topDecile: parse(b.Overall.Top10PercentCapture)}
	}
	m.publish(obj, float64(res.Customers), avg, ratio, computedAt, segs, bt)
}

// backtestValues are the value backtest's gauges; nil when the run had no (defined) value.
type backtestValues struct{ relativeError, topDecile *float64 }

type segmentValues struct {
	name                              string
	customers, averageLTV, valueShare float64
}

func (m *Metrics) publish(obj *v1alpha1.LTVComputation, customers, averageLTV float64, ltvToCAC *float64, computedAt time.Time, segs []segmentValues, bt backtestValues) {
	ns, name := obj.Namespace, obj.Name
	key := types.NamespacedName{Namespace: ns, Name: name}
	m.mu.Lock()
	defer m.mu.Unlock()

	m.customers.WithLabelValues(ns, name).Set(customers)
	m.averageLTV.WithLabelValues(ns, name).Set(averageLTV)
	if ltvToCAC != nil {
		m.ltvToCAC.WithLabelValues(ns, name).Set(*ltvToCAC)
	} else {
		m.ltvToCAC.DeleteLabelValues(ns, name)
	}
	m.lastSuccess.WithLabelValues(ns, name).Set(float64(computedAt.UnixNano()) / 1e9)
	for _, g := range []struct {
		vec *prometheus.GaugeVec
		v   *float64
	}{{m.backtestRelativeError, bt.relativeError}, {m.backtestTopDecile, bt.topDecile}} {
		if g.v != nil {
			g.vec.WithLabelValues(ns, name).Set(*g.v)
		} else {
			g.vec.DeleteLabelValues(ns, name)
		}
	}

	sort.Slice(segs, func(i, j int) bool { return segs[i].name < segs[j].name })
	if len(segs) > maxMetricSegments {
		segs = segs[:maxMetricSegments]
	}
	now := make(map[string]bool, len(segs))
	for _, s := range segs {
		now[s.name] = true
		m.segCustomers.WithLabelValues(ns, name, s.name).Set(s.customers)
		m.segAverageLTV.WithLabelValues(ns, name, s.name).Set(s.averageLTV)
		m.segValueShare.WithLabelValues(ns, name, s.name).Set(s.valueShare)
	}
	for s := range m.published[key] {
		if !now[s] { // no longer selected
			m.segCustomers.DeleteLabelValues(ns, name, s)
			m.segAverageLTV.DeleteLabelValues(ns, name, s)
			m.segValueShare.DeleteLabelValues(ns, name, s)
		}
	}
	m.published[key] = now
}

// Forget drops every series of a deleted computation.
func (m *Metrics) Forget(namespace, name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	byName := prometheus.Labels{"namespace": namespace, "name": name}
	for _, v := range []interface {
		DeletePartialMatch(prometheus.Labels) int
	}{m.customers, m.averageLTV, m.ltvToCAC, m.lastSuccess, m.duration, m.runs, m.backtestRelativeError, m.backtestTopDecile} {
		v.DeletePartialMatch(byName)
	}
	byComputation := prometheus.Labels{"namespace": namespace, "computation": name}
	for _, v := range []*prometheus.GaugeVec{m.segCustomers, m.segAverageLTV, m.segValueShare} {
		v.DeletePartialMatch(byComputation)
	}
	delete(m.published, types.NamespacedName{Namespace: namespace, Name: name})
}
