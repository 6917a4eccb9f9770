package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteTable prints a Result for people: the headline figures, the model, segments and
// breakdowns.
func WriteTable(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	cur := r.Currency
	line := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	line("Observation end", r.ObservationEnd+" ("+r.TimeUnit+"s, horizon "+fmt.Sprint(r.HorizonMonths)+" months)")
	line("Customers", fmt.Sprintf("%d (%d repeat), %d transactions, revenue %.2f %s", r.Customers, r.RepeatCustomers, r.Transactions, r.Revenue, cur))
	avg := fmt.Sprintf("%.2f %s", r.AverageLTV, cur)
	if iv := r.AverageLTVInterval; iv != nil {
		avg += fmt.Sprintf("  (%.0f%% interval %.2f .. %.2f)", iv.Level*100, iv.Low, iv.High)
	}
	line("Average LTV", avg)
	line("Median / total LTV", fmt.Sprintf("%.2f / %.2f %s", r.MedianLTV, r.TotalLTV, cur))
	line("Historic/total value", fmt.Sprintf("%.2f / %.2f %s average per customer", r.HistoricValue.Average, r.TotalValue.Average, cur))
	if nc := r.NewCustomer; nc != nil {
		line("New-customer LTV", fmt.Sprintf("%.2f %s (first order %.2f, %.2f repeat purchases expected)", nc.LTV, cur, nc.AverageFirstOrder, nc.ExpectedRepeatPurchases))
	}
	if r.LTVToCAC != nil {
		line("LTV:CAC", fmt.Sprintf("%.2f (new-customer LTV over average CAC %.2f %s), payback %s", *r.LTVToCAC, *r.AverageAcquisitionCost, cur, payback(r.NewCustomer)))
	}
	if r.AffordableCAC != nil {
		line(fmt.Sprintf("Affordable CAC at %g:1", r.TargetLTVToCAC), fmt.Sprintf("%.2f %s", *r.AffordableCAC, cur))
	}
	if f := r.FitBy; f != nil {
		line("Fit by "+f.Attribute, fmt.Sprintf("%s preferred: BIC pooled %.1f, partitioned %.1f (LL %.1f vs %.1f)", f.Preferred, f.PooledBIC, f.PartitionedBIC, f.PooledLogLikelihood, f.PartitionedLogLikelihood))
	}
	line("Top 20% value share", fmt.Sprintf("%.1f%%", r.Top20PercentValueShare*100))
	if r.AverageProbabilityAlive != nil {
		line("Avg probability alive", fmt.Sprintf("%.3f", *r.AverageProbabilityAlive))
	}
	model := r.Model.Type
	if r.Model.Spend != "" {
		model += " + " + r.Model.Spend
	}
	if len(r.Model.Parameters) > 0 {
		names := make([]string, 0, len(r.Model.Parameters))
		for k := range r.Model.Parameters {
			names = append(names, k)
		}
		sort.Strings(names)
		var ps []string
		for _, k := range names {
			ps = append(ps, fmt.Sprintf("%s=%.4g", k, r.Model.Parameters[k]))
		}
		model += ": " + strings.Join(ps, " ")
	}
	if r.Model.LogLikelihood != nil {
		model += fmt.Sprintf(", LL %.1f", *r.Model.LogLikelihood)
	}
	line("Model", model)
	if v := r.Validation; v != nil {
		line("Holdout", fmt.Sprintf("%d periods: predicted %.1f vs actual %d repeat transactions, MAE %.3f", v.HoldoutPeriods, v.PredictedTransactions, v.ActualTransactions, v.MeanAbsoluteError))
	}
	if r.InvalidRows > 0 || r.ExcludedRows > 0 {
		line("Rows left out", fmt.Sprintf("%d invalid, %d excluded", r.InvalidRows, r.ExcludedRows))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Segments) > 0 {
		fmt.Fprintln(w, "\nSegments")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "segment\tcustomers\taverage LTV\ttotal LTV\tvalue share\t\n")
		for _, s := range r.Segments {
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.1f%%\t\n", s.Name, s.Customers, s.AverageLTV, s.TotalLTV, s.ValueShare*100)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, b := range r.Breakdowns {
		fmt.Fprintf(w, "\nBy %s\n", b.Attribute)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%s\tcustomers\taverage LTV\ttotal LTV\tnew-customer LTV\tCAC\tLTV:CAC\tpayback\t\n", b.Attribute)
		for _, v := range b.Values {
			cac, ratio, newLTV := "-", "-", "-"
			if v.AcquisitionCost != nil {
				cac = fmt.Sprintf("%.2f", *v.AcquisitionCost)
			}
			if v.LTVToCAC != nil {
				ratio = fmt.Sprintf("%.2f", *v.LTVToCAC)
			}
			if v.NewCustomer != nil {
				newLTV = fmt.Sprintf("%.2f", v.NewCustomer.LTV)
			}
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t\n", v.Value, v.Customers, v.AverageLTV, v.TotalLTV, newLTV, cac, ratio, payback(v.NewCustomer))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// payback says when a new customer repays their acquisition cost: the model's month, and the
// cohorts' where they got there.
func payback(nc *NewCustomer) string {
	var s string
	switch {
	case nc == nil || nc.PaidBackWithinHorizon == nil:
		s = "-"
	case nc.PaybackMonths != nil:
		s = fmt.Sprintf("%d months", *nc.PaybackMonths)
	default:
		s = "not within the horizon"
	}
	if nc != nil && nc.ObservedPaybackMonths != nil {
		s += fmt.Sprintf(" (observed %d)", *nc.ObservedPaybackMonths)
	}
	return s
}
