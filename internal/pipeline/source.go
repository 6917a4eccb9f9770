package pipeline

import (
	"context"
	"io"

	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// Source produces the per-customer summary of a computation's transactions.
type Source interface {
	Summarize(ctx context.Context, cols summary.Columns, opts summary.Options) (*summary.Summary, error)
}

// CSVSource reads CSV (or gzip-compressed CSV) from a stream opened on demand.
type CSVSource struct {
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// Summarize streams the CSV through the summary builder.
func (s CSVSource) Summarize(ctx context.Context, cols summary.Columns, opts summary.Options) (*summary.Summary, error) {
	r, err := s.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return summary.ReadCSV(r, cols, opts)
}
