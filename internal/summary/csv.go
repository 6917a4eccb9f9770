package summary

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/bits"
	"strings"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

const (
	// readChunk is the size of the buffers passed from the reading goroutine to the parser.
	readChunk = 1 << 20
	// readBuffers is how many of them circulate.
	readBuffers = 4
	// maxRecord bounds one CSV record (a row with quoted newlines can span lines).
	maxRecord = 1 << 20
)

// ReadCSV summarises a CSV transaction log. The input may be gzip-compressed (recognised by its
// magic bytes). The first record is the header; cols names the columns used. See the package
// documentation for the accepted formats and the errors.
func ReadCSV(r io.Reader, cols Columns, opts Options) (*Summary, error) {
	b := NewBuilder(opts, cols.Attributes)
	if b.err != nil {
		return nil, b.err
	}
	p, err := newCSVParser(b, cols)
	if err != nil {
		return nil, err
	}
	p.agg = startAggregator(b)
	aggDone := false
	defer func() {
		if !aggDone {
			p.agg.finish()
		}
	}()
	h := sha256.New()
	in := startReader(r, h)
	defer in.stop()
	first := true
	for c := range in.full {
		data := c.buf[:c.n]
		if first && len(data) > 0 {
			data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
			first = false
		}
		err := p.feed(data)
		if c.buf != nil {
			in.free <- c.buf
		}
		if err != nil {
			return nil, err
		}
		if c.err != nil {
			if c.err != io.EOF {
				var ce flate.CorruptInputError
				if errors.Is(c.err, gzip.ErrChecksum) || errors.Is(c.err, gzip.ErrHeader) || errors.As(c.err, &ce) {
					return nil, fmt.Errorf("reading the input: %w: %w", ErrCorruptInput, c.err)
				}
				if errors.Is(c.err, errTruncatedGzip) {
					return nil, fmt.Errorf("reading the input: the gzip stream is truncated: it ends inside the compressed data, after %d decompressed bytes (%w)", in.out, ErrTruncatedInput)
				}
				return nil, fmt.Errorf("reading the input: %w", c.err)
			}
			break
		}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	if !p.haveHeader {
		return nil, &ColumnError{Reason: "the input is empty: no header line"}
	}
	p.agg.finish()
	aggDone = true
	s, err := b.Finish()
	if err != nil {
		return nil, err
	}
	s.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return s, nil
}

// chunk is a buffer of decompressed input; err is set on the last one (io.EOF at the end).
type chunk struct {
	buf []byte
	n   int
	err error
}

// reader decompresses (and hashes) the input in its own goroutine, so that reading, gzip and
// hashing run on one core while parsing runs on another.
type reader struct {
	full     chan chunk
	free     chan []byte
	done     chan struct{}
	finished chan struct{}
	// out counts the bytes sent; it is written before each send, so a receiver may read it.
	out int64
}

// errTruncatedGzip is the reader's error for a gzip stream that ends early.
var errTruncatedGzip = errors.New("truncated gzip stream")

func startReader(r io.Reader, h hash.Hash) *reader {
	rd := &reader{
		full:     make(chan chunk, readBuffers),
		free:     make(chan []byte, readBuffers),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	for range readBuffers {
		rd.free <- *bufPool.Get().(*[]byte)
	}
	go rd.run(r, h)
	return rd
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}

// stop ends the goroutine and waits for it: the caller's reader is not touched after ReadCSV
// returns. The buffers go back to the pool.
func (rd *reader) stop() {
	close(rd.done)
	<-rd.finished
	for c := range rd.full {
		if c.buf != nil {
			rd.free <- c.buf
		}
	}
	for {
		select {
		case b := <-rd.free:
			bufPool.Put(&b)
		default:
			return
		}
	}
}

type hashingReader struct {
	r io.Reader
	h hash.Hash
}

func (hr hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	return n, err
}

func (rd *reader) run(r io.Reader, h hash.Hash) {
	defer close(rd.finished)
	defer close(rd.full)
	send := func(c chunk) bool {
		select {
		case rd.full <- c:
			return true
		case <-rd.done:
			return false
		}
	}
	raw := bufio.NewReaderSize(hashingReader{r, h}, 256<<10)
	var src io.Reader = raw
	if magic, _ := raw.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(raw)
		if err != nil {
			send(chunk{err: fmt.Errorf("gzip: %w", err)})
			return
		}
		defer zr.Close()
		src = zr
	}
	for {
		var buf []byte
		select {
		case buf = <-rd.free:
		case <-rd.done:
			return
		}
		n, err := fill(src, buf)
		rd.out += int64(n)
		if src != io.Reader(raw) && errors.Is(err, io.ErrUnexpectedEOF) {
			err = errTruncatedGzip
		}
		if err == io.EOF && src != io.Reader(raw) {
			// hash whatever follows the compressed stream too
			if _, derr := io.Copy(io.Discard, raw); derr != nil {
				err = derr
			}
		}
		if !send(chunk{buf: buf, n: n, err: err}) || err != nil {
			return
		}
	}
}

// fill reads until buf is full or an error (io.EOF at the end; unlike io.ReadFull it passes on
// the reader's own io.ErrUnexpectedEOF, the sign of a truncated gzip stream).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// csvParser is a byte-level CSV parser (RFC 4180: quoted fields with "" escapes and line breaks,
// LF or CRLF line ends, optional final line end; empty lines are skipped). Fields are slices of
// the input buffer (or of an unescaping buffer for quoted records), so that a row costs no
// allocation.
type csvParser struct {
	b    *Builder
	agg  *aggregator
	cols Columns

	// the last date-only timestamp parsed and its day
	lastDate     [10]byte
	lastDay      int32
	haveLastDate bool

	haveHeader bool
	header     []string
	nfields    int
	idCol      int
	tsCol      int
	amtCol     int
	attrCols   []int
	maxCol     int

	line   int      // lines started so far
	fields [][]byte // the current record's fields
	nf     int      // the current record's field count
	commas []int    // positions of the current row's commas
	attrs  [][]byte
	qbuf   []byte // unescaped quoted record
	qends  []int
	carry  []byte // an incomplete record from the previous buffer
}

func newCSVParser(b *Builder, cols Columns) (*csvParser, error) {
	for _, c := range []struct{ name, what string }{
		{cols.CustomerID, "customer ID"}, {cols.Timestamp, "timestamp"}, {cols.Amount, "amount"},
	} {
		if strings.TrimSpace(c.name) == "" {
			return nil, &ColumnError{Reason: fmt.Sprintf("no column is mapped to the %s", c.what)}
		}
	}
	for _, a := range cols.Attributes {
		if strings.TrimSpace(a) == "" {
			return nil, &ColumnError{Reason: "an attribute column name is empty"}
		}
	}
	return &csvParser{b: b, cols: cols, attrs: make([][]byte, len(cols.Attributes))}, nil
}

// feed parses a buffer; an incomplete last record is kept for the next buffer. The record
// carried over is completed by appending the new data in growing pieces (at least doubling the
// carried bytes each time), so that a long record costs linear, not quadratic, time.
func (p *csvParser) feed(data []byte) error {
	for len(p.carry) > 0 && len(data) > 0 {
		take := min(max(len(p.carry), 4096), len(data))
		if k := bytes.IndexByte(data[take:], '\n'); k >= 0 {
			take += k + 1
		} else {
			take = len(data)
		}
		p.carry = append(p.carry, data[:take]...)
		data = data[take:]
		n, err := p.parse(p.carry, false)
		if err != nil {
			return err
		}
		p.carry = p.carry[:copy(p.carry, p.carry[n:])]
		if len(p.carry) > maxRecord {
			return p.tooLong()
		}
	}
	if len(data) == 0 {
		return nil
	}
	n, err := p.parse(data, false)
	if err != nil {
		return err
	}
	p.carry = append(p.carry, data[n:]...)
	if len(p.carry) > maxRecord {
		return p.tooLong()
	}
	return nil
}

func (p *csvParser) tooLong() error {
	return &RowError{Line: p.line + 1, Reason: fmt.Sprintf("the record is longer than %d bytes (an unterminated quoted field?)", maxRecord)}
}

func (p *csvParser) finish() error {
	if len(p.carry) == 0 {
		return nil
	}
	_, err := p.parse(p.carry, true)
	p.carry = p.carry[:0]
	return err
}

// parse handles the complete records in data and returns the number of bytes they took. With
// final, the end of data ends the last record.
func (p *csvParser) parse(data []byte, final bool) (int, error) {
	pos := 0
	for pos < len(data) {
		nl, quoted := p.scanRow(data, pos)
		if quoted {
			n, lines, complete, rerr := p.splitQuoted(data[pos:], final)
			if !complete {
				return pos, nil
			}
			start := p.line + 1
			p.line += lines
			pos += n
			if rerr != nil {
				rerr.Line = start
				if err := p.badRecord(rerr); err != nil {
					return pos, err
				}
				continue
			}
			if err := p.record(start); err != nil {
				return pos, err
			}
			continue
		}
		end, next := nl, nl+1
		if nl < 0 {
			if !final {
				return pos, nil
			}
			end, next = len(data), len(data)
		}
		p.line++
		if end > pos && data[end-1] == '\r' {
			end--
		}
		if end > pos {
			// the fields, from the comma positions (a comma cannot follow the '\r')
			nf := len(p.commas) + 1
			if cap(p.fields) < nf {
				p.fields = make([][]byte, nf, 2*nf)
			}
			fs := p.fields[:nf]
			f := pos
			for k, c := range p.commas {
				fs[k] = data[f:c]
				f = c + 1
			}
			fs[nf-1] = data[f:end]
			p.fields, p.nf = fs, nf
			if err := p.record(p.line); err != nil {
				return next, err
			}
		}
		pos = next
	}
	return pos, nil
}

const (
	lsb  = 0x0101010101010101
	msb  = 0x8080808080808080
	low7 = 0x7f7f7f7f7f7f7f7f
)

// zeroBytes has the high bit set in each zero byte of x (exactly, without false positives).
func zeroBytes(x uint64) uint64 { return ^((x&low7 + low7) | x) & msb }

// scanRow scans the row starting at data[start], eight bytes at a time, recording its commas'
// positions in p.commas. It returns the position of the line feed ending the row (-1 when data
// ends first), or quoted when a quote comes before it (the row then takes splitQuoted's path).
func (p *csvParser) scanRow(data []byte, start int) (nl int, quoted bool) {
	commas := p.commas[:0]
	i := start
	for ; i+8 <= len(data); i += 8 {
		w := binary.LittleEndian.Uint64(data[i:])
		m := zeroBytes(w^(','*lsb)) | zeroBytes(w^('\n'*lsb)) | zeroBytes(w^('"'*lsb))
		for m != 0 {
			j := i + bits.TrailingZeros64(m)>>3
			m &= m - 1
			switch data[j] {
			case ',':
				commas = append(commas, j)
			case '\n':
				p.commas = commas
				return j, false
			default:
				p.commas = commas
				return -1, true
			}
		}
	}
	for ; i < len(data); i++ {
		switch data[i] {
		case ',':
			commas = append(commas, i)
		case '\n':
			p.commas = commas
			return i, false
		case '"':
			p.commas = commas
			return -1, true
		}
	}
	p.commas = commas
	return -1, false
}

// splitQuoted splits one record that contains a quote, starting at data[0]. It returns the bytes
// and lines the record took; complete is false when data ends inside the record and more may
// follow. A malformed record is skipped to the end of its line and reported in rerr.
func (p *csvParser) splitQuoted(data []byte, final bool) (n, lines int, complete bool, rerr *RowError) {
	buf := p.qbuf[:0]
	ends := p.qends[:0]
	starts := 0
	i := 0
	defer func() { p.qbuf, p.qends = buf, ends }()
	endRecord := func() {
		// fill p.fields from buf
		p.fields = p.fields[:0]
		for _, e := range ends {
			p.fields = append(p.fields, buf[starts:e])
			starts = e
		}
		p.nf = len(p.fields)
	}
	skipLine := func(reason string) (int, int, bool, *RowError) {
		k := bytes.IndexByte(data[i:], '\n')
		if k < 0 {
			if !final {
				return 0, 0, false, nil
			}
			return len(data), lines + 1, true, &RowError{Column: p.colName(len(ends)), Reason: reason}
		}
		return i + k + 1, lines + 1, true, &RowError{Column: p.colName(len(ends)), Reason: reason}
	}
	for {
		if i < len(data) && data[i] == '"' {
			i++
			for {
				j := bytes.IndexByte(data[i:], '"')
				if j < 0 {
					if !final {
						return 0, 0, false, nil
					}
					lines += bytes.Count(data[i:], []byte{'\n'}) + 1
					return len(data), lines, true, &RowError{Column: p.colName(len(ends)), Reason: "unterminated quoted field"}
				}
				seg := data[i : i+j]
				if k := bytes.Count(seg, []byte{'\n'}); k > 0 {
					lines += k
					// like encoding/csv, a CRLF inside a quoted field reads as LF, so that a
					// value does not depend on the file's line ends
					buf = appendNoCR(buf, seg)
				} else {
					buf = append(buf, seg...)
				}
				i += j + 1
				if i < len(data) && data[i] == '"' {
					buf = append(buf, '"')
					i++
					continue
				}
				if i == len(data) && !final {
					return 0, 0, false, nil
				}
				break
			}
			ends = append(ends, len(buf))
			if i == len(data) {
				endRecord()
				return i, lines + 1, true, nil
			}
			switch data[i] {
			case ',':
				i++
				continue
			case '\n':
				endRecord()
				return i + 1, lines + 1, true, nil
			case '\r':
				if i+1 < len(data) && data[i+1] == '\n' {
					endRecord()
					return i + 2, lines + 1, true, nil
				}
				if i+1 == len(data) {
					if !final {
						return 0, 0, false, nil
					}
					endRecord()
					return i + 1, lines + 1, true, nil
				}
			}
			ends = ends[:len(ends)-1]
			return skipLine(`has a quoted field followed by other characters (a quote inside a field must be doubled, "")`)
		}
		// unquoted field: up to the next comma or line end; quotes inside are taken literally
		j := i
		for j < len(data) && data[j] != ',' && data[j] != '\n' {
			j++
		}
		if j == len(data) && !final {
			return 0, 0, false, nil
		}
		f := data[i:j]
		atEOL := j == len(data) || data[j] == '\n'
		if atEOL && len(f) > 0 && f[len(f)-1] == '\r' {
			f = f[:len(f)-1]
		}
		buf = append(buf, f...)
		ends = append(ends, len(buf))
		if atEOL {
			endRecord()
			if j == len(data) {
				return j, lines + 1, true, nil
			}
			return j + 1, lines + 1, true, nil
		}
		i = j + 1
	}
}

// appendNoCR appends seg with each "\r\n" replaced by "\n".
func appendNoCR(buf, seg []byte) []byte {
	for {
		k := bytes.Index(seg, []byte("\r\n"))
		if k < 0 {
			return append(buf, seg...)
		}
		buf = append(buf, seg[:k]...)
		seg = seg[k+1:]
	}
}

// colName is the header name of column i, for error messages ("" before the header is read).
func (p *csvParser) colName(i int) string {
	if i < len(p.header) {
		return p.header[i]
	}
	return ""
}

// badRecord handles a malformed record.
func (p *csvParser) badRecord(e *RowError) error {
	if !p.haveHeader {
		return &ColumnError{Reason: "malformed header: " + e.Error()}
	}
	p.b.rows++
	return p.invalid(e)
}

func (p *csvParser) invalid(e *RowError) error {
	p.b.invalidRow(e)
	return p.b.tooManyInvalid()
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// record handles the record in p.fields, which starts on the given line.
func (p *csvParser) record(line int) error {
	if !p.haveHeader {
		return p.setHeader()
	}
	p.b.rows++
	if p.nf != p.nfields {
		return p.invalid(&RowError{Line: line, Reason: fmt.Sprintf("has %d fields, the header has %d", p.nf, p.nfields)})
	}
	f := p.fields
	id := trim(f[p.idCol])
	if len(id) == 0 {
		return p.invalid(&RowError{Line: line, Column: p.cols.CustomerID, Reason: "customer ID is empty"})
	}
	if len(id) > MaxIDLength {
		return p.invalid(&RowError{Line: line, Column: p.cols.CustomerID, Value: truncValue(id), Reason: fmt.Sprintf("is longer than %d bytes", MaxIDLength)})
	}
	if reason := badID(id); reason != "" {
		return p.invalid(&RowError{Line: line, Column: p.cols.CustomerID, Value: truncValue(id), Reason: reason})
	}
	ts := trim(f[p.tsCol])
	var day int32
	var nanos int64
	ok := true
	if p.haveLastDate && len(ts) == 10 && string(ts) == string(p.lastDate[:]) {
		day = p.lastDay // logs are written in time order: most rows repeat the previous date
	} else if day, nanos, ok = parseTimestamp(ts); ok && len(ts) == 10 {
		p.lastDate, p.lastDay, p.haveLastDate = [10]byte(ts), day, true
	}
	if !ok {
		return p.invalid(&RowError{Line: line, Column: p.cols.Timestamp, Value: truncValue(ts),
			Reason: "is not a date or timestamp (want 2006-01-02, 20060102, RFC 3339 or 2006-01-02 15:04:05)"})
	}
	amt := trim(f[p.amtCol])
	amount, ok := parseAmount(amt)
	if !ok {
		return p.invalid(&RowError{Line: line, Column: p.cols.Amount, Value: truncValue(amt), Reason: "is not a number"})
	}
	if amount > MaxAmount || amount < -MaxAmount {
		return p.invalid(&RowError{Line: line, Column: p.cols.Amount, Value: truncValue(amt), Reason: AmountTooLargeReason})
	}
	for i, c := range p.attrCols {
		p.attrs[i] = trim(f[c])
	}
	ok, reject := p.b.admit(day, amount)
	if reject {
		return p.invalid(&RowError{Line: line, Column: p.cols.Amount, Value: truncValue(amt), Reason: "is negative and returns is Reject"})
	}
	if ok {
		p.agg.add(id, day, nanos, amount, p.attrs)
	}
	return nil
}

func (p *csvParser) setHeader() error {
	p.haveHeader = true
	p.header = make([]string, len(p.fields))
	pos := make(map[string]int, len(p.fields))
	count := make(map[string]int, len(p.fields))
	for i, f := range p.fields {
		name := strings.TrimSpace(string(f))
		p.header[i] = name
		if _, dup := pos[name]; !dup {
			pos[name] = i
		}
		count[name]++
	}
	p.nfields = len(p.header)
	find := func(name string) (int, error) {
		name = strings.TrimSpace(name)
		i, ok := pos[name]
		if !ok {
			return 0, &ColumnError{Column: name, Reason: "not found in header " + HeaderList(p.header), Header: p.header}
		}
		if count[name] > 1 {
			return 0, &ColumnError{Column: name, Reason: fmt.Sprintf("appears %d times in header %s", count[name], HeaderList(p.header)), Header: p.header}
		}
		p.maxCol = max(p.maxCol, i)
		return i, nil
	}
	var err error
	if p.idCol, err = find(p.cols.CustomerID); err != nil {
		return err
	}
	if p.tsCol, err = find(p.cols.Timestamp); err != nil {
		return err
	}
	if p.amtCol, err = find(p.cols.Amount); err != nil {
		return err
	}
	for _, a := range p.cols.Attributes {
		i, err := find(a)
		if err != nil {
			return err
		}
		p.attrCols = append(p.attrCols, i)
	}
	return nil
}

// HeaderList formats header names for an error message, bounded.
func HeaderList(h []string) string {
	const max = 20
	if len(h) > max {
		return fmt.Sprintf("%q (and %d more)", h[:max], len(h)-max)
	}
	return fmt.Sprintf("%q", h)
}
