package pipeline

import (
	"context"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/ltv-operator/ltv-operator/internal/cohort"
	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/segment"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// defaultIntervalDraws is the number of parameter draws behind the 90% intervals.
const defaultIntervalDraws = 200

// Scores holds every customer's summary and predictions, for per-customer sinks.
type Scores struct {
	Summary      *summary.Summary
	values       predictions
	SegmentNames []string
	// GrossMargin and PredictsFuture turn a customer's revenue and prediction into their
	// historic, predicted and total value (see valueOf).
	GrossMargin    float64
	PredictsFuture bool
	// Members lists, per segment, the indexes of its customers in Summary, ascending (Rows
	// relies on it).
	Members [][]int32
	// outlooks are the churn outlooks (probabilistic purchase models only) of the cells (one per
	// distinct (x, tx, T)), outlookOf every customer's cell (see Outlook), and OutlookEnd the
	// observation end they start from.
	outlooks   []ltv.Outlook
	outlookOf  []int32
	OutlookEnd time.Time
	// ValueLower and ValueUpper are the customers' 90% bounds of predicted value (nil without an
	// interval: see ltv.CLVIntervals).
	ValueLower, ValueUpper []float64
	// Unit converts NextPurchase into days.
	Unit      summary.TimeUnit
	churnDays int
}

// Run computes one LTVComputation. Errors are *Error with the reason users see.
func Run(ctx context.Context, cfg Config, src Source) (*report.Result, *Scores, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	defs, err := compileSegments(cfg.Segments)
	if err != nil {
		return nil, nil, err
	}
	// The headline is fitted on every transaction up to the observation end; a holdout only adds
	// the backtest (a second fit on the calibration window), so it never changes the headline.
	var bt *report.Backtest
	if cfg.HoldoutPeriods > 0 {
		if bt, err = runBacktest(ctx, cfg, src, defs); err != nil {
			return nil, nil, err
		}
	}
	opts := summary.Options{
		CalibrationEnd: cfg.ObservationEnd,
		ObservationEnd: cfg.ObservationEnd,
		Unit:           cfg.Unit,
		Returns:        cfg.Returns,
		MaxInvalidRows: cfg.MaxInvalidRows,
		// Cohorts keep every row of every customer: up to a bound, not with the transactions of
		// any number of customers.
		ActivityCustomers: maxCohortCustomers,
	}
	sum, err := src.Summarize(ctx, cfg.Columns, opts)
	if err != nil {
		return nil, nil, Classify(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, Classify(err)
	}

	// The summary's builder (per-customer states, the id table, the day log: more than the
	// summary itself) is garbage now: collect it before the models allocate theirs.
	collectSummaryBuilder(sum.Len())
	// The cohorts need only the summary's activity: built alongside the fits.
	cohortsDone := make(chan cohortBuild, 1)
	go func() {
		b, note := cohortsOf(cfg, sum)
		cohortsDone <- cohortBuild{b, note}
	}()
	n := sum.Len()
	res := &report.Result{
		ObservationEnd: cfg.ObservationEnd.Format(time.DateOnly),
		TimeUnit:       string(cfg.Unit),
		HorizonMonths:  cfg.HorizonMonths,
		Currency:       cfg.Currency,
		Customers:      int64(n),
		Transactions:   int64(sum.Transactions),
		Revenue:        sum.Revenue,
		InvalidRows:    int64(sum.InvalidRows),
		ExcludedRows:   int64(sum.FutureRows + sum.ExcludedReturns),
		DataDigest:     sum.Digest,
		Model:          report.ModelResult{Type: cfg.Model},
	}
	if bt != nil {
		res.CalibrationEnd = bt.CalibrationEnd
		res.Backtest = bt
		res.Validation = bt.Transactions
	}
	for _, s := range sum.InvalidSamples {
		res.InvalidSamples = append(res.InvalidSamples, s.Error())
	}
	for i := range sum.Len() {
		if sum.Frequency(i) > 0 {
			res.RepeatCustomers++
		}
	}

	model, subscriptionModel, values, err := fitModel(cfg, sum, res)
	if err != nil {
		return nil, nil, err
	}

	cv := newCustomerValues(cfg, sum, values)
	total := segment.Sum(cv.predicted)
	groups := groupCustomers(cfg, sum)
	scores := &Scores{Summary: sum, values: values, Unit: cfg.Unit, GrossMargin: cfg.GrossMargin, PredictsFuture: predictsFuture(cfg.Model)}
	// The aggregates need only the predictions. The churn outlooks, the segments and the
	// intervals need the model too, and are most of the time left: they run alongside, each
	// side writing its own fields of res. The side is always waited for, so that nothing
	// writes res once Run has returned.
	type sideResult struct {
		breakdowns []breakdownInterval
		err        error
	}
	// Segments' filters may read the churn outlooks, so with segments the outlooks come first on
	// the side; without, they follow the aggregates and the intervals have the side to themselves.
	outlooksFirst := len(defs) > 0
	side := make(chan sideResult, 1)
	go func() {
		b, err := modelDependents(cfg, defs, model, sum, groups, cv, total, scores, res, outlooksFirst)
		side <- sideResult{b, err}
	}()
	err = aggregates(cfg, sum, groups, model, subscriptionModel, values, cv, total, res, func() cohortBuild { return <-cohortsDone })
	if err == nil && !outlooksFirst && model != nil {
		outlooks(cfg, model.purchase, model.cells, scores, res)
	}
	dependents := <-side
	if err != nil {
		return nil, nil, err
	}
	if dependents.err != nil {
		return nil, nil, dependents.err
	}
	setBreakdownIntervals(res, dependents.breakdowns)
	collectPhase(n)
	res.Top = topCustomers(cfg, scores)
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	res.ComputedAt = now().UTC().Truncate(time.Second)
	return res, scores, nil
}

// cohortBuild is the cohorts' builder, built alongside the fits.
type cohortBuild struct {
	b    *cohort.Builder
	note string
}

// aggregates fills the figures that need only the predictions: totals, the overall average and
// median, the top 20%'s share, P(alive), acquisition costs, breakdowns, new customers and cohorts.
func aggregates(cfg Config, sum *summary.Summary, groups customerGroups, model *fittedModel, subscriptionModel *ltv.SubscriptionModel, values predictions,
	cv *customerValues, total float64, res *report.Result, cohorts func() cohortBuild) error {
	n := sum.Len()
	ltvs := cv.predicted
	alive, aliveBins := aliveSummary(values)
	all := make([]int32, n)
	for i := range all {
		all[i] = int32(i)
	}
	res.HistoricValue, res.PredictedValue, res.TotalValue = cv.historicTotals(all), totals(cv.predicted, all), cv.totalTotals(all)
	overall, top20 := segment.Overall(ltvs, total, 0.2)
	res.AverageLTV, res.MedianLTV, res.TotalLTV = overall.AverageLTV, overall.MedianLTV, total
	res.Top20PercentValueShare = top20
	if model != nil && n > 0 {
		a := alive / float64(n)
		res.AverageProbabilityAlive = &a
		res.ProbabilityAliveHistogram = aliveBins
	}
	cac := acquisitionCosts(cfg, sum)
	if cac != nil {
		avg := meanOf(cac, all)
		res.AverageAcquisitionCost = &avg
	}
	res.Breakdowns = breakdowns(cfg, groups, cv, cac, total)
	curves, err := acquisition(cfg, sum, groups, model, subscriptionModel, res, cv, cac)
	c := cohorts()
	if err != nil {
		return err
	}
	cohortResults(cfg, c.b, c.note, curves, res)
	return nil
}

// modelDependents fills what needs the fitted model besides the predictions: the churn
// outlooks when withOutlooks, the segments (whose filters may read them) and the intervals. It
// returns the breakdowns' intervals for setBreakdownIntervals, as the breakdowns are built
// alongside.
func modelDependents(cfg Config, defs []segment.Definition, model *fittedModel, sum *summary.Summary, groups customerGroups, cv *customerValues,
	total float64, scores *Scores, res *report.Result, withOutlooks bool) ([]breakdownInterval, error) {
	n := sum.Len()
	if model != nil && withOutlooks {
		outlooks(cfg, model.purchase, model.cells, scores, res)
	}
	if len(defs) > 0 {
		customers := segmentCustomers(sum, scores.values, cv)
		scores.withOutlooks(customers)
		segment.Percentiles(customers)
		members, err := segment.Assign(defs, customers, endOfDay(cfg.ObservationEnd))
		if err != nil {
			return nil, &Error{Reason: ReasonInvalidFilter, Permanent: true, Err: err}
		}
		for i, d := range defs {
			a := segment.Aggregate(cv.predicted, members[i], total)
			res.Segments = append(res.Segments, report.Segment{
				Name: d.Name, Customers: int64(a.Customers), AverageLTV: a.AverageLTV, MedianLTV: a.MedianLTV,
				TotalLTV: a.TotalLTV, ValueShare: a.ValueShare,
				HistoricValue: cv.historicTotals(members[i]), TotalValue: cv.totalTotals(members[i]),
			})
			scores.segmentOutlook(&res.Segments[len(res.Segments)-1], members[i])
			scores.SegmentNames = append(scores.SegmentNames, d.Name)
		}
		scores.Members = members
	}
	if model == nil {
		return nil, nil
	}
	collectPhase(n)
	return intervals(cfg, model, groups, res, scores)
}

// fitModel fits cfg.Model on sum and fills every customer's value. It returns the fitted purchase
// and spend models (probabilistic models) or the subscription model (ShiftedBetaGeometric).
func fitModel(cfg Config, sum *summary.Summary, res *report.Result) (*fittedModel, *ltv.SubscriptionModel, predictions, error) {
	switch cfg.Model {
	case ModelBGNBD, ModelParetoNBD, ModelModifiedBGNBD:
		m, values, err := probabilistic(cfg, sum, res)
		return m, nil, values, err
	}
	values := newPerCustomer(sum.Len())
	switch cfg.Model {
	case ModelHistorical:
		historical(cfg, sum, values.values)
		res.Model.Converged = true
	case ModelFormula:
		res.Model = formula(cfg, sum, values.values)
	case ModelShiftedBetaGeometric:
		m, err := subscription(cfg, sum, values.values, res)
		return nil, m, values, err
	}
	return nil, nil, values, nil
}

func compileSegments(specs []SegmentSpec) ([]segment.Definition, error) {
	defs := make([]segment.Definition, 0, len(specs))
	for _, s := range specs {
		d := segment.Definition{Name: s.Name}
		if s.Filter != "" {
			f, err := segment.Compile(s.Filter)
			if err != nil {
				return nil, permanent(ReasonInvalidFilter, "segment %q: %v", s.Name, err)
			}
			d.Filter = f
		}
		if s.TopPercent != nil || s.MinPredictedValue != nil || s.MaxPredictedValue != nil {
			d.Tier = &segment.ValueTier{TopPercent: s.TopPercent, MinPredictedValue: s.MinPredictedValue, MaxPredictedValue: s.MaxPredictedValue}
			if err := d.Tier.Validate(); err != nil {
				return nil, permanent(ReasonInvalidSpec, "segment %q: %v", s.Name, err)
			}
		}
		if d.Filter == nil && d.Tier == nil {
			return nil, permanent(ReasonInvalidSpec, "segment %q has neither a filter nor a value tier", s.Name)
		}
		defs = append(defs, d)
	}
	return defs, nil
}

// historical is the value customers already brought, as margin.
func historical(cfg Config, sum *summary.Summary, values []ltv.CustomerValue) {
	for i, c := range sum.All() {
		values[i] = ltv.CustomerValue{CLV: cfg.GrossMargin * c.HistoricValue}
	}
}

// annuityFactor is the present value of 1 per month for `months` months (the last one possibly
// partial), paid at each month's end.
func annuityFactor(months, monthly float64) float64 {
	f := 0.0
	whole := math.Floor(months)
	for m := 1.0; m <= whole; m++ {
		f += math.Pow(1+monthly, -m)
	}
	if frac := months - whole; frac > 0 {
		f += frac * math.Pow(1+monthly, -(whole+1))
	}
	return f
}

// formula is the textbook LTV: average order value x purchases per month x lifetime in months x
// margin, minus the monthly retention cost, each month discounted. Each customer uses their own
// order value and purchase rate (observed over at least one month, so one recent purchase does
// not extrapolate to a purchase every day).
func formula(cfg Config, sum *summary.Summary, values []ltv.CustomerValue) report.ModelResult {
	perMonth := cfg.Unit.PeriodsPerMonth()
	lifetime, note := formulaLifetime(cfg, sum)
	monthly := clvConfig(cfg).MonthlyDiscountRate()
	annuity := annuityFactor(lifetime, monthly)
	var orders, repeats, months float64
	for i, c := range sum.All() {
		n := float64(c.Frequency + 1)
		observed := math.Max(c.Age/perMonth, 1)
		aov := c.HistoricValue / n
		rate := n / observed
		values[i] = ltv.CustomerValue{
			ExpectedPurchases: rate * lifetime,
			ProbabilityAlive:  0,
			ExpectedSpend:     aov,
			CLV:               (aov*rate*cfg.GrossMargin - cfg.RetentionCostPerMonth) * annuity,
		}
		orders += n
		repeats += float64(c.Frequency)
		months += observed
	}
	params := map[string]float64{"lifetimeMonths": lifetime, "monthlyDiscountRate": monthly}
	if orders > 0 {
		params["averageOrderValue"] = sum.Revenue / orders
		params["purchasesPerMonth"] = orders / months
		params["repeatPurchasesPerMonth"] = repeats / months
	}
	res := report.ModelResult{Type: ModelFormula, Parameters: params, Converged: true, LifetimeMonths: &lifetime}
	if note != "" {
		res.Notes = append(res.Notes, note)
	}
	return res
}

// acquisitionCosts returns each customer's acquisition cost, or nil when none is configured.
func acquisitionCosts(cfg Config, sum *summary.Summary) []float64 {
	ac := cfg.AcquisitionCost
	if ac == nil {
		return nil
	}
	idx := attributeIndex(cfg.Columns.Attributes, ac.ByAttribute)
	out := make([]float64, sum.Len())
	for i := range sum.Len() {
		out[i] = ac.Default
		if idx >= 0 {
			if v, ok := ac.Values[sum.Attributes(i)[idx]]; ok {
				out[i] = v
			}
		}
	}
	return out
}

func attributeIndex(names []string, name string) int {
	for i, n := range names {
		if n == name && name != "" {
			return i
		}
	}
	return -1
}

// breakdowns aggregates by every breakdownBy attribute, the most customers first.
func breakdowns(cfg Config, groups customerGroups, cv *customerValues, cac []float64, total float64) []report.Breakdown {
	ltvs := cv.predicted
	var out []report.Breakdown
	for _, attr := range cfg.BreakdownBy {
		b := report.Breakdown{Attribute: attr}
		for value, members := range groups[attr] {
			a := segment.Aggregate(ltvs, members, total)
			bv := report.BreakdownValue{Value: value, Customers: int64(a.Customers), AverageLTV: a.AverageLTV, TotalLTV: a.TotalLTV, ValueShare: a.ValueShare,
				HistoricValue: cv.historicTotals(members), TotalValue: cv.totalTotals(members)}
			if cac != nil {
				c := meanOf(cac, members)
				bv.AcquisitionCost = &c // LTV:CAC on the new-customer LTV: see acquisition
			}
			b.Values = append(b.Values, bv)
		}
		sort.Slice(b.Values, func(i, j int) bool {
			if b.Values[i].Customers != b.Values[j].Customers {
				return b.Values[i].Customers > b.Values[j].Customers
			}
			return b.Values[i].Value < b.Values[j].Value
		})
		out = append(out, b)
	}
	return out
}

func segmentCustomers(sum *summary.Summary, values predictions, cv *customerValues) []segment.Customer {
	out := make([]segment.Customer, sum.Len())
	for i, c := range sum.All() {
		attrs := make(map[string]string, len(sum.AttributeNames))
		for j, name := range sum.AttributeNames {
			attrs[name] = c.Attributes[j]
		}
		v := values.Value(i)
		out[i] = segment.Customer{
			ID: c.ID, Frequency: int64(c.Frequency), Recency: c.Recency, Age: c.Age, Monetary: c.Monetary,
			HistoricRevenue: c.HistoricValue, HistoricValue: cv.historic(int32(i)), TotalValue: cv.total(int32(i)), FirstPurchase: c.FirstPurchase, LastPurchase: c.LastPurchase,
			Attributes: attrs, Orders: int64(c.Orders),
			ExpectedPurchases: v.ExpectedPurchases, ProbabilityAlive: v.ProbabilityAlive,
			PredictedValue: v.CLV,
		}
	}
	return out
}

// topCustomers lists the customers with the highest predicted value.
func topCustomers(cfg Config, s *Scores) []report.CustomerRow {
	n := s.values.Len()
	clv := s.values.CLV()
	k := cfg.TopCustomers
	if k <= 0 {
		return nil
	}
	if k > n {
		k = n
	}
	// before reports whether customer a ranks before b: higher value, then smaller id
	before := func(a, b int32) bool {
		va, vb := clv[a], clv[b]
		if va != vb {
			return va > vb
		}
		return s.Summary.ID(int(a)) < s.Summary.ID(int(b))
	}
	// the k best in a heap whose root is the worst of them: one comparison for most customers
	top := make([]int32, 0, k)
	down := func(i int) {
		for {
			w, l, r := i, 2*i+1, 2*i+2
			if l < len(top) && before(top[w], top[l]) {
				w = l
			}
			if r < len(top) && before(top[w], top[r]) {
				w = r
			}
			if w == i {
				return
			}
			top[i], top[w] = top[w], top[i]
			i = w
		}
	}
	for i := range int32(n) {
		switch {
		case len(top) < k:
			top = append(top, i)
			for j := len(top) - 1; j > 0 && before(top[(j-1)/2], top[j]); j = (j - 1) / 2 {
				top[j], top[(j-1)/2] = top[(j-1)/2], top[j]
			}
		case before(i, top[0]):
			top[0] = i
			down(0)
		}
	}
	slices.SortFunc(top, func(a, b int32) int {
		switch {
		case a == b:
			return 0
		case before(a, b):
			return -1
		}
		return 1
	})
	out := make([]report.CustomerRow, 0, k)
	for _, i := range top[:k] {
		out = append(out, s.Row(int(i), s.segmentsOf(i)))
	}
	return out
}

// segmentsOf names the segments customer i belongs to (nil for none), by a binary search in
// each segment's members: for a few customers (the top ones), without inverting Members.
func (s *Scores) segmentsOf(i int32) []string {
	var out []string
	for j, members := range s.Members {
		if _, ok := slices.BinarySearch(members, i); ok {
			out = append(out, s.SegmentNames[j])
		}
	}
	return out
}

// Rows calls fn with every customer's scores, in Summary order, stopping at the first error.
// It streams: besides each row's own allocations it holds one cursor per segment, never
// anything per customer (the sink writes millions of rows; an index of every customer's
// segments would outweigh the summary). The cursors walk Members, which are ascending.
func (s *Scores) Rows(fn func(report.CustomerRow) error) error {
	next := make([]int, len(s.Members)) // per segment, its first member not yet reached
	for i := range s.Summary.Len() {
		var segs []string
		for j, members := range s.Members {
			if next[j] < len(members) && members[next[j]] == int32(i) {
				segs = append(segs, s.SegmentNames[j])
				next[j]++
			}
		}
		if err := fn(s.Row(i, segs)); err != nil {
			return err
		}
	}
	return nil
}

// Value is customer i's prediction.
func (s *Scores) Value(i int) ltv.CustomerValue { return s.values.Value(i) }

// Row is customer i's scores.
func (s *Scores) Row(i int, segments []string) report.CustomerRow {
	c := s.Summary.Customer(i)
	v := s.values.Value(i)
	historic, predicted, total := valueOf(s.GrossMargin, s.PredictsFuture, c.HistoricValue, v)
	var attrs map[string]string
	if len(s.Summary.AttributeNames) > 0 {
		attrs = make(map[string]string, len(s.Summary.AttributeNames))
		for j, name := range s.Summary.AttributeNames {
			attrs[name] = c.Attributes[j]
		}
	}
	row := report.CustomerRow{
		ID: c.ID, Attributes: attrs, Frequency: c.Frequency, Recency: c.Recency, Age: c.Age,
		Monetary: c.Monetary, HistoricRevenue: c.HistoricValue, HistoricValue: historic, ExpectedPurchases: v.ExpectedPurchases,
		ProbabilityAlive: v.ProbabilityAlive, PredictedValue: predicted, TotalValue: total, Segments: segments,
	}
	s.addOutlook(i, &row)
	if s.ValueLower != nil {
		lo, hi := s.ValueLower[i], s.ValueUpper[i]
		row.PredictedValueLower, row.PredictedValueUpper = &lo, &hi
	}
	return row
}

// aliveSummary is the sum of the customers' P(alive) and their counts by P(alive) in ten bins of
// width 0.1, the last one closed: one pass (each customer's P(alive) is a random read from its
// cell).
func aliveSummary(values predictions) (float64, []int64) {
	var sum float64
	h := make([]int64, 10)
	for i := range values.Len() {
		p := values.ProbabilityAlive(i)
		sum += p
		h[min(max(int(p*10), 0), 9)]++
	}
	return sum, h
}

func meanOf(v []float64, members []int32) float64 {
	if len(members) == 0 {
		return 0
	}
	s := 0.0
	for _, i := range members {
		s += v[i]
	}
	return s / float64(len(members))
}

func ratio(num, den float64) *float64 {
	if den <= 0 {
		return nil
	}
	r := num / den
	return &r
}

// endOfDay is the last instant of day d (UTC).
func endOfDay(d time.Time) time.Time {
	y, m, dd := d.UTC().Date()
	return time.Date(y, m, dd, 23, 59, 59, 0, time.UTC)
}
