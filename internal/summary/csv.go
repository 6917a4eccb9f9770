package summary

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"

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
		in.free <- c.buf
		if err != nil {
			return nil, err
		}
		if c.err != nil {
			if c.err != io.EOF {
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
}

func startReader(r io.Reader, h hash.Hash) *reader {
	rd := &reader{
		full:     make(chan chunk, readBuffers),
		free:     make(chan []byte, readBuffers),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	for range readBuffers {
		rd.free <- make([]byte, readChunk)
	}
	go rd.run(r, h)
	return rd
}

// stop ends the goroutine and waits for it: the caller's reader is not touched after ReadCSV
// returns.
func (rd *reader) stop() {
	close(rd.done)
	<-rd.finished
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
		n, err := io.ReadFull(src, buf)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
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

// csvParser is a byte-level CSV parser (RFC 4180: quoted fields with "" escapes and line breaks,
// LF or CRLF line ends, optional final line end; empty lines are skipped). Fields are slices of
// the input buffer (or of an unescaping buffer for quoted records), so that a row costs no
// allocation.
type csvParser struct {
	b    *Builder
	cols Columns

	haveHeader bool
	header     []string
	nfields    int
	idCol      int
	tsCol      int
	amtCol     int
	attrCols   []int
	maxCol     int

	line   int      // lines started so far
	fields [][]byte // the current record's fields (len = number stored)
	nf     int      // the current record's field count (may exceed len(fields))
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

// feed parses a buffer; an incomplete last record is kept for the next buffer.
func (p *csvParser) feed(data []byte) error {
	if len(p.carry) > 0 {
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				p.carry = append(p.carry, data...)
				data = nil
				break
			}
			p.carry = append(p.carry, data[:i+1]...)
			data = data[i+1:]
			n, err := p.parse(p.carry, false)
			if err != nil {
				return err
			}
			p.carry = p.carry[:copy(p.carry, p.carry[n:])]
			if len(p.carry) == 0 {
				break
			}
			if len(p.carry) > maxRecord {
				return p.tooLong()
			}
		}
		if len(p.carry) > maxRecord {
			return p.tooLong()
		}
		if len(data) == 0 {
			return nil
		}
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
	defer p.b.flush() // the batched rows borrow data
	pos := 0
	for pos < len(data) {
		rest := data[pos:]
		var line []byte
		next := len(data)
		if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
			line = rest[:nl]
			next = pos + nl + 1
		} else if final {
			line = rest
		} else {
			return pos, nil
		}
		if bytes.IndexByte(line, '"') >= 0 {
			n, lines, complete, rerr := p.splitQuoted(rest, final)
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
			err := p.record(start)
			p.b.flush() // the fields point into p.qbuf, which the next quoted record reuses
			if err != nil {
				return pos, err
			}
			continue
		}
		p.line++
		pos = next
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			continue
		}
		p.splitPlain(line)
		if err := p.record(p.line); err != nil {
			return pos, err
		}
	}
	return pos, nil
}

// splitPlain splits a record without quotes. Only the fields up to the last mapped column are
// stored; the rest are counted.
func (p *csvParser) splitPlain(line []byte) {
	keep := p.maxCol + 1
	if !p.haveHeader {
		keep = int(^uint(0) >> 1)
	}
	p.fields = p.fields[:0]
	for {
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			p.fields = append(p.fields, line)
			p.nf = len(p.fields)
			return
		}
		p.fields = append(p.fields, line[:i])
		line = line[i+1:]
		if len(p.fields) == keep {
			p.nf = keep + 1 + bytes.Count(line, []byte{','})
			return
		}
	}
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
				lines += bytes.Count(seg, []byte{'\n'})
				buf = append(buf, seg...)
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
	ts := trim(f[p.tsCol])
	day, nanos, ok := parseTimestamp(ts)
	if !ok {
		return p.invalid(&RowError{Line: line, Column: p.cols.Timestamp, Value: truncValue(ts),
			Reason: "is not a date or timestamp (want 2006-01-02, 20060102, RFC 3339 or 2006-01-02 15:04:05)"})
	}
	amt := trim(f[p.amtCol])
	amount, ok := parseAmount(amt)
	if !ok {
		return p.invalid(&RowError{Line: line, Column: p.cols.Amount, Value: truncValue(amt), Reason: "is not a number"})
	}
	for i, c := range p.attrCols {
		p.attrs[i] = trim(f[c])
	}
	ok, reject := p.b.admit(day, amount)
	if reject {
		return p.invalid(&RowError{Line: line, Column: p.cols.Amount, Value: truncValue(amt), Reason: "is negative and returns is Reject"})
	}
	if ok {
		p.b.queue(id, day, nanos, amount, p.attrs)
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
			return 0, &ColumnError{Column: name, Reason: "not found in header " + headerList(p.header)}
		}
		if count[name] > 1 {
			return 0, &ColumnError{Column: name, Reason: fmt.Sprintf("appears %d times in header %s", count[name], headerList(p.header))}
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

// headerList formats header names for an error message, bounded.
func headerList(h []string) string {
	const max = 20
	if len(h) > max {
		return fmt.Sprintf("%q (and %d more)", h[:max], len(h)-max)
	}
	return fmt.Sprintf("%q", h)
}
