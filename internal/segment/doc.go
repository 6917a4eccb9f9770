// Package segment evaluates CustomerSegment definitions over per-customer LTV results: CEL
// filters over a customer's summary and predictions, value tiers over predicted value
// percentiles, and the aggregates reported per segment (count, average, median, total, share).
//
// It is pure computation and imports nothing from Kubernetes. Filters are compiled once per run
// (Compile) and evaluated for every customer (Assign); the CEL environment is documented in
// docs/cel.md.
package segment
