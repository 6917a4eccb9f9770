package ltv

import "math"

// Gauss hypergeometric function 2F1(a, b; c; z) for real arguments and z <= 1.
//
// Method. Every evaluation is reduced to power series with positive argument below 1:
//   - z < 0: Pfaff's transformation 2F1(a,b;c;z) = (1-z)^-a 2F1(a, c-b; c; z/(z-1)), whose argument
//     lies in (0, 1) and whose complement 1/(1-z) is passed on exactly;
//   - 0 <= z < 1: the cheapest of (i) the direct series, (ii) Euler's transformation
//     (1-z)^(c-a-b) 2F1(c-a, c-b; c; z), (iii) the transformation to 1-z (Abramowitz & Stegun
//     15.3.6), chosen by an estimate of the number of terms. When c-a-b is within 0.1 of an integer
//     the two halves of (iii) have poles that cancel; they are combined analytically (a form that
//     reduces to A&S 15.3.10-12 at an exact integer and stays accurate next to one), with the
//     differences of log-gamma functions computed as stable difference quotients.
//
// Every series tracks the sum of its terms' magnitudes; when a choice cancels badly (more than three
// digits) the others are tried and the best-conditioned result is kept. Magnitudes are carried as
// (mantissa, log-scale) pairs so that neither huge nor tiny values overflow: logHyp2f1 returns
// log|2F1| and its sign, for the likelihoods.
//
// Accuracy (see hyp2f1_test.go): relative error below 1e-13 for moderate parameters (|a|, |b|, |c|
// up to about 100) across z in (-1e12, 1 - 1e-12], including c-a-b at or next to an integer; with
// parameters of size P in the transformed regime the log-gamma terms limit it to about 1e-16*P.

// hyp2f1 returns 2F1(a, b; c; z) for z <= 1. It returns NaN for z > 1 (a complex branch), for NaN
// input and when c is a non-positive integer without an earlier-terminating numerator, and +Inf at
// z = 1 when the series diverges there (c-a-b <= 0).
func hyp2f1(a, b, c, z float64) float64 {
	return hyp2f1Comp(a, b, c, z, 1-z)
}

// hyp2f1Comp is hyp2f1 with the complement omz = 1-z supplied by the caller, who can often compute
// it without the cancellation of 1-z next to z = 1 (for example (alpha+T)/(alpha+T+t)).
func hyp2f1Comp(a, b, c, z, omz float64) float64 {
	v := hyp2f1Scaled(a, b, c, z, omz)
	if v.e == 0 || v.m == 0 || math.IsNaN(v.m) || math.IsInf(v.m, 0) {
		return v.m
	}
	// m*exp(e) without overflowing in exp when m is small and e large (or the reverse).
	l, s := v.log()
	return s * math.Exp(l)
}

// logHyp2f1 returns log|2F1(a, b; c; z)| and the sign of 2F1 (+1, -1, 0 when the value is exactly
// zero, NaN when undefined).
func logHyp2f1(a, b, c, z float64) (logAbs, sign float64) {
	return logHyp2f1Comp(a, b, c, z, 1-z)
}

// logHyp2f1Comp is logHyp2f1 with the complement omz = 1-z supplied by the caller.
func logHyp2f1Comp(a, b, c, z, omz float64) (logAbs, sign float64) {
	v := hyp2f1Scaled(a, b, c, z, omz)
	return v.log()
}

// scaled is the number m*exp(e). It keeps 2F1's building blocks (gamma-function ratios, powers,
// series) representable far beyond float64's range.
type scaled struct{ m, e float64 }

func (s scaled) log() (float64, float64) {
	switch {
	case math.IsNaN(s.m) || math.IsNaN(s.e):
		return math.NaN(), math.NaN()
	case s.m == 0:
		return math.Inf(-1), 0
	case s.m > 0:
		return math.Log(s.m) + s.e, 1
	default:
		return math.Log(-s.m) + s.e, -1
	}
}

func (s scaled) add(t scaled) scaled {
	if s.m == 0 {
		return t
	}
	if t.m == 0 {
		return s
	}
	if s.e < t.e {
		s, t = t, s
	}
	return scaled{s.m + t.m*math.Exp(t.e-s.e), s.e}
}

// abs returns |s| as a scaled value.
func (s scaled) abs() scaled { return scaled{math.Abs(s.m), s.e} }

// ratio returns |s|/|t| as a float64 (saturating), for conditioning checks.
func ratioAbs(s, t scaled) float64 {
	if t.m == 0 {
		if s.m == 0 {
			return 1
		}
		return math.Inf(1)
	}
	if s.e == t.e {
		return math.Abs(s.m) / math.Abs(t.m)
	}
	return math.Abs(s.m) / math.Abs(t.m) * math.Exp(s.e-t.e)
}

// nonPosInt reports whether x is 0, -1, -2, ...
func nonPosInt(x float64) bool { return x <= 0 && x == math.Floor(x) }

// lgammaSign is math.Lgamma with the sign as a float64.
func lgammaSign(x float64) (float64, float64) {
	l, s := math.Lgamma(x)
	return l, float64(s)
}

const (
	hypSeriesMax = 4_000_000 // hard cap on the terms of one series
	hypNearInt   = 0.1       // |c-a-b - n| below which the integer-limit form of (iii) is used
)

func hyp2f1Scaled(a, b, c, z, omz float64) scaled {
	nan := scaled{math.NaN(), 0}
	if math.IsNaN(a) || math.IsNaN(b) || math.IsNaN(c) || math.IsNaN(z) || math.IsNaN(omz) || z > 1 {
		return nan
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) || math.IsInf(c, 0) {
		return nan
	}
	// Polynomial cases: a or b a non-positive integer.
	if nonPosInt(a) || nonPosInt(b) {
		n := math.Inf(1)
		if nonPosInt(a) {
			n = -a
		}
		if nonPosInt(b) && -b < n {
			n = -b
		}
		if nonPosInt(c) && -c < n {
			return nan // the pole is reached before the series terminates
		}
		if math.IsInf(z, -1) {
			return nan
		}
		return polynomialScaled(a, b, c, z, int(n))
	}
	if nonPosInt(c) {
		return nan
	}
	if z == 0 {
		return scaled{1, 0}
	}
	if math.IsInf(z, -1) {
		return nan
	}
	// Euler's transformation makes c-a or c-b a non-positive integer a polynomial times a power.
	if nonPosInt(c-a) || nonPosInt(c-b) {
		n := math.Inf(1)
		if nonPosInt(c - a) {
			n = -(c - a)
		}
		if nonPosInt(c-b) && -(c-b) < n {
			n = -(c - b)
		}
		p := polynomialScaled(c-a, c-b, c, z, int(n))
		if omz == 0 {
			if c-a-b > 0 {
				return scaled{0, 0}
			}
			if c-a-b == 0 {
				return p
			}
			return scaled{math.Inf(1), 0}
		}
		p.e += (c - a - b) * math.Log(omz)
		return p
	}
	if z == 1 || omz == 0 {
		m := c - a - b
		if m <= 0 {
			return scaled{math.Inf(1), 0}
		}
		l1, s1 := lgammaSign(c)
		l2, s2 := lgammaSign(m)
		l3, s3 := lgammaSign(c - a)
		l4, s4 := lgammaSign(c - b)
		return scaled{s1 * s2 * s3 * s4, l1 + l2 - l3 - l4}
	}
	if z < 0 {
		// Pfaff: (1-z)^-a 2F1(a, c-b; c; w) with w = -z/(1-z) in (0, 1) and 1-w = 1/(1-z).
		w := -z / omz
		v := hyp2f1Unit(a, c-b, c, w, 1/omz)
		v.e -= a * math.Log(omz)
		return v
	}
	return hyp2f1Unit(a, b, c, z, omz)
}

// polynomialScaled sums the terminating series of 2F1 with n+1 terms.
func polynomialScaled(a, b, c, z float64, n int) scaled {
	sum, t, e := 1.0, 1.0, 0.0
	for k := 0; k < n; k++ {
		fk := float64(k)
		t *= (a + fk) * (b + fk) / ((c + fk) * (fk + 1)) * z
		sum += t
		if at := math.Abs(t); at > 1e250 || (at < 1e-250 && at != 0 && math.Abs(sum) < 1e-250) {
			f := math.Log(at)
			t /= at
			sum /= at
			e += f
		}
	}
	return scaled{sum, e}
}

// seriesCost estimates how many terms the series of 2F1(a, b; c; z), 0 < z < 1, needs.
func seriesCost(a, b, c, z float64) float64 {
	if nonPosInt(a) || nonPosInt(b) {
		n := math.Inf(1)
		if nonPosInt(a) {
			n = -a
		}
		if nonPosInt(b) && -b < n {
			n = -b
		}
		return n + 1
	}
	if z <= 0 {
		return 1
	}
	if z >= 1 {
		return math.Inf(1)
	}
	rho := func(k float64) float64 { return math.Abs((a + k) * (b + k) / ((c + k) * (k + 1)) * z) }
	kmin := max(0, -a, -b, -c)
	k := math.Ceil(kmin)
	for step := 1.0; rho(k) >= 1 || rho(2*k+8) >= 1; step *= 2 {
		k += step
		if k > 1e12 {
			return math.Inf(1)
		}
	}
	r := max(rho(2*k+8), z)
	return k + 38/(-math.Log(r)) + 1
}

// series sums 2F1(a, b; c; z) for 0 <= z < 1 directly. It returns the value and the sum of the
// terms' magnitudes (same scale), and false when it did not converge within the cap.
func series(a, b, c, z float64) (val, abs scaled, terms int, ok bool) {
	sum, asum, t, e := 1.0, 1.0, 1.0, 0.0
	kmin := max(0, -a, -b, -c)
	for k := 0; k < hypSeriesMax; k++ {
		fk := float64(k)
		num := (a + fk) * (b + fk)
		if num == 0 {
			return scaled{sum, e}, scaled{asum, e}, k, true
		}
		rho := num / ((c + fk) * (fk + 1)) * z
		t *= rho
		sum += t
		at := math.Abs(t)
		asum += at
		if at > 1e250 {
			t /= at
			sum /= at
			asum /= at
			e += math.Log(at)
			at = 1
		}
		if fk+1 > kmin+1 {
			r := math.Abs(rho)
			if r < z {
				r = z
			}
			if r < 1 {
				tail := at * r / (1 - r)
				if tail <= 1e-17*math.Abs(sum)+1e-19*asum {
					return scaled{sum, e}, scaled{asum, e}, k, true
				}
			}
		}
	}
	return scaled{sum, e}, scaled{asum, e}, hypSeriesMax, false
}

// hypResult is one candidate evaluation with its cancellation factor.
type hypResult struct {
	v    scaled
	cond float64 // sum of |terms| over |sum|
	err  float64 // estimated relative error: cancellation times the rounding of the log-scale factors
	ok   bool
}

// newResult estimates the error of a result from the cancellation among its terms, the size of the
// logarithms that scale them (rounded to 1.1e-16 relative) and the number of terms (each term's
// rounding accumulates over the ratios multiplied into it).
func newResult(v, abs scaled, logMag float64, terms int, ok bool) hypResult {
	cond := ratioAbs(abs, v)
	return hypResult{v, cond, 1.1e-16 * (cond*(8+logMag) + float64(terms)/2), ok}
}

// acceptable reports whether r is as accurate as can be hoped: its estimated error is below 2e-14 or
// within twice the rounding of log|F| itself.
func (r hypResult) acceptable() bool {
	if !r.ok {
		return false
	}
	l, _ := r.v.log()
	return r.err <= 2e-14+2.2e-16*math.Abs(l)
}

// hyp2f1Unit evaluates 2F1 for 0 < z < 1 (omz = 1-z > 0), with none of the trivial cases.
func hyp2f1Unit(a, b, c, z, omz float64) scaled {
	m := c - a - b
	costD := seriesCost(a, b, c, z)
	costE := seriesCost(c-a, c-b, c, z) + 2
	// Fast path: a short series (direct or after Euler's transformation) that does not cancel.
	if cheap := math.Min(costD, costE); cheap <= 80 {
		var r hypResult
		if costD <= costE {
			r = viaSeries(a, b, c, z, 0)
		} else {
			r = viaSeries(c-a, c-b, c, z, m*math.Log(omz))
		}
		if r.ok && r.err <= 2e-14 {
			return r.v
		}
	}
	n := math.Round(m)
	eps := m - n
	var costW float64
	if math.Abs(eps) < hypNearInt {
		if n >= 0 {
			costW = 3*seriesCost(a+n, b+n, n+1, omz) + n + 20
		} else {
			costW = 3*seriesCost(c-a-n, c-b-n, 1-n, omz) - n + 20
		}
	} else {
		costW = seriesCost(a, b, 1-m, omz) + seriesCost(c-a, c-b, 1+m, omz) + 10
	}
	type cand struct {
		cost float64
		f    func() hypResult
	}
	cands := []cand{
		{costD, func() hypResult { return viaSeries(a, b, c, z, 0) }},
		{costE, func() hypResult {
			return viaSeries(c-a, c-b, c, z, m*math.Log(omz))
		}},
		{costW, func() hypResult { return viaOneMinusZ(a, b, c, z, omz) }},
	}
	// Sort the three by cost (insertion sort).
	for i := 1; i < len(cands); i++ {
		for j := i; j > 0 && cands[j].cost < cands[j-1].cost; j-- {
			cands[j], cands[j-1] = cands[j-1], cands[j]
		}
	}
	var best hypResult
	for i, cd := range cands {
		if i > 0 && (cd.cost > 2e6 || math.IsInf(cd.cost, 1)) && best.ok {
			break
		}
		r := cd.f()
		if i == 0 || better(r, best) {
			best = r
		}
		if best.acceptable() {
			break
		}
	}
	return best.v
}

// better reports whether r is a better evaluation than best: converged, finite, less cancellation.
func better(r, best hypResult) bool {
	rf := !math.IsNaN(r.v.m) && !math.IsInf(r.v.m, 0)
	bf := !math.IsNaN(best.v.m) && !math.IsInf(best.v.m, 0)
	if rf != bf {
		return rf
	}
	if r.ok != best.ok {
		return r.ok
	}
	return r.err < best.err
}

// viaSeries evaluates exp(logPref) * 2F1(a, b; c; z) by its series.
func viaSeries(a, b, c, z, logPref float64) hypResult {
	v, s, n, ok := series(a, b, c, z)
	v.e += logPref
	s.e += logPref
	return newResult(v, s, math.Abs(logPref), n, ok)
}

// viaOneMinusZ evaluates 2F1 with the transformation to 1-z (A&S 15.3.6), or its integer limit.
func viaOneMinusZ(a, b, c, z, w float64) hypResult {
	m := c - a - b
	n := math.Round(m)
	eps := m - n
	if math.Abs(eps) < hypNearInt {
		if n >= 0 {
			if r, ok := nearIntegerW(a, b, c, w, int(n), eps); ok {
				return r
			}
		} else {
			// Euler first: 2F1 = w^m 2F1(c-a, c-b; c; z), whose c-a-b is -m.
			if r, ok := nearIntegerW(c-a, c-b, c, w, int(-n), -eps); ok {
				r.v.e += m * math.Log(w)
				return r
			}
		}
		if eps == 0 {
			return hypResult{scaled{math.NaN(), 0}, math.Inf(1), math.Inf(1), false}
		}
	}
	lc, sc := lgammaSign(c)
	// First half: Gamma(c)Gamma(m)/(Gamma(c-a)Gamma(c-b)) 2F1(a, b; 1-m; w).
	l1, s1 := lgammaSign(m)
	l2, s2 := lgammaSign(c - a)
	l3, s3 := lgammaSign(c - b)
	v1, a1, n1, ok1 := series(a, b, 1-m, w)
	v1.m *= sc * s1 * s2 * s3
	v1.e += lc + l1 - l2 - l3
	a1.e += lc + l1 - l2 - l3
	// Second half: w^m Gamma(c)Gamma(-m)/(Gamma(a)Gamma(b)) 2F1(c-a, c-b; 1+m; w).
	l4, s4 := lgammaSign(-m)
	l5, s5 := lgammaSign(a)
	l6, s6 := lgammaSign(b)
	v2, a2, n2, ok2 := series(c-a, c-b, 1+m, w)
	v2.m *= sc * s4 * s5 * s6
	pe := lc + l4 - l5 - l6 + m*math.Log(w)
	v2.e += pe
	a2.e += pe
	v := v1.add(v2)
	mag := math.Abs(lc) + math.Abs(l1) + math.Abs(l2) + math.Abs(l3) + math.Abs(l4) + math.Abs(l5) + math.Abs(l6) + math.Abs(m*math.Log(w))
	return newResult(v, a1.add(a2), mag, n1+n2, ok1 && ok2)
}

// nearIntegerW evaluates 2F1(a, b; c; z), w = 1-z, when c-a-b = n+eps with n >= 0 and |eps| small
// (including 0). It combines the two halves of A&S 15.3.6, whose poles in eps cancel:
//
//	2F1 = Gamma(c)Gamma(n+eps)/(Gamma(b+n+eps)Gamma(a+n+eps)) sum_{k<n} (a)_k(b)_k/((1-n-eps)_k k!) w^k
//	    - (-1)^n w^n K (pi eps/sin(pi eps)) sum_j (a+n)_j(b+n)_j/((1-eps)_j (n+1)_j) w^j E_j phi(eps E_j)
//
// with K = Gamma(c)Gamma(a+n)Gamma(b+n)/(Gamma(a)Gamma(b)Gamma(a+n+eps)Gamma(b+n+eps)Gamma(1-eps)n!),
// E_j = log w + D(a+n+j, eps) + D(b+n+j, eps) - D(1+n+j, eps) - D(1+j, -eps), D the difference quotient
// of log-gamma (lgammaDQ) and phi(y) = expm1(y)/y. At eps = 0 this is A&S 15.3.10/15.3.11.
// It reports false when a+n or b+n lies within eps of a pole of the gamma function.
func nearIntegerW(a, b, c, w float64, n int, eps float64) (hypResult, bool) {
	fn := float64(n)
	an, bn := a+fn, b+fn
	if straddles(an, eps) || straddles(bn, eps) {
		return hypResult{}, false
	}
	lw := math.Log(w)
	lc, sc := lgammaSign(c)
	var fin, finAbs scaled
	if n > 0 {
		l1, s1 := lgammaSign(fn + eps)
		l2, s2 := lgammaSign(bn + eps)
		l3, s3 := lgammaSign(an + eps)
		sum, asum, t, e := 1.0, 1.0, 1.0, 0.0
		for k := 0; k < n-1; k++ {
			fk := float64(k)
			t *= (a + fk) * (b + fk) / ((1 - fn - eps + fk) * (fk + 1)) * w
			sum += t
			asum += math.Abs(t)
			if at := math.Abs(t); at > 1e250 {
				t /= at
				sum /= at
				asum /= at
				e += math.Log(at)
			}
		}
		pe := lc + l1 - l2 - l3 + e
		fin = scaled{sc * s1 * s2 * s3 * sum, pe}
		finAbs = scaled{asum, pe}
	}
	la, sa := lgammaSign(a)
	lb, sb := lgammaSign(b)
	dA := lgammaDQ(an, eps)
	dB := lgammaDQ(bn, eps)
	l1e, _ := math.Lgamma(1 - eps)
	lnf, _ := math.Lgamma(fn + 1)
	lK := lc - la - lb - eps*dA - eps*dB - l1e - lnf
	sK := sc * sa * sb
	E := lw + dA + dB - lgammaDQ(1+fn, eps) - lgammaDQ(1, -eps)
	sum, asum, r, e := 0.0, 0.0, 1.0, 0.0
	ok := false
	terms := 0
	jmin := math.Max(0, math.Max(-an, -bn))
	for j := 0; j < hypSeriesMax; j++ {
		terms = j + 1
		fj := float64(j)
		term := r * E * expm1Ratio(eps*E)
		sum += term
		asum += math.Abs(term)
		rho := (an + fj) * (bn + fj) / ((1 - eps + fj) * (fn + 1 + fj)) * w
		r *= rho
		E += logRatioQ(an+fj, eps) + logRatioQ(bn+fj, eps) - logRatioQ(1+fn+fj, eps) - logRatioQ(1+fj, -eps)
		if ar := math.Abs(r); ar > 1e250 {
			r /= ar
			sum /= ar
			asum /= ar
			e += math.Log(ar)
		}
		if fj > jmin+1 {
			q := math.Max(math.Abs(rho), w)
			if q < 1 {
				tail := math.Abs(r) * (math.Abs(E) + 1) * q / (1 - q) * 2
				if tail <= 1e-17*math.Abs(sum)+1e-19*asum {
					ok = true
					break
				}
			}
		}
	}
	pie := 1.0
	if eps != 0 {
		pie = math.Pi * eps / math.Sin(math.Pi*eps)
	}
	sign := -sK
	if n%2 == 1 {
		sign = sK
	}
	pe := lK + fn*lw + e
	tail := scaled{sign * pie * sum, pe}
	tailAbs := scaled{math.Abs(pie) * asum, pe}
	v := fin.add(tail)
	mag := math.Abs(lc) + math.Abs(la) + math.Abs(lb) + math.Abs(lnf) + math.Abs(fn*lw) + fn
	return newResult(v, finAbs.add(tailAbs), mag, terms+n, ok), true
}

// straddles reports whether a pole of the gamma function (0, -1, -2, ...) lies between x and x+e
// (inclusive of the end points) when they are negative.
func straddles(x, e float64) bool {
	lo, hi := math.Min(x, x+e), math.Max(x, x+e)
	if hi > 0 && lo > 0 {
		return false
	}
	if lo <= 0 && hi >= 0 {
		return true
	}
	if nonPosInt(lo) || nonPosInt(hi) {
		return true
	}
	return math.Floor(lo) != math.Floor(hi)
}

// expm1Ratio returns expm1(y)/y, 1 at y = 0.
func expm1Ratio(y float64) float64 {
	if y == 0 {
		return 1
	}
	if math.Abs(y) < 1e-5 {
		return 1 + y/2*(1+y/3*(1+y/4))
	}
	return math.Expm1(y) / y
}

// logRatioQ returns log(1+e/x)/e, the step of lgammaDQ between x and x+1; 1/x at e = 0.
func logRatioQ(x, e float64) float64 {
	if e == 0 {
		return 1 / x
	}
	y := e / x
	if math.Abs(y) < 1e-8 {
		return (1 - y/2 + y*y/3) / x
	}
	return math.Log1p(y) / e
}

// lgammaDQ returns the difference quotient (log|Gamma(x+e)| - log|Gamma(x)|)/e, and the digamma
// function psi(x) at e = 0, without cancellation for small e. It requires that no pole of Gamma lie
// between x and x+e, and |e| <= 0.5.
func lgammaDQ(x, e float64) float64 {
	acc := 0.0
	if x < -1e5 {
		// Far out on the negative axis: the reflection would be cheaper, but this is never needed by
		// the models; fall back on the direct difference.
		if e == 0 {
			return math.NaN()
		}
		l1, _ := math.Lgamma(x + e)
		l0, _ := math.Lgamma(x)
		return (l1 - l0) / e
	}
	for x < 10 {
		acc -= logRatioQ(x, e)
		x++
	}
	// Stirling: log Gamma(y) = (y-1/2)log y - y + log(2 pi)/2 + sum_k B_2k/(2k(2k-1) y^(2k-1)).
	u := 1 / x
	v := 1 / (x + e)
	// sum_k c_k (v^p - u^p)/e with p = 2k-1, (v^p-u^p)/e = -u v h_p, h_p = sum_{i<p} v^i u^(p-1-i).
	h := 1.0 // h_1
	vp := v  // v^p for p = 1
	s := 0.0
	for k, ck := range stirlingCoef {
		if k > 0 {
			// advance p by 2: h_{p+1} = u h_p + v^p, h_{p+2} = u h_{p+1} + v^{p+1}
			h = u*h + vp
			vp *= v
			h = u*h + vp
			vp *= v
		}
		s += ck * h
	}
	return acc + (x-0.5)*logRatioQ(x, e) + math.Log(x+e) - 1 - u*v*s
}

// stirlingCoef are B_2k/(2k(2k-1)), k = 1..8.
var stirlingCoef = [...]float64{
	1.0 / 12, -1.0 / 360, 1.0 / 1260, -1.0 / 1680, 1.0 / 1188, -691.0 / 360360, 1.0 / 156, -3617.0 / 122400,
}

// digamma returns psi(x) for x not a non-positive integer.
func digamma(x float64) float64 {
	if nonPosInt(x) {
		return math.NaN()
	}
	if x < 0 {
		// Reflection: psi(1-x) - psi(x) = pi cot(pi x).
		return lgammaDQ(1-x, 0) - math.Pi/math.Tan(math.Pi*x)
	}
	return lgammaDQ(x, 0)
}
