package jobrun

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/netpolicy"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/plan"
	"github.com/ltv-operator/ltv-operator/internal/report"
	pgsink "github.com/ltv-operator/ltv-operator/internal/sink/postgres"
	httpsource "github.com/ltv-operator/ltv-operator/internal/source/http"
	pgsource "github.com/ltv-operator/ltv-operator/internal/source/postgres"
)

// Exit codes of the run's Pod. Both print an envelope; ExitFailed marks the Job failed so that
// `kubectl get jobs` shows it, and the manager reads the reason from the envelope.
const (
	ExitOK     = 0
	ExitFailed = 2
	// ExitNoEnvelope: the Pod could not even read its Spec; the manager reports PodFailed.
	ExitNoEnvelope = 3
)

// Main is the run's Pod: it reads the pinned Spec from $LTV_RUN, computes, writes the customers
// sink, logs its progress to stderr and prints its envelope on stdout, last.
func Main(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	logf := func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s ltv run: %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
	}
	var spec Spec
	if err := json.Unmarshal([]byte(getenv(EnvRun)), &spec); err != nil {
		logf("cannot read $%s: %v", EnvRun, err)
		return ExitNoEnvelope
	}
	if spec.DeleteRows {
		return deleteRows(ctx, &spec, getenv, logf)
	}
	logf("computation %s/%s, run %s, revision %s", spec.Namespace, spec.Name, spec.Job, spec.Revision)
	env := For(&spec)
	started := time.Now()
	res, table, err := compute(ctx, &spec, getenv, logf)
	if err != nil {
		pe := pipeline.Classify(err)
		env.Failure = &Failure{Reason: pe.Reason, Permanent: pe.Permanent, Message: pe.Error()}
		logf("run failed (%s): %s", pe.Reason, pe.Error())
	} else {
		env.Result, env.Table = res, table
		logf("run succeeded in %s: %d customers, average LTV %.2f %s", time.Since(started).Round(time.Millisecond), res.Customers, res.AverageLTV, res.Currency)
	}
	line, err := Encode(env)
	if err != nil {
		env.Result, env.Failure = nil, &Failure{Reason: v1alpha1.ReasonInvalidResult, Permanent: true, Message: err.Error()}
		line, _ = Encode(env)
	}
	fmt.Fprintln(stdout, line)
	if env.Failure != nil {
		return ExitFailed
	}
	return ExitOK
}

// deleteRows deletes the computation's rows from its customers table: ExitOK when they are
// gone (or there were none), ExitFailed otherwise, with the reason on stderr.
func deleteRows(ctx context.Context, spec *Spec, getenv func(string) string, logf func(string, ...any)) int {
	out := spec.Spec.Output.Customers
	if out == nil || out.Postgres == nil {
		logf("computation %s/%s has no customers table: nothing to delete", spec.Namespace, spec.Name)
		return ExitOK
	}
	sink := &pgsink.Sink{DSN: strings.TrimSpace(getenv(EnvSinkDSN)), Table: out.Postgres.Table, ConnectTimeout: 30 * time.Second}
	n, err := sink.Delete(ctx, spec.Namespace+"/"+spec.Name)
	if err != nil {
		logf("deleting the rows of %s/%s from %s failed: %v", spec.Namespace, spec.Name, out.Postgres.Table, err)
		return ExitFailed
	}
	logf("deleted %d rows of %s/%s from %s", n, spec.Namespace, spec.Name, out.Postgres.Table)
	return ExitOK
}

// sinkError is a failure of the customers sink: retried, as in the manager.
type sinkError struct{ err error }

func (e sinkError) Error() string { return "writing spec.output.customers: " + e.err.Error() }

func compute(ctx context.Context, spec *Spec, getenv func(string) string, logf func(string, ...any)) (*report.Result, string, error) {
	end, err := time.Parse(time.DateOnly, spec.ObservationEnd)
	if err != nil {
		return nil, "", &pipeline.Error{Reason: pipeline.ReasonInvalidSpec, Permanent: true, Err: fmt.Errorf("observation end %q: %w", spec.ObservationEnd, err)}
	}
	segments := make([]v1alpha1.CustomerSegment, len(spec.Segments))
	for i, s := range spec.Segments {
		segments[i].Name, segments[i].Spec = s.Name, s.Spec
	}
	cfg, err := plan.Config(&spec.Spec, end, segments)
	if err != nil {
		return nil, "", err
	}
	src, err := source(spec, getenv)
	if err != nil {
		return nil, "", err
	}
	logf("reading the source and computing (observation end %s, model %s)", spec.ObservationEnd, cfg.Model)
	res, scores, err := pipeline.Run(ctx, cfg, src)
	if err != nil {
		return nil, "", err
	}
	out := spec.Spec.Output.Customers
	if out == nil || out.Postgres == nil {
		return res, "", nil
	}
	logf("writing %d customers' scores to %s", res.Customers, out.Postgres.Table)
	sink := &pgsink.Sink{DSN: strings.TrimSpace(getenv(EnvSinkDSN)), Table: out.Postgres.Table, ConnectTimeout: 30 * time.Second}
	n, err := sink.Write(ctx, spec.Namespace+"/"+spec.Name, res.ComputedAt, scores.Rows)
	if err != nil {
		return nil, "", &pipeline.Error{Reason: v1alpha1.ReasonSinkFailed, Err: sinkError{err}}
	}
	logf("wrote %d rows to %s", n, out.Postgres.Table)
	return res, out.Postgres.Table, nil
}

// source builds the run's source from what the Pod was given: the ConfigMap mounted as a file,
// the HTTP headers Secret mounted as files, the PostgreSQL DSN in the environment.
func source(spec *Spec, getenv func(string) string) (pipeline.Source, error) {
	s := spec.Spec.Source
	switch {
	case s.ConfigMap != nil:
		data, err := os.ReadFile(filepath.Join(SourceDir, SourceFile))
		if err != nil {
			return nil, &pipeline.Error{Reason: pipeline.ReasonSourceNotFound, Err: fmt.Errorf("ConfigMap %s key %q: %w", s.ConfigMap.Name, s.ConfigMap.Key, err)}
		}
		sum := sha256.Sum256(data)
		if got := "sha256:" + hex.EncodeToString(sum[:]); spec.DataDigest != "" && got != spec.DataDigest {
			return nil, &pipeline.Error{Reason: pipeline.ReasonSourceUnavailable,
				Err: fmt.Errorf("ConfigMap %s changed after the run was decided; the next run reads it", s.ConfigMap.Name)}
		}
		return pipeline.CSVSource{Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}, nil
	case s.HTTP != nil:
		policy, err := httpPolicy(getenv)
		if err != nil {
			return nil, err
		}
		cfg := httpsource.Config{URL: s.HTTP.URL, Format: httpsource.Format(s.HTTP.Format), TempDir: os.TempDir(), Policy: policy}
		if s.HTTP.HeadersSecretRef != nil {
			entries, err := os.ReadDir(HTTPHeadersDir)
			if err != nil {
				return nil, &pipeline.Error{Reason: pipeline.ReasonSourceNotFound, Err: fmt.Errorf("headers Secret %s: %w", s.HTTP.HeadersSecretRef.Name, err)}
			}
			cfg.Headers = map[string]string{}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "..") || e.IsDir() {
					continue // the volume's own symlinks
				}
				v, err := os.ReadFile(filepath.Join(HTTPHeadersDir, e.Name()))
				if err != nil {
					return nil, err
				}
				cfg.Headers[e.Name()] = string(v)
			}
		}
		if s.HTTP.MaxBytes != nil {
			cfg.MaxBytes = *s.HTTP.MaxBytes
		}
		if s.HTTP.TimeoutSeconds != nil {
			cfg.Timeout = time.Duration(*s.HTTP.TimeoutSeconds) * time.Second
		}
		return httpsource.New(cfg)
	case s.Postgres != nil:
		src := &pgsource.Source{DSN: strings.TrimSpace(getenv(EnvSourceDSN)), Table: s.Postgres.Table, Query: s.Postgres.Query,
			Mode: pgsource.Mode(plan.PostgresMode(s.Postgres))}
		if s.Postgres.TimeoutSeconds != nil {
			src.Timeout = time.Duration(*s.Postgres.TimeoutSeconds) * time.Second
		}
		return src, nil
	}
	return nil, &pipeline.Error{Reason: pipeline.ReasonInvalidSpec, Permanent: true, Err: fmt.Errorf("spec.source: none of configMap, http or postgres is set")}
}

// httpPolicy is the manager's http source policy from the environment: a Job-mode fetch may
// reach what an in-process one may, and no more.
func httpPolicy(getenv func(string) string) (*netpolicy.Policy, error) {
	var cfg netpolicy.Config
	if raw := getenv(EnvHTTPSourcePolicy); raw != "" {
		if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
			return nil, &pipeline.Error{Reason: pipeline.ReasonInvalidSpec, Permanent: true, Err: fmt.Errorf("%s: %w", EnvHTTPSourcePolicy, err)}
		}
	}
	p, err := netpolicy.New(cfg)
	if err != nil {
		return nil, &pipeline.Error{Reason: pipeline.ReasonInvalidSpec, Permanent: true, Err: fmt.Errorf("%s: %w", EnvHTTPSourcePolicy, err)}
	}
	return p, nil
}
