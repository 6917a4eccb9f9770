package segment

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"cel.dev/cel-go/common/types"
)

// Definition is one segment: a CEL filter, a value tier, or both (a customer must match both).
type Definition struct {
	Name   string
	Filter *Filter
	Tier   *ValueTier
}

// assignChunk is the number of customers a worker takes at a time.
const assignChunk = 4096

// Assign evaluates every definition over every customer once and returns, for each definition
// (in order), the ascending indexes of its members (never nil). observationEnd is the value of
// the CEL variable `observationEnd`. Work is spread over GOMAXPROCS goroutines. Tiers with
// TopPercent need ValuePercentile filled (Percentiles) beforehand. Where a definition has both,
// the tier is checked first and the filter evaluated only for customers in the tier.
//
// A definition with neither filter nor tier, or with an invalid tier, is an error. An evaluation
// error stops the work and is returned naming the segment and the customer id; when several
// customers fail, the one with the lowest index is reported, so the error is deterministic.
func Assign(defs []Definition, customers []Customer, observationEnd time.Time) ([][]int32, error) {
	for _, d := range defs {
		if d.Filter == nil && d.Tier == nil {
			return nil, fmt.Errorf("segment %q has neither a filter nor a value tier", d.Name)
		}
		if d.Tier != nil {
			if err := d.Tier.Validate(); err != nil {
				return nil, fmt.Errorf("segment %q: %w", d.Name, err)
			}
		}
	}
	if len(customers) > math.MaxInt32 {
		return nil, errors.New("too many customers for int32 indexes")
	}
	members := make([][]int32, len(defs))
	if len(defs) == 0 {
		return members, nil
	}
	n := len(customers)
	chunks := (n + assignChunk - 1) / assignChunk
	// perChunk[k][d] holds the members of definition d among chunk k's customers.
	perChunk := make([][][]int32, chunks)
	end := types.Timestamp{Time: observationEnd.UTC()}

	var (
		next     atomic.Int64 // next chunk to take
		errIndex atomic.Int64 // lowest customer index with an error so far
		errMu    sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	errIndex.Store(math.MaxInt64)
	workers := min(runtime.GOMAXPROCS(0), chunks)
	for range workers {
		wg.Go(func() {
			act := &activation{observationEnd: end}
			for {
				k := int(next.Add(1) - 1)
				if k >= chunks || int64(k*assignChunk) > errIndex.Load() {
					return
				}
				lo, hi := k*assignChunk, min((k+1)*assignChunk, n)
				local := make([][]int32, len(defs))
				for i := lo; i < hi; i++ {
					if int64(i) > errIndex.Load() {
						break
					}
					c := &customers[i]
					act.customer = c
					for d := range defs {
						def := &defs[d]
						if def.Tier != nil && !def.Tier.match(c) {
							continue
						}
						if def.Filter != nil {
							ok, err := def.Filter.eval(act)
							if err != nil {
								errMu.Lock()
								if int64(i) < errIndex.Load() {
									errIndex.Store(int64(i))
									firstErr = fmt.Errorf("segment %q: customer %q: %w", def.Name, c.ID, err)
								}
								errMu.Unlock()
								break
							}
							if !ok {
								continue
							}
						}
						local[d] = append(local[d], int32(i))
					}
				}
				perChunk[k] = local
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	for d := range defs {
		total := 0
		for _, local := range perChunk {
			total += len(local[d])
		}
		m := make([]int32, 0, total)
		for _, local := range perChunk {
			m = append(m, local[d]...)
		}
		members[d] = m
	}
	return members, nil
}
