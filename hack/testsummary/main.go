// Command testsummary reads `go test -json` on stdin and writes what a person wants from a test
// run: each package's result line, the full output of every failed test, and at the end a loud
// list of every skipped test with its reason, then one closing line "N passed, N failed, N skipped".
// It exits 1 when a test or a package failed (a build error too), so `make test` keeps its meaning.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type summary struct {
	passed, failed, skipped int
	output                  map[string][]string // package/test -> output lines
	skips                   []string
	failures                []string
	packageFailed           bool
}

func main() {
	s := run(os.Stdin, os.Stdout)
	if s.failed > 0 || s.packageFailed {
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) *summary {
	s := &summary{output: map[string][]string{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not JSON: the go command's own messages (build errors, downloads).
			fmt.Fprintln(out, sc.Text())
			if strings.Contains(sc.Text(), "build failed") || strings.HasPrefix(sc.Text(), "FAIL") {
				s.packageFailed = true
			}
			continue
		}
		s.add(e, out)
	}
	s.report(out)
	return s
}

func (s *summary) add(e event, out io.Writer) {
	key := e.Package + " " + e.Test
	switch e.Action {
	case "output":
		s.output[key] = append(s.output[key], e.Output)
		if e.Test == "" && (strings.HasPrefix(e.Output, "ok ") || strings.HasPrefix(e.Output, "FAIL") ||
			strings.HasPrefix(e.Output, "?") || strings.Contains(e.Output, "[build failed]") || strings.Contains(e.Output, "[setup failed]")) {
			fmt.Fprint(out, e.Output)
		}
	case "pass":
		if e.Test != "" {
			s.passed++
		}
		delete(s.output, key)
	case "skip":
		if e.Test != "" {
			s.skipped++
			s.skips = append(s.skips, fmt.Sprintf("%s %s: %s", e.Package, e.Test, skipReason(s.output[key])))
		}
		delete(s.output, key)
	case "fail":
		if e.Test == "" {
			s.packageFailed = true
			// A package that failed outside any test (TestMain, a panic, a build error): its output.
			if lines := s.output[key]; len(lines) > 0 {
				s.failures = append(s.failures, fmt.Sprintf("--- %s\n%s", e.Package, strings.Join(lines, "")))
			}
		} else {
			s.failed++
			s.failures = append(s.failures, fmt.Sprintf("--- FAIL %s %s\n%s", e.Package, e.Test, strings.Join(s.output[key], "")))
		}
		delete(s.output, key)
	}
}

// skipReason is the test's last output line other than the "--- SKIP" line itself.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		return l
	}
	return "(no reason given)"
}

func (s *summary) report(out io.Writer) {
	if len(s.failures) > 0 {
		fmt.Fprintf(out, "\n==== %d failure(s)\n", len(s.failures))
		for _, f := range s.failures {
			fmt.Fprintln(out, f)
		}
	}
	if len(s.skips) > 0 {
		sort.Strings(s.skips)
		fmt.Fprintf(out, "\n==== SKIPPED: %d test(s) did not run; this machine lacks what they need:\n", len(s.skips))
		for _, k := range s.skips {
			fmt.Fprintln(out, "  "+k)
		}
		fmt.Fprintln(out, "  (.ci/run installs everything; as root, `make test` installs PostgreSQL itself)")
	}
	fmt.Fprintf(out, "\n%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
}
