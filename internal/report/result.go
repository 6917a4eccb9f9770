// Package report defines the Result of one computation run, in full precision, and renders it
// into the files of the results ConfigMap. Field names match LTVComputation status.result so
// that `ltvctl compute -o json`, summary.json and status read the same.
package report

import "time"

// Result is everything one run produced except per-customer scores.
type Result struct {
	ComputedAt     time.Time `json:"computedAt"`
	ObservationEnd string    `json:"observationEnd"`
	// CalibrationEnd is the backtest's calibration end, when a holdout is used (the headline is
	// always fitted on the data up to ObservationEnd).
	CalibrationEnd  string  `json:"calibrationEnd,omitempty"`
	TimeUnit        string  `json:"timeUnit"`
	HorizonMonths   int     `json:"horizonMonths"`
	Currency        string  `json:"currency"`
	Customers       int64   `json:"customers"`
	RepeatCustomers int64   `json:"repeatCustomers"`
	Transactions    int64   `json:"transactions"`
	Revenue         float64 `json:"revenue"`

	// AverageLTV, MedianLTV and TotalLTV are the model's value per customer (predictedValue):
	// for the predictive models the discounted margin over the horizon still to come, for
	// Historical the margin realised so far.
	AverageLTV         float64   `json:"averageLTV"`
	AverageLTVInterval *Interval `json:"averageLTVInterval,omitempty"`
	MedianLTV          float64   `json:"medianLTV"`
	TotalLTV           float64   `json:"totalLTV"`
	// AverageAcquisitionCost is the mean CAC over customers; nil without acquisition costs.
	AverageAcquisitionCost *float64 `json:"averageAcquisitionCost,omitempty"`
	// LTVToCAC is NewCustomer.LTV / AverageAcquisitionCost: the lifetime value of a new customer
	// over what acquiring one costs (nil without acquisition costs or a new-customer LTV).
	LTVToCAC *float64 `json:"ltvToCAC,omitempty"`
	// AffordableCAC is NewCustomer.LTV / TargetLTVToCAC: the most one new customer may cost.
	AffordableCAC *float64 `json:"affordableCAC,omitempty"`
	// TargetLTVToCAC is the LTV:CAC ratio AffordableCAC aims at (economics.targetLTVToCAC).
	TargetLTVToCAC float64 `json:"targetLTVToCAC,omitempty"`
	// NewCustomer is what one more customer is worth when acquired (nil when the model cannot say).
	NewCustomer *NewCustomer `json:"newCustomer,omitempty"`
	// FitBy compares the pooled fit with fits partitioned by model.fitBy.
	FitBy *FitComparison `json:"fitBy,omitempty"`
	// Cohorts summarise the most recent acquisition cohorts (newest first); CohortTables are the
	// full tables, written as cohorts.csv and cohorts-<attribute>.csv (left out of summary.json,
	// but kept in JSON so that a Job's result carries them to the manager).
	Cohorts      []CohortSummary `json:"cohorts,omitempty"`
	CohortTables []CohortTable   `json:"cohortTables,omitempty"`
	// CohortsNote says why there are no cohorts.
	CohortsNote             string   `json:"cohortsNote,omitempty"`
	Top20PercentValueShare  float64  `json:"top20PercentValueShare"`
	AverageProbabilityAlive *float64 `json:"averageProbabilityAlive,omitempty"`
	// ProbabilityAliveHistogram counts the customers by P(alive) at ObservationEnd in ten bins of
	// width 0.1: [0, 0.1), [0.1, 0.2), ..., [0.9, 1] (probabilistic purchase models).
	ProbabilityAliveHistogram []int64 `json:"probabilityAliveHistogram,omitempty"`
	// Churn averages the customers' churn outlooks (probabilistic purchase models).
	Churn *ChurnOutlook `json:"churn,omitempty"`

	// HistoricValue is the margin realised to date (net revenue x margin), PredictedValue the
	// model's value (averageLTV, totalLTV), TotalValue their sum per customer (for Historical,
	// which predicts nothing, TotalValue equals HistoricValue).
	HistoricValue  ValueTotals `json:"historicValue"`
	PredictedValue ValueTotals `json:"predictedValue"`
	TotalValue     ValueTotals `json:"totalValue"`

	Model      ModelResult `json:"model"`
	Validation *Validation `json:"validation,omitempty"`
	// Backtest is the second fit on the calibration window scored on the holdout, when a holdout
	// is used.
	Backtest   *Backtest     `json:"backtest,omitempty"`
	Segments   []Segment     `json:"segments,omitempty"`
	Breakdowns []Breakdown   `json:"breakdowns,omitempty"`
	Top        []CustomerRow `json:"topCustomers,omitempty"`

	InvalidRows    int64    `json:"invalidRows,omitempty"`
	InvalidSamples []string `json:"invalidSamples,omitempty"`
	ExcludedRows   int64    `json:"excludedRows,omitempty"`
	DataDigest     string   `json:"dataDigest"`
}

// NewCustomer is the lifetime value of one new customer and the acquisition economics on it.
type NewCustomer struct {
	// LTV is the expected discounted margin of a new customer over the horizon, first order
	// included (see docs/models.md).
	LTV float64 `json:"ltv"`
	// AverageFirstOrder is the mean first-purchase value (revenue) of the customers concerned.
	AverageFirstOrder float64 `json:"averageFirstOrder"`
	// RepeatSpend is the expected value (revenue) of a repeat purchase of a new customer.
	RepeatSpend float64 `json:"repeatSpend"`
	// ExpectedRepeatPurchases is the expected number of repeat purchases over the horizon.
	ExpectedRepeatPurchases float64 `json:"expectedRepeatPurchases"`
	// AcquisitionCost is the mean CAC of the customers concerned; nil without acquisition costs.
	AcquisitionCost *float64 `json:"acquisitionCost,omitempty"`
	// LTVToCAC is LTV / AcquisitionCost.
	LTVToCAC *float64 `json:"ltvToCAC,omitempty"`
	// AffordableCAC is LTV / the target LTV:CAC.
	AffordableCAC float64 `json:"affordableCAC"`
	// PaybackMonths is the number of months after acquisition by whose end the cumulative
	// discounted margin repays AcquisitionCost (0: the first order does). Nil when it is not
	// repaid within the horizon, or there is no acquisition cost or no monthly curve.
	PaybackMonths *int `json:"paybackMonths,omitempty"`
	// PaidBackWithinHorizon is false when AcquisitionCost is not repaid within the horizon; nil
	// when there is nothing to repay or no monthly curve (Historical).
	PaidBackWithinHorizon *bool `json:"paidBackWithinHorizon,omitempty"`
	// Fit is the fit the figures come from: Pooled (all customers) or Partitioned (this
	// model.fitBy value's customers).
	Fit string `json:"fit,omitempty"`
	// ObservedPaybackMonths is what the acquisition cohorts did: the first month since the
	// acquisition month (0: the acquisition month) by whose end the realised, undiscounted margin
	// per acquired customer of the cohorts observed that long reached AcquisitionCost. Nil when the
	// observed months do not reach it, or without cohorts or acquisition cost.
	ObservedPaybackMonths *int `json:"observedPaybackMonths,omitempty"`
}

// FitComparison compares one purchase-model fit on all customers (pooled) with one fit per value
// of model.fitBy (partitioned), on the same customers: a partitioned fit with a lower AIC/BIC
// says the values really differ.
type FitComparison struct {
	Attribute string `json:"attribute"`
	Customers int64  `json:"customers"`
	// Log-likelihoods of the purchase model; for values that fell back to the pooled fit, their
	// customers' log-likelihood under it.
	PooledLogLikelihood      float64 `json:"pooledLogLikelihood"`
	PartitionedLogLikelihood float64 `json:"partitionedLogLikelihood"`
	// Parameter counts: k for the pooled fit, k per partitioned value (plus k once for the pooled
	// fit when some value fell back to it).
	PooledParameters      int     `json:"pooledParameters"`
	PartitionedParameters int     `json:"partitionedParameters"`
	PooledAIC             float64 `json:"pooledAIC"`
	PartitionedAIC        float64 `json:"partitionedAIC"`
	PooledBIC             float64 `json:"pooledBIC"`
	PartitionedBIC        float64 `json:"partitionedBIC"`
	// Preferred is Partitioned or Pooled: the lower BIC.
	Preferred string     `json:"preferred"`
	Values    []FitValue `json:"values"`
}

// FitValue is the fit used for one model.fitBy value.
type FitValue struct {
	Value           string `json:"value"`
	Customers       int64  `json:"customers"`
	RepeatCustomers int64  `json:"repeatCustomers"`
	// Fit is Partitioned (fitted on these customers) or Pooled (fallback, see Reason).
	Fit    string `json:"fit"`
	Reason string `json:"reason,omitempty"`
	// Parameters of the purchase and spend models used for this value.
	Parameters    map[string]float64 `json:"parameters,omitempty"`
	LogLikelihood float64            `json:"logLikelihood"`
	// NewCustomer is this value's new-customer economics.
	NewCustomer *NewCustomer `json:"newCustomer,omitempty"`
}

// CohortTable is the cohorts of all customers (Attribute empty) or per value of an attribute.
type CohortTable struct {
	Attribute string      `json:"attribute,omitempty"`
	Rows      []CohortRow `json:"rows"`
}

// CohortRow is one month of one acquisition cohort.
type CohortRow struct {
	// Value of the attribute (empty in the overall table).
	Value string `json:"value,omitempty"`
	// Cohort is the acquisition month (YYYY-MM): the month of the customers' first purchase.
	Cohort string `json:"cohort"`
	// MonthsSinceAcquisition: 0 is the acquisition month itself.
	MonthsSinceAcquisition int `json:"monthsSinceAcquisition"`
	// Customers acquired in the cohort; ActiveCustomers of them purchased in this month.
	Customers       int `json:"customers"`
	ActiveCustomers int `json:"activeCustomers"`
	// Revenue is the cohort's net revenue in the month.
	Revenue float64 `json:"revenue"`
	// CumulativeMarginPerCustomer is the realised net margin from acquisition to the month's end
	// per acquired customer; ExpectedCumulativeMarginPerCustomer the model's expectation of it
	// (undiscounted, without retention costs; nil without a model of new customers).
	CumulativeMarginPerCustomer         float64  `json:"cumulativeMarginPerCustomer"`
	ExpectedCumulativeMarginPerCustomer *float64 `json:"expectedCumulativeMarginPerCustomer,omitempty"`
}

// CohortSummary is one cohort's realised (and expected) cumulative margin per acquired customer
// through month 3, 6 and 12 since acquisition; nil where not yet observed in full.
type CohortSummary struct {
	Cohort             string   `json:"cohort"`
	Customers          int      `json:"customers"`
	ValueAt3Months     *float64 `json:"valueAt3Months,omitempty"`
	ExpectedAt3Months  *float64 `json:"expectedAt3Months,omitempty"`
	ValueAt6Months     *float64 `json:"valueAt6Months,omitempty"`
	ExpectedAt6Months  *float64 `json:"expectedAt6Months,omitempty"`
	ValueAt12Months    *float64 `json:"valueAt12Months,omitempty"`
	ExpectedAt12Months *float64 `json:"expectedAt12Months,omitempty"`
}

// ValueTotals is the average and the sum of one per-customer value over a group of customers.
type ValueTotals struct {
	Average float64 `json:"average"`
	Total   float64 `json:"total"`
}

// Interval is an interval estimate at a coverage level.
type Interval struct {
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	Level float64 `json:"level"`
}

// ModelResult describes the models used and their fits.
type ModelResult struct {
	Type  string `json:"type"`
	Spend string `json:"spend,omitempty"`
	// Parameters of the purchase and spend models by the literature's names.
	Parameters map[string]float64 `json:"parameters,omitempty"`
	// StandardErrors of the parameters, from the inverse Hessian.
	StandardErrors     map[string]float64 `json:"standardErrors,omitempty"`
	LogLikelihood      *float64           `json:"logLikelihood,omitempty"`
	SpendLogLikelihood *float64           `json:"spendLogLikelihood,omitempty"`
	Converged          bool               `json:"converged"`
	Iterations         int                `json:"iterations,omitempty"`
	// GradientNorm is the log-likelihood gradient's norm over the log-parameters where the fit
	// last evaluated it (for the Newton-polished fits, before their final step).
	GradientNorm float64 `json:"gradientNorm,omitempty"`
	// Notes explain choices the run made, such as a fallback spend model.
	Notes []string `json:"notes,omitempty"`
	// LifetimeMonths is the customer lifespan the Formula model used.
	LifetimeMonths *float64 `json:"lifetimeMonths,omitempty"`
}

// Validation compares predicted with actual repeat transactions in the holdout.
type Validation struct {
	HoldoutPeriods        int                 `json:"holdoutPeriods"`
	PredictedTransactions float64             `json:"predictedTransactions"`
	ActualTransactions    int64               `json:"actualTransactions"`
	MeanAbsoluteError     float64             `json:"meanAbsoluteError"`
	ByFrequency           []FrequencyBacktest `json:"byFrequency"`
}

// FrequencyBacktest groups customers by calibration repeat transactions (0..6, then 7+).
type FrequencyBacktest struct {
	Frequency string  `json:"frequency"`
	Customers int64   `json:"customers"`
	Predicted float64 `json:"predicted"`
	Actual    float64 `json:"actual"`
}

// Segment aggregates one CustomerSegment.
type Segment struct {
	Name               string    `json:"name"`
	Customers          int64     `json:"customers"`
	AverageLTV         float64   `json:"averageLTV"`
	MedianLTV          float64   `json:"medianLTV"`
	TotalLTV           float64   `json:"totalLTV"`
	ValueShare         float64   `json:"valueShare"`
	AverageLTVInterval *Interval `json:"averageLTVInterval,omitempty"`
	// HistoricValue and TotalValue of the segment's customers (see Result).
	HistoricValue ValueTotals `json:"historicValue"`
	TotalValue    ValueTotals `json:"totalValue"`
	// Churn averages the segment's customers' churn outlooks.
	Churn *ChurnOutlook `json:"churn,omitempty"`
}

// ChurnOutlook averages customers' outlooks over the churn window after the observation end.
type ChurnOutlook struct {
	WindowDays int `json:"windowDays"`
	// AverageProbabilityAliveAfter is the mean P(alive at observation end + windowDays).
	AverageProbabilityAliveAfter float64 `json:"averageProbabilityAliveAfter"`
	// AverageProbabilityNoPurchase is the mean P(no purchase within windowDays).
	AverageProbabilityNoPurchase float64 `json:"averageProbabilityNoPurchase"`
	// CustomersWithNextPurchase is how many customers have a next-purchase date.
	CustomersWithNextPurchase int64 `json:"customersWithNextPurchase"`
}

// Breakdown aggregates by the values of one attribute.
type Breakdown struct {
	Attribute string           `json:"attribute"`
	Values    []BreakdownValue `json:"values"`
}

// BreakdownValue aggregates the customers sharing one attribute value.
type BreakdownValue struct {
	Value           string   `json:"value"`
	Customers       int64    `json:"customers"`
	AverageLTV      float64  `json:"averageLTV"`
	TotalLTV        float64  `json:"totalLTV"`
	ValueShare      float64  `json:"valueShare"`
	AcquisitionCost *float64 `json:"acquisitionCost,omitempty"`
	LTVToCAC        *float64 `json:"ltvToCAC,omitempty"`
	// HistoricValue and TotalValue of these customers (see Result).
	HistoricValue ValueTotals `json:"historicValue"`
	TotalValue    ValueTotals `json:"totalValue"`
	// NewCustomer is the new-customer economics of this value (AcquisitionCost, LTVToCAC above
	// repeat its CAC and ratio).
	NewCustomer *NewCustomer `json:"newCustomer,omitempty"`
	// AverageLTVInterval is the 90% interval of AverageLTV from the same parameter draws as the
	// overall one (probabilistic models).
	AverageLTVInterval *Interval `json:"averageLTVInterval,omitempty"`
}

// CustomerRow is one customer's scores.
type CustomerRow struct {
	ID         string            `json:"id"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Frequency  int               `json:"frequency"`
	Recency    float64           `json:"recency"`
	Age        float64           `json:"age"`
	Monetary   float64           `json:"monetary"`
	// HistoricRevenue is the customer's net revenue to date; HistoricValue is that times the
	// gross margin (realised value), PredictedValue the model's value, TotalValue their sum (for
	// Historical: HistoricValue).
	HistoricRevenue   float64  `json:"historicRevenue"`
	HistoricValue     float64  `json:"historicValue"`
	ExpectedPurchases float64  `json:"expectedPurchases"`
	ProbabilityAlive  float64  `json:"probabilityAlive"`
	PredictedValue    float64  `json:"predictedValue"`
	TotalValue        float64  `json:"totalValue"`
	Segments          []string `json:"segments,omitempty"`
	// ProbabilityAliveAfterWindow and ProbabilityNoPurchase are the churn outlook over the
	// churn window (nil for models without one).
	ProbabilityAliveAfterWindow *float64 `json:"probabilityAliveAfterWindow,omitempty"`
	ProbabilityNoPurchase       *float64 `json:"probabilityNoPurchase,omitempty"`
	// NextPurchaseDate is the median date of the next purchase (YYYY-MM-DD); empty when none
	// (P(alive) <= 0.5, or more likely than not never).
	NextPurchaseDate string `json:"nextPurchaseDate,omitempty"`
	// PredictedValueLower and PredictedValueUpper are the 90% interval of PredictedValue from the
	// fitted parameters' uncertainty (the same draws as the average LTV's interval; not the
	// customer's own randomness, see docs/models.md); nil when the model has no interval
	// (Historical, Formula, ShiftedBetaGeometric, or no parameter covariance).
	PredictedValueLower *float64 `json:"predictedValueLower,omitempty"`
	PredictedValueUpper *float64 `json:"predictedValueUpper,omitempty"`
}

// Backtest is a second fit on the calibration window (the data up to CalibrationEnd) whose
// predictions are compared with what the calibration customers did in the holdout. Values are
// net margin (grossMargin x net amounts), undiscounted, without retention costs.
type Backtest struct {
	CalibrationEnd string `json:"calibrationEnd"`
	HoldoutPeriods int    `json:"holdoutPeriods"`
	// Customers are the calibration customers scored (those who bought by CalibrationEnd).
	Customers int64 `json:"customers"`
	// Model is the calibration fit (its parameters differ from the headline's).
	Model ModelResult `json:"model"`
	// Transactions compares predicted and actual repeat transactions (probabilistic models).
	Transactions *Validation `json:"transactions,omitempty"`
	// Value compares predicted and actual holdout net margin over all calibration customers.
	Value *ValueBacktest `json:"value,omitempty"`
	// Segments and Breakdowns score the same predictions per segment (membership as of the
	// calibration end) and per breakdown value.
	Segments   []GroupBacktest     `json:"segments,omitempty"`
	Breakdowns []BreakdownBacktest `json:"breakdowns,omitempty"`
	// Deciles group the customers by predicted holdout value, highest first.
	Deciles []DecileBacktest `json:"deciles,omitempty"`
	// Error says why the backtest could not be computed; the headline does not depend on it.
	Error string `json:"error,omitempty"`
}

// ValueBacktest compares predicted with actual holdout net margin over a group of customers.
// Ratios are omitted when undefined (no actual value, constant ranks).
type ValueBacktest struct {
	Customers int64   `json:"customers"`
	Predicted float64 `json:"predicted"`
	Actual    float64 `json:"actual"`
	// RelativeError is (predicted - actual) / actual.
	RelativeError        *float64 `json:"relativeError,omitempty"`
	MeanAbsoluteError    float64  `json:"meanAbsoluteError"`
	RootMeanSquaredError float64  `json:"rootMeanSquaredError"`
	// Top10PercentCapture and Top20PercentCapture are the shares of the actual value held by the
	// customers with the 10% and 20% highest predictions.
	Top10PercentCapture *float64 `json:"top10PercentCapture,omitempty"`
	Top20PercentCapture *float64 `json:"top20PercentCapture,omitempty"`
	// Spearman is the rank correlation of predicted and actual values.
	Spearman *float64 `json:"spearman,omitempty"`
}

// GroupBacktest is the value backtest of one segment or breakdown value.
type GroupBacktest struct {
	Name string `json:"name"`
	ValueBacktest
}

// BreakdownBacktest is the value backtest per value of one attribute.
type BreakdownBacktest struct {
	Attribute string          `json:"attribute"`
	Values    []GroupBacktest `json:"values"`
}

// DecileBacktest is one tenth of the customers by predicted holdout value: means per customer.
type DecileBacktest struct {
	Decile    int     `json:"decile"`
	Customers int64   `json:"customers"`
	Predicted float64 `json:"predicted"`
	Actual    float64 `json:"actual"`
}
