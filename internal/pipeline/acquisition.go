package pipeline

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/numeric"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// DefaultTargetLTVToCAC is the LTV:CAC ratio affordable CAC aims at when none is configured.
const DefaultTargetLTVToCAC = 3

// A model.fitBy value gets its own fit only with enough data for stable estimates; otherwise it
// falls back to the pooled fit (and the result says so).
const (
	minPartitionCustomers = 100
	minPartitionRepeaters = 30
)

// Fit names in results.
const (
	fitPooled      = "Pooled"
	fitPartitioned = "Partitioned"
)

// newCustomerCurve is what a model says about a customer at acquisition, before their first
// order's value is known: how many repeat purchases to expect by month m, what each is worth,
// and whether they are still a customer.
type newCustomerCurve struct {
	repeat, survival func(months float64) float64
	spend            float64
}

// acquisitionContext holds what every new-customer figure of a run shares.
type acquisitionContext struct {
	cfg      Config
	clv      ltv.CLVConfig
	target   float64
	sum      *summary.Summary      // for each customer's first order (see firstOrderValue)
	cac      []float64             // per customer, nil without acquisition costs
	historic func(i int32) float64 // per customer realised margin (Historical's new-customer value)
}

func (cfg Config) targetLTVToCAC() float64 {
	if cfg.TargetLTVToCAC > 0 {
		return cfg.TargetLTVToCAC
	}
	return DefaultTargetLTVToCAC
}

// firstOrderValue is the value of the customer's first purchase day: the summary's total less the
// repeat days (Monetary is their mean).
func firstOrderValue(sum *summary.Summary, i int) float64 {
	return sum.HistoricValue(i) - float64(sum.Frequency(i))*sum.Monetary(i)
}

// newCustomer computes the new-customer figures of the customers in members (nil: all) from
// curve; a nil curve (Historical) values a new customer at the realised margin per customer.
func (a *acquisitionContext) newCustomer(curve *newCustomerCurve, members []int32, fit string) (*report.NewCustomer, error) {
	nc := &report.NewCustomer{Fit: fit, AverageFirstOrder: a.meanOf(a.firstOrder, members)}
	var cumulative []float64
	if curve == nil {
		nc.LTV = a.meanOf(a.historic, members)
	} else {
		v, err := ltv.NewCustomerLTV(ltv.NewCustomer{FirstOrder: nc.AverageFirstOrder, RepeatSpend: curve.spend,
			RepeatPurchases: curve.repeat, Survival: curve.survival}, a.clv)
		if err != nil {
			return nil, permanent(ReasonFitFailed, "%v", err)
		}
		nc.LTV, nc.RepeatSpend, nc.ExpectedRepeatPurchases, cumulative = v.Value, curve.spend, v.RepeatPurchases, v.Cumulative
	}
	nc.AffordableCAC = nc.LTV / a.target
	if a.cac != nil {
		c := a.meanOf(func(i int32) float64 { return a.cac[i] }, members)
		nc.AcquisitionCost = &c
		nc.LTVToCAC = ratio(nc.LTV, c)
		if cumulative != nil && c > 0 {
			m, ok := ltv.PaybackMonths(cumulative, c)
			nc.PaidBackWithinHorizon = &ok
			if ok {
				nc.PaybackMonths = &m
			}
		}
	}
	return nc, nil
}

// meanOf is the mean of a per-customer value over members (nil: every customer, summed with
// compensation).
func (a *acquisitionContext) meanOf(value func(i int32) float64, members []int32) float64 {
	if members == nil {
		var s numeric.Sum
		n := a.sum.Len()
		for i := range int32(n) {
			s.Add(value(i))
		}
		return s.Value() / float64(max(n, 1))
	}
	if len(members) == 0 {
		return 0
	}
	s := 0.0
	for _, i := range members {
		s += value(i)
	}
	return s / float64(len(members))
}

func (a *acquisitionContext) firstOrder(i int32) float64 { return firstOrderValue(a.sum, int(i)) }

// acquisitionCurves are the new-customer curves a run used: pooled (nil without a model of new
// customers) and per partitioned model.fitBy value.
type acquisitionCurves struct {
	pooled      *newCustomerCurve
	partitioned map[string]*newCustomerCurve
}

// acquisition adds the new-customer economics to res: overall, per breakdown value and, with
// model.fitBy, per partitioned fit. model is the pooled probabilistic fit (nil for the other
// models).
func acquisition(cfg Config, sum *summary.Summary, groups customerGroups, model *fittedModel, sub *ltv.SubscriptionModel, res *report.Result, cv *customerValues, cac []float64) (*acquisitionCurves, error) {
	curves := &acquisitionCurves{}
	err := acquisitionInto(cfg, sum, groups, model, sub, res, cv, cac, curves)
	return curves, err
}

func acquisitionInto(cfg Config, sum *summary.Summary, groups customerGroups, model *fittedModel, sub *ltv.SubscriptionModel, res *report.Result, cv *customerValues, cac []float64, curves *acquisitionCurves) error {
	a := &acquisitionContext{cfg: cfg, clv: clvConfig(cfg), target: cfg.targetLTVToCAC(), cac: cac, historic: cv.historic, sum: sum}
	res.TargetLTVToCAC = a.target
	pooled := pooledCurve(cfg, sum, model, sub, res)
	curves.pooled = pooled
	fit := fitPooled
	if pooled == nil {
		fit = ""
	}
	overall, err := a.newCustomer(pooled, nil, fit)
	if err != nil {
		return err
	}
	res.NewCustomer = overall
	res.LTVToCAC = overall.LTVToCAC
	aff := overall.AffordableCAC
	res.AffordableCAC = &aff

	partitioned := map[string]*newCustomerCurve{}
	if cfg.FitBy != "" && model != nil {
		if res.FitBy, partitioned, err = fitPartitions(cfg, sum, groups[cfg.FitBy], model, a); err != nil {
			return err
		}
	}
	curves.partitioned = partitioned
	for bi := range res.Breakdowns {
		b := &res.Breakdowns[bi]
		members := groups[b.Attribute]
		for vi := range b.Values {
			v := &b.Values[vi]
			curve, fit := pooled, fit
			if b.Attribute == cfg.FitBy && partitioned[v.Value] != nil {
				curve, fit = partitioned[v.Value], fitPartitioned
			}
			if v.NewCustomer, err = a.newCustomer(curve, members[v.Value], fit); err != nil {
				return err
			}
			v.LTVToCAC = v.NewCustomer.LTVToCAC
		}
	}
	return nil
}

// customerGroups lists the customers of each value of an attribute (groupBy), by attribute
// name: grouped once per run for the breakdowns, their new-customer values and intervals, and
// the fits per model.fitBy value.
type customerGroups map[string]map[string][]int32

// groupCustomers groups the customers by each breakdownBy attribute and model.fitBy.
func groupCustomers(cfg Config, sum *summary.Summary) customerGroups {
	return groupAttributes(cfg, sum, append(slices.Clone(cfg.BreakdownBy), cfg.FitBy))
}

// groupAttributes groups the customers by each of the attributes named (once each; "" is none).
func groupAttributes(cfg Config, sum *summary.Summary, attrs []string) customerGroups {
	out := customerGroups{}
	for _, attr := range attrs {
		if _, done := out[attr]; attr != "" && !done {
			out[attr] = groupBy(sum, attributeIndex(cfg.Columns.Attributes, attr))
		}
	}
	return out
}

// groupBy lists the customers of each value of attribute idx.
func groupBy(sum *summary.Summary, idx int) map[string][]int32 {
	groups := map[string][]int32{}
	for i := range sum.Len() {
		v := sum.Attributes(i)[idx]
		groups[v] = append(groups[v], int32(i))
	}
	return groups
}

// pooledCurve is the new-customer curve of the run's model fitted on all customers; nil for
// Historical (no model of the future).
func pooledCurve(cfg Config, sum *summary.Summary, model *fittedModel, sub *ltv.SubscriptionModel, res *report.Result) *newCustomerCurve {
	ppm := cfg.Unit.PeriodsPerMonth()
	switch {
	case model != nil:
		return probabilisticCurve(model.purchase, model.spend, ppm)
	case cfg.Model == ModelFormula:
		return formulaCurve(res.Model)
	case sub != nil:
		return subscriptionCurve(sub, sum, ppm)
	}
	return nil
}

// subscriptionCurve is the shifted-beta-geometric model's new subscriber: a renewal at the end of
// each billing period j survived, with probability S(j), each worth the average payment.
func subscriptionCurve(m *ltv.SubscriptionModel, sum *summary.Summary, periodsPerMonth float64) *newCustomerCurve {
	var revenue, payments float64
	for _, c := range sum.All() {
		revenue += c.HistoricValue
		payments += float64(c.Frequency + 1)
	}
	var cum []float64 // cum[j] = expected renewals in the first j periods
	renewals := func(periods int) float64 {
		for len(cum) <= periods {
			j := len(cum)
			prev := 0.0
			if j > 0 {
				prev = cum[j-1] + m.Survival(float64(j))
			}
			cum = append(cum, prev)
		}
		return cum[periods]
	}
	return &newCustomerCurve{
		repeat:   func(months float64) float64 { return renewals(int(math.Floor(months*periodsPerMonth + 1e-9))) },
		survival: func(months float64) float64 { return m.Survival(math.Floor(months*periodsPerMonth + 1e-9)) },
		spend:    revenue / math.Max(payments, 1),
	}
}

func probabilisticCurve(pm ltv.PurchaseModel, sm ltv.SpendModel, ppm float64) *newCustomerCurve {
	repeat, survival := ltv.PurchaseCurves(pm, ppm)
	return &newCustomerCurve{repeat: repeat, survival: survival, spend: ltv.NewCustomerSpend(sm)}
}

// formulaCurve is the Formula model's own terms for a new customer: repeat purchases at the
// population's repeat rate for the estimated lifetime, each worth the average order value, and
// alive until the lifetime ends.
func formulaCurve(m report.ModelResult) *newCustomerCurve {
	lifetime := 0.0
	if m.LifetimeMonths != nil {
		lifetime = *m.LifetimeMonths
	}
	rate := m.Parameters["repeatPurchasesPerMonth"]
	return &newCustomerCurve{
		repeat:   func(months float64) float64 { return rate * math.Min(months, lifetime) },
		survival: func(months float64) float64 { return boolFloat(months < lifetime) },
		spend:    m.Parameters["averageOrderValue"],
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// fitPartitions fits the purchase and spend models on each model.fitBy value's customers, falling
// back to the pooled fit for values with too few customers or repeaters (or a failed fit), and
// compares the pooled and partitioned purchase-model log-likelihoods.
func fitPartitions(cfg Config, sum *summary.Summary, groups map[string][]int32, pooled *fittedModel, a *acquisitionContext) (*report.FitComparison, map[string]*newCustomerCurve, error) {
	values := make([]string, 0, len(groups))
	for v := range groups {
		values = append(values, v)
	}
	sort.Slice(values, func(i, j int) bool {
		if len(groups[values[i]]) != len(groups[values[j]]) {
			return len(groups[values[i]]) > len(groups[values[j]])
		}
		return values[i] < values[j]
	})
	pooledFit := pooled.purchase.Fit()
	k := len(pooledFit.ParamNames)
	n := float64(sum.Len())
	cmp := &report.FitComparison{Attribute: cfg.FitBy, Customers: int64(sum.Len()),
		PooledLogLikelihood: pooledFit.LogLikelihood, PooledParameters: k}
	curves := map[string]*newCustomerCurve{}
	ppm := cfg.Unit.PeriodsPerMonth()
	anyPooled := false
	for _, value := range values {
		members := groups[value]
		rows := make([]ltv.RFM, len(members))
		freq := make([]float64, len(members))
		monetary := make([]float64, len(members))
		var repeaters int64
		for j, i := range members {
			rows[j] = pooled.cells.Rows[pooled.cells.Index[i]]
			rows[j].Weight = 1
			freq[j] = rows[j].X
			monetary[j] = pooled.monetary[i]
			if rows[j].X > 0 {
				repeaters++
			}
		}
		fv := report.FitValue{Value: value, Customers: int64(len(members)), RepeatCustomers: repeaters, Fit: fitPartitioned}
		// Fitting and scoring need only the distinct (x, tx, T) rows with their counts.
		unique, _ := ltv.Compress(rows)
		pm, sm, reason := fitPartition(cfg, pooled, unique, freq, monetary, repeaters, float64(len(members))/n)
		if reason == "" {
			fv.LogLikelihood = pm.Fit().LogLikelihood // the fit's maximum on these rows
		} else {
			fv.Fit, fv.Reason, pm, sm = fitPooled, reason, pooled.purchase, pooled.spend
			anyPooled = true
			ll, err := ltv.LogLikelihood(pm, unique)
			if err != nil {
				return nil, nil, permanent(ReasonFitFailed, "model.fitBy %s=%q: %v", cfg.FitBy, value, err)
			}
			fv.LogLikelihood = ll
		}
		cmp.PartitionedLogLikelihood += fv.LogLikelihood
		fv.Parameters = map[string]float64{}
		for _, f := range []ltv.FitResult{pm.Fit(), sm.Fit()} {
			for j, name := range f.ParamNames {
				fv.Parameters[name] = f.Params[j]
			}
		}
		curve := probabilisticCurve(pm, sm, ppm)
		if fv.Fit == fitPartitioned {
			curves[value] = curve
		}
		var err error
		if fv.NewCustomer, err = a.newCustomer(curve, members, fv.Fit); err != nil {
			return nil, nil, err
		}
		cmp.Values = append(cmp.Values, fv)
		if fv.Fit == fitPartitioned {
			cmp.PartitionedParameters += k
		}
	}
	if anyPooled {
		cmp.PartitionedParameters += k
	}
	cmp.PooledAIC = 2*float64(k) - 2*cmp.PooledLogLikelihood
	cmp.PartitionedAIC = 2*float64(cmp.PartitionedParameters) - 2*cmp.PartitionedLogLikelihood
	cmp.PooledBIC = float64(k)*math.Log(n) - 2*cmp.PooledLogLikelihood
	cmp.PartitionedBIC = float64(cmp.PartitionedParameters)*math.Log(n) - 2*cmp.PartitionedLogLikelihood
	cmp.Preferred = fitPooled
	if cmp.PartitionedBIC < cmp.PooledBIC {
		cmp.Preferred = fitPartitioned
	}
	return cmp, curves, nil
}

// fitPartition fits one value's customers (unique: their distinct rows with counts as weights;
// share: their fraction of all customers), warm-started from the pooled fit, or says why the
// value should use the pooled fit.
func fitPartition(cfg Config, pooled *fittedModel, unique []ltv.RFM, freq, monetary []float64, repeaters int64, share float64) (ltv.PurchaseModel, ltv.SpendModel, string) {
	if len(freq) < minPartitionCustomers || repeaters < minPartitionRepeaters {
		return nil, nil, fmt.Sprintf("%d customers, %d with repeat purchases: a separate fit needs at least %d and %d",
			len(freq), repeaters, minPartitionCustomers, minPartitionRepeaters)
	}
	pm, err := ltv.RefitPurchase(pooled.purchase, unique, share)
	if err != nil {
		return nil, nil, err.Error()
	}
	sm, err := ltv.RefitSpend(pooled.spend, freq, monetary, share)
	if err != nil {
		return nil, nil, err.Error()
	}
	return pm, sm, ""
}
