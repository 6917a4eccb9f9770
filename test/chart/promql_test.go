package chart

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// promQLKeywords are the identifiers of PromQL (and of the Grafana variable functions) that are
// not metric names when they are not followed by "(".
var promQLKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "offset": true, "and": true, "or": true, "unless": true, "atan2": true,
	"inf": true, "nan": true, "start": true, "end": true,
	// Aggregation operators may put their grouping clause before the parenthesis.
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// groupingKeywords take a parenthesised list of label names.
var groupingKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// metricNames returns the metric names a PromQL expression (or a Grafana variable query such as
// label_values(metric{...}, label)) selects, sorted and without duplicates. It is a scanner, not a
// parser: it skips strings, label matchers ({...}), ranges and subqueries ([...]), numbers and
// durations, Grafana variables ($x, ${x}, [[x]]), the label lists of by/without/on/ignoring/
// group_left/group_right, keywords and function names; every other identifier is a metric name.
// A {__name__="..."} matcher counts as the name it matches; a regular expression on __name__ is
// an error, as the metrics it selects cannot be checked.
func metricNames(expr string) ([]string, error) {
	names := map[string]bool{}
	if err := scanPromQL(expr, names); err != nil {
		return nil, fmt.Errorf("%q: %w", expr, err)
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipString returns the index after the string literal that starts at s[i].
func skipString(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at %d", i)
}

// closing returns the index of the bracket that closes the one at s[i] (strings skipped).
func closing(s string, i int) (int, error) {
	open := s[i]
	closeBy := map[byte]byte{'(': ')', '{': '}', '[': ']'}[open]
	depth := 0
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"' || c == '\'' || c == '`':
			k, err := skipString(s, j)
			if err != nil {
				return 0, err
			}
			j = k - 1
		case c == open:
			depth++
		case c == closeBy:
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	return 0, fmt.Errorf("unbalanced %q at %d", open, i)
}

// splitTopLevel splits s at the commas outside brackets and strings.
func splitTopLevel(s string) ([]string, error) {
	var parts []string
	start := 0
	for j := 0; j < len(s); j++ {
		switch c := s[j]; c {
		case '"', '\'', '`':
			k, err := skipString(s, j)
			if err != nil {
				return nil, err
			}
			j = k - 1
		case '(', '{', '[':
			k, err := closing(s, j)
			if err != nil {
				return nil, err
			}
			j = k
		case ',':
			parts = append(parts, s[start:j])
			start = j + 1
		}
	}
	return append(parts, s[start:]), nil
}

func nextNonSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func scanPromQL(s string, names map[string]bool) error {
	parens := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '(' || c == ')':
			if c == '(' {
				parens++
			} else if parens--; parens < 0 {
				return fmt.Errorf("unbalanced ) at %d", i)
			}
			i++
		case c == '"' || c == '\'' || c == '`':
			j, err := skipString(s, i)
			if err != nil {
				return err
			}
			i = j
		case c == '$': // Grafana variable: $name or ${name...}
			i++
			if i < len(s) && s[i] == '{' {
				j, err := closing(s, i)
				if err != nil {
					return err
				}
				i = j + 1
				continue
			}
			for i < len(s) && isIdentChar(s[i]) {
				i++
			}
		case c == '{': // label matchers
			j, err := closing(s, i)
			if err != nil {
				return err
			}
			if err := nameMatchers(s[i+1:j], names); err != nil {
				return err
			}
			i = j + 1
		case c == '[': // range, subquery, or a Grafana [[variable]]
			j, err := closing(s, i)
			if err != nil {
				return err
			}
			i = j + 1
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			// A number or a duration (26, 0.95, 1e9, 0x1f, 5m, 1h30m).
			for i < len(s) && (isIdentChar(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			ident := s[i:j]
			k := nextNonSpace(s, j)
			followedByParen := k < len(s) && s[k] == '('
			switch {
			case groupingKeywords[ident] && followedByParen: // a list of label names
				end, err := closing(s, k)
				if err != nil {
					return err
				}
				i = end + 1
			case ident == "label_values" && followedByParen:
				// Grafana: label_values(label) or label_values(metric{...}, label).
				end, err := closing(s, k)
				if err != nil {
					return err
				}
				args, err := splitTopLevel(s[k+1 : end])
				if err != nil {
					return err
				}
				if len(args) == 2 {
					if err := scanPromQL(args[0], names); err != nil {
						return err
					}
				}
				i = end + 1
			case ident == "label_names" || ident == "metrics":
				return fmt.Errorf("grafana query %s() selects no fixed metric", ident)
			case followedByParen || promQLKeywords[ident]:
				i = j // a function call, an aggregation or a keyword: its arguments are scanned next
			default:
				names[ident] = true
				i = j
			}
		default:
			i++
		}
	}
	if parens != 0 {
		return fmt.Errorf("%d unclosed (", parens)
	}
	return nil
}

// nameMatchers adds the names of {__name__="..."} matchers.
func nameMatchers(matchers string, names map[string]bool) error {
	parts, err := splitTopLevel(matchers)
	if err != nil {
		return err
	}
	for _, m := range parts {
		m = strings.TrimSpace(m)
		if !strings.HasPrefix(m, "__name__") {
			continue
		}
		rest := strings.TrimSpace(strings.TrimPrefix(m, "__name__"))
		if !strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, "=~") {
			return fmt.Errorf("matcher %q: only __name__=\"...\" can be checked", m)
		}
		v := strings.TrimSpace(rest[1:])
		if len(v) < 2 {
			return fmt.Errorf("matcher %q has no value", m)
		}
		names[v[1:len(v)-1]] = true
	}
	return nil
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`time() - ltv_computation_last_success_timestamp_seconds > 26 * 3600`,
			[]string{"ltv_computation_last_success_timestamp_seconds"}},
		{`sum by (namespace, name, result) (increase(ltv_computation_runs_total{result!="Succeeded"}[1h])) > 0`,
			[]string{"ltv_computation_runs_total"}},
		{`abs(ltv_computation_average_ltv - ltv_computation_average_ltv offset 1d) > 20 / 100 * abs(ltv_computation_average_ltv offset -1w)`,
			[]string{"ltv_computation_average_ltv"}},
		{`histogram_quantile(0.95, sum by (le, namespace, name) (rate(ltv_computation_run_duration_seconds_bucket{namespace=~"$namespace", name=~"${computation:regex}"}[$__rate_interval])))`,
			[]string{"ltv_computation_run_duration_seconds_bucket"}},
		{`sum(rate(a_sum[5m])) by (job) / on (job) group_left (instance) sum without (le) (rate(a_count[5m:1m] @ start()))`,
			[]string{"a_count", "a_sum"}},
		{`count(up{job="x"} == bool 1) and ignoring(foo) b unless c or topk(3, d)`,
			[]string{"b", "c", "d", "up"}},
		{`{__name__="workqueue_depth", name="ltvcomputation"} * 1e9 + 0x1f - .5`,
			[]string{"workqueue_depth"}},
		{`label_values(ltv_computation_last_success_timestamp_seconds{namespace=~"$namespace"}, name)`,
			[]string{"ltv_computation_last_success_timestamp_seconds"}},
		{`label_values(namespace)`, []string{}},
		{`rate(x{a="}{[", b='it\'s'}[[[interval]]])`, []string{"x"}},
		{`max_over_time(sum by (k) (m:recorded:rate5m)[1d:5m])`, []string{"m:recorded:rate5m"}},
	} {
		got, err := metricNames(tc.expr)
		if err != nil {
			t.Errorf("metricNames(%q): %v", tc.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("metricNames(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
	for _, bad := range []string{
		`{__name__=~"ltv_.*"}`,
		`rate(x{a="b}[5m])`,
		`sum(rate(x[5m])`,
		`metrics(ltv_.*)`,
	} {
		if got, err := metricNames(bad); err == nil {
			t.Errorf("metricNames(%q) = %q, want an error", bad, got)
		}
	}
}
