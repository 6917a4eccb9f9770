package main

import (
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestA"}`,
		`{"Action":"run","Package":"p","Test":"TestDB"}`,
		`{"Action":"output","Package":"p","Test":"TestDB","Output":"    db_test.go:9: PostgreSQL test server unavailable\n"}`,
		`{"Action":"output","Package":"p","Test":"TestDB","Output":"--- SKIP: TestDB (0.00s)\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestDB"}`,
		`{"Action":"run","Package":"p","Test":"TestBad"}`,
		`{"Action":"output","Package":"p","Test":"TestBad","Output":"    bad_test.go:3: got 1, want 2\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestBad"}`,
		`{"Action":"output","Package":"p","Output":"FAIL\tp\t0.1s\n"}`,
		`{"Action":"fail","Package":"p"}`,
		`{"Action":"output","Package":"q","Output":"ok  \tq\t0.2s\n"}`,
		`{"Action":"pass","Package":"q"}`,
		`# r`,
	}, "\n")
	var out strings.Builder
	s := run(strings.NewReader(in), &out)
	got := out.String()
	if s.passed != 1 || s.failed != 1 || s.skipped != 1 || !s.packageFailed {
		t.Errorf("counts %+v", s)
	}
	for _, want := range []string{
		"ok  \tq\t0.2s",
		"--- FAIL p TestBad\n    bad_test.go:3: got 1, want 2",
		"SKIPPED: 1 test(s)",
		"p TestDB: db_test.go:9: PostgreSQL test server unavailable",
		"\n1 passed, 1 failed, 1 skipped\n",
		"# r",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "=== RUN") {
		t.Errorf("passing tests' output should not be printed:\n%s", got)
	}
}

func TestSummaryAllGreen(t *testing.T) {
	in := `{"Action":"pass","Package":"p","Test":"TestA"}` + "\n" + `{"Action":"pass","Package":"p"}`
	var out strings.Builder
	s := run(strings.NewReader(in), &out)
	if s.failed != 0 || s.packageFailed || strings.Contains(out.String(), "SKIPPED") || !strings.HasSuffix(out.String(), "1 passed, 0 failed, 0 skipped\n") {
		t.Errorf("%+v\n%s", s, out.String())
	}
}
