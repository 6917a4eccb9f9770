package controllers

import (
	"errors"
	"fmt"

	"github.com/ltv-operator/ltv-operator/internal/conditions"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
)

// errorKind says what ends a failure, and so which conditions it sets and whether it is retried.
type errorKind int

const (
	// kindTransient may pass on a retry (a database that is down): Ready=False,
	// Reconciling=True, retried with the controller's exponential backoff.
	kindTransient errorKind = iota
	// kindWaiting resolves by itself when a watched object appears or changes (a ConfigMap or
	// Secret not created yet): Ready=False, not retried on a timer.
	kindWaiting
	// kindStalled needs a change of spec or data: Ready=False, Stalled=True.
	kindStalled
)

func (k errorKind) String() string {
	switch k {
	case kindWaiting:
		return "waiting"
	case kindStalled:
		return "stalled"
	}
	return "transient"
}

// runError is the one error type of a computation that cannot run or whose run failed. Errors
// that are not a *runError (API errors) are returned to controller-runtime and retried without
// touching status.
type runError struct {
	kind   errorKind
	reason string
	err    error
	// revision identifies the state that failed (a ConfigMap's version) when the source could
	// not be resolved, so that a change of it starts a new attempt.
	revision string
}

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

func stalledf(reason, format string, args ...any) *runError {
	return &runError{kind: kindStalled, reason: reason, err: fmt.Errorf(format, args...)}
}

func waitingf(revision, reason, format string, args ...any) *runError {
	return &runError{kind: kindWaiting, reason: reason, revision: revision, err: fmt.Errorf(format, args...)}
}

func transient(reason string, err error) *runError {
	return &runError{kind: kindTransient, reason: reason, err: err}
}

// fromPipeline classifies an error of the pipeline, a source or a sink: permanent pipeline
// errors stall, the others are retried.
func fromPipeline(err error) *runError {
	var re *runError
	if errors.As(err, &re) {
		return re
	}
	pe := pipeline.Classify(err)
	if pe.Permanent {
		return &runError{kind: kindStalled, reason: pe.Reason, err: pe}
	}
	return &runError{kind: kindTransient, reason: pe.Reason, err: pe}
}

// asRunError returns err as a *runError, or nil when it is an API error.
func asRunError(err error) *runError {
	var re *runError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

func truncate(s string, n int) string { return conditions.Truncate(s, n) }
