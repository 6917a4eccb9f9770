package httpsource

import (
	"time"

	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// Parquet string columns are read exactly as summary.ReadCSV reads CSV fields: the same parsers,
// after the same trimming. TestStringParsersMatchReadCSV and FuzzStringParsersMatchReadCSV hold
// the whole path (trim, parse) to ReadCSV's.

const secondsPerDay = 86400

// The timestamps accepted: years 0000 to 9999, as ReadCSV reads them, with a day of margin on
// either side for the zone offsets of string timestamps. The bound keeps day numbers within int32.
const (
	minUnixSeconds = -62167219200 - secondsPerDay // 0000-01-01 minus a day
	maxUnixSeconds = 253402300800 + secondsPerDay // 10000-01-01 plus a day
)

func parseTimestamp(b []byte) (time.Time, bool) { return summary.ParseTimestamp(b) }

func parseAmount(b []byte) (float64, bool) { return summary.ParseAmount(b) }

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
