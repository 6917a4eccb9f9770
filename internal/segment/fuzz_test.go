package segment

import (
	"strings"
	"testing"
	"time"
)

// FuzzCompile checks that no filter text makes the compiler or an evaluation panic or run
// unbounded: a filter that compiles evaluates on a customer (with long strings and many
// attributes) to a bool or an error, within the cost limit.
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		"customer.predictedValue > 200.0 && customer.probabilityAlive < 0.3",
		"customer.attributes['channel'] == 'email'",
		"customer.id.startsWith('c-') || customer.frequency >= 3",
		"customer.lastPurchase > timestamp('2026-01-01T00:00:00Z')",
		"customer.attributes.exists(k, customer.attributes[k].contains('x'))",
		"[1,2,3].all(x, [1,2,3].all(y, x + y > 0))",
		"customer.id.matches('^(a+)+$')",
		"size(customer.id) > 3 ? customer.monetary / 0.0 > 1.0 : false",
		"customer.orders * 9223372036854775807 > 0",
		"'\\u0000' in customer.attributes",
		"(", "", "customer", "1", "customer.nope > 1",
	} {
		f.Add(seed)
	}
	c := sample()
	c.ID = strings.Repeat("a", 4096) + "!"
	for i := range 50 {
		c.Attributes[strings.Repeat("k", i)] = strings.Repeat("v", 100*i)
	}
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Compile(expr)
		if err != nil {
			if flt != nil {
				t.Fatal("a filter and an error")
			}
			return
		}
		start := time.Now()
		_, _ = flt.Match(c, end)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%q took %s for one customer", expr, d)
		}
	})
}
