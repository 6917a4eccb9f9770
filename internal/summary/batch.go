package summary

import (
	"unsafe"

	"github.com/ltv-operator/ltv-operator/internal/memadvise"
)

// ReadCSV runs three goroutines: one reads, hashes and decompresses the input; one parses it
// and validates the rows; one (the aggregator) applies the valid rows to the customers' state.
// The parser hands rows to the aggregator in batches that own a copy of their bytes.

// batchRows is the number of rows in a batch.
const batchRows = 1024

// queuedRow is a parsed, admitted row; its id and attribute values are in its batch's arena.
type queuedRow struct {
	h, pfx       uint64 // hash and idPrefix of the id
	amount       float64
	nanos        int64
	day          int32
	idOff, idLen uint32
}

type rowBatch struct {
	rows  []queuedRow
	attrs []uint64 // per row, one (offset<<32 | length) per attribute
	arena []byte
}

func (bt *rowBatch) reset() {
	bt.rows = bt.rows[:0]
	bt.attrs = bt.attrs[:0]
	bt.arena = bt.arena[:0]
}

// add copies a row into the batch.
func (bt *rowBatch) add(x *idIndex, id []byte, day int32, nanos int64, amount float64, attrs [][]byte) {
	off := len(bt.arena)
	bt.arena = append(bt.arena, id...)
	pfx := idPrefix(id)
	bt.rows = append(bt.rows, queuedRow{
		h: x.hash(id, pfx), pfx: pfx,
		amount: amount, nanos: nanos, day: day,
		idOff: uint32(off), idLen: uint32(len(id)),
	})
	for _, a := range attrs {
		o := len(bt.arena)
		bt.arena = append(bt.arena, a...)
		bt.attrs = append(bt.attrs, uint64(o)<<32|uint64(len(a)))
	}
}

// addStrings is add for Builder.Add's strings.
func (bt *rowBatch) addStrings(x *idIndex, id string, day int32, nanos int64, amount float64, attrs []string) {
	off := len(bt.arena)
	bt.arena = append(bt.arena, id...)
	idb := bt.arena[off:]
	pfx := idPrefix(idb)
	bt.rows = append(bt.rows, queuedRow{
		h: x.hash(idb, pfx), pfx: pfx,
		amount: amount, nanos: nanos, day: day,
		idOff: uint32(off), idLen: uint32(len(id)),
	})
	for _, a := range attrs {
		o := len(bt.arena)
		bt.arena = append(bt.arena, a...)
		bt.attrs = append(bt.attrs, uint64(o)<<32|uint64(len(a)))
	}
}

// aggregator applies batches in its own goroutine.
type aggregator struct {
	b    *Builder
	in   chan *rowBatch
	free chan *rowBatch
	done chan struct{}
	cur  *rowBatch
}

func startAggregator(b *Builder) *aggregator {
	a := &aggregator{b: b, in: make(chan *rowBatch, 4), free: make(chan *rowBatch, 6), done: make(chan struct{})}
	for range 6 {
		a.free <- &rowBatch{rows: make([]queuedRow, 0, batchRows)}
	}
	a.cur = <-a.free
	go func() {
		defer close(a.done)
		for bt := range a.in {
			b.applyBatch(bt)
			bt.reset()
			a.free <- bt
		}
	}()
	return a
}

func (a *aggregator) add(id []byte, day int32, nanos int64, amount float64, attrs [][]byte) {
	a.cur.add(&a.b.ids, id, day, nanos, amount, attrs)
	if len(a.cur.rows) == batchRows {
		a.in <- a.cur
		a.cur = <-a.free
	}
}

// finish sends the last batch and waits until all are applied.
func (a *aggregator) finish() {
	if len(a.cur.rows) > 0 {
		a.in <- a.cur
		a.cur = nil
	}
	close(a.in)
	<-a.done
}

// applyBatch applies a batch's rows in order. Looking a customer up costs cache misses (the
// table slot, then the customer's state, and for ids longer than 8 bytes their arena bytes);
// paid row by row they were most of the aggregator's time. So the rows are software-pipelined:
// while row i is applied, the state of row i+prefetchAhead and the table slot of row
// i+2*prefetchAhead are being fetched.
func (b *Builder) applyBatch(bt *rowBatch) {
	rows := bt.rows
	n := len(rows)
	const d = prefetchAhead
	for i := range min(2*d, n) {
		b.prefetchSlot(rows[i].h)
	}
	for i := range min(d, n) {
		b.prefetchState(&rows[i])
	}
	for i := range min(d/2, n) {
		b.prefetchID(&rows[i])
	}
	na := len(b.names)
	if cap(b.attrScratch) < na {
		b.attrScratch = make([][]byte, na)
	}
	attrs := b.attrScratch[:na]
	for i := range rows {
		if j := i + 2*d; j < n {
			b.prefetchSlot(rows[j].h)
		}
		if j := i + d; j < n {
			b.prefetchState(&rows[j])
		}
		if j := i + d/2; j < n {
			b.prefetchID(&rows[j])
		}
		r := &rows[i]
		id := bt.arena[r.idOff : r.idOff+r.idLen]
		idx := b.lookup(id, r.h, r.pfx)
		if idx < 0 {
			idx = b.newCustomer(id, r.h, r.pfx)
		}
		if b.update(idx, r.day, r.nanos, r.amount) && na > 0 {
			for k, sp := range bt.attrs[i*na : (i+1)*na] {
				o := uint32(sp >> 32)
				attrs[k] = bt.arena[o : o+uint32(sp)]
			}
			b.setAttrsBytes(idx, attrs)
		}
	}
}

// prefetchAhead is how many rows ahead of the one being applied a state is fetched: enough rows
// of work to cover a memory access.
const prefetchAhead = 16

func (b *Builder) prefetchSlot(h uint64) {
	memadvise.Prefetch(unsafe.Pointer(&b.ids.table[b.ids.home(h)]))
}

func (b *Builder) prefetchState(r *queuedRow) {
	if idx := b.ids.candidate(r.h); idx >= 0 {
		memadvise.Prefetch(unsafe.Pointer(b.st(idx)))
	}
}

// prefetchID fetches the arena bytes an id longer than the state's 8-byte prefix is compared
// with (at ten million customers of 9-byte ids, that comparison's cache miss was a quarter of
// the run).
func (b *Builder) prefetchID(r *queuedRow) {
	if r.idLen <= 8 {
		return
	}
	if idx := b.ids.candidate(r.h); idx >= 0 {
		if s := b.st(idx); s.id.len() == int(r.idLen) {
			memadvise.Prefetch(unsafe.Pointer(&b.ids.bytes(s.id)[8]))
		}
	}
}
