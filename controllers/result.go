package controllers

import (
	"math"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/report"
)

// maxStatusBreakdownValues bounds each breakdown in status; the ConfigMap has all values.
const maxStatusBreakdownValues = 20

// maxStatusSegments is the CRD's bound on status.result.segments.
const maxStatusSegments = 100

// money formats an amount with cents.
func money(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// share formats a ratio in [0,1] (or a multiple such as LTV:CAC) with four decimals.
func share(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

// param formats a model parameter: four decimals, or six significant digits for small values.
func param(v float64) string {
	if v != 0 && math.Abs(v) < 0.01 {
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

func optMoney(v *float64) string {
	if v == nil {
		return ""
	}
	return money(*v)
}

func optRatio(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', 2, 64)
}

// statusResult projects a full-precision Result onto the bounded status.result.
func statusResult(r *report.Result, configMap, customersTable string) *v1alpha1.ComputationResult {
	out := &v1alpha1.ComputationResult{
		ComputedAt:             metav1.NewTime(r.ComputedAt),
		ObservationEnd:         r.ObservationEnd,
		Currency:               r.Currency,
		Customers:              r.Customers,
		RepeatCustomers:        r.RepeatCustomers,
		Transactions:           r.Transactions,
		Revenue:                money(r.Revenue),
		AverageLTV:             money(r.AverageLTV),
		MedianLTV:              money(r.MedianLTV),
		TotalLTV:               money(r.TotalLTV),
		LTVToCAC:               optRatio(r.LTVToCAC),
		AffordableCAC:          optMoney(r.AffordableCAC),
		HistoricValue:          valueFigures(r.HistoricValue),
		PredictedValue:         valueFigures(r.PredictedValue),
		TotalValue:             valueFigures(r.TotalValue),
		NewCustomer:            newCustomerResult(r.NewCustomer),
		FitBy:                  fitByResult(r.FitBy),
		Cohorts:                cohortResults(r.Cohorts),
		CohortsNote:            r.CohortsNote,
		Top20PercentValueShare: share(r.Top20PercentValueShare),
		InvalidRows:            r.InvalidRows,
		ExcludedRows:           r.ExcludedRows,
		ResultsConfigMap:       configMap,
		CustomersTable:         customersTable,
		DataDigest:             r.DataDigest,
		Model: v1alpha1.ModelResult{
			Type:      v1alpha1.ModelType(r.Model.Type),
			Spend:     v1alpha1.SpendModelType(r.Model.Spend),
			Converged: r.Model.Converged,
		},
	}
	if r.AverageLTVInterval != nil {
		out.AverageLTVInterval = &v1alpha1.ValueInterval{Low: money(r.AverageLTVInterval.Low), High: money(r.AverageLTVInterval.High), Level: share(r.AverageLTVInterval.Level)}
	}
	if r.AverageProbabilityAlive != nil {
		out.AverageProbabilityAlive = share(*r.AverageProbabilityAlive)
	}
	if len(r.Model.Parameters) > 0 {
		out.Model.Parameters = map[string]string{}
		for k, v := range r.Model.Parameters {
			out.Model.Parameters[k] = param(v)
		}
	}
	if r.Model.LogLikelihood != nil {
		out.Model.LogLikelihood = strconv.FormatFloat(*r.Model.LogLikelihood, 'f', 2, 64)
	}
	if v := r.Validation; v != nil {
		out.Validation = &v1alpha1.ValidationResult{
			HoldoutPeriods:        int32(v.HoldoutPeriods),
			PredictedTransactions: strconv.FormatFloat(v.PredictedTransactions, 'f', 2, 64),
			ActualTransactions:    v.ActualTransactions,
			MeanAbsoluteError:     share(v.MeanAbsoluteError),
		}
	}
	out.Backtest = statusBacktest(r.Backtest)
	out.Churn = statusChurn(r.Churn)
	for i, s := range r.Segments {
		if i == maxStatusSegments {
			break // the results ConfigMap has them all
		}
		out.Segments = append(out.Segments, v1alpha1.SegmentResult{
			Name: s.Name, Customers: s.Customers, AverageLTV: money(s.AverageLTV), TotalLTV: money(s.TotalLTV), ValueShare: share(s.ValueShare),
			AverageHistoricValue: money(s.HistoricValue.Average), AverageTotalValue: money(s.TotalValue.Average),
			Churn: statusChurn(s.Churn),
		})
	}
	for _, b := range r.Breakdowns {
		sb := v1alpha1.Breakdown{Attribute: b.Attribute}
		for i, v := range b.Values {
			if i == maxStatusBreakdownValues {
				break
			}
			bv := v1alpha1.BreakdownValue{
				Value: v.Value, Customers: v.Customers, AverageLTV: money(v.AverageLTV), TotalLTV: money(v.TotalLTV),
				AcquisitionCost: optMoney(v.AcquisitionCost), LTVToCAC: optRatio(v.LTVToCAC),
				AverageHistoricValue: money(v.HistoricValue.Average), AverageTotalValue: money(v.TotalValue.Average),
				NewCustomer: newCustomerResult(v.NewCustomer),
			}
			if iv := v.AverageLTVInterval; iv != nil {
				bv.AverageLTVInterval = &v1alpha1.ValueInterval{Low: money(iv.Low), High: money(iv.High), Level: share(iv.Level)}
			}
			sb.Values = append(sb.Values, bv)
		}
		out.Breakdowns = append(out.Breakdowns, sb)
	}
	return out
}

func valueFigures(v report.ValueTotals) *v1alpha1.ValueFigures {
	return &v1alpha1.ValueFigures{Average: money(v.Average), Total: money(v.Total)}
}

// newCustomerResult projects the new-customer economics; nil stays nil.
func newCustomerResult(nc *report.NewCustomer) *v1alpha1.NewCustomerResult {
	if nc == nil {
		return nil
	}
	out := &v1alpha1.NewCustomerResult{
		LTV: money(nc.LTV), AverageFirstOrder: money(nc.AverageFirstOrder), AcquisitionCost: optMoney(nc.AcquisitionCost),
		LTVToCAC: optRatio(nc.LTVToCAC), AffordableCAC: money(nc.AffordableCAC), PaidBackWithinHorizon: nc.PaidBackWithinHorizon,
		Fit: nc.Fit,
	}
	if nc.ExpectedRepeatPurchases != 0 {
		out.ExpectedRepeatPurchases = share(nc.ExpectedRepeatPurchases)
	}
	if nc.PaybackMonths != nil {
		m := int32(*nc.PaybackMonths)
		out.PaybackMonths = &m
	}
	if nc.ObservedPaybackMonths != nil {
		m := int32(*nc.ObservedPaybackMonths)
		out.ObservedPaybackMonths = &m
	}
	return out
}

// maxStatusPooledValues is the CRD's bound on status.result.fitBy.pooledValues.
const maxStatusPooledValues = 20

func fitByResult(c *report.FitComparison) *v1alpha1.FitByResult {
	if c == nil {
		return nil
	}
	ll := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	out := &v1alpha1.FitByResult{
		Attribute: c.Attribute, PooledLogLikelihood: ll(c.PooledLogLikelihood), PartitionedLogLikelihood: ll(c.PartitionedLogLikelihood),
		PooledAIC: ll(c.PooledAIC), PartitionedAIC: ll(c.PartitionedAIC), PooledBIC: ll(c.PooledBIC), PartitionedBIC: ll(c.PartitionedBIC),
		Preferred: c.Preferred,
	}
	for _, v := range c.Values {
		if v.Fit != "Partitioned" && len(out.PooledValues) < maxStatusPooledValues {
			out.PooledValues = append(out.PooledValues, v.Value)
		}
	}
	return out
}

// maxStatusCohorts is the CRD's bound on status.result.cohorts.
const maxStatusCohorts = 12

func cohortResults(cs []report.CohortSummary) []v1alpha1.CohortResult {
	var out []v1alpha1.CohortResult
	for i, c := range cs {
		if i == maxStatusCohorts {
			break
		}
		out = append(out, v1alpha1.CohortResult{
			Cohort: c.Cohort, Customers: int64(c.Customers),
			ValueAt3Months: optMoney(c.ValueAt3Months), ExpectedAt3Months: optMoney(c.ExpectedAt3Months),
			ValueAt6Months: optMoney(c.ValueAt6Months), ExpectedAt6Months: optMoney(c.ExpectedAt6Months),
			ValueAt12Months: optMoney(c.ValueAt12Months), ExpectedAt12Months: optMoney(c.ExpectedAt12Months),
		})
	}
	return out
}
