package summary

import (
	"math"
	"math/big"
	"os"
	"strconv"
	"testing"
)

// The revenue of the whole CDNOW sample (18 months, 6,919 rows) is the exact decimal sum of its
// amounts to the cent: the amounts are added as exact rationals here, independently of floats, and
// the summary's compensated total must print the same cents and lie within a rounding error of it.
func TestCDNOWRevenueIsTheExactDecimalSum(t *testing.T) {
	recs := readCSVFile(t, "cdnow_sample_transactions.csv")
	exact := new(big.Rat)
	for _, r := range recs[1:] {
		v, ok := new(big.Rat).SetString(r[2])
		if !ok {
			t.Fatalf("amount %q is not a decimal", r[2])
		}
		exact.Add(exact, v)
	}
	f, err := os.Open(testdata("cdnow_sample_transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ReadCSV(f, cdnowCols, Options{CalibrationEnd: date("1998-06-30"), Unit: Week})
	if err != nil {
		t.Fatal(err)
	}
	want := exact.FloatString(2)
	if got := strconv.FormatFloat(s.Revenue, 'f', 2, 64); got != want {
		t.Errorf("revenue = %s, want %s", got, want)
	}
	wantF, _ := exact.Float64()
	if math.Abs(s.Revenue-wantF) > 4*math.Abs(wantF)*0x1p-52 {
		t.Errorf("revenue = %.17g, exact sum %s: more than a few units in the last place apart", s.Revenue, exact.FloatString(6))
	}
	t.Logf("CDNOW sample revenue %s (float %.17g)", want, s.Revenue)
}
