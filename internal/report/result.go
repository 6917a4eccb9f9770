// Package report defines the Result of one computation run, in full precision, and renders it
// into the files of the results ConfigMap. Field names match LTVComputation status.result so
// that `ltvctl compute -o json`, summary.json and status read the same.
package report

import "time"

// Result is everything one run produced except per-customer scores.
type Result struct {
	ComputedAt     time.Time `json:"computedAt"`
	ObservationEnd string    `json:"observationEnd"`
	// CalibrationEnd differs from ObservationEnd when a holdout is used.
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
	LTVToCAC               *float64 `json:"ltvToCAC,omitempty"`
	// AffordableCAC is averageLTV / 3: the most one new customer may cost at LTV:CAC 3:1.
	AffordableCAC           float64  `json:"affordableCAC"`
	Top20PercentValueShare  float64  `json:"top20PercentValueShare"`
	AverageProbabilityAlive *float64 `json:"averageProbabilityAlive,omitempty"`

	// HistoricValue is the margin realised to date (net revenue x margin), PredictedValue the
	// model's value (averageLTV, totalLTV), TotalValue their sum per customer (for Historical,
	// which predicts nothing, TotalValue equals HistoricValue).
	HistoricValue  ValueTotals `json:"historicValue"`
	PredictedValue ValueTotals `json:"predictedValue"`
	TotalValue     ValueTotals `json:"totalValue"`

	Model      ModelResult   `json:"model"`
	Validation *Validation   `json:"validation,omitempty"`
	Segments   []Segment     `json:"segments,omitempty"`
	Breakdowns []Breakdown   `json:"breakdowns,omitempty"`
	Top        []CustomerRow `json:"topCustomers,omitempty"`

	InvalidRows    int64    `json:"invalidRows,omitempty"`
	InvalidSamples []string `json:"invalidSamples,omitempty"`
	ExcludedRows   int64    `json:"excludedRows,omitempty"`
	DataDigest     string   `json:"dataDigest"`
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
	GradientNorm       float64            `json:"gradientNorm,omitempty"`
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
}
