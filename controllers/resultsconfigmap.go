package controllers

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/report"
	reporthtml "github.com/ltv-operator/ltv-operator/internal/report/html"
)

// Labels and annotations the operator puts on the objects it generates. The computation's own
// labels are never copied.
const (
	LabelManagedBy       = "app.kubernetes.io/managed-by"
	ManagedByValue       = "ltv-operator"
	LabelComputation     = "analytics.ltv-operator.io/computation"
	AnnotationComputedAt = "analytics.ltv-operator.io/computed-at"
	AnnotationEncoding   = "analytics.ltv-operator.io/encoding"
	// AnnotationContentDigest is the sha256 of the results ConfigMap's data and binaryData as
	// the operator wrote them: content that no longer matches it was edited by someone else,
	// and the results are published again.
	AnnotationContentDigest = "analytics.ltv-operator.io/content-digest"
)

// contentDigest is the sha256 of a ConfigMap's data and binaryData, keys in order.
func contentDigest(data map[string]string, binary map[string][]byte) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fmt.Fprintf(h, "d%d:%s%d:", len(k), k, len(data[k]))
		h.Write([]byte(data[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(binary)) {
		fmt.Fprintf(h, "b%d:%s%d:", len(k), k, len(binary[k]))
		h.Write(binary[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// resultsTampered reports whether a results ConfigMap's content differs from what the
// operator published. A ConfigMap without the digest annotation (written before the operator
// kept one) is taken as it is.
func resultsTampered(cm *corev1.ConfigMap) bool {
	want, ok := cm.Annotations[AnnotationContentDigest]
	return ok && want != contentDigest(cm.Data, cm.BinaryData)
}

// configMapBudget keeps the results ConfigMap well under etcd's 1 MiB object limit.
const configMapBudget = 900 * 1024

// resultsConfigMapName is output.configMapName or <name>-results.
func resultsConfigMapName(c *v1alpha1.LTVComputation) string {
	if c.Spec.Output.ConfigMapName != "" {
		return c.Spec.Output.ConfigMapName
	}
	return c.Name + "-results"
}

// computationLabelValue fits a computation name into a label value (63 characters).
func computationLabelValue(name string) string {
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:46] + "-" + hex.EncodeToString(sum[:8])
}

// encodeFiles puts the files in data when they fit the budget, and gzip-compressed in binaryData
// (keys with a .gz suffix) when they do not.
func encodeFiles(files map[string][]byte) (data map[string]string, binary map[string][]byte, encoding string, err error) {
	size := 0
	for _, v := range files {
		size += len(v)
	}
	if size <= configMapBudget {
		data = make(map[string]string, len(files))
		for k, v := range files {
			data[k] = string(v)
		}
		return data, nil, "", nil
	}
	binary = make(map[string][]byte, len(files))
	size = 0
	for k, v := range files {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(v); err != nil {
			return nil, nil, "", err
		}
		if err := zw.Close(); err != nil {
			return nil, nil, "", err
		}
		binary[k+".gz"] = buf.Bytes()
		size += buf.Len()
	}
	if size > configMapBudget {
		return nil, nil, "", fmt.Errorf("results are %d KiB even gzip-compressed, more than a ConfigMap holds: lower output.topCustomers or breakdownBy", size/1024)
	}
	return nil, binary, "gzip", nil
}

// encodeWithPage encodes the files with report.html (internal/report/html) when it fits: only
// when adding it keeps the other files stored as they would be without it (plain stays plain),
// and within the budget. Otherwise the page is left out; `ltvctl report --summary` renders it.
func encodeWithPage(files map[string][]byte, res *report.Result, title string) (map[string]string, map[string][]byte, string, error) {
	data, binary, encoding, err := encodeFiles(files)
	if err != nil {
		return nil, nil, "", err
	}
	page, perr := reporthtml.Render(res, reporthtml.Options{Title: title})
	if perr != nil {
		return data, binary, encoding, nil // the page is a convenience: never fail a run for it
	}
	with := make(map[string][]byte, len(files)+1)
	for k, v := range files {
		with[k] = v
	}
	with[reporthtml.File] = page
	d, b, e, err := encodeFiles(with)
	if err != nil || e != encoding {
		return data, binary, encoding, nil
	}
	return d, b, e, nil
}

// writeResultsConfigMap creates or replaces the computation's results ConfigMap. It refuses to
// take over a ConfigMap of the same name that another owner (or a user) created.
func (r *LTVComputationReconciler) writeResultsConfigMap(ctx context.Context, c *v1alpha1.LTVComputation, res *report.Result) (string, error) {
	files, err := report.Files(res)
	if err != nil {
		return "", err
	}
	data, binary, encoding, err := encodeWithPage(files, res, c.Namespace+"/"+c.Name)
	if err != nil {
		return "", err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: resultsConfigMapName(c), Namespace: c.Namespace}}
	_, err = controllerutil.CreateOrUpdate(ctx, r.Client, cm, func() error {
		if cm.CreationTimestamp.Time != (time.Time{}) && !metav1.IsControlledBy(cm, c) {
			return stalledf(v1alpha1.ReasonInvalidSpec, "ConfigMap %s/%s exists and is not managed by this computation: choose another spec.output.configMapName", cm.Namespace, cm.Name)
		}
		if cm.Labels == nil {
			cm.Labels = map[string]string{}
		}
		cm.Labels[LabelManagedBy] = ManagedByValue
		cm.Labels[LabelComputation] = computationLabelValue(c.Name)
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Annotations[AnnotationComputedAt] = res.ComputedAt.UTC().Format(time.RFC3339)
		if encoding != "" {
			cm.Annotations[AnnotationEncoding] = encoding
		} else {
			delete(cm.Annotations, AnnotationEncoding)
		}
		cm.Data, cm.BinaryData = data, binary
		cm.Annotations[AnnotationContentDigest] = contentDigest(data, binary)
		return controllerutil.SetControllerReference(c, cm, r.Scheme)
	})
	if err != nil {
		return "", err
	}
	return cm.Name, nil
}

// resultFile reads one file of a results ConfigMap, plain or gzip-compressed.
func resultFile(cm *corev1.ConfigMap, name string) ([]byte, bool, error) {
	if v, ok := cm.Data[name]; ok {
		return []byte(v), true, nil
	}
	z, ok := cm.BinaryData[name+".gz"]
	if !ok {
		return nil, false, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, true, err
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(zr); err != nil {
		return nil, true, err
	}
	return buf.Bytes(), true, nil
}
