package controllers_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

// flakyShop serves the shop's CSV over HTTP on loopback, answering 503 until healed: a
// deterministic transient failure (Ready=False, Reconciling=True ProgressingWithRetry).
type flakyShop struct {
	srv     *httptest.Server
	healthy atomic.Bool
}

func newFlakyShop(t *testing.T) *flakyShop {
	t.Helper()
	f := &flakyShop{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.healthy.Load() {
			http.Error(w, "warehouse export not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(shopCSV))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// use points the computation's source at the server.
func (f *flakyShop) use(s *v1alpha1.LTVComputationSpec) {
	s.Source.ConfigMap = nil
	s.Source.HTTP = &v1alpha1.HTTPSource{URL: f.srv.URL + "/orders.csv"}
}

func (f *flakyShop) heal() { f.healthy.Store(true) }
