package segment

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
)

const (
	// MaxFilterLength is the longest filter accepted, in Unicode code points.
	MaxFilterLength = 16384

	// MaxCost bounds the cost of evaluating a filter for one customer, in CEL cost units
	// (roughly one unit per field access, comparison or arithmetic operation; string and
	// collection operations cost in proportion to their size). Compile rejects a filter whose
	// estimated worst case exceeds it, assuming attribute maps of up to 32 entries and strings
	// of up to 1024 characters. When a filter's cost depends on the size of the data (string
	// functions, comprehensions over attributes), the limit is also enforced at run time and an
	// evaluation that exceeds it stops with an error. Realistic segment filters cost 3 to 50.
	MaxCost = 10000

	// Size hints for the compile-time cost estimate: attribute maps hold at most
	// maxAttributesHint entries and strings at most maxStringHint code points. They only shape
	// the estimate; the run-time limit applies whatever the actual sizes are.
	maxAttributesHint = 32
	maxStringHint     = 1024

	// sourceName labels positions in compile errors: "ERROR: filter:1:10: ...".
	sourceName = "filter"
)

var (
	envOnce sync.Once
	envVal  *cel.Env
	envErr  error
)

// environment returns the shared CEL environment of segment filters, built once.
func environment() (*cel.Env, error) {
	envOnce.Do(func() {
		reg, err := newTypeRegistry()
		if err != nil {
			envErr = err
			return
		}
		envVal, envErr = cel.NewEnv(
			cel.CustomTypeAdapter(reg),
			cel.CustomTypeProvider(reg),
			cel.Variable("customer", customerType),
			cel.Variable("observationEnd", types.TimestampType),
			// customer.frequency > 1.5 and customer.orders >= customer.expectedPurchases:
			// ordering comparisons across int and double are checked and evaluated
			// numerically. Equality and arithmetic still need the same type (double(x)).
			cel.CrossTypeNumericComparisons(true),
			cel.DefaultUTCTimeZone(true),
			cel.OptionalTypes(),
			ext.Strings(),
			ext.Math(),
			ext.Bindings(),
			// Malformed literals (duration('90d'), timestamp('2026-13-01'), bad regular
			// expressions) are compile errors, not per-customer evaluation errors.
			cel.ASTValidators(
				cel.ValidateDurationLiterals(),
				cel.ValidateTimestampLiterals(),
				cel.ValidateRegexLiterals(),
				noCustomerLiterals{},
			),
			cel.ParserExpressionSizeLimit(MaxFilterLength),
		)
	})
	return envVal, envErr
}

// Filter is a compiled CEL segment filter. It is safe for concurrent use.
type Filter struct {
	expr string
	prg  cel.Program
	// maxCost is the compile-time worst-case cost estimate (with size hints).
	maxCost uint64
	// costTracked is set when the run-time cost limit applies: the filter's cost depends on the
	// size of the customer's data.
	costTracked bool
}

// Compile parses and type-checks a CEL filter once. The expression must have type bool. The error
// is the CEL compiler's message, with line and column, meant to be shown to users (condition
// reason InvalidFilter).
func Compile(filter string) (*Filter, error) {
	env, err := environment()
	if err != nil {
		return nil, fmt.Errorf("building the CEL environment: %w", err)
	}
	if strings.TrimSpace(filter) == "" {
		return nil, errors.New("filter is empty")
	}
	src, err := common.NewStringSourceWithLimit(filter, sourceName, MaxFilterLength)
	if err != nil {
		return nil, err
	}
	ast, iss := env.CompileSource(src)
	if err := iss.Err(); err != nil {
		return nil, err
	}
	if !ast.OutputType().IsExactType(types.BoolType) {
		return nil, fmt.Errorf("filter must evaluate to bool, but has type %s", cel.FormatCELType(ast.OutputType()))
	}
	est, err := env.EstimateCost(ast, sizeHints{})
	if err != nil {
		return nil, fmt.Errorf("estimating the filter's cost: %w", err)
	}
	if est.Max == math.MaxUint64 {
		return nil, fmt.Errorf("filter is too expensive: its cost per customer cannot be bounded (limit %d)", MaxCost)
	}
	if est.Max > MaxCost {
		return nil, fmt.Errorf("filter is too expensive: its estimated cost per customer is up to %d, the limit is %d; avoid nested comprehensions over large collections", est.Max, MaxCost)
	}
	// Without size hints, the estimate is bounded only when no operation's cost depends on the
	// size of the customer's strings or attributes. Such a filter cannot exceed the limit
	// whatever the data, so it runs without cost tracking, which costs more than the typical
	// filter itself (about 150 ns and 3 allocations per evaluation).
	bounded, err := env.EstimateCost(ast, noSizeHints{})
	if err != nil {
		return nil, fmt.Errorf("estimating the filter's cost: %w", err)
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	tracked := bounded.Max > MaxCost
	if tracked {
		opts = append(opts, cel.CostLimit(MaxCost))
	}
	prg, err := env.Program(ast, opts...)
	if err != nil {
		return nil, err
	}
	return &Filter{expr: filter, prg: prg, maxCost: est.Max, costTracked: tracked}, nil
}

// String returns the filter's source text.
func (f *Filter) String() string { return f.expr }

// Match evaluates the filter for one customer. observationEnd is the value of the CEL variable
// `observationEnd` (the end of the computation's observation period). Evaluation errors, such as a
// missing attribute key or the cost limit, are returned.
func (f *Filter) Match(c *Customer, observationEnd time.Time) (bool, error) {
	if c == nil {
		return false, errors.New("nil customer")
	}
	a := &activation{customer: c, observationEnd: types.Timestamp{Time: observationEnd.UTC()}}
	return f.eval(a)
}

func (f *Filter) eval(a *activation) (bool, error) {
	out, _, err := f.prg.Eval(a)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("filter evaluated to %s, not bool", out.Type().TypeName())
	}
	return bool(b), nil
}

// activation resolves the filter's variables without building a map per customer. In Assign
// one activation per worker is reused: only the customer pointer changes.
type activation struct {
	customer       *Customer
	observationEnd ref.Val
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "customer":
		return a.customer, true
	case "observationEnd":
		return a.observationEnd, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// noCustomerLiterals rejects ltv.Customer{...} construction: filters read customers, they do
// not build them.
type noCustomerLiterals struct{}

// Name implements cel.ASTValidator.
func (noCustomerLiterals) Name() string { return "segment.noCustomerLiterals" }

// Validate implements cel.ASTValidator.
func (noCustomerLiterals) Validate(_ *cel.Env, _ cel.ValidatorConfig, a *ast.AST, iss *cel.Issues) {
	for _, e := range ast.MatchDescendants(ast.NavigateAST(a), ast.KindMatcher(ast.StructKind)) {
		if name := e.AsStruct().TypeName(); name == customerTypeName || strings.HasSuffix(name, "."+customerTypeName) {
			iss.ReportErrorAtID(e.ID(), "%s values cannot be constructed in a filter", customerTypeName)
		}
	}
}

// sizeHints bounds the sizes of the customer's strings and attribute map for Env.EstimateCost.
type sizeHints struct{}

// EstimateSize implements cost.Estimator.
func (sizeHints) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	p := n.Path()
	if len(p) < 1 || p[0] != "customer" {
		return nil
	}
	var e cost.SizeEstimate
	switch {
	case len(p) == 1:
		e = cost.FixedSizeEstimate(uint64(len(customerFields)))
	case len(p) == 2 && p[1] == "id":
		e = cost.RangedSizeEstimate(0, maxStringHint)
	case len(p) == 2 && p[1] == "attributes":
		e = cost.RangedSizeEstimate(0, maxAttributesHint)
	case len(p) == 3 && p[1] == "attributes":
		e = cost.RangedSizeEstimate(0, maxStringHint)
	default:
		return nil
	}
	return &e
}

// EstimateCallCost implements cost.Estimator; the standard cost model applies.
func (sizeHints) EstimateCallCost(function, overloadID string, target *cost.AstNode, args []cost.AstNode) *cost.CallEstimate {
	return nil
}

// noSizeHints leaves the customer's strings and attribute map of unknown size, except the
// customer itself (a fixed set of fields).
type noSizeHints struct{}

// EstimateSize implements cost.Estimator.
func (noSizeHints) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	if p := n.Path(); len(p) == 1 && p[0] == "customer" {
		e := cost.FixedSizeEstimate(uint64(len(customerFields)))
		return &e
	}
	return nil
}

// EstimateCallCost implements cost.Estimator; the standard cost model applies.
func (noSizeHints) EstimateCallCost(function, overloadID string, target *cost.AstNode, args []cost.AstNode) *cost.CallEstimate {
	return nil
}
