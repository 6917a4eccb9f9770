// Package netpolicy decides which network addresses the operator's http sources may reach.
//
// Anyone who may create an LTVComputation can make the operator GET a URL of their choice, from
// the operator's Pod. The policy refuses, by default, the addresses a Pod reaches that a tenant
// must not: loopback (the Pod itself), link-local (169.254.0.0/16 and fe80::/10, where cloud
// metadata services answer: 169.254.169.254, 169.254.170.2), the IPv6 and other cloud metadata
// addresses (fd00:ec2::254, 100.100.100.200), the unspecified addresses and the API server's own
// addresses (passed in at startup). An operator-level allow list (CIDRs, host name patterns)
// lifts the defaults; a deny list adds to them and wins over everything.
//
// The check runs on the address actually dialled (a net.Dialer Control hook), after name
// resolution and for every redirect hop, so neither DNS names that resolve to a refused address
// (rebinding included), IPv4-mapped IPv6, nor decimal or octal spellings of an address get around
// it: whatever the spelling, the connection is refused before it is made.
package netpolicy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// Config is a policy's lists, as the manager's flags give them.
type Config struct {
	// AllowCIDRs are allowed even where the defaults refuse (not over DenyCIDRs).
	AllowCIDRs []string
	// AllowHosts are host name patterns whose addresses are allowed (not over DenyCIDRs): an
	// exact name ("minio.storage.svc.cluster.local") or "*." and a suffix ("*.corp.example").
	AllowHosts []string
	// DenyCIDRs are refused whatever else allows them.
	DenyCIDRs []string
	// APIServer are the API server's addresses (its Service IP, its endpoints): refused unless
	// allowed.
	APIServer []netip.Addr
}

// Policy is a checked Config. The zero value is not valid: use New.
type Policy struct {
	allow    []netip.Prefix
	deny     []netip.Prefix
	hosts    []string
	builtins []rule
}

type rule struct {
	prefix netip.Prefix
	what   string
}

// Defaults are the prefixes refused unless allowed, with what they are.
var defaults = []struct{ cidr, what string }{
	{"127.0.0.0/8", "loopback"},
	{"::1/128", "loopback"},
	{"169.254.0.0/16", "link-local (cloud metadata)"},
	{"fe80::/10", "link-local"},
	{"fd00:ec2::254/128", "cloud metadata"},
	{"100.100.100.200/32", "cloud metadata"},
	{"0.0.0.0/8", "unspecified"},
	{"::/128", "unspecified"},
}

// New checks a Config.
func New(cfg Config) (*Policy, error) {
	p := &Policy{}
	parse := func(flag string, list []string) ([]netip.Prefix, error) {
		var out []netip.Prefix
		for _, s := range list {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				a, aerr := netip.ParseAddr(s)
				if aerr != nil {
					return nil, fmt.Errorf("%s: %q is not a CIDR or an IP address", flag, s)
				}
				pfx = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			}
			out = append(out, pfx.Masked())
		}
		return out, nil
	}
	var err error
	if p.allow, err = parse("--http-source-allow-cidrs", cfg.AllowCIDRs); err != nil {
		return nil, err
	}
	if p.deny, err = parse("--http-source-deny-cidrs", cfg.DenyCIDRs); err != nil {
		return nil, err
	}
	for _, h := range cfg.AllowHosts {
		h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
		if h == "" {
			continue
		}
		if strings.Contains(h[min(len(h), 1):], "*") || h == "*" || h == "*." {
			return nil, fmt.Errorf("--http-source-allow-hosts: %q: a pattern is a host name or *. and a domain", h)
		}
		p.hosts = append(p.hosts, h)
	}
	for _, d := range defaults {
		p.builtins = append(p.builtins, rule{netip.MustParsePrefix(d.cidr), d.what})
	}
	for _, a := range cfg.APIServer {
		a = a.Unmap()
		p.builtins = append(p.builtins, rule{netip.PrefixFrom(a, a.BitLen()), "the Kubernetes API server"})
	}
	return p, nil
}

// RefusedError is a connection the policy refused.
type RefusedError struct {
	Host string     // the host name dialled (as in the URL)
	Addr netip.Addr // the address it resolved to
	Why  string     // the rule: "loopback", "denied by --http-source-deny-cidrs", ...
}

func (e *RefusedError) Error() string {
	host := ""
	if e.Host != "" && e.Host != e.Addr.String() {
		host = fmt.Sprintf(" (%s)", e.Host)
	}
	return fmt.Sprintf("address %s%s is refused by the operator's http source policy: %s; an administrator may allow it with --http-source-allow-cidrs or --http-source-allow-hosts", e.Addr, host, e.Why)
}

// AllowedHost reports whether a host name matches an allow pattern.
func (p *Policy) AllowedHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range p.hosts {
		if suffix, ok := strings.CutPrefix(h, "*"); ok {
			if strings.HasSuffix(host, suffix) && len(host) > len(suffix) {
				return true
			}
		} else if host == h {
			return true
		}
	}
	return false
}

// Check decides about one address that host (the name dialled, possibly an IP literal)
// resolved to.
func (p *Policy) Check(host string, a netip.Addr) error {
	a = a.Unmap()
	for _, d := range p.deny {
		if d.Contains(a) {
			return &RefusedError{Host: host, Addr: a, Why: "denied by --http-source-deny-cidrs " + d.String()}
		}
	}
	if p.AllowedHost(host) {
		return nil
	}
	for _, al := range p.allow {
		if al.Contains(a) {
			return nil
		}
	}
	for _, r := range p.builtins {
		if r.prefix.Contains(a) {
			return &RefusedError{Host: host, Addr: a, Why: r.what}
		}
	}
	// IPv4 embedded in NAT64 (64:ff9b::/96) reaches the IPv4 address through a gateway
	if nat64.Contains(a) {
		b := a.As16()
		return p.Check(host, netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	return nil
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// DialContext returns a dial function for an http.Transport that checks every address it
// connects to. base is copied (its Control is replaced).
func (p *Policy) DialContext(base *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		d := *base
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &RefusedError{Host: host, Why: fmt.Sprintf("the address %q cannot be checked", address)}
			}
			return p.Check(host, ap.Addr())
		}
		return d.DialContext(ctx, network, addr)
	}
}

// IsRefused reports whether err is (or wraps) a refusal of the policy.
func IsRefused(err error) (*RefusedError, bool) {
	var re *RefusedError
	ok := errors.As(err, &re)
	return re, ok
}
