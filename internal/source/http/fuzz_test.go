package httpsource

import (
	"strings"
	"testing"
	"time"

	"github.com/ltv-operator/ltv-operator/internal/summary"
)

var parserSeeds = [][2]string{
	{"1997-01-01", "29.33"},
	{"19970101", "-0.5"},
	{"1997-01-01T10:00:00Z", "1e3"},
	{"1997-01-01 23:59:59.999999999-07:00", "1e400"},
	{"1997-02-29", ".5"},
	{"0000-01-01T00:00:00+01", "5."},
	{"9999-12-31T23:00:00-05", "+1"},
	{"1997-01-01t00:00:00,5+0530", "0x10"},
	{" 1997-01-01\t", "NaN"},
	{"2024-02-29", "1_000"},
	{"1997-13-01", ""},
	{"1997-01-01T24:00:00", " 12 "},
	{"1997-01-01T00:00:00.", "1.7976931348623157e308"},
	{"1997-01-01T00:00:00+2400", "123456789012345678901234567890"},
	{"1997-1-01", "-"},
	{"-997-01-01", "1e-400"},
	{"1997-01-01T00:00:00Zjunk", "1.2.3"},
	{"1900-02-29", "00012.5000"},
	{"2000-02-29", "Inf"},
}

// The string parsers of Parquet columns accept and convert exactly what summary.ReadCSV does: a
// two-row CSV per input shows which fields ReadCSV refused, the day it read the timestamp as, and
// the amount (the customer's HistoricValue: 0 plus the amount).
func checkParsersMatchReadCSV(t *testing.T, ts, amount string) {
	if strings.ContainsAny(ts+amount, ",\"\r\n") {
		return // field syntax, not value parsing
	}
	data := "customer_id,date,amount\nref,2000-01-01,0\nref,2000-01-02," + amount + "\nts," + ts + ",1\n"
	opts := summary.Options{CalibrationEnd: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), Unit: summary.Day, MaxInvalidRows: 2}
	s, err := summary.ReadCSV(strings.NewReader(data), summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}, opts)
	if err != nil {
		t.Fatalf("ReadCSV(%q): %v", data, err)
	}
	csvTSBad, csvAmountBad := false, false
	for _, e := range s.InvalidSamples {
		switch e.Column {
		case "date":
			csvTSBad = true
		case "amount":
			csvAmountBad = true
		default:
			t.Fatalf("ReadCSV(%q): unexpected invalid row %v", data, e)
		}
	}
	byID := map[string]summary.Customer{}
	for _, c := range s.Customers() {
		byID[c.ID] = c
	}

	tm, tsOK := parseTimestamp(trim([]byte(ts)))
	if tsOK == csvTSBad {
		t.Fatalf("timestamp %q: parseTimestamp ok=%v, ReadCSV invalid=%v", ts, tsOK, csvTSBad)
	}
	if tsOK {
		if sec := tm.Unix(); sec < minUnixSeconds || sec >= maxUnixSeconds {
			t.Fatalf("timestamp %q read as %v, outside the Parquet bounds", ts, tm)
		}
		day := time.Unix(tm.Unix()-((tm.Unix()%secondsPerDay)+secondsPerDay)%secondsPerDay, 0).UTC()
		c, ok := byID["ts"]
		switch {
		case day.After(opts.CalibrationEnd):
			if ok || s.FutureRows != 1 {
				t.Fatalf("timestamp %q (%v) should be a future row: %+v", ts, tm, s)
			}
		case !ok || !c.FirstPurchase.Equal(day):
			t.Fatalf("timestamp %q: parseTimestamp day %v, ReadCSV %+v", ts, day, c)
		}
	}

	f, amountOK := parseAmount(trim([]byte(amount)))
	// amounts beyond summary.MaxAmount parse, and are then refused by the Builder as by ReadCSV
	amountOK = amountOK && f <= summary.MaxAmount && f >= -summary.MaxAmount
	if amountOK == csvAmountBad {
		t.Fatalf("amount %q: parseAmount ok=%v, ReadCSV invalid=%v", amount, amountOK, csvAmountBad)
	}
	if amountOK {
		if c := byID["ref"]; c.HistoricValue != 0+f {
			t.Fatalf("amount %q: parseAmount %v, ReadCSV %v", amount, f, c.HistoricValue)
		}
	}
}

func TestStringParsersMatchReadCSV(t *testing.T) {
	for _, s := range parserSeeds {
		checkParsersMatchReadCSV(t, s[0], s[1])
	}
}

func FuzzStringParsersMatchReadCSV(f *testing.F) {
	for _, s := range parserSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(checkParsersMatchReadCSV)
}
