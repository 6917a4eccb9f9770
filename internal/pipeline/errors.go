package pipeline

import (
	"errors"
	"fmt"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// Reasons for a failed run: the LTVComputation condition reasons, declared once in the API
// package and re-exported here so that the sources and sinks need not import it.
const (
	ReasonInvalidSpec       = v1alpha1.ReasonInvalidSpec
	ReasonInvalidData       = v1alpha1.ReasonInvalidData
	ReasonMissingColumn     = v1alpha1.ReasonMissingColumn
	ReasonNoData            = v1alpha1.ReasonNoData
	ReasonFitFailed         = v1alpha1.ReasonFitFailed
	ReasonInvalidFilter     = v1alpha1.ReasonInvalidFilter
	ReasonSourceNotFound    = v1alpha1.ReasonSourceNotFound
	ReasonSourceUnavailable = v1alpha1.ReasonSourceUnavailable
	ReasonAccessDenied      = v1alpha1.ReasonAccessDenied
)

// Error is a failed run with the reason users see. Permanent errors need a change of spec or
// data; the others may pass on a retry (a database that is down).
type Error struct {
	Reason    string
	Permanent bool
	Err       error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Classify wraps err in an *Error with the reason its cause implies, unless it is one already.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	var ce *summary.ColumnError
	if errors.As(err, &ce) {
		return &Error{Reason: ReasonMissingColumn, Permanent: true, Err: err}
	}
	var re *summary.RowError
	if errors.As(err, &re) {
		return &Error{Reason: ReasonInvalidData, Permanent: true, Err: err}
	}
	if errors.Is(err, summary.ErrInvalidOptions) {
		return &Error{Reason: ReasonInvalidSpec, Permanent: true, Err: err}
	}
	if errors.Is(err, summary.ErrCorruptInput) {
		return &Error{Reason: ReasonInvalidData, Permanent: true, Err: err}
	}
	if errors.Is(err, summary.ErrNoData) {
		return &Error{Reason: ReasonNoData, Permanent: true, Err: err}
	}
	return &Error{Reason: ReasonSourceUnavailable, Permanent: false, Err: err}
}

func permanent(reason string, format string, args ...any) *Error {
	return &Error{Reason: reason, Permanent: true, Err: fmt.Errorf(format, args...)}
}
