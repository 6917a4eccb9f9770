package httpsource

import (
	"math"
	"strconv"
	"time"
)

// The parsers of this file read Parquet string columns exactly as summary.ReadCSV reads CSV
// fields (the summary package does not export its parsers). TestStringParsersMatchReadCSV and
// FuzzStringParsersMatchReadCSV hold them to it.

const secondsPerDay = 86400

// The timestamps accepted: years 0000 to 9999, as ReadCSV reads them, with a day of margin on
// either side for the zone offsets of string timestamps (which ReadCSV accepts). The bound keeps
// day numbers within int32.
const (
	minUnixSeconds = -62167219200 - secondsPerDay // 0000-01-01 minus a day
	maxUnixSeconds = 253402300800 + secondsPerDay // 10000-01-01 plus a day
)

// parseTimestamp reads 2006-01-02, 20060102, and 2006-01-02T15:04:05 or 2006-01-02 15:04:05 with
// optional fractional seconds (. or ,) and an optional zone (Z, +07:00, +0700, +07; none means
// UTC).
func parseTimestamp(b []byte) (time.Time, bool) {
	switch {
	case len(b) == 10 && b[4] == '-' && b[7] == '-':
		y, ok1 := digits(b, 0, 4)
		m, ok2 := digits(b, 5, 2)
		d, ok3 := digits(b, 8, 2)
		days, ok := civil(y, m, d)
		if !ok1 || !ok2 || !ok3 || !ok {
			return time.Time{}, false
		}
		return time.Unix(days*secondsPerDay, 0).UTC(), true
	case len(b) == 8:
		y, ok1 := digits(b, 0, 4)
		m, ok2 := digits(b, 4, 2)
		d, ok3 := digits(b, 6, 2)
		days, ok := civil(y, m, d)
		if !ok1 || !ok2 || !ok3 || !ok {
			return time.Time{}, false
		}
		return time.Unix(days*secondsPerDay, 0).UTC(), true
	case len(b) >= 19 && b[4] == '-' && b[7] == '-' && (b[10] == 'T' || b[10] == 't' || b[10] == ' ') &&
		b[13] == ':' && b[16] == ':':
		return parseDateTime(b)
	}
	return time.Time{}, false
}

func parseDateTime(b []byte) (time.Time, bool) {
	y, ok1 := digits(b, 0, 4)
	mo, ok2 := digits(b, 5, 2)
	d, ok3 := digits(b, 8, 2)
	h, ok4 := digits(b, 11, 2)
	mi, ok5 := digits(b, 14, 2)
	s, ok6 := digits(b, 17, 2)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || h > 23 || mi > 59 || s > 59 {
		return time.Time{}, false
	}
	days, ok := civil(y, mo, d)
	if !ok {
		return time.Time{}, false
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
			return time.Time{}, false
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
				return time.Time{}, false
			}
			offset = oh*3600 + om*60
			if c == '-' {
				offset = -offset
			}
			i = len(b)
		default:
			return time.Time{}, false
		}
	}
	if i != len(b) {
		return time.Time{}, false
	}
	return time.Unix(days*secondsPerDay+h*3600+mi*60+s-offset, frac).UTC(), true
}

// digits parses b[i:i+n] as a non-negative decimal number.
func digits(b []byte, i, n int) (int64, bool) {
	var v int64
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// civil returns the days since 1970-01-01 of a valid proleptic Gregorian date (H. Hinnant's
// days_from_civil).
func civil(y, m, d int64) (int64, bool) {
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468, true
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

// parseAmount reads a plain decimal number: an optional sign, digits with an optional decimal
// point, an optional exponent. NaN, infinities, hexadecimal, digit separators and numbers too
// large for a float64 are refused.
func parseAmount(b []byte) (float64, bool) {
	if len(b) == 0 {
		return 0, false
	}
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

// trim removes surrounding spaces and tabs, as ReadCSV does with mapped fields.
func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
