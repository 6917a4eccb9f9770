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
	// ProbabilityAliveHistogram counts the customers by P(alive) at ObservationEnd in ten bins of
	// width 0.1: [0, 0.1), [0.1, 0.2), ..., [0.9, 1] (probabilistic purchase models).
	ProbabilityAliveHistogram []int64 `json:"probabilityAliveHistogram,omitempty"`
	// Churn averages the customers' churn outlooks (probabilistic purchase models).
	Churn *ChurnOutlook `json:"churn,omitempty"`

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
	// AverageLTVInterval is the 90% interval of AverageLTV from the same parameter draws as the
	// overall one (probabilistic models).
	AverageLTVInterval *Interval `json:"averageLTVInterval,omitempty"`
}

// CustomerRow is one customer's scores.
type CustomerRow struct {
	ID                string            `json:"id"`
	Attributes        map[string]string `json:"attributes,omitempty"`
	Frequency         int               `json:"frequency"`
	Recency           float64           `json:"recency"`
	Age               float64           `json:"age"`
	Monetary          float64           `json:"monetary"`
	HistoricValue     float64           `json:"historicValue"`
	ExpectedPurchases float64           `json:"expectedPurchases"`
	ProbabilityAlive  float64           `json:"probabilityAlive"`
	PredictedValue    float64           `json:"predictedValue"`
	Segments          []string          `json:"segments,omitempty"`
	// ProbabilityAliveAfterWindow and ProbabilityNoPurchase are the churn outlook over the
	// churn window (nil for models without one).
	ProbabilityAliveAfterWindow *float64 `json:"probabilityAliveAfterWindow,omitempty"`
	ProbabilityNoPurchase       *float64 `json:"probabilityNoPurchase,omitempty"`
	// NextPurchaseDate is the median date of the next purchase (YYYY-MM-DD); empty when none
	// (P(alive) <= 0.5, or more likely than not never).
	NextPurchaseDate string `json:"nextPurchaseDate,omitempty"`
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
