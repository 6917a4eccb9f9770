package httpsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

func parquetSummary(t testing.TB, data []byte, cols summary.Columns, opts summary.Options) (*summary.Summary, error) {
	t.Helper()
	return readParquet(context.Background(), bytes.NewReader(data), int64(len(data)), cols, opts)
}

// Typical columns of a test file; a test replaces one.
var (
	idCol      = pcol{"customer_id", parquet.Int(64), func(x txn) parquet.Value { return parquet.Int64Value(x.id) }}
	dateCol    = pcol{"date", parquet.Date(), func(x txn) parquet.Value { return parquet.Int32Value(days(x.date)) }}
	amountCol  = pcol{"amount", parquet.Decimal(2, 18, parquet.Int64Type), func(x txn) parquet.Value { return parquet.Int64Value(cents(x.amount)) }}
	channelCol = pcol{"channel", parquet.String(), func(x txn) parquet.Value { return parquet.ByteArrayValue([]byte(x.channel)) }}
)

func zeroOf(kind parquet.Kind) func(txn) parquet.Value {
	return func(txn) parquet.Value {
		switch kind {
		case parquet.FixedLenByteArray:
			return parquet.FixedLenByteArrayValue(make([]byte, 16))
		case parquet.Int96:
			return parquet.Int96Value([3]uint32{})
		}
		return parquet.ZeroValue(kind)
	}
}

func TestParquetColumnMappingErrors(t *testing.T) {
	txns := cdnow(t)[:20]
	cases := []struct {
		name string
		cols []pcol
		// reason: MissingColumn for a *summary.ColumnError alone, InvalidData for a wrong type
		reason  string
		column  string
		message []string
	}{
		{"missing id", []pcol{dateCol, amountCol, channelCol}, pipeline.ReasonMissingColumn, "customer_id",
			[]string{`column "customer_id" not found in the Parquet file's columns [amount, channel, date]`}},
		{"missing attribute", []pcol{idCol, dateCol, amountCol}, pipeline.ReasonMissingColumn, "channel",
			[]string{`column "channel" not found`}},
		{"timestamp INT64 without logical type", []pcol{idCol, {"date", parquet.Leaf(parquet.Int64Type), zeroOf(parquet.Int64)}, amountCol, channelCol},
			pipeline.ReasonInvalidData, "date", []string{`column "date" has Parquet type INT64 (INT(64,true)), which cannot be read as a timestamp`}},
		{"timestamp DOUBLE", []pcol{idCol, {"date", parquet.Leaf(parquet.DoubleType), zeroOf(parquet.Double)}, amountCol, channelCol},
			pipeline.ReasonInvalidData, "date", []string{`column "date" has Parquet type DOUBLE`}},
		{"timestamp TIME", []pcol{idCol, {"date", parquet.Time(parquet.Millisecond), zeroOf(parquet.Int32)}, amountCol, channelCol},
			pipeline.ReasonInvalidData, "date", []string{`column "date" has Parquet type INT32 (TIME(`}},
		{"amount BOOLEAN", []pcol{idCol, dateCol, {"amount", parquet.Leaf(parquet.BooleanType), zeroOf(parquet.Boolean)}, channelCol},
			pipeline.ReasonInvalidData, "amount", []string{`column "amount" has Parquet type BOOLEAN, which cannot be read as an amount`}},
		{"amount DATE", []pcol{idCol, dateCol, {"amount", parquet.Date(), zeroOf(parquet.Int32)}, channelCol},
			pipeline.ReasonInvalidData, "amount", []string{`column "amount" has Parquet type INT32 (DATE)`}},
		{"amount INT96", []pcol{idCol, dateCol, {"amount", parquet.Leaf(parquet.Int96Type), zeroOf(parquet.Int96)}, channelCol},
			pipeline.ReasonInvalidData, "amount", []string{`column "amount" has Parquet type INT96`}},
		{"id DOUBLE", []pcol{{"customer_id", parquet.Leaf(parquet.DoubleType), zeroOf(parquet.Double)}, dateCol, amountCol, channelCol},
			pipeline.ReasonInvalidData, "customer_id", []string{`column "customer_id" has Parquet type DOUBLE, which cannot be read as a customer ID`}},
		{"id TIMESTAMP", []pcol{{"customer_id", parquet.Timestamp(parquet.Millisecond), zeroOf(parquet.Int64)}, dateCol, amountCol, channelCol},
			pipeline.ReasonInvalidData, "customer_id", []string{`column "customer_id" has Parquet type INT64 (TIMESTAMP(`}},
		{"attribute FLOAT", []pcol{idCol, dateCol, amountCol, {"channel", parquet.Leaf(parquet.FloatType), zeroOf(parquet.Float)}},
			pipeline.ReasonInvalidData, "channel", []string{`column "channel" has Parquet type FLOAT, which cannot be read as an attribute`}},
		{"repeated id", []pcol{{"customer_id", parquet.Repeated(parquet.String()), func(txn) parquet.Value { return parquet.ByteArrayValue([]byte("x")) }}, dateCol, amountCol, channelCol},
			pipeline.ReasonInvalidData, "customer_id", []string{`column "customer_id" is repeated`}},
		{"group attribute", []pcol{idCol, dateCol, amountCol, {"channel", parquet.Group{"name": parquet.String()}, nil}},
			pipeline.ReasonInvalidData, "channel", []string{`column "channel" is a group`, "channel.<field>"}},
		// A missing column is reported before a wrong type, as in CSV.
		{"missing and wrong", []pcol{{"customer_id", parquet.Leaf(parquet.DoubleType), zeroOf(parquet.Double)}, dateCol, channelCol},
			pipeline.ReasonMissingColumn, "amount", []string{`column "amount" not found`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := writeGroupParquet(t, c.cols, txns)
			_, err := parquetSummary(t, data, testCols, testOpts)
			if err == nil {
				t.Fatal("no error")
			}
			pipelineError(t, err, c.reason, true)
			ce := asColumnError(err)
			if ce == nil || ce.Column != c.column {
				t.Fatalf("error %q: want a *summary.ColumnError for column %q", err, c.column)
			}
			mustContain(t, err, c.message...)
		})
	}
}

// writeGroupParquet is writeParquet with group columns allowed (written with zero rows of data:
// a group column's values are not needed to test the mapping).
func writeGroupParquet(t testing.TB, cols []pcol, txns []txn) []byte {
	for _, c := range cols {
		if !c.node.Leaf() || c.node.Repeated() {
			group := parquet.Group{}
			for _, c := range cols {
				group[c.name] = c.node
			}
			var b bytes.Buffer
			w := parquet.NewWriter(&b, parquet.NewSchema("transactions", group))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}
	}
	return writeParquet(t, cols, txns)
}

func TestParquetNestedColumnByPath(t *testing.T) {
	txns := cdnow(t)
	group := parquet.Group{
		"order":   parquet.Group{"customer": parquet.Group{"id": parquet.Int(64)}, "date": parquet.Date(), "amount": parquet.Leaf(parquet.DoubleType)},
		"channel": parquet.Optional(parquet.String()),
	}
	schema := parquet.NewSchema("tx", group)
	var b bytes.Buffer
	w := parquet.NewGenericWriter[map[string]any](&b, schema)
	rows := make([]map[string]any, len(txns))
	for i, x := range txns {
		var amount float64
		fmt.Sscan(x.amount, &amount)
		rows[i] = map[string]any{
			"order":   map[string]any{"customer": map[string]any{"id": x.id}, "date": time.Unix(int64(days(x.date))*86400, 0).UTC(), "amount": amount},
			"channel": x.channel,
		}
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cols := summary.Columns{CustomerID: "order.customer.id", Timestamp: "order.date", Amount: "order.amount", Attributes: []string{"channel"}}
	got, err := parquetSummary(t, b.Bytes(), cols, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	sameSummary(t, got, reference(t, csvOf(txns)))
}

func TestParquetInvalidRows(t *testing.T) {
	txns := cdnow(t)[:200]
	nullAt := map[int]string{} // row index -> column made null or bad
	nullAt[3] = "customer_id"
	nullAt[10] = "date"
	nullAt[42] = "amount"
	nullAt[77] = "date-bad"
	for i := range txns {
		txns[i].channel = fmt.Sprint(i) // the row index
	}
	idx := func(x txn) int {
		var i int
		fmt.Sscan(x.channel, &i)
		return i
	}
	cols := []pcol{
		{"customer_id", parquet.Optional(parquet.String()), func(x txn) parquet.Value {
			if nullAt[idx(x)] == "customer_id" {
				return parquet.NullValue()
			}
			return parquet.ByteArrayValue(fmt.Append(nil, x.id))
		}},
		{"date", parquet.Optional(parquet.String()), func(x txn) parquet.Value {
			switch nullAt[idx(x)] {
			case "date":
				return parquet.NullValue()
			case "date-bad":
				return parquet.ByteArrayValue([]byte("31/12/1997"))
			}
			return parquet.ByteArrayValue([]byte(x.date))
		}},
		{"amount", parquet.Optional(parquet.Leaf(parquet.DoubleType)), func(x txn) parquet.Value {
			if nullAt[idx(x)] == "amount" {
				return parquet.NullValue()
			}
			var f float64
			fmt.Sscan(x.amount, &f)
			return parquet.DoubleValue(f)
		}},
		{"channel", parquet.Optional(parquet.String()), func(x txn) parquet.Value { return parquet.NullValue() }},
	}
	data := writeParquet(t, cols, txns, parquet.PageBufferSize(256), parquet.MaxRowsPerRowGroup(50))

	opts := testOpts
	opts.MaxInvalidRows = 4
	s, err := parquetSummary(t, data, testCols, opts)
	if err != nil {
		t.Fatal(err)
	}
	if s.InvalidRows != 4 || s.Rows != 200 || len(s.InvalidSamples) != 4 {
		t.Fatalf("rows %d invalid %d samples %v", s.Rows, s.InvalidRows, s.InvalidSamples)
	}
	want := []string{
		`line 4: column "customer_id": is null`,
		`line 11: column "date": is null`,
		`line 43: column "amount": is null`,
		`line 78: column "date": "31/12/1997" is not a date or timestamp`,
	}
	for i, w := range want {
		if !strings.HasPrefix(s.InvalidSamples[i].Error(), w) {
			t.Errorf("sample %d = %q, want %q...", i, s.InvalidSamples[i], w)
		}
	}
	// Null attributes are empty strings, as empty CSV fields.
	for _, c := range s.Customers() {
		if len(c.Attributes) != 1 || c.Attributes[0] != "" {
			t.Fatalf("customer %s attributes %q", c.ID, c.Attributes)
		}
	}

	// One fewer tolerated: the fourth fails the run, reported with the first.
	opts.MaxInvalidRows = 3
	_, err = parquetSummary(t, data, testCols, opts)
	var ie *summary.InvalidRowsError
	if !errors.As(err, &ie) || ie.Count != 4 || ie.First.Line != 4 {
		t.Fatalf("error %v, want 4 invalid rows, the first on line 4", err)
	}
	pipelineError(t, err, pipeline.ReasonInvalidData, true)
}

func TestParquetNegativeAmountsFollowReturns(t *testing.T) {
	txns := cdnow(t)[:300]
	for i := range txns {
		if i%7 == 3 {
			txns[i].amount = "-" + txns[i].amount
		}
	}
	data := writeParquet(t, []pcol{idCol, dateCol, amountCol, channelCol}, txns)
	csvData := csvOf(txns)
	for _, policy := range []summary.ReturnsPolicy{summary.ReturnsNet, summary.ReturnsExclude, summary.ReturnsReject} {
		opts := testOpts
		opts.Returns = policy
		opts.MaxInvalidRows = 100
		want, err := summary.ReadCSV(bytes.NewReader(csvData), testCols, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parquetSummary(t, data, testCols, opts)
		if err != nil {
			t.Fatal(err)
		}
		sameSummary(t, got, want)
		if policy == summary.ReturnsReject {
			if len(got.InvalidSamples) == 0 || !strings.Contains(got.InvalidSamples[0].Error(), `column "amount"`) || got.InvalidSamples[0].Line == 0 {
				t.Errorf("samples %v", got.InvalidSamples)
			}
		}
	}
}

func TestParquetEdgeValues(t *testing.T) {
	cases := []struct {
		name  string
		col   pcol
		valid bool
	}{
		{"year 10000", pcol{"date", parquet.Date(), func(txn) parquet.Value { return parquet.Int32Value(2932897) }}, false},
		{"year 0000", pcol{"date", parquet.Date(), func(txn) parquet.Value { return parquet.Int32Value(-719528) }}, true},
		{"far TIMESTAMP", pcol{"date", parquet.Timestamp(parquet.Millisecond), func(txn) parquet.Value { return parquet.Int64Value(1 << 62) }}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			txns := []txn{{id: 1, date: "1997-01-01", amount: "1.00"}}
			data := writeParquet(t, []pcol{idCol, c.col, amountCol, channelCol}, txns)
			opts := testOpts
			opts.MaxInvalidRows = 1
			s, err := parquetSummary(t, data, testCols, opts)
			if c.valid {
				if err != nil || s.InvalidRows != 0 {
					t.Fatalf("%v %+v", err, s)
				}
				return
			}
			if !errors.Is(err, summary.ErrNoData) {
				t.Fatalf("error %v, want no data (the row invalid)", err)
			}
		})
	}
	// Decimals: big FIXED_LEN_BYTE_ARRAY values and negative ones convert like CSV text.
	for _, v := range []string{"-0.01", "-12345678901234567890.12", "99999999999999999999999999.99", "0.00"} {
		b := decimalBytesOf(v, 16)
		got, ok := decimalBytes(b, 2)
		want, _ := parseAmount([]byte(v))
		if !ok || got != want {
			t.Errorf("decimal %s: got %v (%v), want %v", v, got, ok, want)
		}
	}
}

// decimalBytesOf encodes a decimal with two places as n-byte two's complement.
func decimalBytesOf(v string, n int) []byte {
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(v, "-")
	whole, frac, _ := strings.Cut(v, ".")
	digits := whole + frac
	b := make([]byte, n)
	for _, c := range digits { // b = b*10 + c
		carry := int(c - '0')
		for i := n - 1; i >= 0; i-- {
			x := int(b[i])*10 + carry
			b[i] = byte(x)
			carry = x >> 8
		}
	}
	if neg {
		carry := 1
		for i := n - 1; i >= 0; i-- {
			x := int(^b[i]) + carry
			b[i] = byte(x)
			carry = x >> 8
		}
	}
	return b
}

// The mapping accepts exactly the documented types per role, and a refusal names the column and
// its type.
func FuzzParquetColumnMapping(f *testing.F) {
	type ptype struct {
		node  parquet.Node
		value func(txn) parquet.Value
		// accepted as id, timestamp, amount, attribute
		ok [4]bool
	}
	types := []ptype{
		{parquet.String(), func(txn) parquet.Value { return parquet.ByteArrayValue([]byte("1997-01-01")) }, [4]bool{true, true, true, true}},
		{parquet.Leaf(parquet.ByteArrayType), func(txn) parquet.Value { return parquet.ByteArrayValue([]byte("7")) }, [4]bool{true, true, true, true}},
		{parquet.Int(32), zeroOf(parquet.Int32), [4]bool{true, false, true, true}},
		{parquet.Uint(64), zeroOf(parquet.Int64), [4]bool{true, false, true, true}},
		{parquet.Leaf(parquet.Int64Type), zeroOf(parquet.Int64), [4]bool{true, false, true, true}},
		{parquet.Date(), zeroOf(parquet.Int32), [4]bool{false, true, false, true}},
		{parquet.Timestamp(parquet.Microsecond), zeroOf(parquet.Int64), [4]bool{false, true, false, false}},
		{parquet.Leaf(parquet.Int96Type), zeroOf(parquet.Int96), [4]bool{false, true, false, false}},
		{parquet.Leaf(parquet.DoubleType), zeroOf(parquet.Double), [4]bool{false, false, true, false}},
		{parquet.Leaf(parquet.FloatType), zeroOf(parquet.Float), [4]bool{false, false, true, false}},
		{parquet.Decimal(2, 9, parquet.Int32Type), zeroOf(parquet.Int32), [4]bool{false, false, true, false}},
		{parquet.Leaf(parquet.BooleanType), zeroOf(parquet.Boolean), [4]bool{false, false, false, true}},
		{parquet.UUID(), zeroOf(parquet.FixedLenByteArray), [4]bool{true, false, false, true}},
		{parquet.Time(parquet.Millisecond), zeroOf(parquet.Int32), [4]bool{false, false, false, false}},
		{parquet.JSON(), func(txn) parquet.Value { return parquet.ByteArrayValue([]byte("1")) }, [4]bool{true, true, true, true}},
	}
	f.Add(uint8(0), uint8(5), "customer_id")
	f.Add(uint8(1), uint8(8), "ts")
	f.Add(uint8(2), uint8(11), "montant €")
	f.Add(uint8(3), uint8(13), "segment")
	f.Fuzz(func(t *testing.T, role, typ uint8, name string) {
		role %= 4
		pt := types[int(typ)%len(types)]
		if name == "" || strings.TrimSpace(name) != name || !utf8.ValidString(name) || strings.ContainsAny(name, ".\x00") {
			return
		}
		others := []string{"o_id", "o_ts", "o_amount"}
		for _, o := range others {
			if name == o {
				return
			}
		}
		cols := []pcol{
			{"o_id", parquet.String(), func(txn) parquet.Value { return parquet.ByteArrayValue([]byte("c1")) }},
			{"o_ts", parquet.Date(), func(txn) parquet.Value { return parquet.Int32Value(days("1997-01-01")) }},
			{"o_amount", parquet.Leaf(parquet.DoubleType), func(txn) parquet.Value { return parquet.DoubleValue(1) }},
			{name, pt.node, pt.value},
		}
		mapping := summary.Columns{CustomerID: "o_id", Timestamp: "o_ts", Amount: "o_amount"}
		switch role {
		case 0:
			mapping.CustomerID = name
		case 1:
			mapping.Timestamp = name
		case 2:
			mapping.Amount = name
		case 3:
			mapping.Attributes = []string{name}
		}
		data := writeParquet(t, cols, []txn{{}})
		opts := testOpts
		opts.MaxInvalidRows = 1
		_, err := parquetSummary(t, data, mapping, opts)
		ce := asColumnError(err)
		if pt.ok[role] {
			if ce != nil {
				t.Fatalf("role %d type %s: %v", role, pt.node.Type(), err)
			}
			return
		}
		if ce == nil || ce.Column != name {
			t.Fatalf("role %d type %s: error %v, want a ColumnError naming %q", role, pt.node.Type(), err, name)
		}
		mustContain(t, err, fmt.Sprintf("column %q has Parquet type %s", name, describe(pt.node.Type())))
		pipelineError(t, err, pipeline.ReasonInvalidData, true)
	})
}

// readParquet never panics, whatever the bytes (parquet-go panics on some malformed files).
func FuzzReadParquetBytes(f *testing.F) {
	txns := cdnow(f)[:30]
	valid := writeParquet(f, []pcol{idCol, dateCol, amountCol, channelCol}, txns)
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add([]byte("PAR1PAR1"))
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		metrics.Read(sample)
		before := sample[0].Value.Uint64()
		parquetSummary(t, data, testCols, testOpts)
		metrics.Read(sample)
		// A file cannot make the operator allocate far more than its size: lengths it claims
		// are checked against it.
		if alloc := sample[0].Value.Uint64() - before; alloc > 64<<20+1000*uint64(len(data)) {
			t.Fatalf("a %d-byte file allocated %d MB", len(data), alloc>>20)
		}
	})
}

// Amounts whose sums overflow and customer ids that cannot be stored are refused with the row
// and the column, in Parquet as in CSV.
func TestParquetRefusesOverflowingAmountsAndBadIDs(t *testing.T) {
	txns := cdnow(t)[:3]
	dbl := pcol{"amount", parquet.Leaf(parquet.DoubleType), func(x txn) parquet.Value {
		f, _ := strconv.ParseFloat(x.amount, 64)
		return parquet.DoubleValue(f)
	}}
	big := append([]txn(nil), txns...)
	big[1].amount, big[2].amount = "1e308", "1e308"
	data := writeParquet(t, []pcol{idCol, dateCol, dbl, channelCol}, big)
	_, err := parquetSummary(t, data, testCols, testOpts)
	var re *summary.RowError
	if !errors.As(err, &re) || re.Column != "amount" || !strings.Contains(re.Reason, "largest amount") || re.Line != 2 {
		t.Fatalf("want the second row's amount refused: %v", err)
	}

	strID := pcol{"customer_id", parquet.String(), func(x txn) parquet.Value {
		if x.id == txns[1].id {
			return parquet.ByteArrayValue([]byte("bad\x00id"))
		}
		return parquet.ByteArrayValue([]byte(strconv.FormatInt(x.id, 10)))
	}}
	data = writeParquet(t, []pcol{strID, dateCol, amountCol, channelCol}, txns)
	_, err = parquetSummary(t, data, testCols, testOpts)
	if !errors.As(err, &re) || re.Column != "customer_id" || !strings.Contains(re.Reason, "NUL") {
		t.Fatalf("want the NUL id refused: %v", err)
	}
}
