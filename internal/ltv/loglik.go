package ltv

import (
	"fmt"
	"math"
)

// LogLikelihood is the purchase model's log-likelihood of rows (weighted by RFM.Weight) at its
// fitted parameters. It lets a fit on all customers be scored on a subset, so that a pooled fit
// and per-group fits can be compared on the same customers (model.fitBy).
func LogLikelihood(pm PurchaseModel, rows []RFM) (float64, error) {
	if err := validateRFM("log-likelihood", rows); err != nil {
		return 0, err
	}
	switch m := pm.(type) {
	case *betaGeo:
		var ll float64
		for _, r := range rows {
			ll += rowWeight(r) * m.logLikelihoodRow(r.X, r.Tx, r.T)
		}
		return ll, nil
	case *ParetoNBD:
		if len(rows) == 0 {
			return 0, nil
		}
		theta := []float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.S), math.Log(m.Beta)}
		return -newPNBDData(rows).negLL(theta, nil), nil
	}
	return 0, fmt.Errorf("log-likelihood: not available for %s", pm.Fit().Model)
}
