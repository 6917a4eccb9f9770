package summary

import (
	"bytes"
	"encoding/binary"
	"iter"
	"slices"
	"time"
	"unsafe"
)

// row is one customer as a Summary stores it: 48 bytes, no pointers (so the garbage collector
// does not scan the slice). Recency and Age are derived from the days, the unit and the
// calibration end; the holdout value, needed only with a holdout window, lives in a side slice.
type row struct {
	id                idRef // into Summary.ids
	monetary          float64
	historicValue     float64
	firstDay, lastDay int32 // days since 1970-01-01
	frequency, orders int32
	attr              int32 // into Summary.tuples
	holdoutDays       int32
}

// Len is the number of customers.
func (s *Summary) Len() int { return len(s.rows) }

// ID returns customer i's id (sharing the summary's memory).
func (s *Summary) ID(i int) string { return s.idOf(s.rows[i].id) }

func (s *Summary) idBytes(r idRef) []byte { return arenaBytes(s.ids, r) }

func (s *Summary) idOf(r idRef) string {
	b := s.idBytes(r)
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Attributes returns customer i's attribute values (shared: read-only).
func (s *Summary) Attributes(i int) []string { return s.tuples[s.rows[i].attr] }

// Frequency returns customer i's number of repeat transactions.
func (s *Summary) Frequency(i int) int { return int(s.rows[i].frequency) }

// Unit is the unit of the customers' Recency and Age.
func (s *Summary) Unit() TimeUnit { return s.unit }

// Customer returns customer i.
func (s *Summary) Customer(i int) Customer {
	r := &s.rows[i]
	c := Customer{
		ID:                  s.idOf(r.id),
		Attributes:          s.tuples[r.attr],
		FirstPurchase:       dayTime(r.firstDay),
		LastPurchase:        dayTime(r.lastDay),
		Frequency:           int(r.frequency),
		Recency:             s.unit.FromDays(float64(r.lastDay - r.firstDay)),
		Age:                 s.unit.FromDays(float64(s.calEnd - r.firstDay)),
		Monetary:            r.monetary,
		HistoricValue:       r.historicValue,
		Orders:              int(r.orders),
		HoldoutTransactions: int(r.holdoutDays),
	}
	if s.holdoutValue != nil {
		c.HoldoutValue = s.holdoutValue[i]
	}
	return c
}

// All iterates over the customers in order.
func (s *Summary) All() iter.Seq2[int, Customer] {
	return func(yield func(int, Customer) bool) {
		for i := range s.rows {
			if !yield(i, s.Customer(i)) {
				return
			}
		}
	}
}

// Customers returns every customer as a slice (160 bytes each plus the id: for small summaries
// and tests; large ones are read with Customer or All).
func (s *Summary) Customers() []Customer {
	out := make([]Customer, len(s.rows))
	for i := range out {
		out[i] = s.Customer(i)
	}
	return out
}

// Appender builds a Summary from customers computed elsewhere (a database's summary query).
// It keeps the ids and attribute tuples as compactly as the Builder does.
type Appender struct {
	s      *Summary
	ids    idIndex
	tuples tupleSet
	sorted bool
	last   []byte
}

// NewAppender returns an Appender for summaries with these options (CalibrationEnd, ObservationEnd
// and Unit are used) and attribute names.
func NewAppender(opts Options, attributeNames []string) *Appender {
	unit := opts.Unit
	if unit == "" {
		unit = Week
	}
	cal, obs := dayOf(opts.CalibrationEnd), dayOf(opts.CalibrationEnd)
	if !opts.ObservationEnd.IsZero() {
		obs = dayOf(opts.ObservationEnd)
	}
	s := &Summary{calEnd: cal, unit: unit, AttributeNames: slices.Clone(attributeNames)}
	if obs > cal {
		s.holdoutValue = []float64{}
	}
	return &Appender{s: s, tuples: newTupleSet(), sorted: true}
}

// Append adds a customer. Recency and Age are not read: they follow from the purchase days,
// the unit and the calibration end.
func (a *Appender) Append(c Customer) {
	id := a.ids.intern([]byte(c.ID))
	a.s.ids = a.ids.chunks
	if a.sorted && a.last != nil && bytes.Compare(a.last, []byte(c.ID)) > 0 {
		a.sorted = false
	}
	a.last = a.s.idBytes(id)
	a.s.rows = append(a.s.rows, row{
		id: id, monetary: c.Monetary, historicValue: c.HistoricValue,
		firstDay: dayOf(c.FirstPurchase), lastDay: dayOf(c.LastPurchase),
		frequency: int32(c.Frequency), orders: int32(c.Orders), attr: intern(&a.tuples, c.Attributes),
		holdoutDays: int32(c.HoldoutTransactions),
	})
	if a.s.holdoutValue != nil {
		a.s.holdoutValue = append(a.s.holdoutValue, c.HoldoutValue)
	}
}

// Summary returns the summary, its customers sorted by ID. The Appender must not be used
// afterwards.
func (a *Appender) Summary() *Summary {
	s := a.s
	s.tuples = a.tuples.tuples
	if !a.sorted {
		perm := make([]int32, len(s.rows))
		for i := range perm {
			perm[i] = int32(i)
		}
		slices.SortStableFunc(perm, func(x, y int32) int {
			return bytes.Compare(s.idBytes(s.rows[x].id), s.idBytes(s.rows[y].id))
		})
		rows := make([]row, len(perm))
		for i, p := range perm {
			rows[i] = s.rows[p]
		}
		s.rows = rows
		if s.holdoutValue != nil {
			hv := make([]float64, len(perm))
			for i, p := range perm {
				hv[i] = s.holdoutValue[p]
			}
			s.holdoutValue = hv
		}
	}
	a.s = nil
	return s
}

// CalibrationEnd is the last calibration day (UTC midnight).
func (s *Summary) CalibrationEnd() time.Time { return dayTime(s.calEnd) }

// RFMDays returns customer i's frequency, and recency and age in whole days: the integers its
// Recency and Age are computed from (so equal triples mean equal (Frequency, Recency, Age)).
func (s *Summary) RFMDays(i int) (frequency, recencyDays, ageDays int32) {
	r := &s.rows[i]
	return r.frequency, r.lastDay - r.firstDay, s.calEnd - r.firstDay
}

// Monetary returns customer i's mean repeat-transaction value.
func (s *Summary) Monetary(i int) float64 { return s.rows[i].monetary }

// HistoricValue returns customer i's net calibration amount.
func (s *Summary) HistoricValue(i int) float64 { return s.rows[i].historicValue }

// tupleSet interns attribute tuples: equal tuples share one []string and one index. Tuple 0 is
// no attribute values (a customer created by a holdout row before their first calibration row,
// until one arrives).
type tupleSet struct {
	index  map[string]int32
	tuples [][]string
	keyBuf []byte
}

func newTupleSet() tupleSet { return tupleSet{index: map[string]int32{}, tuples: [][]string{nil}} }

// intern returns the index of the tuple vals (read as bytes or strings), adding it when new.
func intern[T string | []byte](ts *tupleSet, vals []T) int32 {
	if len(vals) == 0 {
		return 0
	}
	key := ts.keyBuf[:0]
	for _, v := range vals {
		key = binary.AppendUvarint(key, uint64(len(v)))
		key = append(key, v...)
	}
	ts.keyBuf = key
	if t, ok := ts.index[string(key)]; ok {
		return t
	}
	tuple := make([]string, len(vals))
	for i, v := range vals {
		tuple[i] = string(v)
	}
	t := int32(len(ts.tuples))
	ts.tuples = append(ts.tuples, tuple)
	ts.index[string(key)] = t
	return t
}
