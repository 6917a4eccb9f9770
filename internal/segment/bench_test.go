package segment

import (
	"reflect"
	"sync"
	"testing"
	"unicode"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
)

var (
	bench1MOnce sync.Once
	bench1M     []Customer
)

func customers1M() []Customer {
	bench1MOnce.Do(func() { bench1M = genCustomers(1_000_000, 42) })
	return bench1M
}

// benchFilters are three typical segment filters: a threshold pair, a channel test and a
// recency test on timestamps.
var benchFilters = []string{
	"customer.predictedValue > 200.0 && customer.probabilityAlive < 0.3",
	"'channel' in customer.attributes && customer.attributes['channel'] == 'email' && customer.frequency >= 2",
	"observationEnd - customer.lastPurchase > duration('2160h') && customer.valuePercentile > 80.0",
}

// BenchmarkAssign1M evaluates three filters over one million customers with Assign (all cores).
func BenchmarkAssign1M(b *testing.B) {
	cs := customers1M()
	defs := make([]Definition, len(benchFilters))
	for i, f := range benchFilters {
		defs[i] = Definition{Name: f, Filter: mustCompile(b, f)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Assign(defs, cs, testEnd); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(cs)), "ns/customer")
}

// The benchmarks below evaluate one filter for one customer on one goroutine and compare ways of
// binding the customer.

func benchMatch(b *testing.B, eval func(c *Customer) (bool, error)) {
	cs := customers1M()[:4096]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := eval(&cs[i&4095]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkMatch/native: the package's path (custom type provider, reused activation; these
// filters need no run-time cost tracking).
// BenchmarkMatch/native-costlimit: the same with run-time cost tracking forced on.
// BenchmarkMatch/map-activation: a map[string]any built per customer.
// BenchmarkMatch/reflect-native-type: cel-go's reflection-based native struct support.
func BenchmarkMatch(b *testing.B) {
	for _, expr := range benchFilters {
		f := mustCompile(b, expr)
		end := types.Timestamp{Time: testEnd}
		b.Run("native/"+expr[:30], func(b *testing.B) {
			act := &activation{observationEnd: end}
			benchMatch(b, func(c *Customer) (bool, error) { act.customer = c; return f.eval(act) })
		})
		b.Run("native-costlimit/"+expr[:30], func(b *testing.B) {
			env, _ := environment()
			ast, iss := env.Compile(expr)
			if iss.Err() != nil {
				b.Fatal(iss.Err())
			}
			prg, err := env.Program(ast, cel.CostLimit(MaxCost), cel.EvalOptions(cel.OptOptimize))
			if err != nil {
				b.Fatal(err)
			}
			nf := &Filter{prg: prg}
			act := &activation{observationEnd: end}
			benchMatch(b, func(c *Customer) (bool, error) { act.customer = c; return nf.eval(act) })
		})
		b.Run("map-activation/"+expr[:30], func(b *testing.B) {
			benchMatch(b, func(c *Customer) (bool, error) {
				out, _, err := f.prg.Eval(map[string]any{"customer": c, "observationEnd": end})
				return out == types.True, err
			})
		})
		b.Run("reflect-native-type/"+expr[:30], func(b *testing.B) {
			prg := reflectProgram(b, expr)
			benchMatch(b, func(c *Customer) (bool, error) {
				out, _, err := prg.Eval(map[string]any{"customer": c, "observationEnd": end})
				return out == types.True, err
			})
		})
	}
}

// reflectProgram compiles expr in an environment where `customer` is cel-go's reflection-based
// native type for Customer (field names lower-camel-cased: ID → id).
func reflectProgram(b *testing.B, expr string) cel.Program {
	name := func(f reflect.StructField) string {
		if f.Name == "ID" {
			return "id"
		}
		r := []rune(f.Name)
		r[0] = unicode.ToLower(r[0])
		return string(r)
	}
	desc := cel.NativeTypeFor[Customer](types.ParseStructField(name))
	env, err := cel.NewEnv(
		cel.Types(desc),
		cel.Variable("customer", cel.ObjectType(nativeTypeName(desc))),
		cel.Variable("observationEnd", cel.TimestampType),
		cel.CrossTypeNumericComparisons(true),
	)
	if err != nil {
		b.Fatal(err)
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		b.Fatal(iss.Err())
	}
	prg, err := env.Program(ast, cel.CostLimit(MaxCost), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		b.Fatal(err)
	}
	return prg
}

// nativeTypeName is the CEL name cel-go gives the native type: <package name>.<type name>.
func nativeTypeName(desc *cel.NativeTypeDesc) string {
	return "segment." + desc.ReflectType().Name()
}

// BenchmarkPercentiles1M ranks one million customers by predicted value.
func BenchmarkPercentiles1M(b *testing.B) {
	cs := append([]Customer(nil), customers1M()...)
	b.ReportAllocs()
	for b.Loop() {
		Percentiles(cs)
	}
}

// BenchmarkAggregateTopShare1M computes the overall aggregates and the top-20% share over one
// million customers, as the pipeline does once per run.
func BenchmarkAggregateTopShare1M(b *testing.B) {
	cs := customers1M()
	values := make([]float64, len(cs))
	all := make([]int32, len(cs))
	for i := range cs {
		values[i] = cs[i].PredictedValue
		all[i] = int32(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		a := Aggregate(values, all, 1)
		_ = TopShare(values, 0.2) + a.MedianLTV
	}
}
