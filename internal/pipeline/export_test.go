package pipeline

import "github.com/ltv-operator/ltv-operator/internal/ltv"

// refitForTest fits BG/NBD on the scores' summary, as the pipeline did.
func refitForTest(s *Scores) (ltv.PurchaseModel, error) {
	rows := make([]ltv.RFM, len(s.Summary.Customers()))
	for i, c := range s.Summary.Customers() {
		rows[i] = ltv.RFM{X: float64(c.Frequency), Tx: c.Recency, T: c.Age, Weight: 1}
	}
	unique, _ := ltv.Compress(rows)
	return ltv.FitBGNBD(unique)
}
