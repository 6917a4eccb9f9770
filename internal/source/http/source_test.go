package httpsource

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/ltv-operator/ltv-operator/internal/pipeline"
)

// serve answers every request with the body and headers.
func serve(body []byte, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Write(body)
	}
}

func TestCSVFormatsGiveTheSummaryOfReadCSV(t *testing.T) {
	data := csvOf(cdnow(t))
	want := reference(t, data)
	gz := gzipOf(data)
	mux := http.NewServeMux()
	mux.Handle("/tx.csv", serve(data, "Content-Type", "text/csv"))
	mux.Handle("/tx.csv.gz", serve(gz, "Content-Type", "application/gzip"))
	// A .csv.gz stored with Content-Encoding: gzip (object stores do this): one gzip layer on
	// the wire, the CSV once the encoding is removed.
	mux.Handle("/stored.csv.gz", serve(gz, "Content-Type", "application/gzip", "Content-Encoding", "gzip"))
	// A server compressing on the fly when the client accepts gzip.
	mux.HandleFunc("/dynamic.csv", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Write(data)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(data)
		zw.Close()
	})
	// A .csv.gz compressed again on the fly: two layers.
	mux.Handle("/double.csv.gz", serve(gzipOf(gz), "Content-Encoding", "gzip"))
	// Chunked (no Content-Length), in small writes.
	mux.HandleFunc("/chunked.csv", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(data); i += 1000 {
			w.Write(data[i:min(i+1000, len(data))])
			w.(http.Flusher).Flush()
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, path := range []string{"/tx.csv", "/tx.csv.gz", "/stored.csv.gz", "/dynamic.csv", "/double.csv.gz", "/chunked.csv"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			got, err := summarize(t, Config{URL: srv.URL + path, Format: FormatCSV})
			if err != nil {
				t.Fatal(err)
			}
			sameSummary(t, got, want)
			if len(got.Customers()) != 2357 {
				t.Errorf("%d customers, want 2357", len(got.Customers()))
			}
		})
	}

	// The digest is of the bytes on the wire.
	got, err := summarize(t, Config{URL: srv.URL + "/tx.csv.gz"})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(gz)
	if want := "sha256:" + hex.EncodeToString(sum[:]); got.Digest != want {
		t.Errorf("digest %s, want %s", got.Digest, want)
	}
}

// The Parquet layouts of the same transactions; each must summarise like the CSV.
func parquetLayouts() map[string][]pcol {
	str := func(s string) parquet.Value { return parquet.ByteArrayValue([]byte(s)) }
	channel := pcol{"channel", parquet.String(), func(x txn) parquet.Value { return str(x.channel) }}
	return map[string][]pcol{
		"int64 id, DATE, DOUBLE": {
			{"customer_id", parquet.Int(64), func(x txn) parquet.Value { return parquet.Int64Value(x.id) }},
			{"date", parquet.Date(), func(x txn) parquet.Value { return parquet.Int32Value(days(x.date)) }},
			{"amount", parquet.Leaf(parquet.DoubleType), func(x txn) parquet.Value {
				f, _ := strconv.ParseFloat(x.amount, 64)
				return parquet.DoubleValue(f)
			}},
			channel,
		},
		"optional string id, TIMESTAMP millis, DECIMAL int64": {
			{"customer_id", parquet.Optional(parquet.String()), func(x txn) parquet.Value { return str(strconv.FormatInt(x.id, 10)) }},
			{"date", parquet.Optional(parquet.Timestamp(parquet.Millisecond)), func(x txn) parquet.Value {
				return parquet.Int64Value(int64(days(x.date)) * 86400_000)
			}},
			{"amount", parquet.Optional(parquet.Decimal(2, 18, parquet.Int64Type)), func(x txn) parquet.Value { return parquet.Int64Value(cents(x.amount)) }},
			{"channel", parquet.Optional(parquet.Enum()), func(x txn) parquet.Value { return str(x.channel) }},
		},
		"int32 id, TIMESTAMP micros not UTC, DECIMAL int32": {
			{"customer_id", parquet.Int(32), func(x txn) parquet.Value { return parquet.Int32Value(int32(x.id)) }},
			{"date", parquet.TimestampAdjusted(parquet.Microsecond, false), func(x txn) parquet.Value {
				return parquet.Int64Value(int64(days(x.date))*86400_000_000 + 3600_000_000) // 01:00
			}},
			{"amount", parquet.Decimal(2, 9, parquet.Int32Type), func(x txn) parquet.Value { return parquet.Int32Value(int32(cents(x.amount))) }},
			channel,
		},
		"padded strings everywhere": {
			{"customer_id", parquet.String(), func(x txn) parquet.Value { return str(" " + strconv.FormatInt(x.id, 10) + "\t") }},
			{"date", parquet.String(), func(x txn) parquet.Value { return str(x.date + "T23:59:59.5+00:00 ") }},
			{"amount", parquet.String(), func(x txn) parquet.Value { return str(" " + x.amount) }},
			{"channel", parquet.String(), func(x txn) parquet.Value { return str(" " + x.channel + " ") }},
		},
		"INT96, TIMESTAMP nanos unused, DECIMAL fixed 16 bytes": {
			{"customer_id", parquet.Leaf(parquet.ByteArrayType), func(x txn) parquet.Value { return str(strconv.FormatInt(x.id, 10)) }},
			{"date", parquet.Leaf(parquet.Int96Type), func(x txn) parquet.Value {
				jd := uint32(int64(days(x.date)) + julianUnixEpoch)
				nanos := uint64(12 * time.Hour)
				return parquet.Int96Value([3]uint32{uint32(nanos), uint32(nanos >> 32), jd})
			}},
			{"other_time", parquet.Timestamp(parquet.Nanosecond), func(x txn) parquet.Value { return parquet.Int64Value(0) }},
			{"amount", parquet.Decimal(2, 30, parquet.FixedLenByteArrayType(16)), func(x txn) parquet.Value {
				var b [16]byte
				v := cents(x.amount)
				for i := 15; i >= 0; i-- {
					b[i] = byte(v)
					v >>= 8
				}
				return parquet.FixedLenByteArrayValue(b[:])
			}},
			channel,
		},
	}
}

func TestParquetGivesTheSummaryOfReadCSV(t *testing.T) {
	txns := cdnow(t)
	want := reference(t, csvOf(txns))
	files := map[string][]byte{}
	for name, cols := range parquetLayouts() {
		// Small pages and row groups: batches cross page and row group boundaries.
		files[name] = writeParquet(t, cols, txns, parquet.PageBufferSize(2048), parquet.MaxRowsPerRowGroup(1500))
	}
	files["one row group, default pages"] = writeParquet(t, parquetLayouts()["int64 id, DATE, DOUBLE"], txns)
	// Dictionary-encoded strings in version 1 data pages, compressed.
	dict := func(c pcol) pcol { c.node = parquet.Encoded(c.node, &parquet.RLEDictionary); return c }
	layout := parquetLayouts()["padded strings everywhere"]
	for i := range layout {
		layout[i] = dict(layout[i])
	}
	files["dictionary, v1 pages, snappy"] = writeParquet(t, layout, txns, parquet.DataPageVersion(1),
		parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(4096), parquet.MaxRowsPerRowGroup(2000))
	mux := http.NewServeMux()
	i := 0
	paths := map[string]string{}
	for name, data := range files {
		i++
		p := fmt.Sprintf("/f%d.parquet", i)
		paths[name] = p
		mux.Handle(p, serve(data, "Content-Type", "application/vnd.apache.parquet"))
	}
	// A Parquet file sent with Content-Encoding: gzip.
	mux.Handle("/gz.parquet", serve(gzipOf(files["one row group, default pages"]), "Content-Encoding", "gzip"))
	paths["Content-Encoding gzip"] = "/gz.parquet"
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for name, p := range paths {
		t.Run(name, func(t *testing.T) {
			got, err := summarize(t, Config{URL: srv.URL + p, Format: FormatParquet})
			if err != nil {
				t.Fatal(err)
			}
			sameSummary(t, got, want)
			if got.Digest == "" {
				t.Error("no digest")
			}
		})
	}
}

func TestHeadersFromTheSecretReachTheServer(t *testing.T) {
	data := csvOf(cdnow(t)[:50])
	var seen atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Clone())
		if r.Header.Get("Authorization") != "Bearer s3cr3t-t0ken" || r.Header.Get("X-Api-Key") != "k3y" {
			http.Error(w, "denied: got "+r.Header.Get("Authorization"), http.StatusUnauthorized)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	// Values from files end in a line feed: trimmed.
	headers := map[string]string{"Authorization": "Bearer s3cr3t-t0ken\n", "X-Api-Key": "k3y"}
	if _, err := summarize(t, Config{URL: srv.URL + "/x.csv", Headers: headers}); err != nil {
		t.Fatal(err)
	}
	h := seen.Load().(http.Header)
	if h.Get("User-Agent") != "ltv-operator" || h.Get("Accept-Encoding") != "gzip" {
		t.Errorf("headers %v", h)
	}

	// A wrong token: AccessDenied, and the body's echo of it is blanked out.
	_, err := summarize(t, Config{URL: srv.URL + "/x.csv", Headers: map[string]string{"Authorization": "Bearer wr0ng-t0ken-value", "X-Api-Key": "k3y"}})
	pipelineError(t, err, pipeline.ReasonAccessDenied, true)
	mustContain(t, err, "401")
	mustNotContain(t, err, "wr0ng-t0ken-value", "denied")
}

func TestInvalidHeadersAreRefusedWithoutTheirValue(t *testing.T) {
	for _, headers := range []map[string]string{
		{"Bad Name": "v"},
		{"X-Token": "line1\nline2-secret"},
	} {
		_, err := New(Config{URL: "http://example.invalid/x.csv", Headers: headers})
		pipelineError(t, err, pipeline.ReasonInvalidSpec, true)
		mustNotContain(t, err, "secret")
	}
}

func TestNon200Answers(t *testing.T) {
	long := strings.Repeat("x", 500)
	mux := http.NewServeMux()
	mux.HandleFunc("/missing.csv", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such object: missing.csv\n\t(bucket shop)", http.StatusNotFound)
	})
	mux.HandleFunc("/broken.csv", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream exploded "+long, http.StatusInternalServerError)
	})
	mux.HandleFunc("/busy.csv", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/slowdown.csv", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTooManyRequests) })
	mux.HandleFunc("/forbidden.csv", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	mux.HandleFunc("/empty.csv", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/binary.csv", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte("bad\x00\x01\xff\xferequest"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	// a server's own reason phrase (raw HTTP/1.1 status line)
	mux.HandleFunc("/phrase.csv", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 502 internal-secret from the metadata service\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		buf.Flush()
	})
	// Userinfo and the query may carry tokens: never in messages.
	base := strings.Replace(srv.URL, "http://", "http://user:pa55word@", 1)
	cases := []struct {
		path      string
		reason    string
		permanent bool
		contains  []string
	}{
		{"/missing.csv", pipeline.ReasonSourceNotFound, true, []string{"HTTP 404 Not Found", srv.URL + "/missing.csv?<query redacted>", "body is not quoted"}},
		{"/broken.csv", pipeline.ReasonSourceUnavailable, false, []string{"HTTP 500 Internal Server Error"}},
		{"/busy.csv", pipeline.ReasonSourceUnavailable, false, []string{"HTTP 503 Service Unavailable"}},
		{"/slowdown.csv", pipeline.ReasonSourceUnavailable, false, []string{"HTTP 429"}},
		{"/forbidden.csv", pipeline.ReasonAccessDenied, true, []string{"HTTP 403"}},
		{"/empty.csv", pipeline.ReasonSourceNotFound, true, []string{"HTTP 204"}},
		{"/binary.csv", pipeline.ReasonSourceNotFound, true, []string{"HTTP 400 Bad Request"}},
		{"/phrase.csv", pipeline.ReasonSourceUnavailable, false, []string{"HTTP 502 Bad Gateway"}},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			_, err := summarize(t, Config{URL: base + c.path + "?token=t0psecret#frag"})
			pipelineError(t, err, c.reason, c.permanent)
			mustContain(t, err, c.contains...)
			// neither the body nor a reason phrase of the server's: status is no way to read
			// an internal service
			mustNotContain(t, err, "t0psecret", "pa55word", "user", "frag", "no such object", "exploded", "xxxx", "request\n", "internal-secret")
		})
	}
}

func TestMaxBytes(t *testing.T) {
	data := csvOf(cdnow(t))
	gz := gzipOf(data)
	mux := http.NewServeMux()
	mux.Handle("/tx.csv", serve(data))
	mux.Handle("/tx.csv.gz", serve(gz))
	mux.HandleFunc("/chunked.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Write(data[:1000])
		w.(http.Flusher).Flush()
		w.Write(data[1000:])
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	n := int64(len(data))

	// Exactly the size passes.
	for _, p := range []string{"/tx.csv", "/chunked.csv"} {
		if _, err := summarize(t, Config{URL: srv.URL + p, MaxBytes: n}); err != nil {
			t.Errorf("%s with maxBytes = its size: %v", p, err)
		}
	}
	// One byte less fails, with Content-Length known or not.
	for _, p := range []string{"/tx.csv", "/chunked.csv"} {
		_, err := summarize(t, Config{URL: srv.URL + p, MaxBytes: n - 1})
		pipelineError(t, err, pipeline.ReasonInvalidData, true)
		mustContain(t, err, fmt.Sprintf("response exceeds maxBytes (%d bytes)", n-1))
	}
	// MaxBytes is on the wire, MaxDecompressedBytes after gzip: a gzip body within MaxBytes
	// passes when its CSV is within MaxDecompressedBytes, and fails one byte below.
	if _, err := summarize(t, Config{URL: srv.URL + "/tx.csv.gz", MaxBytes: int64(len(gz)), MaxDecompressedBytes: n}); err != nil {
		t.Error(err)
	}
	for _, c := range []Config{
		{URL: srv.URL + "/tx.csv.gz", MaxBytes: int64(len(gz)), MaxDecompressedBytes: n - 1},
		{URL: srv.URL + "/tx.csv.gz", MaxBytes: int64(len(gz))}, // unset: MaxBytes
	} {
		_, err := summarize(t, c)
		pipelineError(t, err, pipeline.ReasonInvalidData, true)
		mustContain(t, err, "the decompressed data exceeds maxDecompressedBytes")
		mustNotContain(t, err, "reading the input")
	}
	_, err := summarize(t, Config{URL: srv.URL + "/tx.csv.gz", MaxBytes: int64(len(gz)) / 2})
	pipelineError(t, err, pipeline.ReasonInvalidData, true)
	mustContain(t, err, "response exceeds maxBytes")
	// Parquet too.
	pq := writeParquet(t, parquetLayouts()["int64 id, DATE, DOUBLE"], cdnow(t))
	mux.Handle("/tx.parquet", serve(pq))
	_, err = summarize(t, Config{URL: srv.URL + "/tx.parquet", Format: FormatParquet, MaxBytes: int64(len(pq)) - 1})
	pipelineError(t, err, pipeline.ReasonInvalidData, true)
	mustContain(t, err, "response exceeds maxBytes")
}

func TestTimeout(t *testing.T) {
	data := csvOf(cdnow(t))
	release := make(chan struct{})
	defer close(release)
	mux := http.NewServeMux()
	mux.HandleFunc("/slow-headers.csv", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/slow-body.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, p := range []string{"/slow-headers.csv", "/slow-body.csv"} {
		for _, format := range []Format{FormatCSV, FormatParquet} {
			start := time.Now()
			_, err := summarize(t, Config{URL: srv.URL + p, Format: format, Timeout: 300 * time.Millisecond})
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("%s: took %s", p, d)
			}
			pipelineError(t, err, pipeline.ReasonSourceUnavailable, false)
			mustContain(t, err, "timed out after 300ms (spec.source.http.timeoutSeconds)")
		}
	}
	// The run's own cancellation is not reported as the timeout.
	src, _ := New(Config{URL: srv.URL + "/slow-body.csv"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := src.Summarize(ctx, testCols, testOpts)
	pipelineError(t, err, pipeline.ReasonSourceUnavailable, false)
	mustNotContain(t, err, "timeoutSeconds")
}

func TestRedirects(t *testing.T) {
	data := csvOf(cdnow(t)[:100])
	// Another origin, which must not receive the Secret's headers.
	var otherSaw atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherSaw.Store(r.Header.Clone())
		w.Write(data)
	}))
	defer other.Close()
	var sameSaw atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("/hop/", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
		if n == 0 {
			sameSaw.Store(r.Header.Clone())
			w.Write(data)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d?sig=s1gnature", n-1), http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/data.csv?X-Amz-Signature=s1gnature", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://files.example/x.csv", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	headers := map[string]string{"Authorization": "Bearer s3cr3t-t0ken", "X-Api-Key": "k3y-value"}

	// Five redirects are followed, with the headers on the same origin.
	if _, err := summarize(t, Config{URL: srv.URL + "/hop/5", Headers: headers}); err != nil {
		t.Fatal(err)
	}
	if h := sameSaw.Load().(http.Header); h.Get("X-Api-Key") != "k3y-value" || h.Get("Authorization") == "" {
		t.Errorf("same-origin redirect lost the headers: %v", h)
	}
	// Six are not.
	_, err := summarize(t, Config{URL: srv.URL + "/hop/6", Headers: headers})
	pipelineError(t, err, pipeline.ReasonSourceNotFound, true)
	mustContain(t, err, "stopped after 5 redirects", srv.URL+"/hop/6")
	mustNotContain(t, err, "s1gnature", "k3y-value", "s3cr3t")

	// Another origin gets none of the Secret's headers.
	if _, err := summarize(t, Config{URL: srv.URL + "/elsewhere", Headers: headers}); err != nil {
		t.Fatal(err)
	}
	if h := otherSaw.Load().(http.Header); h.Get("X-Api-Key") != "" || h.Get("Authorization") != "" {
		t.Errorf("cross-origin redirect sent the Secret's headers: %v", h)
	}
	_, err = summarize(t, Config{URL: srv.URL + "/ftp"})
	pipelineError(t, err, pipeline.ReasonSourceNotFound, true)
	mustContain(t, err, `redirected to a "ftp" URL`)

	// https to http is refused.
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+"/hop/0", http.StatusFound)
	}))
	defer tlsSrv.Close()
	src, err := New(Config{URL: tlsSrv.URL + "/x.csv", Headers: headers, Transport: tlsSrv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Summarize(context.Background(), testCols, testOpts)
	pipelineError(t, err, pipeline.ReasonAccessDenied, true)
	mustContain(t, err, "redirected from https to http")

	// An untrusted certificate is permanent.
	_, err = summarize(t, Config{URL: tlsSrv.URL + "/x.csv"})
	pipelineError(t, err, pipeline.ReasonSourceNotFound, true)
	mustContain(t, err, "certificate")
}

func TestTruncatedGzip(t *testing.T) {
	data := csvOf(cdnow(t))
	gz := gzipOf(data)
	mux := http.NewServeMux()
	// The file itself is cut: a complete HTTP answer with a broken stream.
	mux.Handle("/half.csv.gz", serve(gz[:len(gz)/2]))
	mux.Handle("/no-trailer.csv.gz", serve(gz[:len(gz)-4]))
	corrupt := append([]byte(nil), gz...)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC
	mux.Handle("/corrupt.csv.gz", serve(corrupt))
	mux.Handle("/not-gzip.csv", serve(data, "Content-Encoding", "gzip"))
	mux.Handle("/brotli.csv", serve(data, "Content-Encoding", "br"))
	// The connection is cut: fewer bytes than Content-Length.
	mux.HandleFunc("/cut.csv.gz", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(gz))
		buf.Write(gz[:len(gz)/2])
		buf.Flush()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, format := range []Format{FormatCSV, FormatParquet} {
		t.Run(string(format), func(t *testing.T) {
			for _, p := range []string{"/half.csv.gz", "/no-trailer.csv.gz"} {
				_, err := summarize(t, Config{URL: srv.URL + p, Format: format})
				pipelineError(t, err, pipeline.ReasonInvalidData, true)
				mustContain(t, err, "gzip file is truncated")
			}
			_, err := summarize(t, Config{URL: srv.URL + "/corrupt.csv.gz", Format: format})
			pipelineError(t, err, pipeline.ReasonInvalidData, true)
			mustContain(t, err, "checksum")
			_, err = summarize(t, Config{URL: srv.URL + "/not-gzip.csv", Format: format})
			pipelineError(t, err, pipeline.ReasonInvalidData, true)
			mustContain(t, err, "Content-Encoding gzip")
			_, err = summarize(t, Config{URL: srv.URL + "/brotli.csv", Format: format})
			pipelineError(t, err, pipeline.ReasonInvalidData, true)
			mustContain(t, err, `unsupported Content-Encoding "br"`)
			_, err = summarize(t, Config{URL: srv.URL + "/cut.csv.gz", Format: format})
			pipelineError(t, err, pipeline.ReasonSourceUnavailable, false)
			mustContain(t, err, "reading the body")
		})
	}
}

func TestFormatMismatch(t *testing.T) {
	txns := cdnow(t)[:100]
	pq := writeParquet(t, parquetLayouts()["int64 id, DATE, DOUBLE"], txns)
	mux := http.NewServeMux()
	mux.Handle("/x.parquet", serve(pq))
	mux.Handle("/x.csv", serve(csvOf(txns)))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	_, err := summarize(t, Config{URL: srv.URL + "/x.parquet", Format: FormatCSV})
	pipelineError(t, err, pipeline.ReasonInvalidData, true)
	mustContain(t, err, "the body is a Parquet file, but spec.source.http.format is CSV")
	_, err = summarize(t, Config{URL: srv.URL + "/x.csv", Format: FormatParquet})
	pipelineError(t, err, pipeline.ReasonInvalidData, true)
	mustContain(t, err, "not a readable Parquet file")
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "ftp://host/x.csv"}, `must be an http or https URL, not "ftp"`},
		{Config{URL: "http://"}, "has no host"},
		{Config{URL: "http://a b/x?token=t0psecret"}, "not a valid URL"},
		{Config{URL: "http://host/x", Format: "Avro"}, `format "Avro" is not supported`},
	} {
		_, err := New(c.cfg)
		pipelineError(t, err, pipeline.ReasonInvalidSpec, true)
		mustContain(t, err, c.want)
		mustNotContain(t, err, "t0psecret")
	}
}

func TestConnectionRefusedIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := summarize(t, Config{URL: url + "/x.csv?token=t0psecret"})
	pipelineError(t, err, pipeline.ReasonSourceUnavailable, false)
	mustContain(t, err, "GET "+url+"/x.csv?<query redacted>:")
	mustNotContain(t, err, "t0psecret")
}

// A source serves several runs, and an answer is read to its end only as far as needed.
func TestSourceIsReusable(t *testing.T) {
	data := csvOf(cdnow(t))
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		bw := bufio.NewWriter(w)
		bw.Write(data)
		bw.Flush()
	}))
	defer srv.Close()
	src, err := New(Config{URL: srv.URL + "/x.csv"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := src.Summarize(context.Background(), testCols, testOpts); err != nil {
			t.Fatal(err)
		}
	}
	if requests.Load() != 3 {
		t.Errorf("%d requests, want 3", requests.Load())
	}
	_ = io.Discard
}
