// Package httpsource is the http source of an LTVComputation: a transaction log in CSV (plain or
// gzip-compressed) or Parquet, fetched with one GET and summarised as it streams in.
//
// # Request
//
// One GET of the URL, bounded by Config.Timeout (the whole download: connecting, the answer and
// the body). Headers from Config.Headers (a Secret's keys and values) are sent to the URL's own
// origin only: a redirect to another scheme, host or port drops them. Redirects are followed up
// to 5 times, each to an http or https URL; a redirect from https to http is refused. The request
// asks for "Accept-Encoding: gzip" itself, so the body arrives as it was sent: Config.MaxBytes
// bounds the bytes on the wire, Config.MaxDecompressedBytes the data once gzip is removed (a
// small stream may expand a thousandfold), and Summary.Digest is the sha256 of the bytes on the wire.
//
// # Formats
//
// CSV: a Content-Encoding of gzip is decoded, then a body that starts with the gzip magic bytes
// (a .csv.gz file) is decompressed. The magic bytes decide, not Content-Type: a .csv.gz served
// with "Content-Encoding: gzip" is a CSV once the encoding is removed, whatever its Content-Type
// says. The CSV is then read by summary.ReadCSV as it arrives, in O(customers) memory. The gzip
// stream is checked to its end: a stream cut short fails the run instead of silently summarising
// part of the data.
//
// Parquet needs random access, so the body (decoded like CSV when gzip) is written to a temporary
// file in os.TempDir (TMPDIR; bounded by MaxBytes), deleted when the summary is done, and read row
// group by row group; see parquet.go for the column mapping.
//
// # Errors
//
// Errors are *pipeline.Error with the reason users see:
//
//   - SourceUnavailable, transient (retried with backoff): network errors, timeouts, a body that
//     ends early, HTTP 5xx, 408 and 429.
//   - AccessDenied, permanent: HTTP 401, 403 and 407; a redirect from https to http.
//   - SourceNotFound, permanent: HTTP 404 and 410, other answers that are not 200 (including
//     redirects that cannot be followed, more than 5 redirects), and certificate errors (which
//     need a fix of the server or of the URL).
//   - InvalidData, permanent: a body larger than MaxBytes, decompressed data larger than
//     MaxDecompressedBytes, broken or truncated gzip, an unsupported
//     Content-Encoding, a body that is not in the declared format, a wrong Parquet column type.
//   - InvalidSpec, permanent: a URL that cannot be requested, an invalid header name or value.
//   - SourceRefusedByPolicy, permanent: Config.Policy refused an address the URL or one of its
//     redirects leads to.
//
// "Permanent" means a retry of the same spec and Secret would fail the same way; scheduled and
// requested runs still try again, so a file that appears later is picked up. Missing columns are
// *summary.ColumnError (MissingColumn), malformed rows *summary.RowError (InvalidData), as for the
// ConfigMap source.
//
// Messages name the URL without its user information, query or fragment (they may carry tokens).
// They never quote an error answer's body or reason phrase, and name the columns of a CSV header
// only when they look like column names: whatever a server sends must not reach status, which
// anyone who may read the computation reads. Header values never appear in errors.
package httpsource

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/net/http/httpguts"

	"github.com/ltv-operator/ltv-operator/internal/netpolicy"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// Format is the file format of the body.
type Format string

// Formats, as in the LTVComputation API.
const (
	FormatCSV     Format = "CSV"
	FormatParquet Format = "Parquet"
)

// Defaults, as in the LTVComputation API.
const (
	DefaultMaxBytes = 1 << 30
	DefaultTimeout  = 300 * time.Second
	// MaxRedirects is how many redirects are followed.
	MaxRedirects = 5
)

// Config is one http source.
type Config struct {
	// URL is an http or https URL.
	URL string
	// Format is CSV (the default) or Parquet.
	Format Format
	// Headers are sent with the request (to the URL's origin only). Their values are secret.
	Headers map[string]string
	// MaxBytes bounds the body on the wire; 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxDecompressedBytes bounds the data after gzip decompression; 0 means MaxBytes.
	MaxDecompressedBytes int64
	// Timeout bounds the download; 0 means DefaultTimeout.
	Timeout time.Duration
	// Transport sends the request; nil means a shared transport like http.DefaultTransport's
	// (one per Policy).
	Transport http.RoundTripper
	// Policy, when not nil, decides which addresses the request (and every redirect) may
	// connect to, checked on the address dialled; a refusal is a permanent
	// SourceRefusedByPolicy error. It applies to the shared transport only (not to Transport).
	Policy *netpolicy.Policy
	// TempDir holds Parquet downloads; empty means os.TempDir().
	TempDir string
}

// Source is a pipeline.Source reading one URL. It can be used for several runs.
type Source struct {
	url      *url.URL
	shown    string // the URL as errors show it
	format   Format
	headers  http.Header
	host     string // a Host header from Headers, if any
	maxBytes int64
	maxPlain int64 // bound of the decompressed data
	timeout  time.Duration
	tempDir  string
	client   *http.Client
}

var _ pipeline.Source = (*Source)(nil)

var sharedTransport = sync.OnceValue(func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxResponseHeaderBytes = 1 << 20
	return t
})

var policyTransports sync.Map // *netpolicy.Policy -> http.RoundTripper

// policyTransport is the shared transport with the policy's dial check (one per policy, so that
// connections are pooled).
func policyTransport(p *netpolicy.Policy) http.RoundTripper {
	if t, ok := policyTransports.Load(p); ok {
		return t.(http.RoundTripper)
	}
	t := sharedTransport().(*http.Transport).Clone()
	t.DialContext = p.DialContext(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second})
	got, _ := policyTransports.LoadOrStore(p, http.RoundTripper(t))
	return got.(http.RoundTripper)
}

// New checks the configuration. Its errors are permanent *pipeline.Error (InvalidSpec).
func New(cfg Config) (*Source, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, which may carry a token
		}
		return nil, invalidSpec("spec.source.http.url is not a valid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, invalidSpec("spec.source.http.url must be an http or https URL, not %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, invalidSpec("spec.source.http.url %s has no host", Redact(u))
	}
	s := &Source{
		url:      u,
		shown:    Redact(u),
		format:   cfg.Format,
		headers:  http.Header{},
		maxBytes: cfg.MaxBytes,
		timeout:  cfg.Timeout,
		tempDir:  cfg.TempDir,
	}
	switch s.format {
	case "":
		s.format = FormatCSV
	case FormatCSV, FormatParquet:
	default:
		return nil, invalidSpec("spec.source.http.format %q is not supported (CSV or Parquet)", cfg.Format)
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxBytes
	}
	s.maxPlain = cfg.MaxDecompressedBytes
	if s.maxPlain <= 0 {
		s.maxPlain = s.maxBytes
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	names := make([]string, 0, len(cfg.Headers))
	for name := range cfg.Headers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		// A value from a file (kubectl create secret --from-file) usually ends in a line feed;
		// surrounding white space is not part of a header value anyway.
		value := strings.Trim(cfg.Headers[name], " \t\r\n")
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, invalidSpec("header name %q (a key of the headers Secret) is not a valid HTTP header name", name)
		}
		if !httpguts.ValidHeaderFieldValue(value) {
			return nil, invalidSpec("the value of header %q (in the headers Secret) is not a valid HTTP header value (it contains a control character)", name)
		}
		if strings.EqualFold(name, "Host") {
			s.host = value
		} else {
			s.headers.Add(name, value)
		}
	}
	transport := cfg.Transport
	if transport == nil {
		transport = sharedTransport()
		if cfg.Policy != nil {
			transport = policyTransport(cfg.Policy)
		}
	}
	s.client = &http.Client{Transport: transport, CheckRedirect: s.checkRedirect}
	return s, nil
}

// Redact returns the URL as messages may show it: without user information, query or fragment.
func Redact(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := r.String()
	if u.RawQuery != "" || u.ForceQuery {
		s += "?<query redacted>"
	}
	return s
}

// Error helpers.

func invalidSpec(format string, args ...any) *pipeline.Error {
	return &pipeline.Error{Reason: pipeline.ReasonInvalidSpec, Permanent: true, Err: fmt.Errorf(format, args...)}
}

func (s *Source) fail(reason string, permanent bool, format string, args ...any) *pipeline.Error {
	return &pipeline.Error{Reason: reason, Permanent: permanent, Err: fmt.Errorf("GET %s: %s", s.shown, fmt.Sprintf(format, args...))}
}

func (s *Source) invalidData(format string, args ...any) *pipeline.Error {
	return s.fail(pipeline.ReasonInvalidData, true, format, args...)
}

func (s *Source) unavailable(format string, args ...any) *pipeline.Error {
	return s.fail(pipeline.ReasonSourceUnavailable, false, format, args...)
}

// redirectError is a redirect that is not followed.
type redirectError struct{ err *pipeline.Error }

func (e *redirectError) Error() string { return e.err.Error() }

func (s *Source) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return &redirectError{s.fail(pipeline.ReasonSourceNotFound, true, "stopped after %d redirects (the last to %s)", MaxRedirects, Redact(req.URL))}
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return &redirectError{s.fail(pipeline.ReasonSourceNotFound, true, "redirected to a %q URL; only http and https are followed", req.URL.Scheme)}
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme == "http" {
		return &redirectError{s.fail(pipeline.ReasonAccessDenied, true, "redirected from https to http (%s); refused", Redact(req.URL))}
	}
	// net/http copies the first request's headers to the redirect, dropping only Authorization,
	// Cookie and the like for other domains: the Secret's headers go to the URL's origin only.
	if !sameOrigin(req.URL, via[0].URL) {
		for name := range s.headers {
			req.Header.Del(name)
		}
		req.Host = ""
	}
	return nil
}

func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(a.Host, b.Host)
}

// Summarize downloads the file and summarises it.
func (s *Source) Summarize(ctx context.Context, cols summary.Columns, opts summary.Options) (*summary.Summary, error) {
	dctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.get(ctx, dctx)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body := &bodyReader{s: s, r: resp.Body, h: sha256.New(), max: s.maxBytes, ctx: ctx, dctx: dctx}
	var sum *summary.Summary
	switch s.format {
	case FormatParquet:
		sum, err = s.summarizeParquet(ctx, body, resp, cols, opts)
	default:
		sum, err = s.summarizeCSV(body, resp, cols, opts)
	}
	if err != nil {
		// The body's own error is the cause of whatever the reader made of it.
		if body.err != nil {
			return nil, body.err
		}
		var pe *pipeline.Error
		if errors.As(err, &pe) { // ours, through the CSV reader's wrapping
			return nil, pe
		}
		return nil, err
	}
	sum.Digest = "sha256:" + hex.EncodeToString(body.h.Sum(nil))
	return sum, nil
}

// get sends the request and checks the answer's status and size.
func (s *Source) get(ctx, dctx context.Context) (*http.Response, error) {
	req, err := http.NewRequestWithContext(dctx, http.MethodGet, s.url.String(), nil)
	if err != nil {
		return nil, invalidSpec("spec.source.http.url %s cannot be requested", s.shown)
	}
	req.Header = s.headers.Clone()
	if s.host != "" {
		req.Host = s.host
	}
	req.Header.Set("Accept-Encoding", "gzip")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "ltv-operator")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, s.requestError(ctx, dctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, s.statusError(resp)
	}
	if resp.ContentLength > s.maxBytes {
		resp.Body.Close()
		return nil, s.tooLarge(fmt.Sprintf(" (Content-Length is %d)", resp.ContentLength))
	}
	return resp, nil
}

func (s *Source) tooLarge(detail string) *pipeline.Error {
	return s.invalidData("response exceeds maxBytes (%d bytes)%s; raise spec.source.http.maxBytes", s.maxBytes, detail)
}

// requestError classifies an error of the request (no answer).
func (s *Source) requestError(ctx, dctx context.Context, err error) error {
	var re *redirectError
	if errors.As(err, &re) {
		return re.err
	}
	if e := s.contextError(ctx, dctx); e != nil {
		return e
	}
	if re, ok := netpolicy.IsRefused(err); ok {
		return s.fail(pipeline.ReasonSourceRefusedByPolicy, true, "%v", re)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // without the URL
	}
	var (
		uae x509.UnknownAuthorityError
		hne x509.HostnameError
		cie x509.CertificateInvalidError
		cve *tls.CertificateVerificationError
	)
	if errors.As(err, &uae) || errors.As(err, &hne) || errors.As(err, &cie) || errors.As(err, &cve) {
		return s.fail(pipeline.ReasonSourceNotFound, true, "TLS certificate: %v", err)
	}
	return s.unavailable("%v", err)
}

// contextError reports the download's timeout or the run's cancellation, if either happened.
func (s *Source) contextError(ctx, dctx context.Context) *pipeline.Error {
	if err := ctx.Err(); err != nil {
		return s.unavailable("%v", context.Cause(ctx))
	}
	if dctx.Err() != nil {
		return s.unavailable("timed out after %s (spec.source.http.timeoutSeconds)", s.timeout)
	}
	return nil
}

// statusError describes an answer other than 200 OK.
func (s *Source) statusError(resp *http.Response) error {
	reason, permanent := pipeline.ReasonSourceNotFound, true
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusProxyAuthRequired:
		reason = pipeline.ReasonAccessDenied
	case code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		reason, permanent = pipeline.ReasonSourceUnavailable, false
	}
	// Neither the body nor the reason phrase is quoted: both are whatever the server sends, and
	// status is readable by anyone who may read the computation (an http source pointed at an
	// internal service must not become a way to read it).
	msg := fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc, err := resp.Location(); err == nil {
			msg += " to " + Redact(loc) + " (not followed)"
		}
	}
	msg += " (the answer's body is not quoted)"
	return s.fail(reason, permanent, "%s", msg)
}

// bodyReader reads the body: it counts and hashes the bytes, enforces MaxBytes and turns read
// errors into *pipeline.Error. Its first error is kept: readers stacked on it (gzip, the CSV
// reader) may report it in their own words, and Summarize reports this one.
type bodyReader struct {
	s    *Source
	r    io.Reader
	h    hash.Hash
	n    int64
	max  int64
	eof  bool
	err  *pipeline.Error
	ctx  context.Context // the run
	dctx context.Context // the download
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.eof {
		return 0, io.EOF
	}
	if rest := b.max - b.n + 1; int64(len(p)) > rest {
		p = p[:rest] // one byte more than allowed tells an exact fit from an excess
	}
	n, err := b.r.Read(p)
	if b.n+int64(n) > b.max {
		n = int(b.max - b.n)
		b.h.Write(p[:n])
		b.n = b.max
		b.err = b.s.tooLarge("")
		return n, b.err
	}
	b.n += int64(n)
	b.h.Write(p[:n])
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil:
		// io.ErrUnexpectedEOF here is a connection closed before Content-Length: transient.
		if e := b.s.contextError(b.ctx, b.dctx); e != nil {
			b.err = e
		} else {
			b.err = b.s.unavailable("reading the body after %d bytes: %v", b.n, err)
		}
		return n, b.err
	}
	return n, err
}

// decode removes the Content-Encoding and then any gzip layers the body starts with (a .gz
// file). The returned readers check each gzip stream to its end.
func (s *Source) decode(body *bodyReader, resp *http.Response) (io.Reader, error) {
	br := bufio.NewReaderSize(body, 64<<10)
	var r io.Reader = br
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := s.gunzip(br, body, "Content-Encoding gzip")
		if err != nil {
			return nil, err
		}
		r = zr
	default:
		return nil, s.invalidData("unsupported Content-Encoding %q (gzip is asked for and understood)", enc)
	}
	for layer := 0; layer < 2; layer++ {
		pr, ok := r.(*bufio.Reader)
		if !ok {
			pr = bufio.NewReaderSize(r, 64<<10)
			r = pr
		}
		magic, _ := pr.Peek(2)
		if body.err != nil {
			return nil, body.err
		}
		if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
			break
		}
		zr, err := s.gunzip(pr, body, "gzip file")
		if err != nil {
			return nil, err
		}
		r = zr
	}
	return r, nil
}

func (s *Source) gunzip(r io.Reader, body *bodyReader, what string) (io.Reader, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		if body.err != nil {
			return nil, body.err
		}
		return nil, s.invalidData("%s: %v", what, err)
	}
	return &gzipReader{s: s, zr: zr, body: body, what: what}, nil
}

// gzipReader reports a broken or truncated gzip stream as invalid data, and a body that failed
// as the body's error.
type gzipReader struct {
	s    *Source
	zr   *gzip.Reader
	body *bodyReader
	what string
	out  int64
	err  error
}

func (g *gzipReader) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if rest := g.s.maxPlain - g.out + 1; int64(len(p)) > rest {
		p = p[:rest] // one byte more than allowed tells an exact fit from an excess
	}
	n, err := g.zr.Read(p)
	g.out += int64(n)
	if g.out > g.s.maxPlain {
		n -= int(g.out - g.s.maxPlain)
		g.out = g.s.maxPlain
		g.err = g.s.invalidData("%s: the decompressed data exceeds maxDecompressedBytes (%d bytes) after %d bytes of the body; raise spec.source.http.maxDecompressedBytes", g.what, g.s.maxPlain, g.body.n)
		return n, g.err
	}
	switch {
	case err == nil || err == io.EOF:
		return n, err
	case g.body.err != nil:
		g.err = g.body.err
	case errors.Is(err, io.ErrUnexpectedEOF):
		g.err = g.s.invalidData("%s is truncated: the body ended after %d bytes, inside the compressed stream (%d bytes decompressed)", g.what, g.body.n, g.out)
	default:
		g.err = g.s.invalidData("%s: %v (after %d bytes decompressed)", g.what, err, g.out)
	}
	return n, g.err
}

// summarizeCSV streams the CSV through summary.ReadCSV.
func (s *Source) summarizeCSV(body *bodyReader, resp *http.Response, cols summary.Columns, opts summary.Options) (*summary.Summary, error) {
	r, err := s.decode(body, resp)
	if err != nil {
		return nil, err
	}
	if pr, ok := r.(*bufio.Reader); ok {
		if magic, _ := pr.Peek(4); string(magic) == "PAR1" {
			return nil, s.invalidData("the body is a Parquet file, but spec.source.http.format is CSV")
		}
	}
	sum, err := summary.ReadCSV(r, cols, opts)
	return sum, quietColumnError(err)
}

// quietColumnError keeps a remote file's first line out of a column error unless it looks like
// a CSV header: an http source pointed at an internal service would otherwise echo the first
// line of its answer into status.
func quietColumnError(err error) error {
	var ce *summary.ColumnError
	if !errors.As(err, &ce) {
		return err
	}
	switch {
	case ce.Header != nil && !plausibleHeader(ce.Header):
		listed := summary.HeaderList(ce.Header)
		return &summary.ColumnError{Column: ce.Column, Header: ce.Header,
			Reason: strings.Replace(ce.Reason, "header "+listed, fmt.Sprintf("the first line (%d fields, not shown: it does not look like a CSV header)", len(ce.Header)), 1)}
	case ce.Header == nil && strings.HasPrefix(ce.Reason, "malformed header"):
		return &summary.ColumnError{Column: ce.Column, Reason: "malformed header: the first line is not a valid CSV record (not shown)"}
	}
	return err
}

// plausibleHeader reports whether every field looks like a column name: short, printable, no
// markup.
func plausibleHeader(h []string) bool {
	for _, name := range h {
		if len(name) > 64 {
			return false
		}
		for _, r := range name {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-. ()/#%", r)) {
				return false
			}
		}
	}
	return true
}

// summarizeParquet writes the body to a temporary file and reads it.
func (s *Source) summarizeParquet(ctx context.Context, body *bodyReader, resp *http.Response, cols summary.Columns, opts summary.Options) (*summary.Summary, error) {
	r, err := s.decode(body, resp)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(s.tempDir, "ltv-http-*.parquet")
	if err != nil {
		return nil, s.unavailable("the Parquet file needs a temporary file: %v", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	// A decompressed file is bounded too: the disk is not unlimited.
	n, err := io.Copy(f, io.LimitReader(r, s.maxPlain+1))
	if err != nil {
		if body.err != nil {
			return nil, body.err
		}
		var pe *pipeline.Error
		if errors.As(err, &pe) {
			return nil, pe
		}
		return nil, s.unavailable("writing the Parquet file to %s: %v", os.TempDir(), err)
	}
	if n > s.maxPlain {
		return nil, s.invalidData("the decompressed Parquet file exceeds maxDecompressedBytes (%d bytes); raise spec.source.http.maxDecompressedBytes", s.maxPlain)
	}
	sum, err := readParquet(ctx, f, n, cols, opts)
	if err != nil {
		if unreadable(ctx, err) {
			return nil, s.invalidData("%v", err)
		}
		return nil, err
	}
	return sum, nil
}

// unreadable reports whether err is a file that parquet-go cannot read, rather than a mapping,
// row, cancellation or pipeline error.
func unreadable(ctx context.Context, err error) bool {
	var ce *summary.ColumnError
	var pe *pipeline.Error
	return !errors.As(err, &pe) && !errors.As(err, &ce) && !errors.Is(err, summary.ErrNoData) && !isRowError(err) && ctx.Err() == nil
}

// SummarizeParquet summarises a local Parquet file of the given size with the column mapping of
// the http source (see parquet.go). Summary.Digest is left empty for the caller. Errors are as
// for the http source; a file parquet-go cannot read is InvalidData naming name.
func SummarizeParquet(ctx context.Context, name string, r io.ReaderAt, size int64, cols summary.Columns, opts summary.Options) (*summary.Summary, error) {
	sum, err := readParquet(ctx, r, size, cols, opts)
	if err != nil {
		if unreadable(ctx, err) {
			return nil, &pipeline.Error{Reason: pipeline.ReasonInvalidData, Permanent: true, Err: fmt.Errorf("%s: %v", name, err)}
		}
		return nil, err
	}
	return sum, nil
}

func isRowError(err error) bool {
	var re *summary.RowError
	return errors.As(err, &re)
}
