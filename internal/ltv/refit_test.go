package ltv

import (
	"math"
	"testing"
)

// A warm-started refit on a subset reaches the same optimum as a fit from scratch.
func TestRefitMatchesFit(t *testing.T) {
	rows, zbar := loadCDNOW(t)
	pooled := fittedCDNOW(t)
	// The customers with an odd index: half the data, from the same population.
	var sub []RFM
	var freq, mon []float64
	for i := 1; i < len(rows); i += 2 {
		sub = append(sub, rows[i])
		freq = append(freq, rows[i].X)
		mon = append(mon, zbar[i])
	}
	warm, err := RefitPurchase(pooled, sub, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	cold, err := FitBGNBD(sub)
	if err != nil {
		t.Fatal(err)
	}
	if w, c := warm.Fit().LogLikelihood, cold.Fit().LogLikelihood; math.Abs(w-c) > 1e-6*math.Abs(c) {
		t.Errorf("BG/NBD log-likelihood warm %.8f, cold %.8f", w, c)
	}
	for i, name := range warm.Fit().ParamNames {
		if w, c := warm.Fit().Params[i], cold.Fit().Params[i]; math.Abs(w-c) > 1e-3*c {
			t.Errorf("%s: warm %.6f, cold %.6f", name, w, c)
		}
	}

	var allFreq []float64
	for _, r := range rows {
		allFreq = append(allFreq, r.X)
	}
	ggPooled, err := FitGammaGamma(allFreq, zbar, nil)
	if err != nil {
		t.Fatal(err)
	}
	ggWarm, err := RefitSpend(ggPooled, freq, mon, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	ggCold, err := FitGammaGamma(freq, mon, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w, c := ggWarm.Fit().LogLikelihood, ggCold.Fit().LogLikelihood; math.Abs(w-c) > 1e-6*math.Abs(c) {
		t.Errorf("Gamma-Gamma log-likelihood warm %.8f, cold %.8f", w, c)
	}
	for i, name := range ggWarm.Fit().ParamNames {
		if w, c := ggWarm.Fit().Params[i], ggCold.Fit().Params[i]; math.Abs(w-c) > 1e-3*c {
			t.Errorf("%s: warm %.6f, cold %.6f", name, w, c)
		}
	}
}
