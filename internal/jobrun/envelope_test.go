package jobrun

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/report"
)

func TestEnvelopeRoundTripAndValidation(t *testing.T) {
	spec := &Spec{Namespace: "shop", Name: "ltv", UID: "u1", Job: "ltv-abc", Revision: "r1"}
	env := For(spec)
	env.Result = &report.Result{Currency: "USD", Customers: 3, AverageLTV: 12.345678901234567}
	line, err := Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	found, err := Find([]byte("progress\n" + line + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(found)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(spec); err != nil {
		t.Fatal(err)
	}
	if got.Result.AverageLTV != env.Result.AverageLTV {
		t.Errorf("float not exact through the envelope: %v", got.Result.AverageLTV)
	}
	// An answer for another computation, namespace, run or revision is refused.
	for field, edit := range map[string]func(*Spec){
		"namespace": func(s *Spec) { s.Namespace = "other" }, "name": func(s *Spec) { s.Name = "other" },
		"uid": func(s *Spec) { s.UID = "u2" }, "job": func(s *Spec) { s.Job = "ltv-def" }, "revision": func(s *Spec) { s.Revision = "r2" },
	} {
		other := *spec
		edit(&other)
		if err := got.Validate(&other); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: Validate = %v", field, err)
		}
	}
	both := *got
	both.Failure = &Failure{Reason: "X"}
	if both.Validate(spec) == nil {
		t.Error("a result and a failure at once passed")
	}
}

func TestDecodeBounds(t *testing.T) {
	if _, err := Decode(ResultPrefix + strings.Repeat("A", MaxEncodedBytes)); err == nil {
		t.Error("an oversized line was decoded")
	}
	// A gzip bomb: small on the wire, more than MaxDecodedBytes inflated.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"version":1,"namespace":"` + strings.Repeat("x", MaxDecodedBytes) + `"}`))
	_ = zw.Close()
	if _, err := Decode(ResultPrefix + base64.StdEncoding.EncodeToString(buf.Bytes())); err == nil || !strings.Contains(err.Error(), "inflates") {
		t.Errorf("gzip bomb: %v", err)
	}
	if _, err := Decode(ResultPrefix + base64.StdEncoding.EncodeToString([]byte("not gzip"))); err == nil {
		t.Error("garbage decoded")
	}
	if _, err := Find([]byte("only progress\n")); err != ErrNoResult {
		t.Errorf("Find without a result line: %v", err)
	}
}
