package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LTVComputationSpec declares where the transactions are, how to model them, the business's
// economics, when to run and where to publish the results.
// +kubebuilder:validation:XValidation:rule="!has(self.timeZone) || has(self.schedule)",message="timeZone requires schedule"
// +kubebuilder:validation:XValidation:rule="!has(self.startingDeadlineSeconds) || has(self.schedule)",message="startingDeadlineSeconds requires schedule"
type LTVComputationSpec struct {
	// Source is where the transactions are read from.
	// +required
	Source Source `json:"source"`

	// Observation sets the end of the observation window and the unit time is measured in.
	// +optional
	Observation Observation `json:"observation,omitempty"`

	// Model chooses the lifetime value model and its horizon.
	// +optional
	Model Model `json:"model,omitempty"`

	// Economics holds the money side: currency, gross margin, discounting, retention and
	// acquisition costs.
	// +optional
	Economics Economics `json:"economics,omitempty"`

	// Returns says what negative amounts (refunds, returns) mean: Net subtracts them from the
	// customer's value on that day, Exclude drops those rows (counted in status), Reject fails the
	// run at the first negative amount.
	// +kubebuilder:default=Net
	// +optional
	Returns ReturnsPolicy `json:"returns,omitempty"`

	// BreakdownBy lists attribute columns (from source.columns.attributes) to aggregate by, such
	// as the acquisition channel. Each gets average LTV and LTV:CAC per value.
	// +kubebuilder:validation:MaxItems=8
	// +listType=set
	// +optional
	BreakdownBy []string `json:"breakdownBy,omitempty"`

	// SegmentSelector selects the CustomerSegments in this namespace to evaluate in every run.
	// Unset selects none; an empty selector ({}) selects all.
	// +optional
	SegmentSelector *metav1.LabelSelector `json:"segmentSelector,omitempty"`

	// Schedule is a cron expression ("0 3 * * *", or a macro such as "@daily") for recurring runs.
	// Without a schedule the computation runs when it is created, when its spec, source data or
	// selected segments change, and when the reconcile.fluxcd.io/requestedAt annotation changes.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Schedule string `json:"schedule,omitempty"`

	// TimeZone is the IANA time zone the schedule is interpreted in (for example
	// "Europe/Warsaw"); the default is UTC. TZ= and CRON_TZ= prefixes in schedule are refused.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	TimeZone *string `json:"timeZone,omitempty"`

	// StartingDeadlineSeconds is how late a missed scheduled run may still start, for example
	// after the operator was down. At most one missed run is caught up; older ones are skipped.
	// Unset means no deadline (the most recent missed run always starts).
	// +kubebuilder:validation:Minimum=0
	// +optional
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`

	// Suspend stops future scheduled runs. Runs already finished keep their results.
	// +optional
	Suspend *bool `json:"suspend,omitempty"`

	// RunHistoryLimit is how many recent runs status.recentRuns keeps.
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	RunHistoryLimit *int32 `json:"runHistoryLimit,omitempty"`

	// Output says where results are published besides status.
	// +optional
	Output Output `json:"output,omitempty"`

	// Alerts configures warnings when results move sharply between runs.
	// +optional
	Alerts *Alerts `json:"alerts,omitempty"`

	// Execution chooses where runs execute: inside the operator's manager (InProcess) or as a
	// Kubernetes Job in the computation's namespace (Job), with the Job's resources, identity
	// and placement. Unset: the operator's --default-execution flag decides (the Helm chart
	// defaults to Job). Changing it starts no run.
	// +optional
	Execution *Execution `json:"execution,omitempty"`
}

// Source is where the transactions come from: exactly one of configMap, http or postgres.
// +kubebuilder:validation:XValidation:rule="(has(self.configMap) ? 1 : 0) + (has(self.http) ? 1 : 0) + (has(self.postgres) ? 1 : 0) == 1",message="exactly one of configMap, http or postgres must be set"
type Source struct {
	// ConfigMap reads CSV from a key of a ConfigMap in the computation's namespace. For demos
	// and small shops: a ConfigMap holds at most 1 MiB (gzip-compressed CSV in binaryData works).
	// +optional
	ConfigMap *ConfigMapSource `json:"configMap,omitempty"`

	// HTTP reads CSV (gzip recognised) or Parquet from an HTTP(S) URL, streamed.
	// +optional
	HTTP *HTTPSource `json:"http,omitempty"`

	// Postgres computes the per-customer summary inside a PostgreSQL-compatible database, so
	// only one row per customer crosses the network.
	// +optional
	Postgres *PostgresSource `json:"postgres,omitempty"`

	// Columns maps the source's column names to the fields the operator needs.
	// +optional
	Columns Columns `json:"columns,omitempty"`

	// MaxInvalidRows is how many malformed rows (bad dates, non-numeric amounts, empty ids,
	// wrong column count) a run tolerates; they are counted and the first few reported. The
	// default 0 fails the run at the first malformed row.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxInvalidRows *int64 `json:"maxInvalidRows,omitempty"`
}

// ConfigMapSource names a key of a ConfigMap in the computation's namespace.
type ConfigMapSource struct {
	// Name of the ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Key holding the CSV, in data or (for gzip-compressed CSV) binaryData. Decompressed, the
	// CSV may hold at most 1 GiB; a truncated or corrupt gzip stream fails the run (InvalidData).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Key string `json:"key"`
}

// DataFormat is the file format of an HTTP source.
// +kubebuilder:validation:Enum=CSV;Parquet
type DataFormat string

const (
	// FormatCSV is comma-separated values with a header row, optionally gzip-compressed.
	FormatCSV DataFormat = "CSV"
	// FormatParquet is Apache Parquet.
	FormatParquet DataFormat = "Parquet"
)

// HTTPSource reads a file over HTTP(S).
type HTTPSource struct {
	// URL of the file (http or https).
	// +kubebuilder:validation:Pattern=`^https?://`
	// +kubebuilder:validation:MaxLength=2048
	// +required
	URL string `json:"url"`

	// Format of the file.
	// +kubebuilder:default=CSV
	// +optional
	Format DataFormat `json:"format,omitempty"`

	// HeadersSecretRef names a Secret in the computation's namespace whose keys and values are
	// sent as request headers (for example Authorization).
	// +optional
	HeadersSecretRef *LocalObjectReference `json:"headersSecretRef,omitempty"`

	// MaxBytes is the largest response body accepted, in bytes, as sent (compressed or not).
	// +kubebuilder:default=1073741824
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxBytes *int64 `json:"maxBytes,omitempty"`

	// MaxDecompressedBytes is the largest amount of data accepted after gzip decompression, in
	// bytes (a small gzip file can expand a thousandfold). Unset, it equals maxBytes.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxDecompressedBytes *int64 `json:"maxDecompressedBytes,omitempty"`

	// TimeoutSeconds bounds the whole download.
	// +kubebuilder:default=300
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	// +optional
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`
}

// PostgresSource reads transactions from a PostgreSQL-compatible database.
// +kubebuilder:validation:XValidation:rule="has(self.table) != has(self.query)",message="exactly one of table or query must be set"
type PostgresSource struct {
	// ConnectionSecretRef selects the key of a Secret in the computation's namespace that holds
	// the connection string (a libpq URL or key=value DSN). It never appears in status or logs.
	// +required
	ConnectionSecretRef SecretKeyReference `json:"connectionSecretRef"`

	// Table is the table or view with the transactions, optionally schema-qualified
	// (sales.orders).
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Table string `json:"table,omitempty"`

	// Query is a SELECT whose result has the columns of source.columns; it is used as a
	// subquery.
	// +kubebuilder:validation:MaxLength=65536
	// +optional
	Query string `json:"query,omitempty"`

	// TimeoutSeconds bounds the statement and the connection.
	// +kubebuilder:default=600
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	// +optional
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`

	// Mode is where the per-customer summary is computed. Aggregate: inside the database, one
	// GROUP BY over the customer column, so that one row per customer crosses the network; a
	// distributed PostgreSQL (a table hash-partitioned by the customer column over postgres_fdw
	// shards, or distributed by it in Citus) computes it on each shard. Stream: every row is read
	// (COPY ... TO STDOUT) and summarised by the operator, with no sort or GROUP BY in the
	// database; several times quicker on a single server with a fast network, but every row
	// crosses it. docs/scaling.md compares the two and lists what other warehouses support.
	// +kubebuilder:default=Aggregate
	// +optional
	Mode PostgresMode `json:"mode,omitempty"`
}

// PostgresMode is where a PostgreSQL source's per-customer summary is computed.
// +kubebuilder:validation:Enum=Aggregate;Stream
type PostgresMode string

const (
	// PostgresModeAggregate computes the summary inside the database.
	PostgresModeAggregate PostgresMode = "Aggregate"
	// PostgresModeStream reads every row and computes the summary in the operator.
	PostgresModeStream PostgresMode = "Stream"
)

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Namespace must be empty or the computation's own namespace: references to other
	// namespaces are refused (reason AccessDenied).
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SecretKeyReference selects a key of a Secret in the same namespace.
type SecretKeyReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Key in the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Key string `json:"key"`

	// Namespace must be empty or the computation's own namespace: references to other
	// namespaces are refused (reason AccessDenied).
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// Columns maps source columns to the fields the operator needs.
type Columns struct {
	// CustomerID is the column identifying the customer.
	// +kubebuilder:default=customer_id
	// +kubebuilder:validation:MinLength=1
	// +optional
	CustomerID string `json:"customerID,omitempty"`

	// Timestamp is the column with the transaction's date or time (2006-01-02, RFC 3339,
	// "2006-01-02 15:04:05" or 20060102). Transactions are counted per calendar day (UTC).
	// +kubebuilder:default=date
	// +kubebuilder:validation:MinLength=1
	// +optional
	Timestamp string `json:"timestamp,omitempty"`

	// Amount is the column with the transaction's value in the computation's currency.
	// +kubebuilder:default=amount
	// +kubebuilder:validation:MinLength=1
	// +optional
	Amount string `json:"amount,omitempty"`

	// Attributes are further columns kept per customer, taken from the customer's first
	// transaction (such as the acquisition channel or country). They are available to segment
	// filters and breakdowns.
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	// +optional
	Attributes []string `json:"attributes,omitempty"`
}

// TimeUnit is the unit the models measure time in.
// +kubebuilder:validation:Enum=Day;Week;Month
type TimeUnit string

// Time units.
const (
	TimeUnitDay   TimeUnit = "Day"
	TimeUnitWeek  TimeUnit = "Week"
	TimeUnitMonth TimeUnit = "Month"
)

// Observation is the window of data the models see.
type Observation struct {
	// End is the last day observed (inclusive, a whole day in UTC, YYYY-MM-DD). Transactions
	// after it are excluded and counted. The default is the last complete day before the run's
	// nominal time (its scheduled slot, in timeZone; without a schedule, when it runs), so
	// re-running one scheduled slot gives the same answer.
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`
	// +optional
	End string `json:"end,omitempty"`

	// TimeUnit is the unit of recency, age and model parameters. Week is 7 days and Month
	// 365.25/12 days, both fractional.
	// +kubebuilder:default=Week
	// +optional
	TimeUnit TimeUnit `json:"timeUnit,omitempty"`

	// HoldoutPeriods, when set, backtests the model: a second fit on the data up to
	// end - holdoutPeriods time units is compared with what the customers actually did in the
	// holdout (status.result.validation and status.result.backtest). The published result is
	// always fitted on all the data up to end, with or without a holdout.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	HoldoutPeriods *int32 `json:"holdoutPeriods,omitempty"`
}

// ModelType names a lifetime value model.
// +kubebuilder:validation:Enum=Historical;Formula;BGNBD;ParetoNBD;ModifiedBGNBD;ShiftedBetaGeometric
type ModelType string

// Models.
const (
	// ModelHistorical is the value customers already brought: their summed transactions.
	ModelHistorical ModelType = "Historical"
	// ModelFormula is average order value x purchase frequency x lifetime x margin, minus
	// retention cost, discounted.
	ModelFormula ModelType = "Formula"
	// ModelBGNBD is the beta-geometric/negative binomial model (Fader, Hardie and Lee 2005).
	ModelBGNBD ModelType = "BGNBD"
	// ModelParetoNBD is the Pareto/NBD model (Schmittlein, Morrison and Colombo 1987).
	ModelParetoNBD ModelType = "ParetoNBD"
	// ModelModifiedBGNBD is the MBG/NBD model (Batislam, Denizel and Filiztekin 2007).
	ModelModifiedBGNBD ModelType = "ModifiedBGNBD"
	// ModelShiftedBetaGeometric is the sBG model for subscriptions (Fader and Hardie 2007).
	ModelShiftedBetaGeometric ModelType = "ShiftedBetaGeometric"
)

// SpendModelType names the model of spend per transaction.
// +kubebuilder:validation:Enum=GammaGamma;Mean
type SpendModelType string

// Spend models.
const (
	SpendGammaGamma SpendModelType = "GammaGamma"
	SpendMean       SpendModelType = "Mean"
)

// Model chooses how lifetime value is computed.
type Model struct {
	// Type of the model. Historical and Formula need no fitting; BGNBD, ParetoNBD and
	// ModifiedBGNBD predict each customer's future purchases and probability of being alive;
	// ShiftedBetaGeometric models subscription retention from cohort survival.
	// +kubebuilder:default=Historical
	// +optional
	Type ModelType `json:"type,omitempty"`

	// Spend is the model of spend per transaction used by the probabilistic models:
	// GammaGamma shrinks each customer's mean towards the population's, Mean uses it as is.
	// +kubebuilder:default=GammaGamma
	// +optional
	Spend SpendModelType `json:"spend,omitempty"`

	// HorizonMonths is how far ahead predicted value looks. For Formula it is the customer
	// lifespan unless lifetimeMonths is set.
	// +kubebuilder:default=12
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=600
	// +optional
	HorizonMonths int32 `json:"horizonMonths,omitempty"`

	// ChurnWindowDays is the window of each customer's churn outlook (BGNBD, ModifiedBGNBD,
	// ParetoNBD): the probability of being alive at the observation end plus this many days
	// and of making no purchase within them.
	// +kubebuilder:default=90
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3650
	// +optional
	ChurnWindowDays *int32 `json:"churnWindowDays,omitempty"`

	// LifetimeMonths is the expected customer lifespan used by Formula, as a decimal string.
	// Unset: estimated from the data as one over the monthly churn rate, capped at
	// horizonMonths. A customer without a purchase in the last 3 months has churned; the rate is
	// churned customers over the customer-months at risk before those 3 months (see
	// docs/models.md). summary.json records the estimate (model.lifetimeMonths, model.notes).
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	LifetimeMonths string `json:"lifetimeMonths,omitempty"`

	// FitBy is an attribute (one of source.columns.attributes, usually the acquisition channel)
	// whose values each get their own purchase and spend fit for the new-customer figures
	// (status.result.newCustomer per breakdown value, status.result.fitBy). A value with fewer
	// than 100 customers or 30 repeat customers, or whose fit fails, uses the fit on all
	// customers (pooled) and status says so. Per-customer predictions always use the pooled fit.
	// Only for BGNBD, ParetoNBD and ModifiedBGNBD.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	FitBy string `json:"fitBy,omitempty"`
}

// Economics turns revenue into value.
type Economics struct {
	// Currency of the amounts, an ISO 4217 code. Only used for display: amounts are not
	// converted.
	// +kubebuilder:default=USD
	// +kubebuilder:validation:Pattern=`^[A-Z]{3}$`
	// +optional
	Currency string `json:"currency,omitempty"`

	// GrossMargin is the share of revenue kept after the cost of goods, a decimal between 0 and
	// 1 ("0.30"). Lifetime value is margin, not revenue.
	// +kubebuilder:default="1"
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="double(self) <= 1.0",message="grossMargin must be between 0 and 1"
	// +optional
	GrossMargin string `json:"grossMargin,omitempty"`

	// AnnualDiscountRate is the yearly rate future money is discounted at, a non-negative
	// decimal ("0.10"). The monthly rate is (1+annual)^(1/12)-1.
	// +kubebuilder:default="0"
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="double(self) <= 10.0",message="annualDiscountRate must be between 0 and 10"
	// +optional
	AnnualDiscountRate string `json:"annualDiscountRate,omitempty"`

	// RetentionCostPerMonth is what keeping one customer costs per month (CRM, loyalty,
	// support), a non-negative decimal; subtracted from predicted value while the customer is
	// expected to be alive.
	// +kubebuilder:default="0"
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	RetentionCostPerMonth string `json:"retentionCostPerMonth,omitempty"`

	// AcquisitionCost is what one new customer costs (CAC), for LTV:CAC.
	// +optional
	AcquisitionCost *AcquisitionCost `json:"acquisitionCost,omitempty"`

	// TargetLTVToCAC is the ratio of new-customer LTV to acquisition cost the business aims at, a
	// positive decimal ("3" for 3:1); affordableCAC is the new-customer LTV divided by it.
	// +kubebuilder:default="3"
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="double(self) > 0.0",message="targetLTVToCAC must be positive"
	// +optional
	TargetLTVToCAC string `json:"targetLTVToCAC,omitempty"`
}

// AcquisitionCost is the cost of acquiring one customer, overall or per attribute value.
// +kubebuilder:validation:XValidation:rule="!has(self.values) || has(self.byAttribute)",message="values requires byAttribute"
type AcquisitionCost struct {
	// Default is the cost for customers without a more specific value, a non-negative decimal.
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Default string `json:"default,omitempty"`

	// ByAttribute is the attribute (one of source.columns.attributes) whose value picks the
	// cost, usually the acquisition channel.
	// +optional
	ByAttribute string `json:"byAttribute,omitempty"`

	// Values maps attribute values to costs (non-negative decimals).
	// +kubebuilder:validation:MaxProperties=256
	// +optional
	Values map[string]NonNegativeDecimal `json:"values,omitempty"`
}

// NonNegativeDecimal is a non-negative decimal number written as a string ("12.50").
// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?$`
// +kubebuilder:validation:MaxLength=32
type NonNegativeDecimal string

// ReturnsPolicy says what negative amounts mean.
// +kubebuilder:validation:Enum=Net;Exclude;Reject
type ReturnsPolicy string

// Returns policies.
const (
	ReturnsNet     ReturnsPolicy = "Net"
	ReturnsExclude ReturnsPolicy = "Exclude"
	ReturnsReject  ReturnsPolicy = "Reject"
)

// Output says where results are published.
type Output struct {
	// ConfigMapName is the ConfigMap the results are written to (summary.json, segments.csv,
	// breakdown-<attribute>.csv, top-customers.csv, cohorts.csv, cohorts-<attribute>.csv).
	// Default: <computation name>-results.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ConfigMapName string `json:"configMapName,omitempty"`

	// TopCustomers is how many of the most valuable customers top-customers.csv lists.
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=5000
	// +optional
	TopCustomers *int32 `json:"topCustomers,omitempty"`

	// Customers writes every customer's scores to a database table.
	// +optional
	Customers *CustomersOutput `json:"customers,omitempty"`
}

// CustomersOutput is a sink for per-customer scores.
type CustomersOutput struct {
	// Postgres writes the scores into a table, replacing the previous run's rows atomically.
	// +required
	Postgres *PostgresSink `json:"postgres"`

	// DeletionPolicy says what happens to the computation's rows in the table when the
	// computation is deleted. Delete (the default) deletes them before the computation goes
	// (a finalizer, analytics.ltv-operator.io/customers-rows, holds the deletion until it is
	// done), as Flux prunes what it applied: a table has no garbage collector, and rows nobody
	// owns would be read as current. Orphan leaves them. Rows of a previous table, or of a sink
	// removed from the spec, are not deleted.
	// +kubebuilder:validation:Enum=Delete;Orphan
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// DeletionPolicy is what happens to what a computation wrote outside the cluster when it is
// deleted.
type DeletionPolicy string

const (
	// DeletionPolicyDelete deletes the computation's rows when it is deleted.
	DeletionPolicyDelete DeletionPolicy = "Delete"
	// DeletionPolicyOrphan leaves them.
	DeletionPolicyOrphan DeletionPolicy = "Orphan"
)

// PostgresSink is a table in a PostgreSQL-compatible database.
type PostgresSink struct {
	// ConnectionSecretRef selects the key of a Secret in the computation's namespace that holds
	// the connection string.
	// +required
	ConnectionSecretRef SecretKeyReference `json:"connectionSecretRef"`

	// Table to write, optionally schema-qualified; created when missing.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +required
	Table string `json:"table"`
}

// Alerts configures drift warnings.
type Alerts struct {
	// MaxChangePercent is the largest change of average LTV against the previous successful run,
	// in percent, that passes without a Warning Event (reason LTVDrift).
	// +kubebuilder:validation:Minimum=0
	// +required
	MaxChangePercent int32 `json:"maxChangePercent"`
}

// LTVComputationStatus is the observed state of an LTVComputation.
type LTVComputationStatus struct {
	// ObservedGeneration is the generation the status describes; -1 until the operator first
	// reconciles the object, so that kstatus and Argo CD report it in progress, not current.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready (always), Reconciling (while a run is pending or in progress) and
	// Stalled (while an error needs a change of spec or data), following kstatus.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastHandledReconcileAt echoes the reconcile.fluxcd.io/requestedAt annotation last acted on.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`

	// LastAttemptedRevision identifies the inputs of the last run: a digest of the spec fields
	// a run depends on (not schedule, suspend, history or alert settings), the source data's
	// version and the selected segments. A change of any of them starts a run.
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`

	// LastScheduleTime is the nominal time of the last scheduled run started.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`

	// LastSuccessfulTime is when the last successful run finished.
	// +optional
	LastSuccessfulTime *metav1.Time `json:"lastSuccessfulTime,omitempty"`

	// NextScheduleTime is the nominal time of the next scheduled run.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`

	// Failures counts the consecutive failed runs since the last successful one; the retry
	// backoff grows with it. Kept in status so that a restarted operator continues the backoff.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Failures int32 `json:"failures,omitempty"`

	// NextRetryTime is when a run that failed transiently (a database down, an HTTP 503) is
	// retried: an exponential backoff over status.failures (10 s doubling, at most 5 min, by
	// default). A change of the run's inputs (spec, data, Secrets) retries at once; a scheduled
	// slot or a reconcile request runs whatever the backoff. Unset when no retry is pending.
	// +optional
	NextRetryTime *metav1.Time `json:"nextRetryTime,omitempty"`

	// Result is the outcome of the last successful run. A failed run leaves it as it was.
	// +optional
	Result *ComputationResult `json:"result,omitempty"`

	// Drift records the change of average LTV against the previous successful run when it
	// exceeded spec.alerts.maxChangePercent.
	// +optional
	Drift *Drift `json:"drift,omitempty"`

	// RecentRuns lists the latest runs, newest first, at most spec.runHistoryLimit.
	// +optional
	RecentRuns []RunRecord `json:"recentRuns,omitempty"`
}

// ComputationResult summarises a successful run. Money, shares and parameters are decimal
// strings; results.json in the results ConfigMap holds full precision.
type ComputationResult struct {
	// ComputedAt is when the run finished.
	ComputedAt metav1.Time `json:"computedAt"`
	// ObservationEnd is the last day of data used (YYYY-MM-DD).
	ObservationEnd string `json:"observationEnd"`
	// Currency of the money fields.
	Currency string `json:"currency,omitempty"`
	// Customers is the number of distinct customers in the observation window.
	Customers int64 `json:"customers"`
	// RepeatCustomers is the number of customers with at least one repeat transaction.
	RepeatCustomers int64 `json:"repeatCustomers"`
	// Transactions is the number of transactions (one per customer per day).
	Transactions int64 `json:"transactions"`
	// Revenue is the sum of all amounts in the window.
	Revenue string `json:"revenue"`
	// AverageLTV is the mean of the model's value per existing customer (predictedValue): for
	// the predictive models the discounted margin still to come over the horizon, for Historical
	// the margin realised so far. It is not the value of a new customer: see newCustomer.
	AverageLTV string `json:"averageLTV"`
	// AverageLTVInterval is a 90% interval for averageLTV from the fitted parameters'
	// uncertainty (probabilistic models only).
	// +optional
	AverageLTVInterval *ValueInterval `json:"averageLTVInterval,omitempty"`
	// MedianLTV is the median lifetime value.
	MedianLTV string `json:"medianLTV"`
	// TotalLTV is the sum of all customers' predictedValue.
	TotalLTV string `json:"totalLTV"`
	// HistoricValue is the margin realised to date (net revenue x grossMargin), averaged over and
	// summed across customers.
	// +optional
	HistoricValue *ValueFigures `json:"historicValue,omitempty"`
	// PredictedValue is the model's value per customer (the same figures as averageLTV and
	// totalLTV).
	// +optional
	PredictedValue *ValueFigures `json:"predictedValue,omitempty"`
	// TotalValue is historicValue + the value still to come per customer (for Historical, which
	// predicts nothing, equal to historicValue).
	// +optional
	TotalValue *ValueFigures `json:"totalValue,omitempty"`
	// NewCustomer is the lifetime value of one newly acquired customer (first order included,
	// from the model's unconditional expectations) and the acquisition economics on it.
	// +optional
	NewCustomer *NewCustomerResult `json:"newCustomer,omitempty"`
	// LTVToCAC is newCustomer.ltv over the average acquisition cost: what a new customer brings
	// per unit spent acquiring one. Empty without acquisitionCost.
	// +optional
	LTVToCAC string `json:"ltvToCAC,omitempty"`
	// AffordableCAC is newCustomer.ltv / economics.targetLTVToCAC: the most one new customer may
	// cost.
	// +optional
	AffordableCAC string `json:"affordableCAC,omitempty"`
	// FitBy compares the fit on all customers with fits per model.fitBy value.
	// +optional
	FitBy *FitByResult `json:"fitBy,omitempty"`
	// Cohorts are the most recent acquisition cohorts (customers by the month of their first
	// purchase), newest first, at most 12: the realised cumulative margin per acquired customer
	// after 3, 6 and 12 months next to the model's expectation. The results ConfigMap has the
	// full tables (cohorts.csv, cohorts-<attribute>.csv).
	// +kubebuilder:validation:MaxItems=12
	// +optional
	Cohorts []CohortResult `json:"cohorts,omitempty"`
	// CohortsNote says why there are no cohorts (for example a source that is not read row by
	// row by the operator).
	// +optional
	CohortsNote string `json:"cohortsNote,omitempty"`
	// Top20PercentValueShare is the share of total value held by the most valuable 20% of
	// customers (0..1).
	Top20PercentValueShare string `json:"top20PercentValueShare"`
	// AverageProbabilityAlive is the mean probability that a customer is still active
	// (probabilistic models only).
	// +optional
	AverageProbabilityAlive string `json:"averageProbabilityAlive,omitempty"`
	// Churn averages the customers' churn outlook over spec.model.churnWindowDays
	// (BGNBD, ModifiedBGNBD, ParetoNBD).
	// +optional
	Churn *ChurnResult `json:"churn,omitempty"`
	// Model describes the fitted model.
	Model ModelResult `json:"model"`
	// Validation compares predictions with the holdout period, when observation.holdoutPeriods
	// is set.
	// +optional
	Validation *ValidationResult `json:"validation,omitempty"`
	// Backtest scores a second fit on the calibration window against the holdout, when
	// observation.holdoutPeriods is set. The headline figures never depend on it: they are
	// always fitted on all the data up to the observation end.
	// +optional
	Backtest *BacktestResult `json:"backtest,omitempty"`
	// Segments are the selected CustomerSegments' aggregates.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Segments []SegmentResult `json:"segments,omitempty"`
	// Breakdowns are aggregates per value of each breakdownBy attribute, the largest values
	// first (the results ConfigMap has all of them).
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Breakdowns []Breakdown `json:"breakdowns,omitempty"`
	// InvalidRows is the number of malformed rows skipped (within source.maxInvalidRows).
	// +optional
	InvalidRows int64 `json:"invalidRows,omitempty"`
	// ExcludedRows is the number of rows left out: dated after the observation end, or
	// negative amounts under returns: Exclude.
	// +optional
	ExcludedRows int64 `json:"excludedRows,omitempty"`
	// ResultsConfigMap is the ConfigMap holding the full results.
	ResultsConfigMap string `json:"resultsConfigMap"`
	// CustomersTable is the table per-customer scores were written to, when output.customers
	// is set.
	// +optional
	CustomersTable string `json:"customersTable,omitempty"`
	// DataDigest is the sha256 of the data read (or of the per-customer summary for database
	// sources).
	DataDigest string `json:"dataDigest"`
}

// ValueFigures are the average and the sum of one per-customer value.
type ValueFigures struct {
	// Average per customer.
	Average string `json:"average"`
	// Total over the customers.
	Total string `json:"total"`
}

// NewCustomerResult is what one more customer is worth when acquired, and what that means for
// acquisition spend.
type NewCustomerResult struct {
	// LTV is the expected discounted margin of a new customer over the horizon: the first order,
	// plus the expected repeat purchases month by month after acquisition times the expected
	// spend, minus the retention cost while expected alive. For Historical, which has no model of
	// the future, the average margin realised per customer so far.
	LTV string `json:"ltv"`
	// AverageFirstOrder is the mean value of a first purchase.
	AverageFirstOrder string `json:"averageFirstOrder"`
	// ExpectedRepeatPurchases of a new customer over the horizon.
	// +optional
	ExpectedRepeatPurchases string `json:"expectedRepeatPurchases,omitempty"`
	// AcquisitionCost is the average CAC of the customers concerned.
	// +optional
	AcquisitionCost string `json:"acquisitionCost,omitempty"`
	// LTVToCAC is ltv / acquisitionCost.
	// +optional
	LTVToCAC string `json:"ltvToCAC,omitempty"`
	// AffordableCAC is ltv / economics.targetLTVToCAC.
	AffordableCAC string `json:"affordableCAC"`
	// PaybackMonths is the number of months after acquisition by whose end the new customer's
	// cumulative discounted margin (first order included) repays acquisitionCost; 0 when the
	// first order does. Unset when it is not repaid within the horizon (see paidBackWithinHorizon).
	// +optional
	PaybackMonths *int32 `json:"paybackMonths,omitempty"`
	// PaidBackWithinHorizon is false when acquisitionCost is not repaid within
	// model.horizonMonths.
	// +optional
	PaidBackWithinHorizon *bool `json:"paidBackWithinHorizon,omitempty"`
	// ObservedPaybackMonths is what the acquisition cohorts actually did: the first month since
	// the acquisition month (0: the acquisition month itself) by whose end the realised,
	// undiscounted margin per acquired customer, over the cohorts observed that long, reached
	// acquisitionCost. Unset when the observed months do not reach it (paybackMonths, from the
	// model, continues beyond the data) or there are no cohorts.
	// +optional
	ObservedPaybackMonths *int32 `json:"observedPaybackMonths,omitempty"`
	// Fit is Pooled (the fit on all customers) or Partitioned (the fit on this model.fitBy
	// value's customers).
	// +optional
	Fit string `json:"fit,omitempty"`
}

// FitByResult compares the purchase model fitted on all customers (pooled) with one fit per value
// of model.fitBy (partitioned). A lower partitioned AIC/BIC means the values really differ.
type FitByResult struct {
	// Attribute the fits are partitioned by.
	Attribute string `json:"attribute"`
	// PooledLogLikelihood of all customers under the pooled fit.
	PooledLogLikelihood string `json:"pooledLogLikelihood"`
	// PartitionedLogLikelihood of all customers, each under their value's fit (or the pooled
	// fit where their value fell back to it).
	PartitionedLogLikelihood string `json:"partitionedLogLikelihood"`
	// PooledAIC and PartitionedAIC are 2k - 2 log-likelihood.
	PooledAIC      string `json:"pooledAIC"`
	PartitionedAIC string `json:"partitionedAIC"`
	// PooledBIC and PartitionedBIC are k ln(customers) - 2 log-likelihood.
	PooledBIC      string `json:"pooledBIC"`
	PartitionedBIC string `json:"partitionedBIC"`
	// Preferred is Pooled or Partitioned, whichever has the lower BIC.
	Preferred string `json:"preferred"`
	// PooledValues are the values that fell back to the pooled fit (too few customers or
	// repeat customers, or a failed fit), at most 20; summary.json has the reasons.
	// +kubebuilder:validation:MaxItems=20
	// +optional
	PooledValues []string `json:"pooledValues,omitempty"`
}

// CohortResult is one acquisition cohort's value per acquired customer. A month is counted once
// observed in full: "after n months" is through month n since acquisition, month 0 being the
// acquisition month itself.
type CohortResult struct {
	// Cohort is the acquisition month, YYYY-MM.
	Cohort string `json:"cohort"`
	// Customers acquired in the month.
	Customers int64 `json:"customers"`
	// ValueAt3Months is the realised net margin per acquired customer after 3 months.
	// +optional
	ValueAt3Months string `json:"valueAt3Months,omitempty"`
	// ExpectedAt3Months is the model's expectation of valueAt3Months (undiscounted).
	// +optional
	ExpectedAt3Months string `json:"expectedAt3Months,omitempty"`
	// ValueAt6Months is the realised net margin per acquired customer after 6 months.
	// +optional
	ValueAt6Months string `json:"valueAt6Months,omitempty"`
	// ExpectedAt6Months is the model's expectation of valueAt6Months.
	// +optional
	ExpectedAt6Months string `json:"expectedAt6Months,omitempty"`
	// ValueAt12Months is the realised net margin per acquired customer after 12 months.
	// +optional
	ValueAt12Months string `json:"valueAt12Months,omitempty"`
	// ExpectedAt12Months is the model's expectation of valueAt12Months.
	// +optional
	ExpectedAt12Months string `json:"expectedAt12Months,omitempty"`
}

// ValueInterval is an interval estimate.
type ValueInterval struct {
	// Low end of the interval.
	Low string `json:"low"`
	// High end of the interval.
	High string `json:"high"`
	// Level is the interval's coverage (0.9 for 90%).
	Level string `json:"level"`
}

// ModelResult describes the model a run used.
type ModelResult struct {
	// Type of the model.
	Type ModelType `json:"type"`
	// Spend model, for the probabilistic models.
	// +optional
	Spend SpendModelType `json:"spend,omitempty"`
	// Parameters by the literature's names (r, alpha, a, b, s, beta, p, q, gamma).
	// +optional
	Parameters map[string]string `json:"parameters,omitempty"`
	// LogLikelihood of the purchase model at the fitted parameters.
	// +optional
	LogLikelihood string `json:"logLikelihood,omitempty"`
	// Converged is false when the optimiser stopped before meeting its tolerance.
	// +optional
	Converged bool `json:"converged,omitempty"`
}

// ValidationResult compares predicted and actual repeat transactions in the holdout.
type ValidationResult struct {
	// HoldoutPeriods is the length of the holdout in time units.
	HoldoutPeriods int32 `json:"holdoutPeriods"`
	// PredictedTransactions is the total predicted for the calibration customers.
	PredictedTransactions string `json:"predictedTransactions"`
	// ActualTransactions is the total they made.
	ActualTransactions int64 `json:"actualTransactions"`
	// MeanAbsoluteError per customer.
	MeanAbsoluteError string `json:"meanAbsoluteError"`
}

// BacktestResult is the value backtest: the calibration fit's predicted net margin (gross
// margin x amounts, undiscounted) in the holdout against what the customers actually spent there.
// Ratios are empty when undefined (no actual value in the holdout). summary.json and
// backtest.csv in the results ConfigMap have every group.
type BacktestResult struct {
	// CalibrationEnd is the last day the backtest's model was fitted on (YYYY-MM-DD).
	CalibrationEnd string `json:"calibrationEnd"`
	// Parameters of the calibration fit, by the literature's names.
	// +optional
	Parameters map[string]string `json:"parameters,omitempty"`
	// Error says why the backtest could not be computed (the headline stands).
	// +optional
	Error string `json:"error,omitempty"`
	// Overall scores every calibration customer.
	// +optional
	Overall *ValueBacktestResult `json:"overall,omitempty"`
	// Segments score each segment (membership as of the calibration end), at most 20.
	// +kubebuilder:validation:MaxItems=20
	// +optional
	Segments []ValueBacktestResult `json:"segments,omitempty"`
	// Breakdowns score each value of each breakdownBy attribute, the most customers first, at
	// most 20 values per attribute.
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Breakdowns []BreakdownBacktestResult `json:"breakdowns,omitempty"`
}

// BreakdownBacktestResult is the value backtest per value of one attribute.
type BreakdownBacktestResult struct {
	// Attribute the customers are grouped by.
	Attribute string `json:"attribute"`
	// Values, the most customers first.
	// +kubebuilder:validation:MaxItems=20
	Values []ValueBacktestResult `json:"values"`
}

// ValueBacktestResult compares predicted with actual holdout net margin over a group of customers.
type ValueBacktestResult struct {
	// Name of the segment or attribute value; empty for all customers.
	// +optional
	Name string `json:"name,omitempty"`
	// Customers scored.
	Customers int64 `json:"customers"`
	// Predicted is the total predicted holdout net margin.
	Predicted string `json:"predicted"`
	// Actual is the total actual holdout net margin.
	Actual string `json:"actual"`
	// RelativeError is (predicted - actual) / actual.
	// +optional
	RelativeError string `json:"relativeError,omitempty"`
	// MeanAbsoluteError per customer, in the currency.
	MeanAbsoluteError string `json:"meanAbsoluteError"`
	// RootMeanSquaredError per customer, in the currency.
	RootMeanSquaredError string `json:"rootMeanSquaredError"`
	// Top10PercentCapture is the share of the actual value held by the customers with the 10%
	// highest predictions (0..1).
	// +optional
	Top10PercentCapture string `json:"top10PercentCapture,omitempty"`
	// Top20PercentCapture is the same for the top 20%.
	// +optional
	Top20PercentCapture string `json:"top20PercentCapture,omitempty"`
	// Spearman is the rank correlation of predicted and actual values (-1..1).
	// +optional
	Spearman string `json:"spearman,omitempty"`
}

// ChurnResult averages customers' churn outlooks.
type ChurnResult struct {
	// WindowDays is the window after the observation end.
	WindowDays int32 `json:"windowDays"`
	// AverageProbabilityAliveAfter is the mean probability of being alive at the observation
	// end plus windowDays (0..1).
	AverageProbabilityAliveAfter string `json:"averageProbabilityAliveAfter"`
	// AverageProbabilityNoPurchase is the mean probability of no purchase within windowDays.
	AverageProbabilityNoPurchase string `json:"averageProbabilityNoPurchase"`
	// CustomersWithNextPurchase counts customers with a median next-purchase date.
	CustomersWithNextPurchase int64 `json:"customersWithNextPurchase"`
}

// SegmentResult aggregates one segment.
type SegmentResult struct {
	// Name of the CustomerSegment.
	Name string `json:"name"`
	// Customers in the segment.
	Customers int64 `json:"customers"`
	// AverageLTV of the segment's customers.
	AverageLTV string `json:"averageLTV"`
	// TotalLTV of the segment's customers.
	TotalLTV string `json:"totalLTV"`
	// ValueShare is the segment's share of the total LTV (0..1).
	ValueShare string `json:"valueShare"`
	// AverageHistoricValue is the segment's average realised margin to date.
	// +optional
	AverageHistoricValue string `json:"averageHistoricValue,omitempty"`
	// AverageTotalValue is the segment's average historic + predicted value.
	// +optional
	AverageTotalValue string `json:"averageTotalValue,omitempty"`
	// Churn averages the segment's customers' churn outlook.
	// +optional
	Churn *ChurnResult `json:"churn,omitempty"`
}

// Breakdown aggregates by the values of one attribute.
type Breakdown struct {
	// Attribute the customers are grouped by.
	Attribute string `json:"attribute"`
	// Values, the most customers first, at most 20.
	// +kubebuilder:validation:MaxItems=20
	Values []BreakdownValue `json:"values"`
}

// BreakdownValue aggregates the customers with one attribute value.
type BreakdownValue struct {
	// Value of the attribute.
	Value string `json:"value"`
	// Customers with this value.
	Customers int64 `json:"customers"`
	// AverageLTV of these customers (their predictedValue; see status.result.averageLTV).
	AverageLTV string `json:"averageLTV"`
	// TotalLTV of these customers.
	TotalLTV string `json:"totalLTV"`
	// AverageHistoricValue is these customers' average realised margin to date.
	// +optional
	AverageHistoricValue string `json:"averageHistoricValue,omitempty"`
	// AverageTotalValue is these customers' average historic + predicted value.
	// +optional
	AverageTotalValue string `json:"averageTotalValue,omitempty"`
	// AcquisitionCost assumed for these customers.
	// +optional
	AcquisitionCost string `json:"acquisitionCost,omitempty"`
	// LTVToCAC is newCustomer.ltv / acquisitionCost for this value.
	// +optional
	LTVToCAC string `json:"ltvToCAC,omitempty"`
	// NewCustomer is the new-customer economics of this value (from its own fit when the
	// attribute is model.fitBy and the value had enough data).
	// +optional
	NewCustomer *NewCustomerResult `json:"newCustomer,omitempty"`
	// AverageLTVInterval is a 90% interval for averageLTV from the fitted parameters'
	// uncertainty (probabilistic models only).
	// +optional
	AverageLTVInterval *ValueInterval `json:"averageLTVInterval,omitempty"`
}

// Drift records a sharp move of average LTV between successful runs.
type Drift struct {
	// ChangePercent is the relative change of average LTV, in percent (negative: a drop).
	ChangePercent string `json:"changePercent"`
	// PreviousAverageLTV is the previous successful run's average LTV.
	PreviousAverageLTV string `json:"previousAverageLTV"`
	// DetectedAt is when the run that moved finished.
	DetectedAt metav1.Time `json:"detectedAt"`
	// Message is the human-readable summary also sent as a Warning Event.
	Message string `json:"message"`
}

// RunRecord is one run in the history.
type RunRecord struct {
	// ScheduledTime is the run's nominal time: its slot for a scheduled run (and for a re-run
	// of that slot after a change), otherwise when it started. The default observation end is
	// the day before it.
	// +optional
	ScheduledTime *metav1.Time `json:"scheduledTime,omitempty"`
	// Trigger is what started the run: Schedule, Request, Change.
	// +optional
	Trigger string `json:"trigger,omitempty"`
	// StartTime of the run.
	StartTime metav1.Time `json:"startTime"`
	// CompletionTime of the run.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// Succeeded is true when the run produced a result.
	Succeeded bool `json:"succeeded"`
	// Customers counted by a successful run.
	// +optional
	Customers int64 `json:"customers,omitempty"`
	// AverageLTV of a successful run.
	// +optional
	AverageLTV string `json:"averageLTV,omitempty"`
	// Reason is the condition reason the run ended with.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message explains a failure.
	// +optional
	Message string `json:"message,omitempty"`
	// Job is the name of the Job that executed the run (Job mode). Finished Jobs are deleted
	// after the operator's --job-ttl; this record stays.
	// +optional
	Job string `json:"job,omitempty"`
}

// ExecutionMode is where a run executes.
// +kubebuilder:validation:Enum=InProcess;Job
type ExecutionMode string

const (
	// ExecutionInProcess runs the computation inside the manager: for small data, make demo
	// and tests. The manager reads the source's and sink's Secrets.
	ExecutionInProcess ExecutionMode = "InProcess"
	// ExecutionJob runs each run as a Job in the computation's namespace, on the operator's
	// image. The Pod gets credentials from the referenced Secrets itself, writes the customers
	// sink itself and hands its result back to the manager, which publishes it.
	ExecutionJob ExecutionMode = "Job"
)

// Execution configures where and how runs execute.
type Execution struct {
	// Mode is InProcess or Job; unset, the operator's --default-execution flag decides.
	// +optional
	Mode ExecutionMode `json:"mode,omitempty"`
	// Resources of the run's container (Job mode). Fitting uses every core it gets; memory grows
	// with the number of customers (about 250 MiB for one million, 1.3 GiB for ten million). A
	// Pod killed for exceeding limits.memory is reported with reason OOMKilled. Unset: requests of
	// 100m CPU and 128Mi.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// ServiceAccountName the run's Pod runs as (Job mode); default: the namespace's default
	// ServiceAccount. The Pod needs no API access: its token is not mounted.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// NodeSelector of the run's Pod (Job mode).
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// Tolerations of the run's Pod (Job mode).
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// ActiveDeadlineSeconds bounds one run's Job (Job mode); a run that takes longer fails with
	// reason DeadlineExceeded and is retried with backoff. Default: the operator's --run-timeout.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`
}

// LTVComputation declares a customer lifetime value computation: where the transactions are,
// which model to use, the economics, when to run, and where to publish the results.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ltv,categories=ltv-operator
// +kubebuilder:printcolumn:name="Model",type=string,JSONPath=`.spec.model.type`
// +kubebuilder:printcolumn:name="Customers",type=integer,JSONPath=`.status.result.customers`
// +kubebuilder:printcolumn:name="Avg LTV",type=string,JSONPath=`.status.result.averageLTV`
// +kubebuilder:printcolumn:name="LTV:CAC",type=string,JSONPath=`.status.result.ltvToCAC`
// +kubebuilder:printcolumn:name="Last Success",type=date,JSONPath=`.status.lastSuccessfulTime`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type LTVComputation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired computation.
	// +required
	Spec LTVComputationSpec `json:"spec"`

	// Status is the observed state, written by the operator.
	// +optional
	// +kubebuilder:default={"observedGeneration":-1}
	Status LTVComputationStatus `json:"status,omitempty"`
}

// LTVComputationList is a list of LTVComputations.
// +kubebuilder:object:root=true
type LTVComputationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the computations.
	Items []LTVComputation `json:"items"`
}

func init() {
	SchemeBuilder.Register(&LTVComputation{}, &LTVComputationList{})
}
