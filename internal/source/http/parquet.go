package httpsource

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// Parquet column mapping. source.columns names columns of the file's schema: a top-level column,
// or a nested one by its dotted path (order.customer.id). A mapped column must be a primitive
// column with one value per row (required or optional, never repeated). Accepted types:
//
//   - customer ID: a string (BYTE_ARRAY, with or without the STRING, ENUM or JSON annotation), an
//     integer (INT32 or INT64, signed or unsigned, written in decimal) or a UUID (written
//     8-4-4-4-12 in lower case);
//   - timestamp: DATE, TIMESTAMP (milli-, micro- or nanoseconds; a timestamp not adjusted to UTC is
//     read as UTC, like a CSV time without a zone), the legacy INT96 timestamp, or a string in one
//     of the CSV forms (2006-01-02, 20060102, RFC 3339, 2006-01-02 15:04:05);
//   - amount: DOUBLE, FLOAT, an integer, a DECIMAL (INT32, INT64, FIXED_LEN_BYTE_ARRAY or
//     BYTE_ARRAY; converted to the nearest float64, as the CSV source converts "29.33") or a
//     numeric string;
//   - attributes: a string, an integer, a BOOLEAN (true/false), a DATE (2006-01-02) or a UUID.
//
// Strings are trimmed of surrounding spaces and tabs, as CSV fields are, so the same data gives
// the same summary in CSV and in Parquet. A column that is missing is a *summary.ColumnError
// (reason MissingColumn); a column of another type is a *pipeline.Error (InvalidData) wrapping a
// *summary.ColumnError that names the column and its type. A null ID, timestamp or amount, or a
// string that does not parse, is an invalid row (*summary.RowError, whose Line is the 1-based row
// number in the file), counted against source.maxInvalidRows like a malformed CSV row; a null
// attribute is the empty string, as an empty CSV field.

// batchRows is how many rows are decoded per column before they are summarised.
const batchRows = 1024

// readParquet summarises a Parquet file. parquet-go panics on some malformed files; a panic is
// returned as an error.
func readParquet(ctx context.Context, r io.ReaderAt, size int64, cols summary.Columns, opts summary.Options) (sum *summary.Summary, err error) {
	defer func() {
		if p := recover(); p != nil {
			sum, err = nil, fmt.Errorf("the Parquet file cannot be read: %v", p)
		}
	}()
	if err := checkFooter(r, size); err != nil {
		return nil, err
	}
	f, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true),
		parquet.ReadBufferSize(256<<10))
	if err != nil {
		return nil, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	m, err := mapColumns(f.Root(), cols)
	if err != nil {
		return nil, err
	}
	if err := checkPages(f.Metadata(), r, size, m.leaves); err != nil {
		return nil, err
	}
	rd := &parquetReader{m: m, b: summary.NewBuilder(opts, cols.Attributes), inv: invalidRows{max: opts.MaxInvalidRows}}
	rd.attrs = make([]string, len(m.attrs))
	rd.attrBufs = make([][]byte, len(m.attrs))
	for gi, rg := range f.RowGroups() {
		if err := rd.rowGroup(ctx, rg); err != nil {
			if ie := (*summary.InvalidRowsError)(nil); errors.As(err, &ie) {
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			var pe *pipeline.Error
			if errors.As(err, &pe) {
				return nil, err
			}
			return nil, fmt.Errorf("row group %d: %w", gi, err)
		}
	}
	s, err := rd.b.Finish()
	if err != nil {
		return nil, err
	}
	// The Builder knows the invalid rows only as "empty ID" stand-ins (see invalid): the samples
	// are ours.
	s.InvalidSamples = rd.inv.samples
	return s, nil
}

// checkFooter checks the footer's length against the file's size: parquet-go allocates the
// length the file claims (up to 4 GiB) before it reads the footer.
func checkFooter(r io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("not a readable Parquet file: %d bytes is too short", size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("reading the Parquet footer: %w", err)
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return fmt.Errorf("not a readable Parquet file: its footer claims %d bytes, more than the file holds", n)
	}
	return nil
}

// Bounds of a page: parquet-go allocates what a page header claims, so that a small hostile or
// corrupt file could claim gigabytes. Writers cut pages at about 1 MiB and, but for constant
// columns, 20,000 values.
const (
	maxPageBytes  = 256 << 20
	maxPageValues = 1 << 25
)

// checkPages reads the page headers of the column chunks that will be read, before parquet-go
// does, and refuses sizes and value counts beyond the bounds and pages that overrun their chunk.
// A header is decoded from bytes first (which bounds every length in it by the bytes present),
// and only then from a stream to learn its length.
func checkPages(meta *format.FileMetaData, r io.ReaderAt, size int64, leaves []int) error {
	var proto thrift.CompactProtocol
	var buf []byte
	for gi := range meta.RowGroups {
		rg := &meta.RowGroups[gi]
		for _, leaf := range leaves {
			if leaf < 0 || leaf >= len(rg.Columns) {
				return fmt.Errorf("row group %d has no column %d", gi, leaf)
			}
			md := &rg.Columns[leaf].MetaData
			start := md.DataPageOffset
			if md.DictionaryPageOffset != 0 {
				start = md.DictionaryPageOffset // as parquet-go reads it
			}
			end := start + md.TotalCompressedSize
			if start < 4 || md.TotalCompressedSize < 0 || end < start || end > size-8 {
				return fmt.Errorf("row group %d, column %d: the column chunk (%d bytes at %d) is not inside the file", gi, leaf, md.TotalCompressedSize, start)
			}
			for pos := start; pos < end; {
				window := min(end-pos, 16<<10)
				var h format.PageHeader
				for {
					if int64(cap(buf)) < window {
						buf = make([]byte, window)
					}
					buf = buf[:window]
					if _, err := r.ReadAt(buf, pos); err != nil {
						return fmt.Errorf("row group %d, column %d: reading a page header: %w", gi, leaf, err)
					}
					h = format.PageHeader{}
					err := thrift.NewDecoder(proto.NewReaderFromBytes(buf)).Decode(&h)
					if err == nil {
						break
					}
					if window == end-pos {
						return fmt.Errorf("row group %d, column %d: page header at %d: %w", gi, leaf, pos, err)
					}
					window = min(2*window, end-pos)
				}
				br := bytes.NewReader(buf)
				if err := thrift.NewDecoder(proto.NewReader(br)).Decode(&format.PageHeader{}); err != nil {
					return fmt.Errorf("row group %d, column %d: page header at %d: %w", gi, leaf, pos, err)
				}
				pos += int64(len(buf) - br.Len())
				values := int32(0)
				switch {
				case h.DataPageHeader.Valid:
					values = h.DataPageHeader.V.NumValues
				case h.DataPageHeaderV2.Valid:
					values = h.DataPageHeaderV2.V.NumValues
				case h.DictionaryPageHeader.Valid:
					values = h.DictionaryPageHeader.V.NumValues
				}
				switch {
				case h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > end-pos:
					return fmt.Errorf("row group %d, column %d: a page of %d bytes at %d overruns its column chunk", gi, leaf, h.CompressedPageSize, pos)
				case h.UncompressedPageSize < 0 || h.UncompressedPageSize > maxPageBytes:
					return fmt.Errorf("row group %d, column %d: a page of %d bytes uncompressed (at most %d are read)", gi, leaf, h.UncompressedPageSize, maxPageBytes)
				case values < 0 || values > maxPageValues:
					return fmt.Errorf("row group %d, column %d: a page of %d values (at most %d are read)", gi, leaf, values, maxPageValues)
				}
				pos += int64(h.CompressedPageSize)
			}
		}
	}
	return nil
}

// A role is how one mapped column is read.
type role struct {
	name   string // as in source.columns
	reader int    // index in mapping.readers
}

type mapping struct {
	leaves  []int // leaf column index per reader
	id      role
	ts      role
	amount  role
	attrs   []role
	idConv  textConv
	tsConv  timeConv
	amtConv amountConv
	attConv []textConv
	// idView and attView say which converters return views of page bytes (strings) rather than
	// text appended to the buffer they are given.
	idView  bool
	attView []bool
}

type (
	// textConv returns a value's text: appended to dst, or a view of the page's bytes (strings),
	// valid until the batch's pages are released.
	textConv   func(dst []byte, v parquet.Value) []byte
	timeConv   func(v parquet.Value) (t time.Time, text []byte, ok bool)
	amountConv func(v parquet.Value) (f float64, text []byte, ok bool)
)

func mapColumns(root *parquet.Column, cols summary.Columns) (*mapping, error) {
	m := &mapping{}
	readers := map[int]int{}
	find := func(name string) (*parquet.Column, role, error) {
		c, err := lookup(root, name)
		if err != nil {
			return nil, role{}, err
		}
		leaf := c.Index()
		i, ok := readers[leaf]
		if !ok {
			i = len(m.leaves)
			readers[leaf] = i
			m.leaves = append(m.leaves, leaf)
		}
		return c, role{name: name, reader: i}, nil
	}
	var errs []error
	c, r, err := find(cols.CustomerID)
	if err == nil {
		m.id = r
		m.idConv, err = idConverter(c)
		m.idView = isString(c)
	}
	errs = append(errs, err)
	c, r, err = find(cols.Timestamp)
	if err == nil {
		m.ts = r
		m.tsConv, err = timeConverter(c)
	}
	errs = append(errs, err)
	c, r, err = find(cols.Amount)
	if err == nil {
		m.amount = r
		m.amtConv, err = amountConverter(c)
	}
	errs = append(errs, err)
	for _, name := range cols.Attributes {
		c, r, err = find(name)
		if err == nil {
			var conv textConv
			conv, err = attributeConverter(c)
			m.attrs = append(m.attrs, r)
			m.attConv = append(m.attConv, conv)
			m.attView = append(m.attView, isString(c))
		}
		errs = append(errs, err)
	}
	// Report the first problem; a missing column first, as the CSV source does.
	var first error
	for _, err := range errs {
		var pe *pipeline.Error
		if err != nil && !errors.As(err, &pe) {
			return nil, err
		}
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	return m, nil
}

// lookup finds a mapped column: a top-level column of that name, or else a dotted path.
func lookup(root *parquet.Column, name string) (*parquet.Column, error) {
	name = strings.TrimSpace(name)
	path := []*parquet.Column{root.Column(name)}
	if path[0] == nil && strings.Contains(name, ".") {
		path = path[:0]
		c := root
		for _, part := range strings.Split(name, ".") {
			if c = c.Column(part); c == nil {
				break
			}
			path = append(path, c)
		}
		if c == nil {
			path = []*parquet.Column{nil}
		}
	}
	c := path[len(path)-1]
	if c == nil {
		return nil, &summary.ColumnError{Column: name, Reason: "not found in the Parquet file's columns " + columnList(root)}
	}
	for _, p := range path {
		if p.Repeated() {
			return nil, mappingError(name, "is repeated (a list) in the Parquet file; a mapped column must have one value per row")
		}
	}
	if !c.Leaf() {
		return nil, mappingError(name, "is a group in the Parquet file, not a column of values; map one of its fields (%s.<field>)", name)
	}
	return c, nil
}

func mappingError(name, format string, args ...any) error {
	return &pipeline.Error{Reason: pipeline.ReasonInvalidData, Permanent: true,
		Err: &summary.ColumnError{Column: name, Reason: fmt.Sprintf(format, args...)}}
}

func typeError(c *parquet.Column, name, want string) error {
	return mappingError(name, "has Parquet type %s, which cannot be read as %s", describe(c.Type()), want)
}

// describe names a Parquet type: its physical type and its logical type, if any.
func describe(t parquet.Type) string {
	s := t.Kind().String()
	if lt := t.LogicalType(); lt != nil && lt.Value != nil {
		s += " (" + lt.String() + ")"
	}
	return s
}

// columnList lists the leaf columns' dotted paths, bounded.
func columnList(root *parquet.Column) string {
	var names []string
	var walk func(c *parquet.Column, prefix string)
	walk = func(c *parquet.Column, prefix string) {
		for _, ch := range c.Columns() {
			if len(names) > 20 {
				return
			}
			if ch.Leaf() {
				names = append(names, prefix+ch.Name())
			} else {
				walk(ch, prefix+ch.Name()+".")
			}
		}
	}
	walk(root, "")
	if len(names) > 20 {
		names = append(names[:20], "...")
	}
	return "[" + strings.Join(names, ", ") + "]"
}

func logical(c *parquet.Column) format.LogicalTypeValue {
	if lt := c.Type().LogicalType(); lt != nil {
		return lt.Value
	}
	return nil
}

func isString(c *parquet.Column) bool {
	if c.Type().Kind() != parquet.ByteArray {
		return false
	}
	switch logical(c).(type) {
	case nil, *format.StringType, *format.EnumType, *format.JsonType:
		return true
	}
	return false
}

// intConverter reads INT32 and INT64 columns without a logical type or with an INT one.
func intConverter(c *parquet.Column) textConv {
	k := c.Type().Kind()
	if k != parquet.Int32 && k != parquet.Int64 {
		return nil
	}
	signed := true
	switch lt := logical(c).(type) {
	case nil:
	case *format.IntType:
		signed = lt.IsSigned
	default:
		return nil
	}
	switch {
	case k == parquet.Int32 && signed:
		return func(dst []byte, v parquet.Value) []byte { return strconv.AppendInt(dst, int64(v.Int32()), 10) }
	case k == parquet.Int32:
		return func(dst []byte, v parquet.Value) []byte { return strconv.AppendUint(dst, uint64(v.Uint32()), 10) }
	case signed:
		return func(dst []byte, v parquet.Value) []byte { return strconv.AppendInt(dst, v.Int64(), 10) }
	default:
		return func(dst []byte, v parquet.Value) []byte { return strconv.AppendUint(dst, v.Uint64(), 10) }
	}
}

func stringConverter(_ []byte, v parquet.Value) []byte { return trim(v.ByteArray()) }

func uuidConverter(c *parquet.Column) textConv {
	if _, ok := logical(c).(*format.UUIDType); !ok || c.Type().Kind() != parquet.FixedLenByteArray || c.Type().Length() != 16 {
		return nil
	}
	return func(dst []byte, v parquet.Value) []byte {
		b := v.ByteArray()
		if len(b) != 16 {
			return append(dst, hex.EncodeToString(b)...)
		}
		var s [36]byte
		hex.Encode(s[0:8], b[0:4])
		s[8] = '-'
		hex.Encode(s[9:13], b[4:6])
		s[13] = '-'
		hex.Encode(s[14:18], b[6:8])
		s[18] = '-'
		hex.Encode(s[19:23], b[8:10])
		s[23] = '-'
		hex.Encode(s[24:], b[10:])
		return append(dst, s[:]...)
	}
}

func idConverter(c *parquet.Column) (textConv, error) {
	if isString(c) {
		return stringConverter, nil
	}
	if conv := intConverter(c); conv != nil {
		return conv, nil
	}
	if conv := uuidConverter(c); conv != nil {
		return conv, nil
	}
	return nil, typeError(c, c.Name(), "a customer ID (want a string, an integer or a UUID)")
}

func attributeConverter(c *parquet.Column) (textConv, error) {
	if conv, err := idConverter(c); err == nil {
		return conv, nil
	}
	if c.Type().Kind() == parquet.Boolean && logical(c) == nil {
		return func(dst []byte, v parquet.Value) []byte { return strconv.AppendBool(dst, v.Boolean()) }, nil
	}
	if _, ok := logical(c).(*format.DateType); ok && c.Type().Kind() == parquet.Int32 {
		return func(dst []byte, v parquet.Value) []byte {
			return time.Unix(int64(v.Int32())*secondsPerDay, 0).UTC().AppendFormat(dst, time.DateOnly)
		}, nil
	}
	return nil, typeError(c, c.Name(), "an attribute (want a string, an integer, a BOOLEAN, a DATE or a UUID)")
}

// julianUnixEpoch is the Julian day number of 1970-01-01, for INT96 timestamps.
const julianUnixEpoch = 2440588

func timeConverter(c *parquet.Column) (timeConv, error) {
	k := c.Type().Kind()
	switch lt := logical(c).(type) {
	case *format.DateType:
		if k == parquet.Int32 {
			return func(v parquet.Value) (time.Time, []byte, bool) {
				return time.Unix(int64(v.Int32())*secondsPerDay, 0), nil, true
			}, nil
		}
	case *format.TimestampType:
		if k == parquet.Int64 {
			switch lt.Unit.Value.(type) {
			case *format.MilliSeconds:
				return func(v parquet.Value) (time.Time, []byte, bool) { return time.UnixMilli(v.Int64()), nil, true }, nil
			case *format.MicroSeconds:
				return func(v parquet.Value) (time.Time, []byte, bool) { return time.UnixMicro(v.Int64()), nil, true }, nil
			case *format.NanoSeconds:
				return func(v parquet.Value) (time.Time, []byte, bool) { return time.Unix(0, v.Int64()), nil, true }, nil
			}
		}
	case nil:
		if k == parquet.Int96 {
			return func(v parquet.Value) (time.Time, []byte, bool) {
				i := v.Int96()
				nanos := int64(uint64(i[0]) | uint64(i[1])<<32)
				day := int64(i[2]) - julianUnixEpoch
				return time.Unix(day*secondsPerDay, nanos), nil, true
			}, nil
		}
	}
	if isString(c) {
		return func(v parquet.Value) (time.Time, []byte, bool) {
			b := trim(v.ByteArray())
			t, ok := parseTimestamp(b)
			return t, b, ok
		}, nil
	}
	return nil, typeError(c, c.Name(), "a timestamp (want DATE, TIMESTAMP, INT96 or a string such as 2006-01-02)")
}

func amountConverter(c *parquet.Column) (amountConv, error) {
	k := c.Type().Kind()
	switch lt := logical(c).(type) {
	case *format.DecimalType:
		scale := int(lt.Scale)
		switch k {
		case parquet.Int32:
			return func(v parquet.Value) (float64, []byte, bool) { return decimal(int64(v.Int32()), scale), nil, true }, nil
		case parquet.Int64:
			return func(v parquet.Value) (float64, []byte, bool) { return decimal(v.Int64(), scale), nil, true }, nil
		case parquet.FixedLenByteArray, parquet.ByteArray:
			return func(v parquet.Value) (float64, []byte, bool) {
				f, ok := decimalBytes(v.ByteArray(), scale)
				return f, nil, ok
			}, nil
		}
	case nil, *format.IntType:
		switch k {
		case parquet.Double:
			if logical(c) == nil {
				return func(v parquet.Value) (float64, []byte, bool) { return v.Double(), nil, true }, nil
			}
		case parquet.Float:
			if logical(c) == nil {
				return func(v parquet.Value) (float64, []byte, bool) { return float64(v.Float()), nil, true }, nil
			}
		case parquet.Int32, parquet.Int64:
			// Go converts integers to the nearest float64, as parsing their decimal text does.
			signed := true
			if it, ok := logical(c).(*format.IntType); ok {
				signed = it.IsSigned
			}
			switch {
			case k == parquet.Int32 && signed:
				return func(v parquet.Value) (float64, []byte, bool) { return float64(v.Int32()), nil, true }, nil
			case k == parquet.Int32:
				return func(v parquet.Value) (float64, []byte, bool) { return float64(v.Uint32()), nil, true }, nil
			case signed:
				return func(v parquet.Value) (float64, []byte, bool) { return float64(v.Int64()), nil, true }, nil
			default:
				return func(v parquet.Value) (float64, []byte, bool) { return float64(v.Uint64()), nil, true }, nil
			}
		}
	}
	if isString(c) {
		return func(v parquet.Value) (float64, []byte, bool) {
			b := trim(v.ByteArray())
			f, ok := parseAmount(b)
			return f, b, ok
		}, nil
	}
	return nil, typeError(c, c.Name(), "an amount (want DOUBLE, FLOAT, an integer, DECIMAL or a numeric string)")
}

// decimal converts an unscaled decimal to the nearest float64.
func decimal(unscaled int64, scale int) float64 {
	if scale >= 0 && scale < len(pow10) && unscaled > -1<<53 && unscaled < 1<<53 {
		// Both operands are exact, so the one division is correctly rounded: the value CSV
		// parsing gives for the same decimal.
		return float64(unscaled) / pow10[scale]
	}
	f, _ := strconv.ParseFloat(strconv.FormatInt(unscaled, 10)+"e"+strconv.Itoa(-scale), 64)
	return f
}

// decimalBytes converts a big-endian two's complement unscaled decimal.
func decimalBytes(b []byte, scale int) (float64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	if len(b) <= 8 {
		var buf [8]byte
		if b[0]&0x80 != 0 {
			buf = [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		}
		copy(buf[8-len(b):], b)
		return decimal(int64(binary.BigEndian.Uint64(buf[:])), scale), true
	}
	n := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	f, err := strconv.ParseFloat(n.String()+"e"+strconv.Itoa(-scale), 64)
	return f, err == nil && !math.IsInf(f, 0)
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// unsafeString views b as a string for a call that does not keep it (Builder.Add copies what it
// keeps).
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// parquetReader feeds a Builder from the mapped columns, a batch of rows at a time.
type parquetReader struct {
	m   *mapping
	b   *summary.Builder
	inv invalidRows
	row int // rows read, for RowError.Line

	cols     []columnCursor
	idBuf    []byte
	attrBufs [][]byte
	attrs    []string
}

func (rd *parquetReader) rowGroup(ctx context.Context, rg parquet.RowGroup) error {
	chunks := rg.ColumnChunks()
	if len(rd.cols) == 0 {
		rd.cols = make([]columnCursor, len(rd.m.leaves))
	}
	for i, leaf := range rd.m.leaves {
		if leaf < 0 || leaf >= len(chunks) {
			return fmt.Errorf("column %d is missing from the row group", leaf)
		}
		rd.cols[i].open(chunks[leaf])
	}
	defer func() {
		for i := range rd.cols {
			rd.cols[i].close()
		}
	}()
	rows := rg.NumRows()
	for done := int64(0); done < rows; {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := int(min(batchRows, rows-done))
		for i := range rd.cols {
			if err := rd.cols[i].fill(k); err != nil {
				return fmt.Errorf("column %q: %w", rd.columnName(i), err)
			}
		}
		for j := 0; j < k; j++ {
			if err := rd.add(j); err != nil {
				return err
			}
		}
		for i := range rd.cols {
			rd.cols[i].releaseDone()
		}
		done += int64(k)
	}
	return nil
}

func (rd *parquetReader) columnName(reader int) string {
	for _, r := range append([]role{rd.m.id, rd.m.ts, rd.m.amount}, rd.m.attrs...) {
		if r.reader == reader {
			return r.name
		}
	}
	return ""
}

// add summarises row j of the current batch.
func (rd *parquetReader) add(j int) error {
	rd.row++
	m := rd.m
	idv := rd.cols[m.id.reader].buf[j]
	if idv.IsNull() {
		return rd.invalid(&summary.RowError{Column: m.id.name, Reason: "is null"})
	}
	tsv := rd.cols[m.ts.reader].buf[j]
	if tsv.IsNull() {
		return rd.invalid(&summary.RowError{Column: m.ts.name, Reason: "is null"})
	}
	ts, text, ok := m.tsConv(tsv)
	if !ok {
		return rd.invalid(&summary.RowError{Column: m.ts.name, Value: truncValue(text),
			Reason: "is not a date or timestamp (want 2006-01-02, 20060102, RFC 3339 or 2006-01-02 15:04:05)"})
	}
	if sec := ts.Unix(); sec < minUnixSeconds || sec >= maxUnixSeconds {
		return rd.invalid(&summary.RowError{Column: m.ts.name, Value: ts.UTC().String(), Reason: "is outside the years 0000 to 9999"})
	}
	amv := rd.cols[m.amount.reader].buf[j]
	if amv.IsNull() {
		return rd.invalid(&summary.RowError{Column: m.amount.name, Reason: "is null"})
	}
	amount, text, ok := m.amtConv(amv)
	if !ok {
		return rd.invalid(&summary.RowError{Column: m.amount.name, Value: truncValue(text), Reason: "is not a number"})
	}
	if len(m.attrs) > 0 {
		for a, r := range m.attrs {
			rd.attrs[a] = ""
			if v := rd.cols[r.reader].buf[j]; !v.IsNull() {
				text := m.attConv[a](rd.attrBufs[a][:0], v)
				if !m.attView[a] {
					rd.attrBufs[a] = text[:0] // keep the grown buffer
				}
				rd.attrs[a] = unsafeString(text)
			}
		}
	}
	idText := m.idConv(rd.idBuf[:0], idv)
	if !m.idView {
		rd.idBuf = idText[:0]
	}
	err := rd.b.Add(unsafeString(idText), ts, amount, rd.attrs)
	if err == nil {
		return nil
	}
	var re *summary.RowError
	if !errors.As(err, &re) {
		return err // invalid options
	}
	if re.Column == "customerID" {
		re.Column = m.id.name
	} else if re.Column == "amount" {
		re.Column = m.amount.name
	}
	re.Line = rd.row
	return rd.inv.add(re)
}

// invalid counts a row that the Builder never sees as such. The Builder keeps Rows and
// InvalidRows; it learns of the row through an empty ID, which it documents as an invalid row
// that it counts (the summary package has no other way in). Its samples and first error are
// replaced by ours.
func (rd *parquetReader) invalid(e *summary.RowError) error {
	e.Line = rd.row
	_ = rd.b.Add("", time.Time{}, 0, nil)
	return rd.inv.add(e)
}

// invalidRows counts invalid rows against MaxInvalidRows.
type invalidRows struct {
	max, count int
	first      *summary.RowError
	samples    []*summary.RowError
}

func (iv *invalidRows) add(e *summary.RowError) error {
	iv.count++
	if iv.first == nil {
		iv.first = e
	}
	if len(iv.samples) < 5 {
		iv.samples = append(iv.samples, e)
	}
	if iv.count > iv.max {
		return &summary.InvalidRowsError{Count: iv.count, Max: iv.max, First: iv.first}
	}
	return nil
}

func truncValue(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// columnCursor reads one column chunk's values in batches.
type columnCursor struct {
	pages parquet.Pages
	cur   parquet.Page
	vr    parquet.ValueReader
	done  []parquet.Page // pages read to their end whose values may still be in buf
	buf   []parquet.Value
}

func (c *columnCursor) open(chunk parquet.ColumnChunk) {
	c.pages = chunk.Pages()
	c.cur, c.vr = nil, nil
	if c.buf == nil {
		c.buf = make([]parquet.Value, batchRows)
	}
}

// fill reads the next k values.
func (c *columnCursor) fill(k int) error {
	c.buf = c.buf[:k]
	got, idle := 0, 0
	for got < k {
		if c.vr == nil {
			p, err := c.pages.ReadPage()
			if err == io.EOF {
				return fmt.Errorf("the column chunk ends before the row group's last row")
			}
			if err != nil {
				return err
			}
			c.cur, c.vr = p, p.Values()
		}
		n, err := c.vr.ReadValues(c.buf[got:k])
		for _, v := range c.buf[got : got+n] {
			if v.RepetitionLevel() != 0 {
				return fmt.Errorf("has more than one value in a row")
			}
		}
		got += n
		switch {
		case err == io.EOF:
			c.done = append(c.done, c.cur)
			c.cur, c.vr = nil, nil
		case err != nil:
			return err
		case n == 0:
			if idle++; idle > 3 {
				return fmt.Errorf("the page reader returns no values")
			}
		}
	}
	return nil
}

// releaseDone returns finished pages to parquet-go's buffer pool once the batch using their
// values is summarised.
func (c *columnCursor) releaseDone() {
	for _, p := range c.done {
		parquet.Release(p)
	}
	clear(c.done)
	c.done = c.done[:0]
}

func (c *columnCursor) close() {
	c.releaseDone()
	if c.cur != nil {
		parquet.Release(c.cur)
	}
	c.cur, c.vr = nil, nil
	if c.pages != nil {
		c.pages.Close()
		c.pages = nil
	}
}
