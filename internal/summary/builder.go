package summary

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ltv-operator/ltv-operator/internal/memadvise"
	"github.com/ltv-operator/ltv-operator/internal/numeric"
)

// dayTracker counts a customer's distinct transaction days in O(1) space. It knows the first
// and the last day and, in a bitmap, which of the 64 days up to the last one are known. A day is
// therefore placed exactly when it is later than the last day, within 64 days of it, equal to
// the first day, or earlier than the first day. Only a day strictly between the first day and
// last-63 is ambiguous: the Builder settles those in Finish from its day log (see addDay and
// the package documentation).
type dayTracker struct {
	recent      uint64 // bit k: day last-k is known (k < 64)
	first, last int32
	n           int32 // distinct days
}

// custState is one customer's running calibration aggregate: 64 bytes, one cache line, no
// pointers.
type custState struct {
	id       idRef
	pfx      uint64 // idPrefix(id)
	cal      dayTracker
	firstAmt float64 // net value of day cal.first
	sum      float64 // net calibration amount
	orders   int32
	attr     int32 // index into Builder.tuples
}

// holdState is one customer's holdout aggregate (allocated only when there is a holdout window).
type holdState struct {
	days dayTracker
	sum  float64
}

const (
	// 8 MiB chunks of states (4 MiB of day log): large enough to hold whole huge pages (see
	// memadvise), whose TLB reach the random lookups of large inputs need.
	chunkBits = 17
	chunkLen  = 1 << chunkBits
	chunkMask = chunkLen - 1
	logBits   = 19
	logLen    = 1 << logBits
)

// Builder aggregates transactions into a Summary one row at a time, in memory proportional to
// the number of customers. It is not safe for concurrent use.
type Builder struct {
	opts    Options
	err     error // invalid options
	calEnd  int32
	obsEnd  int32
	returns ReturnsPolicy
	names   []string

	ids  idIndex
	cust [][]custState // chunks of chunkLen
	hold [][]holdState // parallel to cust; nil without a holdout window
	// nanos holds, parallel to cust, the time of day of the row that set the customer's
	// attributes (on day cal.first); allocated at the first timestamp with a time of day.
	nanos [][]int64
	n     int32

	tuples tupleSet

	// dayLog holds every (customer, day) that was new to a dayTracker, and pending every
	// ambiguous one; both as dayKey values. Finish uses the log only when pending is not empty.
	dayLog  [][]uint64
	pending []uint64
	// negBefore holds negative (Net) amounts dated before a customer's first transaction day,
	// by customer and day, in case that day becomes the first one.
	negBefore map[int32]map[int32]float64

	addBatch    *rowBatch // Add's rows waiting to be applied
	attrScratch [][]byte
	sink        uint64 // keeps the warming loads of Finish

	rows, future, excluded, invalid int
	samples                         []*RowError
	firstInvalid                    *RowError

	// activity holds the admitted rows while Options.ActivityCustomers allows (see
	// recordActivity); nil when not asked for or given up, and activityNote then says why.
	activity     [][]Activity
	activityNote string
}

// NewBuilder returns a Builder for the options; attributeNames name the attribute values that Add
// receives. Invalid options are reported by Add and Finish.
func NewBuilder(opts Options, attributeNames []string) *Builder {
	b := &Builder{
		opts:   opts,
		names:  slices.Clone(attributeNames),
		ids:    newIDIndex(),
		tuples: newTupleSet(),
	}
	if opts.Unit == "" {
		b.opts.Unit = Week
	}
	if opts.Returns == "" {
		b.opts.Returns = ReturnsNet
	}
	b.returns = b.opts.Returns
	switch {
	case opts.CalibrationEnd.IsZero():
		b.err = fmt.Errorf("%w: the calibration end is not set", ErrInvalidOptions)
	case !b.opts.Unit.valid():
		b.err = fmt.Errorf("%w: unknown time unit %q (want Day, Week or Month)", ErrInvalidOptions, opts.Unit)
	case b.returns != ReturnsNet && b.returns != ReturnsExclude && b.returns != ReturnsReject:
		b.err = fmt.Errorf("%w: unknown returns policy %q (want Net, Exclude or Reject)", ErrInvalidOptions, opts.Returns)
	case opts.MaxInvalidRows < 0:
		b.err = fmt.Errorf("%w: maxInvalidRows is negative (%d)", ErrInvalidOptions, opts.MaxInvalidRows)
	}
	b.calEnd = dayOf(opts.CalibrationEnd)
	b.obsEnd = b.calEnd
	if !opts.ObservationEnd.IsZero() {
		b.obsEnd = dayOf(opts.ObservationEnd)
		if b.obsEnd < b.calEnd && b.err == nil {
			b.err = fmt.Errorf("%w: the observation end %s is before the calibration end %s", ErrInvalidOptions,
				dayTime(b.obsEnd).Format(time.DateOnly), dayTime(b.calEnd).Format(time.DateOnly))
		}
	}
	if opts.ActivityCustomers > 0 {
		b.activity = [][]Activity{make([]Activity, 0, 1024)}
	}
	return b
}

func (b *Builder) st(idx int32) *custState { return &b.cust[idx>>chunkBits][idx&chunkMask] }

func (b *Builder) hs(idx int32) *holdState { return &b.hold[idx>>chunkBits][idx&chunkMask] }

func (b *Builder) newCustomer(id []byte, h, pfx uint64) int32 {
	idx := b.n
	if idx == math.MaxInt32 {
		panic("summary: too many customers")
	}
	b.n++
	last := len(b.cust) - 1
	if last < 0 || len(b.cust[last]) == chunkLen {
		c := 16
		if last >= 0 {
			c = chunkLen
		}
		b.cust = append(b.cust, make([]custState, 0, c))
		memadvise.HugePages(b.cust[len(b.cust)-1])
		if b.obsEnd > b.calEnd {
			b.hold = append(b.hold, make([]holdState, 0, c))
		}
		if b.nanos != nil {
			b.nanos = append(b.nanos, make([]int64, 0, c))
		}
		last++
	}
	if c := b.cust[last]; len(c) == cap(c) {
		// the first chunk grows from small (small inputs stay small), doubling as it goes
		b.cust[last] = grow(c)
		if b.hold != nil {
			b.hold[last] = grow(b.hold[last])
		}
		if b.nanos != nil {
			b.nanos[last] = grow(b.nanos[last])
		}
	}
	b.cust[last] = append(b.cust[last], custState{id: b.ids.intern(id), pfx: pfx})
	if b.hold != nil {
		b.hold[last] = append(b.hold[last], holdState{})
	}
	if b.nanos != nil {
		b.nanos[last] = append(b.nanos[last], 0)
	}
	b.ids.insert(h, idx)
	return idx
}

// firstNanos returns the time of day of customer idx's attribute row.
func (b *Builder) firstNanos(idx int32) int64 {
	if b.nanos == nil {
		return 0
	}
	return b.nanos[idx>>chunkBits][idx&chunkMask]
}

func (b *Builder) setFirstNanos(idx int32, v int64) {
	if b.nanos == nil {
		if v == 0 {
			return
		}
		b.nanos = make([][]int64, len(b.cust))
		for i, c := range b.cust {
			b.nanos[i] = make([]int64, len(c), cap(c))
		}
	}
	b.nanos[idx>>chunkBits][idx&chunkMask] = v
}

// admit applies the window and the returns policy; reject reports a negative amount under Reject.
func (b *Builder) admit(day int32, amount float64) (ok, reject bool) {
	if day > b.obsEnd {
		b.future++
		return false, false
	}
	if amount < 0 {
		switch b.returns {
		case ReturnsExclude:
			b.excluded++
			return false, false
		case ReturnsReject:
			return false, true
		}
	}
	return true, false
}

func dayKey(idx, day int32) uint64 {
	return uint64(uint32(idx))<<32 | uint64(uint32(day)^0x80000000)
}

func keyDay(k uint64) int32 { return int32(uint32(k) ^ 0x80000000) }

func keyIdx(k uint64) int32 { return int32(k >> 32) }

func (b *Builder) logDay(idx, day int32) {
	last := len(b.dayLog) - 1
	if last < 0 || len(b.dayLog[last]) == logLen {
		c := 64
		if last >= 0 {
			c = logLen
		}
		b.dayLog = append(b.dayLog, make([]uint64, 0, c))
		memadvise.HugePages(b.dayLog[len(b.dayLog)-1])
		last++
	}
	b.dayLog[last] = append(b.dayLog[last], dayKey(idx, day))
}

// addDay adds day d to customer idx's tracker t. The day log receives the known days that
// leave the bitmap's window (except the first day, which t holds) and a first day that is
// replaced while outside the window: with the bitmap and t.first, the log then has every known
// day, which is what resolvePending needs. A day that cannot be placed goes to pending.
func (b *Builder) addDay(t *dayTracker, idx, d int32) {
	if t.n == 0 {
		t.first, t.last, t.n, t.recent = d, d, 1, 1
		return
	}
	if d > t.last {
		shift := int64(d) - int64(t.last)
		out, base := t.recent, int32(0) // the bits that leave the window; bit k of out is day last-(k+base)
		if shift < 64 {
			out >>= uint(64 - shift)
			base = int32(64 - shift)
		}
		for out != 0 {
			k := int32(bits.TrailingZeros64(out))
			out &= out - 1
			if day := t.last - k - base; day != t.first {
				b.logDay(idx, day)
			}
		}
		if shift >= 64 {
			t.recent = 1
		} else {
			t.recent = t.recent<<uint(shift) | 1
		}
		t.last = d
		t.n++
		return
	}
	if d == t.first {
		return
	}
	k := int64(t.last) - int64(d)
	if k < 64 {
		bit := uint64(1) << uint(k)
		if t.recent&bit != 0 {
			return
		}
		t.recent |= bit
		t.n++
	} else if d > t.first {
		b.pending = append(b.pending, dayKey(idx, d))
		return
	} else {
		t.n++
	}
	if d < t.first {
		if int64(t.last)-int64(t.first) >= 64 {
			b.logDay(idx, t.first) // outside the window: it will not be evicted
		}
		t.first = d
	}
}

// update adds an admitted row to customer idx. It reports whether the row is now the customer's
// first transaction, whose attribute values the caller must then record with setAttrs*.
func (b *Builder) update(idx, day int32, nanos int64, amount float64) (setAttrs bool) {
	b.recordActivity(idx, day, amount)
	s := b.st(idx)
	if day > b.calEnd {
		h := b.hs(idx)
		h.sum += amount
		if amount >= 0 {
			b.addDay(&h.days, idx, day)
		}
		return false
	}
	s.orders++
	s.sum += amount
	if amount < 0 {
		switch {
		case s.cal.n > 0 && day == s.cal.first:
			s.firstAmt += amount
		case s.cal.n == 0 || day < s.cal.first:
			if b.negBefore == nil {
				b.negBefore = make(map[int32]map[int32]float64)
			}
			m := b.negBefore[idx]
			if m == nil {
				m = make(map[int32]float64)
				b.negBefore[idx] = m
			}
			m[day] += amount
		}
		return false
	}
	hadFirst := s.cal.n > 0
	prevFirst := s.cal.first
	b.addDay(&s.cal, idx, day)
	if !hadFirst || day < prevFirst {
		s.firstAmt = amount
		if m := b.negBefore[idx]; m != nil {
			s.firstAmt += m[day]
		}
		b.setFirstNanos(idx, nanos)
		return true
	}
	if day == prevFirst {
		s.firstAmt += amount
		if nanos < b.firstNanos(idx) {
			b.setFirstNanos(idx, nanos)
			return true
		}
	}
	return false
}

// setAttrsBytes records attribute values (interned: customers with equal values share them).
func (b *Builder) setAttrsBytes(idx int32, vals [][]byte) {
	if len(vals) > 0 {
		b.st(idx).attr = intern(&b.tuples, vals)
	}
}

// Add adds one transaction: the customer's id, its time (its UTC calendar day counts), its
// amount, and the values of the attributes named in NewBuilder. A row that is invalid (empty id,
// NaN or infinite amount, wrong number of attribute values, negative amount under
// ReturnsReject) is skipped, counted in Summary.InvalidRows and returned as a *RowError; the
// caller may go on. Rows after the observation end and excluded returns are counted and skipped
// without error.
func (b *Builder) Add(id string, ts time.Time, amount float64, attrs []string) error {
	if b.err != nil {
		return b.err
	}
	b.rows++
	switch {
	case id == "":
		return b.invalidRow(&RowError{Column: "customerID", Reason: "customer ID is empty"})
	case len(id) > MaxIDLength:
		return b.invalidRow(&RowError{Column: "customerID", Value: truncValue([]byte(id)), Reason: fmt.Sprintf("is longer than %d bytes", MaxIDLength)})
	case badID([]byte(id)) != "":
		return b.invalidRow(&RowError{Column: "customerID", Value: truncValue([]byte(id)), Reason: badID([]byte(id))})
	case math.IsNaN(amount) || math.IsInf(amount, 0):
		return b.invalidRow(&RowError{Column: "amount", Value: fmt.Sprint(amount), Reason: "is not a finite number"})
	case amount > MaxAmount || amount < -MaxAmount:
		return b.invalidRow(&RowError{Column: "amount", Value: fmt.Sprint(amount), Reason: AmountTooLargeReason})
	case len(attrs) != len(b.names):
		return b.invalidRow(&RowError{Reason: fmt.Sprintf("has %d attribute values, want %d (%s)",
			len(attrs), len(b.names), strings.Join(b.names, ", "))})
	}
	day, nanos := splitTime(ts)
	ok, reject := b.admit(day, amount)
	if reject {
		return b.invalidRow(&RowError{Column: "amount", Value: fmt.Sprint(amount), Reason: "is negative and returns is Reject"})
	}
	if !ok {
		return nil
	}
	// Valid rows are applied in batches, like ReadCSV's, so that their cache misses overlap;
	// Finish applies the last one.
	if b.addBatch == nil {
		b.addBatch = &rowBatch{rows: make([]queuedRow, 0, batchRows)}
	}
	bt := b.addBatch
	bt.addStrings(&b.ids, id, day, nanos, amount, attrs)
	if len(bt.rows) == batchRows {
		b.applyBatch(bt)
		bt.reset()
	}
	return nil
}

// flushAdds applies the rows Add has batched.
func (b *Builder) flushAdds() {
	if b.addBatch != nil {
		b.applyBatch(b.addBatch)
		b.addBatch.reset()
	}
}

// invalidRow counts an invalid row and keeps it as a sample.
func (b *Builder) invalidRow(e *RowError) *RowError {
	b.invalid++
	if b.firstInvalid == nil {
		b.firstInvalid = e
	}
	if len(b.samples) < maxInvalidSamples {
		b.samples = append(b.samples, e)
	}
	return e
}

func (b *Builder) tooManyInvalid() error {
	if b.invalid > b.opts.MaxInvalidRows {
		return &InvalidRowsError{Count: b.invalid, Max: b.opts.MaxInvalidRows, First: b.firstInvalid}
	}
	return nil
}

// resolvePending settles the ambiguous days: a pending (customer, day) is a new day unless the
// day log has it.
func (b *Builder) resolvePending() {
	if len(b.pending) == 0 {
		return
	}
	slices.Sort(b.pending)
	b.pending = slices.Compact(b.pending)
	marked := make([]uint64, (int(b.n)+63)/64)
	for _, k := range b.pending {
		i := keyIdx(k)
		marked[i>>6] |= 1 << (uint(i) & 63)
	}
	var known []uint64
	for _, c := range b.dayLog {
		for _, k := range c {
			if i := keyIdx(k); marked[i>>6]&(1<<(uint(i)&63)) != 0 {
				known = append(known, k)
			}
		}
	}
	slices.Sort(known)
	for _, k := range b.pending {
		if _, found := slices.BinarySearch(known, k); found {
			continue
		}
		idx, day := keyIdx(k), keyDay(k)
		if day <= b.calEnd {
			b.st(idx).cal.n++
		} else {
			b.hs(idx).days.n++
		}
	}
	b.pending = nil
}

// sortKey orders the customers in Finish: 8 bytes of the id after the prefix all ids share,
// big-endian, and the customer's index.
type sortKey struct {
	pfx uint64
	idx int32
}

// freeOSThreshold is the size of the day log and the id table above which Finish returns their
// memory to the OS.
const freeOSThreshold = 32 << 20

// Finish returns the summary. It fails with an *InvalidRowsError when more than MaxInvalidRows
// rows were invalid, and with an error wrapping ErrNoData when no customer has a calibration
// transaction. The Builder must not be used afterwards.
func (b *Builder) Finish() (*Summary, error) {
	if b.err != nil {
		return nil, b.err
	}
	if err := b.tooManyInvalid(); err != nil {
		return nil, err
	}
	b.flushAdds()
	b.addBatch = nil
	b.resolvePending()
	logBytes := 0
	for _, c := range b.dayLog {
		logBytes += 8 * cap(c)
	}
	tableBytes := 8 * len(b.ids.table)
	b.dayLog = nil
	b.ids.table = nil
	b.tuples.index = nil
	b.negBefore = nil
	if logBytes+tableBytes > freeOSThreshold {
		// The day log and the index are garbage now, and the sort keys and the customers' rows
		// are about to be allocated: hand their memory back to the OS first, so that the peak
		// resident size is not their sum.
		debug.FreeOSMemory()
	}

	sum := &Summary{
		AttributeNames:  b.names,
		Rows:            b.rows,
		FutureRows:      b.future,
		ExcludedReturns: b.excluded,
		InvalidRows:     b.invalid,
		InvalidSamples:  b.samples,
	}
	// Sort by id. The key holds 8 bytes of the id, big-endian, zero-padded, taken after the
	// prefix all ids share (ids such as "customer-000123" would otherwise tie on their first
	// bytes and be compared in full, from the arena, at random).
	lcp := -1
	var firstID []byte
	for _, c := range b.cust {
		for j := range c {
			if c[j].cal.n == 0 {
				continue
			}
			id := b.ids.bytes(c[j].id)
			if lcp < 0 {
				firstID, lcp = id, len(id)
				continue
			}
			n := 0
			for n < lcp && n < len(id) && id[n] == firstID[n] {
				n++
			}
			lcp = n
		}
	}
	// The sort keys, the two halves of the customers side by side, each into its own part of one
	// array (then closed up): no second array at the peak.
	keys := make([]sortKey, b.n)
	var ends [2]int
	var holdoutOnly [2]int
	inHalves(int(b.n), func(half, lo, hi int) {
		w := lo
		for idx := int32(lo); idx < int32(hi); idx++ {
			s := b.st(idx)
			if s.cal.n == 0 {
				if b.hold != nil && b.hs(idx).days.n > 0 {
					holdoutOnly[half]++
				}
				continue
			}
			pfx := s.pfx
			if lcp > 0 {
				pfx = idPrefix(b.ids.bytes(s.id)[lcp:])
			}
			keys[w] = sortKey{sortPrefix(pfx), idx}
			w++
		}
		ends[half] = w
	})
	keys = append(keys[:ends[0]], keys[int(b.n)/2:ends[1]]...)
	sum.HoldoutOnlyCustomers = holdoutOnly[0] + holdoutOnly[1]
	if len(keys) == 0 {
		return nil, b.noData()
	}
	byID := func(x, y sortKey) int {
		if c := cmp.Compare(x.pfx, y.pfx); c != 0 {
			return c
		}
		return bytes.Compare(b.ids.bytes(b.st(x.idx).id), b.ids.bytes(b.st(y.idx).id))
	}
	if len(keys) < radixMin {
		slices.SortFunc(keys, byID)
	} else {
		// by prefix in linear time, then the runs of equal prefixes (ids that share 8 bytes
		// after the common prefix) by their whole ids
		radixSortKeys(keys)
		for lo := 0; lo < len(keys); {
			hi := lo + 1
			for hi < len(keys) && keys[hi].pfx == keys[lo].pfx {
				hi++
			}
			if hi-lo > 1 {
				slices.SortFunc(keys[lo:hi], byID)
			}
			lo = hi
		}
	}

	unit := b.opts.Unit
	out := make([]row, len(keys))
	var holdout []float64
	if b.hold != nil {
		holdout = make([]float64, len(keys))
	}
	var pos []int32 // builder index -> position, for the activity
	if b.activity != nil {
		pos = make([]int32, b.n)
		for i := range pos {
			pos[i] = -1
		}
	}
	// The customers' states are read in id order, at random: in two halves side by side, each
	// loading a group's states together in a tight loop of independent loads, which the
	// processor overlaps, before using them.
	var sinks [2]uint64
	inHalves(len(keys), func(half, lo, hi int) {
		const warmGroup = 128
		var sink uint64
		for i := lo; i < hi; i++ {
			if (i-lo)%warmGroup == 0 {
				for _, w := range keys[i:min(i+warmGroup, hi)] {
					sink += uint64(b.st(w.idx).orders)
					if b.hold != nil {
						sink += uint64(b.hs(w.idx).days.n)
					}
				}
			}
			k := keys[i]
			s := b.st(k.idx)
			r := &out[i]
			r.id = s.id
			r.attr = s.attr
			r.firstDay, r.lastDay = s.cal.first, s.cal.last
			r.frequency = s.cal.n - 1
			if r.frequency > 0 {
				r.monetary = (s.sum - s.firstAmt) / float64(r.frequency)
			}
			r.historicValue = s.sum
			r.orders = s.orders
			if b.hold != nil {
				h := b.hs(k.idx)
				r.holdoutDays = h.days.n
				holdout[i] = h.sum
			}
			if pos != nil {
				pos[k.idx] = int32(i)
			}
		}
		sinks[half] = sink
	})
	// The totals in id order, one after the other: the same rounding whatever the halves.
	var revenue numeric.Sum
	for i := range out {
		sum.Transactions += int(out[i].frequency) + 1
		revenue.Add(out[i].historicValue)
	}
	sum.Revenue = revenue.Value()
	sum.rows, sum.holdoutValue = out, holdout
	sum.ids, sum.tuples = b.ids.chunks, b.tuples.tuples
	sum.calEnd, sum.unit = b.calEnd, unit
	sum.Activity, sum.ActivityNote = b.finishActivity(pos)
	b.sink += sinks[0] + sinks[1]
	b.cust, b.hold, b.nanos, b.tuples.tuples, b.ids.chunks = nil, nil, nil, nil, nil
	return sum, nil
}

// grow doubles s's capacity: append's growth of large slices (a quarter at a time) copied and
// faulted in the states several times over. It allocates with make, not slices.Grow, because
// growslice clears the new capacity and so faults in every page of it at once, where fresh
// memory from the OS is already zero and make leaves it untouched until appended to.
func grow[T any](s []T) []T {
	out := make([]T, len(s), 2*max(cap(s), 8))
	copy(out, s)
	return out
}

// activityChunk is the length of the activity's chunks (1 MiB): the first one grows from small,
// the others are allocated at this length, so no row is ever copied.
const activityChunk = 1 << 16

// recordActivity keeps an admitted row for Summary.Activity while the customers are not more
// than asked for.
func (b *Builder) recordActivity(idx, day int32, amount float64) {
	if b.activity == nil {
		return
	}
	if int(b.n) > b.opts.ActivityCustomers {
		b.activity = nil
		b.activityNote = fmt.Sprintf("more than %d customers: their rows are not kept", b.opts.ActivityCustomers)
		return
	}
	last := len(b.activity) - 1
	if c := b.activity[last]; len(c) == cap(c) {
		if cap(c) < activityChunk {
			b.activity[last] = grow(c)
		} else {
			b.activity = append(b.activity, make([]Activity, 0, activityChunk))
			last++
		}
	}
	b.activity[last] = append(b.activity[last], Activity{Customer: idx, Day: day, Amount: amount})
}

// finishActivity renumbers the activity's customers by their position in the summary (pos), and
// drops the rows of customers without a calibration transaction.
func (b *Builder) finishActivity(pos []int32) ([][]Activity, string) {
	if b.activity == nil {
		return nil, b.activityNote
	}
	out := b.activity
	for k, chunk := range out {
		kept := chunk[:0]
		for _, a := range chunk {
			if p := pos[a.Customer]; p >= 0 {
				a.Customer = p
				kept = append(kept, a)
			}
		}
		out[k] = slices.Clip(kept)
	}
	b.activity = nil
	return out, ""
}

// radixMin is the number of customers from which Finish sorts by radix (below, a comparison
// sort is as fast and needs no second buffer).
const radixMin = 1 << 16

// radixSortKeys sorts keys by pfx: least significant byte first, one stable counting pass per
// byte, skipping the bytes all keys share (ids of one pattern: digits, padding). Each pass counts
// and scatters the two halves of the keys side by side, the first half's keys of a byte value
// placed before the second's, so the passes stay stable.
func radixSortKeys(keys []sortKey) {
	var total [8][256]int
	for _, k := range keys {
		for d := range 8 {
			total[d][byte(k.pfx>>(8*d))]++
		}
	}
	buf := make([]sortKey, len(keys))
	defer runtime.GC() // buf is as large as the keys: collected before the rows are allocated
	src, dst := keys, buf
	for d := range 8 {
		shift := 8 * uint(d)
		if total[d][byte(src[0].pfx>>shift)] == len(src) {
			continue // every key has the same byte here
		}
		var counts [2][256]int
		inHalves(len(src), func(h, lo, hi int) {
			c := &counts[h]
			for _, k := range src[lo:hi] {
				c[byte(k.pfx>>shift)]++
			}
		})
		pos := 0
		for v := range 256 {
			for h := range counts {
				counts[h][v], pos = pos, pos+counts[h][v]
			}
		}
		inHalves(len(src), func(h, lo, hi int) {
			next := &counts[h]
			for _, k := range src[lo:hi] {
				j := byte(k.pfx >> shift)
				dst[next[j]] = k
				next[j]++
			}
		})
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

// parallelFrom is the length from which inHalves runs its halves side by side.
const parallelFrom = 1 << 16

// inHalves calls f(0, 0, n/2) and f(1, n/2, n): side by side from parallelFrom elements when
// there are two processors, else one after the other.
func inHalves(n int, f func(half, lo, hi int)) {
	if n < parallelFrom || runtime.GOMAXPROCS(0) < 2 {
		f(0, 0, n/2)
		f(1, n/2, n)
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(0, 0, n/2)
	}()
	f(1, n/2, n)
	<-done
}

func (b *Builder) noData() error {
	end := dayTime(b.calEnd).Format(time.DateOnly)
	if b.rows == 0 {
		return fmt.Errorf("%w: no data rows", ErrNoData)
	}
	detail := ""
	if b.future > 0 {
		detail += fmt.Sprintf(", %d after the observation end %s", b.future, dayTime(b.obsEnd).Format(time.DateOnly))
	}
	if b.invalid > 0 {
		detail += fmt.Sprintf(", %d invalid", b.invalid)
	}
	if b.excluded > 0 {
		detail += fmt.Sprintf(", %d negative amounts excluded", b.excluded)
	}
	return fmt.Errorf("%w: no transactions on or before the calibration end %s (%d data rows%s)", ErrNoData, end, b.rows, detail)
}

// AmountTooLargeReason is the RowError reason of an amount beyond MaxAmount.
var AmountTooLargeReason = fmt.Sprintf("is beyond the largest amount accepted (%g in absolute value): sums of such amounts overflow", float64(MaxAmount))

// badID says why a customer ID cannot be used, or returns "": a NUL byte cannot be stored in a
// PostgreSQL text column, and invalid UTF-8 makes JSON and CSV outputs ambiguous.
func badID(id []byte) string {
	if asciiNoNUL(id) { // the usual id: no NUL, valid UTF-8
		return ""
	}
	if bytes.IndexByte(id, 0) >= 0 {
		return "contains a NUL byte"
	}
	if !utf8.Valid(id) {
		return "is not valid UTF-8"
	}
	return ""
}

// asciiNoNUL reports whether every byte of b is ASCII and not NUL, eight bytes at a time.
func asciiNoNUL(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if w := binary.LittleEndian.Uint64(b[i:]); w&msb|zeroBytes(w) != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == 0 || c >= 0x80 {
			return false
		}
	}
	return true
}
