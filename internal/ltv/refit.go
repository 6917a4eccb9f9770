package ltv

import (
	"math"
)

// RefitPurchase fits pm's model again on rows, a subset (share: its fraction of the customers, in
// (0, 1]) of the customers pm was fitted on, such as one acquisition channel's. It starts from pm's
// optimum with the inverse Hessian scaled by 1/share (the curvature grows with the data): for a
// subset that differs moderately, a few Newton steps instead of a multi-start search
// (newtonPolish hands over to the quasi-Newton polish, and that to a search, when the steps
// stall). Models without that path (Pareto/NBD) are fitted from scratch.
func RefitPurchase(pm PurchaseModel, rows []RFM, share float64) (PurchaseModel, error) {
	m, ok := pm.(*betaGeo)
	if !ok || pm.Fit().LogCovariance == nil {
		switch pm.Fit().Model {
		case paretoNBDModel:
			return FitParetoNBD(rows)
		case "ModifiedBGNBD":
			return FitModifiedBGNBD(rows)
		}
		return FitBGNBD(rows)
	}
	name := m.modelName()
	unique, err := fittableRows(name, rows, false)
	if err != nil {
		return nil, err
	}
	start, invH := warmStart(pm.Fit(), share)
	res, err := newtonPolish(name, betaGeoNames, betaGeoLikelihood(newBetaGeoData(unique), m.k), start, invH)
	if err != nil {
		return nil, err
	}
	n := newBetaGeo(m.modified, res.Params)
	n.fit = res
	return n, nil
}

// RefitSpend is RefitPurchase for the spend model: Gamma-Gamma warm-started from sm's optimum; the
// Mean model is recomputed.
func RefitSpend(sm SpendModel, frequency, monetary []float64, share float64) (SpendModel, error) {
	if _, ok := sm.(*gammaGamma); !ok {
		return FitMeanSpend(frequency, monetary, nil), nil
	}
	if sm.Fit().LogCovariance == nil {
		return FitGammaGamma(frequency, monetary, nil)
	}
	d, mean, err := newGGData(frequency, monetary, nil)
	if err != nil {
		return nil, err
	}
	start, invH := warmStart(sm.Fit(), share)
	res, err := newtonPolish("GammaGamma", gammaGammaNames, ggLikelihood(d), start, invH)
	if err != nil {
		return nil, err
	}
	return newGammaGammaFit(res, mean)
}

// warmStart is a fit's log-parameters and the inverse Hessian (covariance of the log-parameters)
// it implies for a share of its data: the covariance scales with one over the data size.
func warmStart(f FitResult, share float64) ([]float64, [][]float64) {
	start := make([]float64, len(f.Params))
	for i, v := range f.Params {
		start[i] = math.Log(v)
	}
	scale := 1.0
	if share > 0 && share <= 1 {
		scale = 1 / share
	}
	h := make([][]float64, len(f.LogCovariance))
	for i, row := range f.LogCovariance {
		h[i] = make([]float64, len(row))
		for j, v := range row {
			h[i][j] = v * scale
		}
	}
	return start, h
}
