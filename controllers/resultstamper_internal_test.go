package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestResultsTampered(t *testing.T) {
	data := map[string]string{"summary.json": "{}", "segments.csv": "a,b"}
	cm := &corev1.ConfigMap{Data: map[string]string{"summary.json": "{}", "segments.csv": "a,b"}}
	if resultsTampered(cm) {
		t.Error("a ConfigMap without the digest annotation is taken as it is")
	}
	cm.Annotations = map[string]string{AnnotationContentDigest: contentDigest(data, nil)}
	if resultsTampered(cm) {
		t.Error("untouched content reported as tampered")
	}
	for name, edit := range map[string]func(*corev1.ConfigMap){
		"value changed": func(c *corev1.ConfigMap) { c.Data["summary.json"] = "{ }" },
		"key added":     func(c *corev1.ConfigMap) { c.Data["x"] = "" },
		"key removed":   func(c *corev1.ConfigMap) { delete(c.Data, "segments.csv") },
		"key renamed":   func(c *corev1.ConfigMap) { c.Data["segments.cs"] = "va,b"; delete(c.Data, "segments.csv") },
		"binary added":  func(c *corev1.ConfigMap) { c.BinaryData = map[string][]byte{"summary.json": []byte("{}")} },
	} {
		c := cm.DeepCopy()
		edit(c)
		if !resultsTampered(c) {
			t.Errorf("%s: not detected", name)
		}
	}
}
