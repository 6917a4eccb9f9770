package summary

import (
	"math"
	"strconv"
	"time"
)

const (
	secondsPerDay = 86400
	nanosPerDay   = secondsPerDay * int64(time.Second)
)

// daysFromCivil returns the number of days since 1970-01-01 of a proleptic Gregorian date
// (H. Hinnant's algorithm). m is 1..12.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	var era int64
	if y >= 0 {
		era = y / 400
	} else {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// digits parses b[i:i+n] as a non-negative decimal number; ok is false if any byte is not a digit.
func digits(b []byte, i, n int) (v int64, ok bool) {
	for _, c := range b[i : i+n] {
		c -= '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + int64(c)
	}
	return v, true
}

// parseDate parses YYYY?MM?DD at b[0:10] with the given separator positions already checked.
func civil(y, m, d int64) (int64, bool) {
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

// dayOf returns the day number (days since 1970-01-01) of t's calendar date in t's own location.
func dayOf(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(daysFromCivil(int64(y), int64(m), int64(d)))
}

// dayTime returns the UTC midnight of a day number.
func dayTime(day int32) time.Time {
	return time.Unix(int64(day)*secondsPerDay, 0).UTC()
}

// splitTime returns the UTC day number of t and the nanoseconds since that day's midnight.
func splitTime(t time.Time) (day int32, nanos int64) {
	sec := t.Unix()
	d := sec / secondsPerDay
	r := sec % secondsPerDay
	if r < 0 {
		r += secondsPerDay
		d--
	}
	return int32(d), r*int64(time.Second) + int64(t.Nanosecond())
}

// parseTimestamp parses the accepted timestamp forms: 2006-01-02, 20060102, and
// 2006-01-02T15:04:05 or 2006-01-02 15:04:05, with optional fractional seconds and an optional
// zone (Z, +07:00, +0700, +07; none means UTC). It returns the UTC day number and the
// nanoseconds since that day's midnight. Years are 0000..9999.
func parseTimestamp(b []byte) (day int32, nanos int64, ok bool) {
	switch {
	case len(b) == 10 && b[4] == '-' && b[7] == '-':
		y, ok1 := digits(b, 0, 4)
		m, ok2 := digits(b, 5, 2)
		d, ok3 := digits(b, 8, 2)
		if !ok1 || !ok2 || !ok3 {
			return 0, 0, false
		}
		days, ok := civil(y, m, d)
		return int32(days), 0, ok
	case len(b) == 8:
		y, ok1 := digits(b, 0, 4)
		m, ok2 := digits(b, 4, 2)
		d, ok3 := digits(b, 6, 2)
		if !ok1 || !ok2 || !ok3 {
			return 0, 0, false
		}
		days, ok := civil(y, m, d)
		return int32(days), 0, ok
	case len(b) >= 19 && b[4] == '-' && b[7] == '-' && (b[10] == 'T' || b[10] == 't' || b[10] == ' ') &&
		b[13] == ':' && b[16] == ':':
		return parseDateTime(b)
	}
	return 0, 0, false
}

func parseDateTime(b []byte) (day int32, nanos int64, ok bool) {
	y, ok1 := digits(b, 0, 4)
	mo, ok2 := digits(b, 5, 2)
	d, ok3 := digits(b, 8, 2)
	h, ok4 := digits(b, 11, 2)
	mi, ok5 := digits(b, 14, 2)
	s, ok6 := digits(b, 17, 2)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || h > 23 || mi > 59 || s > 59 {
		return 0, 0, false
	}
	days, ok := civil(y, mo, d)
	if !ok {
		return 0, 0, false
	}
	i := 19
	var frac int64
	if i < len(b) && (b[i] == '.' || b[i] == ',') {
		i++
		start := i
		scale := int64(1e9)
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start < 9 {
				scale /= 10
				frac += int64(b[i]-'0') * scale
			}
			i++
		}
		if i == start {
			return 0, 0, false
		}
	}
	var offset int64 // seconds east of UTC
	if i < len(b) {
		switch c := b[i]; c {
		case 'Z', 'z':
			i++
		case '+', '-':
			rest := b[i+1:]
			var oh, om int64
			var okh, okm bool
			switch {
			case len(rest) == 5 && rest[2] == ':':
				oh, okh = digits(rest, 0, 2)
				om, okm = digits(rest, 3, 2)
			case len(rest) == 4:
				oh, okh = digits(rest, 0, 2)
				om, okm = digits(rest, 2, 2)
			case len(rest) == 2:
				oh, okh = digits(rest, 0, 2)
				okm = true
			}
			if !okh || !okm || oh > 23 || om > 59 {
				return 0, 0, false
			}
			offset = oh*3600 + om*60
			if c == '-' {
				offset = -offset
			}
			i = len(b)
		default:
			return 0, 0, false
		}
	}
	if i != len(b) {
		return 0, 0, false
	}
	sec := days*secondsPerDay + h*3600 + mi*60 + s - offset
	dd := sec / secondsPerDay
	r := sec % secondsPerDay
	if r < 0 {
		r += secondsPerDay
		dd--
	}
	return int32(dd), r*int64(time.Second) + frac, true
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseAmount parses a plain decimal number: an optional sign, digits with an optional decimal
// point, and an optional exponent. NaN, infinities, hexadecimal and digit separators are
// rejected. The common form (at most 15 significant digits, no exponent) is converted exactly
// without strconv: the mantissa and the power of ten are both exact in float64, so one division
// is correctly rounded.
func parseAmount(b []byte) (float64, bool) {
	if f, ok := parsePlainAmount(b); ok {
		return f, true
	}
	return parseAmountGeneral(b)
}

// parsePlainAmount is parseAmount's usual case in two tight loops: an optional sign, digits, an
// optional point and digits, at most 15 digits in all. It reports false for anything else (which
// parseAmountGeneral then reads, to the same value where both apply).
func parsePlainAmount(b []byte) (float64, bool) {
	neg, i := amountSign(b)
	var mant uint64
	start := i
	for i < len(b) && b[i]-'0' < 10 {
		mant = mant*10 + uint64(b[i]-'0')
		i++
	}
	digits := i - start
	frac := 0
	if i < len(b) && b[i] == '.' {
		i++
		fs := i
		for i < len(b) && b[i]-'0' < 10 {
			mant = mant*10 + uint64(b[i]-'0')
			i++
		}
		frac = i - fs
		digits += frac
	}
	if i != len(b) || digits == 0 || digits > 15 {
		return 0, false
	}
	return decimal(mant, frac, neg), true
}

// amountSign reads an amount's optional sign: whether it is negative, and where the digits start.
func amountSign(b []byte) (neg bool, start int) {
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		return b[0] == '-', 1
	}
	return false, 0
}

// decimal is mant / 10^frac, negated when neg: correctly rounded, as both are exact in float64
// (mant < 10^15, frac < len(pow10)).
func decimal(mant uint64, frac int, neg bool) float64 {
	f := float64(mant) / pow10[frac]
	if neg {
		f = -f
	}
	return f
}

// parseAmountGeneral is parseAmount for every accepted form.
func parseAmountGeneral(b []byte) (float64, bool) {
	neg, i := amountSign(b)
	var mant uint64
	nd := 0       // digits accumulated in mant (leading zeros excluded)
	fracN := 0    // digits after the point
	seen := false // any digit
	dot := false
	for ; i < len(b); i++ {
		c := b[i]
		if c >= '0' && c <= '9' {
			seen = true
			if mant == 0 && c == '0' {
				if dot {
					fracN++
				}
				continue
			}
			if nd >= 15 {
				return parseAmountSlow(b)
			}
			mant = mant*10 + uint64(c-'0')
			nd++
			if dot {
				fracN++
			}
			continue
		}
		if c == '.' && !dot {
			dot = true
			continue
		}
		if c == 'e' || c == 'E' {
			return parseAmountSlow(b)
		}
		return 0, false
	}
	if !seen || fracN >= len(pow10) {
		if seen {
			return parseAmountSlow(b)
		}
		return 0, false
	}
	return decimal(mant, fracN, neg), true
}

func parseAmountSlow(b []byte) (float64, bool) {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// ParseTimestamp reads a timestamp exactly as ReadCSV reads the timestamp column (the forms
// above), for sources whose files carry timestamps as strings (Parquet).
func ParseTimestamp(b []byte) (time.Time, bool) {
	day, nanos, ok := parseTimestamp(b)
	if !ok {
		return time.Time{}, false
	}
	return dayTime(day).Add(time.Duration(nanos)), true
}

// ParseAmount reads an amount exactly as ReadCSV reads the amount column.
func ParseAmount(b []byte) (float64, bool) { return parseAmount(b) }
