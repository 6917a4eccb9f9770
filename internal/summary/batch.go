package summary

import (
	"hash/maphash"
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
func (bt *rowBatch) add(seed maphash.Seed, id []byte, day int32, nanos int64, amount float64, attrs [][]byte) {
	off := len(bt.arena)
	bt.arena = append(bt.arena, id...)
	bt.rows = append(bt.rows, queuedRow{
		h: maphash.Bytes(seed, id), pfx: idPrefix(id),
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
func (bt *rowBatch) addStrings(seed maphash.Seed, id string, day int32, nanos int64, amount float64, attrs []string) {
	off := len(bt.arena)
	bt.arena = append(bt.arena, id...)
	idb := bt.arena[off:]
	bt.rows = append(bt.rows, queuedRow{
		h: maphash.Bytes(seed, idb), pfx: idPrefix(idb),
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
	a.cur.add(a.b.ids.seed, id, day, nanos, amount, attrs)
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
// table slot, then the customer's state); taken row by row they are paid one after the other.
// So for each group of rows the slots, then the states, are first loaded in tight loops of
// independent loads that the processor overlaps, and then the rows are applied.
func (b *Builder) applyBatch(bt *rowBatch) {
	for start := 0; start < len(bt.rows); start += warmGroup {
		b.applyRows(bt, start, min(start+warmGroup, len(bt.rows)))
	}
}

// warmGroup is how many rows are warmed together: enough independent loads to overlap, few
// enough that their cache lines and TLB entries are still there when the rows are applied.
const warmGroup = 128

func (b *Builder) applyRows(bt *rowBatch, from, to int) {
	rows := bt.rows[from:to]
	var sink uint64
	table := b.ids.table
	shift := 64 - b.ids.bits
	for i := range rows {
		sink += table[rows[i].h>>shift]
	}
	var cand [warmGroup]int32
	for i := range rows {
		idx := b.ids.candidate(rows[i].h)
		cand[i] = idx
		if idx >= 0 {
			sink += b.st(idx).pfx
		}
	}
	// Ids longer than the state's 8-byte prefix are compared in the arena: load those bytes
	// too (at 10M customers of 9-byte ids, the comparison's cache miss was a quarter of the run).
	for i := range rows {
		if idx := cand[i]; idx >= 0 && rows[i].idLen > 8 {
			if s := b.st(idx); s.id.len() == int(rows[i].idLen) {
				sink += uint64(b.ids.bytes(s.id)[8])
			}
		}
	}
	b.sink += sink
	na := len(b.names)
	if cap(b.attrScratch) < na {
		b.attrScratch = make([][]byte, na)
	}
	attrs := b.attrScratch[:na]
	for i := range rows {
		r := &rows[i]
		id := bt.arena[r.idOff : r.idOff+r.idLen]
		idx := b.lookup(id, r.h, r.pfx)
		if idx < 0 {
			idx = b.newCustomer(id, r.h, r.pfx)
		}
		if b.update(idx, r.day, r.nanos, r.amount) && na > 0 {
			for k, sp := range bt.attrs[(from+i)*na : (from+i+1)*na] {
				o := uint32(sp >> 32)
				attrs[k] = bt.arena[o : o+uint32(sp)]
			}
			b.setAttrsBytes(idx, attrs)
		}
	}
}
