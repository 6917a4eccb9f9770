package httpsource

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/netpolicy"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
)

// countingServer serves the CDNOW CSV on addr and counts its requests.
func countingServer(t *testing.T, addr string, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	if h == nil {
		h = serve(csvOf(cdnow(t)[:50]))
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	}))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("listening on %s: %v", addr, err)
	}
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

func policy(t *testing.T, cfg netpolicy.Config) *netpolicy.Policy {
	t.Helper()
	p, err := netpolicy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func refused(t *testing.T, err error, mention ...string) {
	t.Helper()
	pipelineError(t, err, pipeline.ReasonSourceRefusedByPolicy, true)
	mustContain(t, err, append([]string{"refused by the operator's http source policy"}, mention...)...)
}

// Every spelling of a refused address is refused on the address dialled, before a connection.
func TestPolicyRefusesLoopbackWhateverItsSpelling(t *testing.T) {
	srv, n := countingServer(t, "127.0.0.1:0", nil)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	p := policy(t, netpolicy.Config{})
	for _, host := range []string{
		"127.0.0.1",
		"localhost",          // a DNS name resolving to loopback
		"[::ffff:127.0.0.1]", // IPv4-mapped IPv6
		"[::ffff:7f00:1]",
		"2130706433", // decimal
		"0177.0.0.1", // octal
		"0x7f.0.0.1", // hexadecimal
		"127.1",      // short form
	} {
		t.Run(host, func(t *testing.T) {
			_, err := summarize(t, Config{URL: "http://" + host + ":" + strconv.Itoa(port) + "/x.csv", Policy: p})
			if err == nil {
				t.Fatal("fetched")
			}
			if pe := pipeline.Classify(err); pe.Reason == pipeline.ReasonSourceRefusedByPolicy && pe.Permanent {
				mustContain(t, err, "loopback")
			} else {
				// spellings the resolver does not read as an address fail to resolve; either
				// way nothing is fetched
				t.Logf("not resolved: %v", err)
			}
		})
	}
	if got := n.Load(); got != 0 {
		t.Errorf("the loopback server got %d requests", got)
	}
	// allowed by CIDR and by host pattern; the deny list wins over both
	if _, err := summarize(t, Config{URL: srv.URL + "/x.csv", Policy: policy(t, netpolicy.Config{AllowCIDRs: []string{"127.0.0.0/8"}})}); err != nil {
		t.Errorf("allowed CIDR: %v", err)
	}
	if _, err := summarize(t, Config{URL: "http://localhost:" + strconv.Itoa(port) + "/x.csv", Policy: policy(t, netpolicy.Config{AllowHosts: []string{"localhost"}})}); err != nil {
		t.Errorf("allowed host: %v", err)
	}
	_, err := summarize(t, Config{URL: srv.URL + "/x.csv", Policy: policy(t, netpolicy.Config{AllowCIDRs: []string{"127.0.0.0/8"}, AllowHosts: []string{"127.0.0.1"}, DenyCIDRs: []string{"127.0.0.1/32"}})})
	refused(t, err, "--http-source-deny-cidrs")
}

// A redirect from an allowed server to a refused address (loopback, cloud metadata, the API
// server) is refused on the redirect's dial.
func TestPolicyRefusesRedirectsToRefusedAddresses(t *testing.T) {
	target, n := countingServer(t, "127.0.0.1:0", nil)
	apiServer := netip.MustParseAddr("127.0.0.3")
	api, apiN := countingServer(t, "127.0.0.3:0", nil)
	for _, to := range []string{target.URL + "/x.csv", "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/", api.URL + "/api"} {
		t.Run(to, func(t *testing.T) {
			from, _ := countingServer(t, "127.0.0.2:0", http.RedirectHandler(to, http.StatusFound))
			p := policy(t, netpolicy.Config{AllowCIDRs: []string{"127.0.0.2/32"}, APIServer: []netip.Addr{apiServer}})
			_, err := summarize(t, Config{URL: from.URL + "/x.csv", Policy: p})
			refused(t, err)
		})
	}
	if n.Load() != 0 || apiN.Load() != 0 {
		t.Errorf("refused servers got %d and %d requests", n.Load(), apiN.Load())
	}
	// the API server is refused even where its range is otherwise open
	p := policy(t, netpolicy.Config{APIServer: []netip.Addr{netip.MustParseAddr("10.96.0.1")}})
	if err := p.Check("kubernetes.default.svc", netip.MustParseAddr("::ffff:10.96.0.1")); err == nil || !strings.Contains(err.Error(), "API server") {
		t.Errorf("API server: %v", err)
	}
	if err := p.Check("", netip.MustParseAddr("64:ff9b::a9fe:a9fe")); err == nil {
		t.Error("NAT64 of 169.254.169.254 allowed")
	}
	if err := p.Check("example.com", netip.MustParseAddr("93.184.216.34")); err != nil {
		t.Errorf("a public address: %v", err)
	}
}

// Headers from the Secret never follow a redirect to another origin, whatever their name; a
// port is part of the origin.
func TestHeadersDoNotFollowRedirectsToAnotherOrigin(t *testing.T) {
	var leaked atomic.Value
	other, _ := countingServer(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Clone())
		w.Write(csvOf(cdnow(t)[:50]))
	}))
	from, _ := countingServer(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cr3t" || r.Header.Get("X-Api-Key") != "k3y-s3cr3t" {
			http.Error(w, "no credentials", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, other.URL+"/x.csv", http.StatusFound)
	}))
	headers := map[string]string{"Authorization": "Bearer s3cr3t", "X-Api-Key": "k3y-s3cr3t", "Cookie": "session=s3cr3t"}
	if _, err := summarize(t, Config{URL: from.URL + "/x.csv", Headers: headers}); err != nil {
		t.Fatal(err)
	}
	h, _ := leaked.Load().(http.Header)
	if h == nil {
		t.Fatal("the other origin was not asked")
	}
	for name := range headers {
		if v := h.Get(name); v != "" {
			t.Errorf("header %s followed the redirect to another origin: %q", name, v)
		}
	}
}
