// Package jobrun is both ends of a Job-mode run: the Spec the manager pins into the Job, the
// program the run's Pod executes (Main), and the Envelope the Pod hands back through its log,
// which the manager decodes with a size bound and validates against the Job it read it from.
// docs/execution.md describes the design and its threat model.
package jobrun

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/report"
)

// Paths and variables of the run's Pod.
const (
	EnvRun       = "LTV_RUN"        // the Spec, JSON
	EnvSourceDSN = "LTV_SOURCE_DSN" // spec.source.postgres's connection string (secretKeyRef)
	EnvSinkDSN   = "LTV_SINK_DSN"   // spec.output.customers.postgres's (secretKeyRef)
	// EnvHTTPSourcePolicy is the manager's http source policy (netpolicy.Config, JSON); unset:
	// the default policy (loopback, link-local and cloud metadata refused).
	EnvHTTPSourcePolicy = "LTV_HTTP_SOURCE_POLICY"
	SourceFile          = "data"
	ResultPrefix        = "LTV-RESULT v1 "
	EnvelopeVersion     = 1
)

// Where the Job mounts the Pod's volumes.
const (
	SourceMount      = "/var/run/ltv/source"
	HTTPHeadersMount = "/var/run/ltv/http-headers"
)

// Where the Pod reads them; variables so that tests can play the Pod.
var (
	SourceDir      = SourceMount
	HTTPHeadersDir = HTTPHeadersMount
)

// Bounds of the hand-back: the encoded line as read from the log and the JSON it inflates to.
// A result is a few KiB to a few hundred KiB (top customers, breakdowns); the results ConfigMap
// holds at most ~900 KiB anyway.
const (
	MaxEncodedBytes = 2 << 20
	MaxDecodedBytes = 8 << 20
)

// Spec is one run, pinned by the manager when it decided the run: a spec change during the run
// does not change what the run computes.
type Spec struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	Job       string `json:"job"`
	Revision  string `json:"revision"`
	// ObservationEnd is the resolved last observed day (YYYY-MM-DD).
	ObservationEnd string                      `json:"observationEnd"`
	Spec           v1alpha1.LTVComputationSpec `json:"spec"`
	// Segments are the selected segments (name and spec), sorted by name.
	Segments []Segment `json:"segments,omitempty"`
	// DataDigest is the sha256 of a ConfigMap source's content when the run was decided; the
	// Pod refuses other data (the ConfigMap changed: the next run reads it).
	DataDigest string `json:"dataDigest,omitempty"`
	// DeleteRows makes the Pod delete the computation's rows from its customers table instead
	// of running it: the computation is being deleted (deletionPolicy Delete) and the manager
	// may read no Secret. The Pod's exit code is the answer; it prints no envelope.
	DeleteRows bool `json:"deleteRows,omitempty"`
}

// Segment is a selected CustomerSegment.
type Segment struct {
	Name string                       `json:"name"`
	Spec v1alpha1.CustomerSegmentSpec `json:"spec"`
}

// Envelope is the Pod's answer: a result or a failure, for one computation and one run.
type Envelope struct {
	Version   int    `json:"version"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	Job       string `json:"job"`
	Revision  string `json:"revision"`
	// Result of a successful run; Table is the customers sink's table, if written.
	Result *report.Result `json:"result,omitempty"`
	Table  string         `json:"table,omitempty"`
	// Failure of a failed run.
	Failure *Failure `json:"failure,omitempty"`
}

// Failure is a run that ended without a result.
type Failure struct {
	Reason    string `json:"reason"`
	Permanent bool   `json:"permanent"`
	Message   string `json:"message"`
}

// For answers for the run of spec.
func For(spec *Spec) Envelope {
	return Envelope{Version: EnvelopeVersion, Namespace: spec.Namespace, Name: spec.Name, UID: spec.UID, Job: spec.Job, Revision: spec.Revision}
}

// Encode is the envelope's log line: the prefix, then base64 of gzip-compressed JSON.
func Encode(e Envelope) (string, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	line := ResultPrefix + base64.StdEncoding.EncodeToString(buf.Bytes())
	if len(line) > MaxEncodedBytes {
		return "", fmt.Errorf("the result is %d KiB encoded, more than the %d KiB a run may hand back: lower output.topCustomers or breakdownBy", len(line)/1024, MaxEncodedBytes/1024)
	}
	return line, nil
}

// ErrNoResult: the log has no result line (the Pod was killed before it wrote one).
var ErrNoResult = errors.New("the run's Pod wrote no result")

// Find returns the last result line of a log excerpt.
func Find(log []byte) (string, error) {
	lines := strings.Split(strings.TrimRight(string(log), "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], ResultPrefix) {
			return lines[i], nil
		}
	}
	return "", ErrNoResult
}

// Decode reads a result line, refusing more than MaxEncodedBytes or JSON that inflates to more
// than MaxDecodedBytes.
func Decode(line string) (*Envelope, error) {
	if len(line) > MaxEncodedBytes {
		return nil, fmt.Errorf("result line of %d bytes exceeds %d", len(line), MaxEncodedBytes)
	}
	if !strings.HasPrefix(line, ResultPrefix) {
		return nil, ErrNoResult
	}
	z, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, ResultPrefix))
	if err != nil {
		return nil, fmt.Errorf("result is not base64: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, fmt.Errorf("result is not gzip: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, MaxDecodedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("result is not gzip: %w", err)
	}
	if len(b) > MaxDecodedBytes {
		return nil, fmt.Errorf("result inflates to more than %d bytes", MaxDecodedBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e Envelope
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("result is not an envelope: %w", err)
	}
	return &e, nil
}

// Validate checks that the envelope answers for the run the manager read it for, and is one
// of a result or a failure.
func (e *Envelope) Validate(want *Spec) error {
	got := []string{e.Namespace, e.Name, e.UID, e.Job, e.Revision}
	exp := []string{want.Namespace, want.Name, want.UID, want.Job, want.Revision}
	for i, field := range []string{"namespace", "name", "uid", "job", "revision"} {
		if got[i] != exp[i] {
			return fmt.Errorf("result is for %s %q, the run's is %q", field, got[i], exp[i])
		}
	}
	switch {
	case e.Version != EnvelopeVersion:
		return fmt.Errorf("result version %d, want %d", e.Version, EnvelopeVersion)
	case (e.Result == nil) == (e.Failure == nil):
		return errors.New("result has neither or both of a result and a failure")
	case e.Result != nil && (e.Result.Customers < 0 || e.Result.Currency == ""):
		return errors.New("result is incomplete")
	case e.Failure != nil && e.Failure.Reason == "":
		return errors.New("failure without a reason")
	}
	return nil
}
