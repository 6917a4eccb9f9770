package report

import (
	"math"
	"strconv"
	"strings"
)

// minorUnits are the ISO 4217 currencies whose minor unit is not 1/100.
var minorUnits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// MinorUnit is the number of decimals of a currency's minor unit (ISO 4217): 2 unless listed
// (JPY 0, KWD 3, ...); an unknown or empty currency has 2.
func MinorUnit(currency string) int {
	if d, ok := minorUnits[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// Money formats an amount with the currency's minor unit as fixed decimals, never in exponent
// notation: 2237800.18, not 2.2378001756922654e+06. NaN and infinities, which the pipeline never
// emits, print as empty strings.
func Money(v float64, currency string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	s := strconv.FormatFloat(v, 'f', MinorUnit(currency), 64)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-") // no "-0.00"
	}
	return s
}

// Number formats a ratio, a count of time units or a model parameter at full precision (the
// shortest decimal that reads back as the same float64), never in exponent notation.
func Number(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
