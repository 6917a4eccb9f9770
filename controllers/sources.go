package controllers

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// resolvedSource is a computation's source, ready to run, with the revision of its data when
// the operator can know it without reading the data (a ConfigMap's content digest); "" otherwise.
type resolvedSource struct {
	source   pipeline.Source
	revision string
}

// resolveSource looks up what the computation's source needs from the cluster. In Job mode
// it reads no Secret: the run's Pod gets them by reference, and the revision follows the spec.
func (r *LTVComputationReconciler) resolveSource(ctx context.Context, c *v1alpha1.LTVComputation, jobMode bool) (*resolvedSource, error) {
	src := c.Spec.Source
	if !jobMode && r.NoSecrets && needsSecret(c) {
		return nil, stalledf(v1alpha1.ReasonAccessDenied, "this operator is installed without access to Secrets (--read-secrets=false): run the computation as a Job (spec.execution.mode: Job), whose Pod reads them")
	}
	switch {
	case src.ConfigMap != nil:
		return r.configMapSource(ctx, c)
	case src.HTTP != nil:
		if err := sameNamespace(c, "spec.source.http.headersSecretRef", refNamespace(src.HTTP.HeadersSecretRef)); err != nil {
			return nil, err
		}
		if jobMode {
			return &resolvedSource{revision: specRevision("http:", src.HTTP)}, nil
		}
		if r.HTTPSource == nil {
			return nil, stalledf(v1alpha1.ReasonInvalidSpec, "spec.source.http is not supported by this operator build")
		}
		return r.HTTPSource(ctx, r.Client, c)
	case src.Postgres != nil:
		if err := sameNamespace(c, "spec.source.postgres.connectionSecretRef", src.Postgres.ConnectionSecretRef.Namespace); err != nil {
			return nil, err
		}
		if jobMode {
			return &resolvedSource{revision: specRevision("postgres:", src.Postgres, src.Columns)}, nil
		}
		if r.PostgresSource == nil {
			return nil, stalledf(v1alpha1.ReasonInvalidSpec, "spec.source.postgres is not supported by this operator build")
		}
		return r.PostgresSource(ctx, r.Client, c)
	}
	return nil, stalledf(v1alpha1.ReasonInvalidSpec, "spec.source: none of configMap, http or postgres is set")
}

func refNamespace(ref *v1alpha1.LocalObjectReference) string {
	if ref == nil {
		return ""
	}
	return ref.Namespace
}

// sameNamespace refuses references to other namespaces: a computation may read only its own
// namespace's Secrets, whoever is allowed to create it.
func sameNamespace(c *v1alpha1.LTVComputation, field, namespace string) error {
	if namespace != "" && namespace != c.Namespace {
		return stalledf(v1alpha1.ReasonAccessDenied, "%s: namespace %q is not the computation's namespace %q; references to other namespaces are refused", field, namespace, c.Namespace)
	}
	return nil
}

func (r *LTVComputationReconciler) configMapSource(ctx context.Context, c *v1alpha1.LTVComputation) (*resolvedSource, error) {
	ref := c.Spec.Source.ConfigMap
	var cm corev1.ConfigMap
	if err := r.Get(ctx, types.NamespacedName{Namespace: c.Namespace, Name: ref.Name}, &cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, waitingf("", v1alpha1.ReasonSourceNotFound, "ConfigMap %s/%s not found (spec.source.configMap.name); the computation runs when it appears", c.Namespace, ref.Name)
		}
		return nil, err
	}
	var data []byte
	if v, ok := cm.Data[ref.Key]; ok {
		data = []byte(v)
	} else if v, ok := cm.BinaryData[ref.Key]; ok {
		data = v
	} else {
		return nil, waitingf("configmap-version:"+cm.ResourceVersion, v1alpha1.ReasonSourceNotFound,
			"ConfigMap %s/%s has no key %q (spec.source.configMap.key); the computation runs when it appears", c.Namespace, ref.Name, ref.Key)
	}
	sum := sha256.Sum256(data)
	return &resolvedSource{
		source: &inMemoryCSV{
			data:     data,
			what:     fmt.Sprintf("ConfigMap %s/%s key %q", c.Namespace, ref.Name, ref.Key),
			maxPlain: maxConfigMapDecompressed,
		},
		revision: "sha256:" + hex.EncodeToString(sum[:]),
	}, nil
}

// specRevision identifies a source by its spec alone.
func specRevision(prefix string, parts ...any) string {
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return prefix + hex.EncodeToString(sum[:8])
}

// needsSecret reports whether a computation's source or sink reads a Secret.
func needsSecret(c *v1alpha1.LTVComputation) bool {
	return len(secretsOf(c)) > 0
}

// maxConfigMapDecompressed bounds the CSV of a gzip-compressed ConfigMap key: a ConfigMap's MiB
// can expand a thousandfold.
const maxConfigMapDecompressed = 1 << 30

// maxGzipLayers is how many gzip layers are removed (a .csv.gz, gzip-compressed again).
const maxGzipLayers = 2

// inMemoryCSV is a CSV source whose bytes are all here (a ConfigMap key): a gzip stream that ends
// early is truncated data, not a dropped connection, so every error of the data is permanent,
// and it names the ConfigMap key.
type inMemoryCSV struct {
	data     []byte
	what     string
	maxPlain int64
}

func (s *inMemoryCSV) invalid(format string, args ...any) *pipeline.Error {
	return &pipeline.Error{Reason: v1alpha1.ReasonInvalidData, Permanent: true, Err: fmt.Errorf("%s: %s", s.what, fmt.Sprintf(format, args...))}
}

// Summarize removes the gzip layers (bounded) and summarises the CSV.
func (s *inMemoryCSV) Summarize(ctx context.Context, cols summary.Columns, opts summary.Options) (*summary.Summary, error) {
	var r io.Reader = bytes.NewReader(s.data)
	var last *boundedGunzip
	for layer := 1; ; layer++ {
		br := bufio.NewReaderSize(r, 64<<10)
		r = br
		magic, _ := br.Peek(2)
		if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
			break
		}
		if layer > maxGzipLayers {
			return nil, s.invalid("more than %d nested gzip streams", maxGzipLayers)
		}
		zr, err := gzip.NewReader(br)
		if err != nil {
			if last != nil && last.err != nil {
				return nil, last.err
			}
			return nil, s.invalid("the gzip stream cannot be read: %v", err)
		}
		last = &boundedGunzip{s: s, zr: zr, max: s.maxPlain}
		r = last
	}
	sum, err := summary.ReadCSV(r, cols, opts)
	if err != nil {
		var pe *pipeline.Error
		switch {
		case errors.As(err, &pe):
			return nil, pe
		case errors.Is(err, summary.ErrTruncatedInput):
			return nil, s.invalid("the gzip stream is truncated: it ends inside the compressed data")
		case errors.Is(err, summary.ErrCorruptInput):
			return nil, s.invalid("the gzip stream is corrupt: %v", errors.Unwrap(err))
		}
		return nil, err
	}
	// the digest of what was stored, whatever the layers
	h := sha256.Sum256(s.data)
	sum.Digest = "sha256:" + hex.EncodeToString(h[:])
	return sum, nil
}

// boundedGunzip reads a gzip stream of an in-memory source: it stops at max decompressed bytes
// and reports an early end as truncation.
type boundedGunzip struct {
	s   *inMemoryCSV
	zr  *gzip.Reader
	out int64
	max int64
	err *pipeline.Error
}

func (g *boundedGunzip) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if rest := g.max - g.out + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := g.zr.Read(p)
	g.out += int64(n)
	switch {
	case g.out > g.max:
		n -= int(g.out - g.max)
		g.out = g.max
		g.err = g.s.invalid("the gzip stream decompresses to more than %d bytes, the most a ConfigMap's CSV may hold", g.max)
	case errors.Is(err, io.ErrUnexpectedEOF):
		g.err = g.s.invalid("the gzip stream is truncated: it ends inside the compressed data, after %d decompressed bytes", g.out)
	case err != nil && err != io.EOF:
		g.err = g.s.invalid("the gzip stream is corrupt after %d decompressed bytes: %v", g.out, err)
	default:
		return n, err
	}
	return n, g.err
}
