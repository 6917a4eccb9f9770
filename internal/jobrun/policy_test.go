package jobrun

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// A Job-mode HTTP fetch is held to the manager's policy: by default loopback is refused (as in
// the manager), and an address the manager's --http-source-allow-cidrs allows is fetched.
func TestHTTPSourceFollowsTheManagersPolicy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("customer_id,date,amount\n1,2026-01-01,10\n1,2026-02-01,20\n"))
	}))
	defer srv.Close()
	spec := &Spec{Spec: v1alpha1.LTVComputationSpec{Source: v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{URL: srv.URL + "/orders.csv"}}}}
	cols := summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}
	end := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

	for _, c := range []struct {
		name, env string
		refused   bool
	}{
		{"no policy given: the default", "", true},
		{"the manager allows loopback", `{"AllowCIDRs":["127.0.0.1/32"]}`, false},
		{"allowed but denied", `{"AllowCIDRs":["127.0.0.1/32"],"DenyCIDRs":["127.0.0.0/8"]}`, true},
	} {
		src, err := source(spec, func(k string) string {
			if k == EnvHTTPSourcePolicy {
				return c.env
			}
			return ""
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		_, err = src.Summarize(context.Background(), cols, summary.Options{CalibrationEnd: end})
		var pe *pipeline.Error
		refused := errors.As(err, &pe) && pe.Reason == pipeline.ReasonSourceRefusedByPolicy
		if refused != c.refused || (!c.refused && err != nil) {
			t.Errorf("%s: err = %v, want refused=%v", c.name, err, c.refused)
		}
	}

	if _, err := source(spec, func(k string) string {
		if k == EnvHTTPSourcePolicy {
			return `{"AllowCIDRs":["not a cidr"]}`
		}
		return ""
	}); err == nil {
		t.Error("an invalid policy was accepted")
	}
}
