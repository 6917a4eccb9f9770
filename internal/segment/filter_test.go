package segment

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"cel.dev/cel-go/common/types"
)

var (
	testEnd   = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	testFirst = time.Date(2025, 3, 15, 10, 30, 0, 0, time.UTC)
	testLast  = time.Date(2026, 6, 1, 23, 30, 0, 0, time.UTC) // 153 days before testEnd
)

// sample is a customer whose every field has a distinctive, non-zero value.
func sample() *Customer {
	return &Customer{
		ID:                          "c-42",
		Frequency:                   7,
		Recency:                     443.5,
		Age:                         596.25,
		Monetary:                    31.5,
		HistoricRevenue:             1007,
		TotalValue:                  664.25,
		HistoricValue:               251.75,
		FirstPurchase:               testFirst,
		LastPurchase:                testLast,
		Attributes:                  map[string]string{"channel": "email", "country": "PL"},
		ExpectedPurchases:           2.25,
		ProbabilityAlive:            0.125,
		PredictedValue:              412.5,
		ValuePercentile:             97.5,
		ProbabilityAliveAfterWindow: 0.0625,
		ProbabilityNoPurchase:       0.75,
		NextPurchase:                time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
		Orders:                      9,
	}
}

func mustCompile(t testing.TB, expr string) *Filter {
	t.Helper()
	f, err := Compile(expr)
	if err != nil {
		t.Fatalf("Compile(%q): %v", expr, err)
	}
	return f
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, expr string
		want       []string // substrings of the error message
	}{
		{"typo in field", "customer.predictedValu > 1.0",
			[]string{"filter:1:9:", "undefined field 'predictedValu'", "customer.predictedValu > 1.0", "........^"}},
		{"unknown variable", "now - customer.lastPurchase > duration('24h')",
			[]string{"filter:1:1:", "undeclared reference to 'now'"}},
		{"syntax error", "customer.frequency >",
			[]string{"filter:1:21:", "Syntax error"}},
		{"second line", "customer.frequency > 1 &&\n  customer.probabilityAlive < 'x'",
			[]string{"filter:2:29:", "found no matching overload for '_<_' applied to '(double, string)'"}},
		{"int equals double", "customer.frequency == 3.0",
			[]string{"found no matching overload for '_==_' applied to '(int, double)'"}},
		{"int plus double", "customer.frequency + 0.5 > 1.0",
			[]string{"found no matching overload for '_+_' applied to '(int, double)'"}},
		{"double times int", "customer.monetary * 2 > 10.0",
			[]string{"found no matching overload for '_*_' applied to '(double, int)'"}},
		{"timestamp minus number", "observationEnd - customer.recency > duration('1h')",
			[]string{"found no matching overload for '_-_' applied to '(timestamp, double)'"}},
		{"attributes are strings", "customer.attributes['age'] > 30",
			[]string{"found no matching overload for '_>_' applied to '(string, int)'"}},
		{"not bool", "customer.predictedValue * 2.0",
			[]string{"filter must evaluate to bool, but has type double"}},
		{"dyn is not bool", "dyn(customer.id)",
			[]string{"filter must evaluate to bool, but has type dyn"}},
		{"empty", "  \n", []string{"filter is empty"}},
		{"construct customer", "ltv.Customer{id: 'x'}.id == 'x'",
			[]string{"filter:1:13:", "ltv.Customer values cannot be constructed"}},
		{"bad duration literal", "observationEnd - customer.lastPurchase > duration('90d')",
			[]string{"filter:1:51:", "invalid duration argument"}},
		{"bad timestamp literal", "customer.firstPurchase > timestamp('2026-13-01T00:00:00Z')",
			[]string{"invalid timestamp argument"}},
		{"bad regex literal", "customer.id.matches('c-(')",
			[]string{"invalid matches argument"}},
		{"nested comprehensions", "[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, a+b+c+d > 0))))",
			[]string{"filter is too expensive", "the limit is 10000"}},
		{"too long", "customer.id == '" + strings.Repeat("x", MaxFilterLength) + "'",
			[]string{"expression code point size exceeds limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Compile(tt.expr)
			if err == nil {
				t.Fatalf("Compile(%q) = %v, want an error", tt.expr, f)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestCompileEstimate(t *testing.T) {
	// Realistic filters are far below the limit.
	for _, expr := range []string{
		"customer.predictedValue > 200.0 && customer.probabilityAlive < 0.3",
		"customer.valuePercentile > 80.0 && observationEnd - customer.lastPurchase < duration('720h')",
		"'channel' in customer.attributes && customer.attributes['channel'] == 'email'",
	} {
		f := mustCompile(t, expr)
		if f.maxCost > 50 {
			t.Errorf("%q: estimated cost %d, want <= 50", expr, f.maxCost)
		}
		if f.String() != expr {
			t.Errorf("String() = %q, want %q", f.String(), expr)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name, expr string
		want       bool
	}{
		// every variable and field, each checked against its exact value
		{"id", "customer.id == 'c-42'", true},
		{"frequency", "customer.frequency == 7", true},
		{"recency", "customer.recency == 443.5", true},
		{"age", "customer.age == 596.25", true},
		{"monetary", "customer.monetary == 31.5", true},
		{"historicValue", "customer.historicValue == 251.75", true},
		{"firstPurchase", "customer.firstPurchase == timestamp('2025-03-15T10:30:00Z')", true},
		{"lastPurchase", "customer.lastPurchase == timestamp('2026-06-01T23:30:00Z')", true},
		{"attributes", "customer.attributes == {'channel': 'email', 'country': 'PL'}", true},
		{"orders", "customer.orders == 9", true},
		{"expectedPurchases", "customer.expectedPurchases == 2.25", true},
		{"probabilityAlive", "customer.probabilityAlive == 0.125", true},
		{"predictedValue", "customer.predictedValue == 412.5", true},
		{"valuePercentile", "customer.valuePercentile == 97.5", true},
		{"observationEnd", "observationEnd == timestamp('2026-11-01T00:00:00Z')", true},

		// cross-type ordering comparisons are allowed
		{"int > double", "customer.frequency > 6.5", true},
		{"int > double false", "customer.frequency > 7.5", false},
		{"int >= double field", "customer.orders >= customer.expectedPurchases", true},
		{"double < int literal", "customer.probabilityAlive < 1", true},
		{"conversion for arithmetic", "double(customer.frequency) * customer.monetary == 220.5", true},

		// timestamps and durations
		{"days since last purchase", "observationEnd - customer.lastPurchase > duration('3648h')", true}, // 152 days 30 minutes
		{"days since last purchase, boundary", "observationEnd - customer.lastPurchase > duration('3648h30m')", false},
		{"days since last purchase, boundary inclusive", "observationEnd - customer.lastPurchase >= duration('3648h30m')", true},
		{"days as a number", "(observationEnd - customer.lastPurchase).getHours() / 24 == 152", true},
		{"bind", "cel.bind(days, (observationEnd - customer.lastPurchase).getHours() / 24, days > 150 && days < 160)", true},
		{"lapsed 90 days", "observationEnd - customer.lastPurchase > duration('2160h')", true},
		{"first before last", "customer.firstPurchase < customer.lastPurchase", true},
		{"acquired in 2025", "customer.firstPurchase.getFullYear() == 2025", true},
		{"month is zero based", "customer.firstPurchase.getMonth() == 2", true},
		{"hours in UTC", "customer.lastPurchase.getHours() == 23", true},
		{"hours in a zone", "customer.lastPurchase.getHours('Europe/Warsaw') == 1", true},
		{"tenure", "observationEnd - customer.firstPurchase >= duration('14000h')", true},
		{"timestamp arithmetic", "customer.firstPurchase + duration('24h') < customer.lastPurchase", true},

		// attributes
		{"in and equals", "'channel' in customer.attributes && customer.attributes['channel'] == 'email'", true},
		{"guarded missing key", "'campaign' in customer.attributes && customer.attributes['campaign'] == 'x'", false},
		{"optional missing key", "customer.attributes.?campaign.orValue('none') == 'none'", true},
		{"optional index", "customer.attributes[?'channel'].orValue('') == 'email'", true},
		{"attribute set membership", "customer.attributes['country'] in ['PL', 'DE']", true},
		{"size", "size(customer.attributes) == 2", true},

		// string extensions and standard string functions
		{"lowerAscii", "customer.attributes['channel'].upperAscii() == 'EMAIL'", true},
		{"startsWith", "customer.id.startsWith('c-')", true},
		{"matches", "customer.id.matches('^c-[0-9]+$')", true},
		{"split", "customer.id.split('-')[1] == '42'", true},

		// math extension
		{"math.least", "math.least(customer.recency, customer.age) == 443.5", true},

		// presence: has() is true for non-zero values (proto3 semantics)
		{"has set", "has(customer.predictedValue) && has(customer.attributes) && has(customer.lastPurchase)", true},

		// the customer as a whole
		{"dyn access", "dyn(customer).frequency == 7", true},
		{"type", "type(customer) == ltv.Customer", true},
		{"equal to itself", "customer == customer", true},
		{"dyn has set", "has(dyn(customer).predictedValue)", true},
	}
	c := sample()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustCompile(t, tt.expr)
			got, err := f.Match(c, testEnd)
			if err != nil {
				t.Fatalf("Match(%q): %v", tt.expr, err)
			}
			if got != tt.want {
				t.Errorf("Match(%q) = %v, want %v", tt.expr, got, tt.want)
			}
		})
	}
}

// TestEveryFieldReachable guards docs and code against drift: every field of the CEL type is
// read from the matching Go field (a zero customer does not match where the sample does).
func TestEveryFieldReachable(t *testing.T) {
	exprs := map[string]string{
		"id":                          "customer.id == 'c-42'",
		"frequency":                   "customer.frequency == 7",
		"recency":                     "customer.recency == 443.5",
		"age":                         "customer.age == 596.25",
		"monetary":                    "customer.monetary == 31.5",
		"historicRevenue":             "customer.historicRevenue == 1007.0",
		"totalValue":                  "customer.totalValue == 664.25",
		"historicValue":               "customer.historicValue == 251.75",
		"firstPurchase":               "customer.firstPurchase == timestamp('2025-03-15T10:30:00Z')",
		"lastPurchase":                "customer.lastPurchase == timestamp('2026-06-01T23:30:00Z')",
		"attributes":                  "'channel' in customer.attributes",
		"orders":                      "customer.orders == 9",
		"expectedPurchases":           "customer.expectedPurchases == 2.25",
		"probabilityAlive":            "customer.probabilityAlive == 0.125",
		"predictedValue":              "customer.predictedValue == 412.5",
		"valuePercentile":             "customer.valuePercentile == 97.5",
		"probabilityAliveAfterWindow": "customer.probabilityAliveAfterWindow == 0.0625",
		"probabilityNoPurchase":       "customer.probabilityNoPurchase == 0.75",
		"nextPurchase":                "customer.nextPurchase == timestamp('2026-09-01T00:00:00Z')",
	}
	if len(exprs) != len(customerFields) {
		t.Fatalf("test covers %d fields, the CEL type has %d", len(exprs), len(customerFields))
	}
	for _, name := range customerFieldNames {
		expr, ok := exprs[name]
		if !ok {
			t.Errorf("field %q not covered", name)
			continue
		}
		f := mustCompile(t, expr)
		for _, tc := range []struct {
			c    *Customer
			want bool
		}{{sample(), true}, {&Customer{}, false}} {
			got, err := f.Match(tc.c, testEnd)
			if err != nil || got != tc.want {
				t.Errorf("%s: Match(%q) = %v, %v; want %v", name, expr, got, err, tc.want)
			}
			has := mustCompile(t, "has(customer."+name+")")
			got, err = has.Match(tc.c, testEnd)
			if err != nil || got != tc.want {
				t.Errorf("has(customer.%s) = %v, %v; want %v", name, got, err, tc.want)
			}
		}
	}
}

func TestMatchErrors(t *testing.T) {
	c := sample()
	tests := []struct {
		name, expr string
		c          *Customer
		want       string
	}{
		{"missing attribute key", "customer.attributes['campaign'] == 'spring'", c, "no such key: campaign"},
		{"nil attributes", "customer.attributes['channel'] == 'email'", &Customer{}, "no such key: channel"},
		{"division by zero", "customer.frequency / (customer.orders - 9) > 0", c, "division by zero"},
		{"bad regex at run time", "'c-42'.matches(customer.id + '(')", c, "error parsing regexp"},
		{"nil customer", "customer.frequency > 0", nil, "nil customer"},
		{"dyn unknown field", "dyn(customer).predictedValu > 1.0", c, "no such field 'predictedValu'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustCompile(t, tt.expr)
			got, err := f.Match(tt.c, testEnd)
			if err == nil {
				t.Fatalf("Match(%q) = %v, want an error", tt.expr, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestCustomerValue(t *testing.T) {
	c := sample()
	v := customerVal{c}
	if got, err := v.ConvertToNative(customerReflectType); err != nil || got != c {
		t.Errorf("ConvertToNative(*Customer) = %v, %v", got, err)
	}
	if got, err := v.ConvertToNative(customerReflectType.Elem()); err != nil || got.(Customer).ID != c.ID {
		t.Errorf("ConvertToNative(Customer) = %v, %v", got, err)
	}
	if _, err := v.ConvertToNative(reflect.TypeFor[string]()); err == nil {
		t.Error("ConvertToNative(string) succeeded")
	}
	if got := v.ConvertToType(types.TypeType); got != customerType {
		t.Errorf("ConvertToType(type) = %v", got)
	}
	if got := v.ConvertToType(types.StringType); !types.IsError(got) {
		t.Errorf("ConvertToType(string) = %v, want an error", got)
	}
	copyOf := *c
	if v.Equal(customerVal{&copyOf}) != types.True || v.Equal(customerVal{&Customer{ID: "other"}}) != types.False ||
		v.Equal(types.String("c-42")) != types.False {
		t.Error("Equal: customers are equal when their fields are")
	}
	if v.Value() != c || v.Type() != customerType {
		t.Error("Value/Type")
	}
	if got := v.Get(types.Int(1)); !types.IsError(got) {
		t.Errorf("Get(1) = %v, want an error", got)
	}
	if got := v.IsSet(types.String("nope")); !types.IsError(got) {
		t.Errorf("IsSet(nope) = %v, want an error", got)
	}
	reg, err := newTypeRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if names, ok := reg.FindStructFieldNames(customerTypeName); !ok || len(names) != len(customerFields) {
		t.Errorf("FindStructFieldNames = %v, %v", names, ok)
	}
	if got := reg.NewValue(customerTypeName, nil); !types.IsError(got) {
		t.Errorf("NewValue = %v, want an error", got)
	}
	if got := reg.NativeToValue(c); got.(customerVal).c != c {
		t.Errorf("NativeToValue = %v", got)
	}
}

func TestNonUTCTimes(t *testing.T) {
	warsaw, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	c := sample()
	c.LastPurchase = testLast.In(warsaw)
	f := mustCompile(t, "customer.lastPurchase.getHours() == 23 && customer.lastPurchase == timestamp('2026-06-01T23:30:00Z')")
	ok, err := f.Match(c, testEnd.In(warsaw))
	if err != nil || !ok {
		t.Errorf("Match = %v, %v; want true: times are evaluated in UTC whatever their location", ok, err)
	}
}

func TestCostLimitAtRunTime(t *testing.T) {
	// The compile-time estimate assumes attribute values of at most 1024 characters; a far
	// longer one pushes the actual cost over the limit, which stops the evaluation.
	f := mustCompile(t, "customer.attributes['note'].matches('(a|b)*c')")
	c := sample()
	c.Attributes = map[string]string{"note": strings.Repeat("ab", 1<<20)}
	got, err := f.Match(c, testEnd)
	if err == nil {
		t.Fatalf("Match = %v, want a cost limit error", got)
	}
	if !strings.Contains(err.Error(), "cost limit exceeded") {
		t.Errorf("error %q does not mention the cost limit", err)
	}
	// A normal value is fine.
	c.Attributes["note"] = "ababc"
	if got, err := f.Match(c, testEnd); err != nil || !got {
		t.Errorf("Match = %v, %v; want true", got, err)
	}
}

func TestCostTracking(t *testing.T) {
	tests := []struct {
		expr    string
		tracked bool
	}{
		{"customer.predictedValue > 200.0 && customer.probabilityAlive < 0.3", false},
		{"'channel' in customer.attributes && customer.attributes['channel'] == 'email'", false},
		{"customer.attributes[?'channel'].orValue('') in ['email', 'social']", false},
		{"observationEnd - customer.lastPurchase > duration('2160h')", false},
		{"customer.id.startsWith('vip-')", false},
		{"customer.attributes['note'].matches('(a|b)*c')", true},
		{"customer.attributes['note'].contains('gift')", true},
		{"customer.attributes.exists(k, k.startsWith('utm_'))", true},
		{"customer.attributes['a'] == customer.attributes['b']", true},
		{"customer.id.lowerAscii() == 'x'", true},
	}
	for _, tt := range tests {
		if f := mustCompile(t, tt.expr); f.costTracked != tt.tracked {
			t.Errorf("%q: cost tracked %v, want %v (estimate %d)", tt.expr, f.costTracked, tt.tracked, f.maxCost)
		}
	}
}

func TestFilterConcurrentUse(t *testing.T) {
	f := mustCompile(t, "customer.frequency > 3 && customer.attributes[?'channel'].orValue('') == 'email'")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			c := sample()
			c.Frequency = int64(g)
			for range 1000 {
				got, err := f.Match(c, testEnd)
				if err != nil || got != (g > 3) {
					t.Errorf("goroutine %d: Match = %v, %v", g, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
