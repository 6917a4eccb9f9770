package segment

import (
	"fmt"
	"reflect"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// Customer is what a filter sees as the CEL variable `customer`: one customer's transaction
// summary and, once a model has been applied, its predictions.
//
// Times (Recency, Age) are in the computation's time unit (days, weeks or months); money
// (Monetary, HistoricRevenue, HistoricValue, PredictedValue, TotalValue) in the data's currency.
type Customer struct {
	// ID is the customer identifier from the source data.
	ID string
	// Frequency is the number of repeat transactions x (transactions merged per day, minus the first).
	Frequency int64
	// Recency is t_x: the time from the first to the last transaction.
	Recency float64
	// Age is T: the time from the first transaction to the end of observation.
	Age float64
	// Monetary is the mean value of the repeat transactions (0 without repeat transactions).
	Monetary float64
	// HistoricRevenue is the sum of the customer's (net) transaction amounts.
	HistoricRevenue float64
	// HistoricValue is the margin realised to date: HistoricRevenue x gross margin.
	HistoricValue float64
	// FirstPurchase and LastPurchase are the times of the first and last transactions.
	FirstPurchase, LastPurchase time.Time
	// Attributes holds the attribute columns' values from the customer's first transaction
	// (e.g. the acquisition channel). Filters only read it, so customers with equal values may
	// share one map.
	Attributes map[string]string
	// ExpectedPurchases is the expected number of purchases over the horizon.
	ExpectedPurchases float64
	// ProbabilityAlive is the probability that the customer is still active (0..1).
	ProbabilityAlive float64
	// PredictedValue is the customer's predicted lifetime value over the horizon.
	PredictedValue float64
	// TotalValue is HistoricValue plus the value still to come (PredictedValue; nothing for the
	// Historical model, whose PredictedValue is the realised margin).
	TotalValue float64
	// ValuePercentile is in (0, 100]: 100 × the share of customers whose PredictedValue is lower
	// than or equal to this customer's (see Percentiles). 100 = most valuable.
	ValuePercentile float64
	// Orders is the number of transactions (orders) before merging per day.
	Orders int64
	// ProbabilityAliveAfterWindow and ProbabilityNoPurchase are the churn outlook over the
	// computation's churn window; NextPurchase the median date of the next purchase (zero: none).
	ProbabilityAliveAfterWindow, ProbabilityNoPurchase float64
	NextPurchase                                       time.Time
}

// customerTypeName is the CEL type name of the `customer` variable; it shows in error messages
// such as "undefined field".
const customerTypeName = "ltv.Customer"

var customerType = types.NewObjectType(customerTypeName)

// customerField describes one field of the CEL customer type: its CEL type, how to read it from
// a *Customer without reflection, and whether it counts as set for has().
type customerField struct {
	name  string
	typ   *types.Type
	get   func(c *Customer) ref.Val
	isSet func(c *Customer) bool
	// native, when set, is what field selection returns instead of get: a Go value the
	// interpreter adapts itself only where needed (customer.attributes['k'] indexes the Go map
	// directly, without wrapping it in a CEL map).
	native func(c *Customer) any
}

// customerFields lists the fields in the order they are documented in docs/cel.md.
var customerFields = []customerField{
	{"id", types.StringType,
		func(c *Customer) ref.Val { return types.String(c.ID) },
		func(c *Customer) bool { return c.ID != "" }, nil},
	{"frequency", types.IntType,
		func(c *Customer) ref.Val { return types.Int(c.Frequency) },
		func(c *Customer) bool { return c.Frequency != 0 }, nil},
	{"recency", types.DoubleType,
		func(c *Customer) ref.Val { return types.Double(c.Recency) },
		func(c *Customer) bool { return c.Recency != 0 }, nil},
	{"age", types.DoubleType,
		func(c *Customer) ref.Val { return types.Double(c.Age) },
		func(c *Customer) bool { return c.Age != 0 }, nil},
	{"monetary", types.DoubleType,
		func(c *Customer) ref.Val { return types.Double(c.Monetary) },
		func(c *Customer) bool { return c.Monetary != 0 }, nil},
	{"historicRevenue", types.DoubleType,
		func(c *Customer) ref.Val { return types.Double(c.HistoricRevenue) },
		func(c *Customer) bool { return c.HistoricRevenue != 0 }, nil},
	{"historicValue", types.DoubleType,
		func(c *Customer) ref.Val { return types.Double(c.HistoricValue) },
		func(c *Customer) bool { return c.HistoricValue != 0 }, nil},
	{"firstPurchase", types.TimestampType,
		func(c *Customer) ref.Val { return types.Timestamp{Time: c.FirstPurchase} },
		func(c *Customer) bool { return !c.FirstPurchase.IsZero() }, nil},
	{"lastPurchase", types.TimestampType,
		func(c *Customer) ref.Val { return types.Timestamp{Time: c.LastPurchase} },
		func(c *Customer) bool { return !c.LastPurchase.IsZero() }, nil},
	{"attributes", types.NewMapType(types.StringType, types.StringType),
		func(c *Customer) ref.Val { return types.NewStringStringMap(types.DefaultTypeAdapter, c.Attributes) },
		func(c *Customer) bool { return len(c.Attributes) != 0 },
		func(c *Customer) any { return c.Attributes }},
	{"orders", types.IntType,
		func(c *Customer) ref.Val { return types.Int(c.Orders) },
		func(c *Customer) bool { return c.Orders != 0 }, nil},
	{"expectedPurchases", types.DoubleType,
		func(c *Customer) ref.Val { return types.Double(c.ExpectedPurchases) },
		func(c *Customer) bool { return c.ExpectedPurchases != 0 }, nil},
	{"probabilityAlive", types.DoubleType,
		func(c *Customer) ref.Val { return types.Double(c.ProbabilityAlive) },
		func(c *Customer) bool { return c.ProbabilityAlive != 0 }, nil},
	{"predictedValue", types.DoubleType,
		func(c *Customer) ref.Val { return types.Double(c.PredictedValue) },
		func(c *Customer) bool { return c.PredictedValue != 0 }, nil},
	{"totalValue", types.DoubleType,
		func(c *Customer) ref.Val { return types.Double(c.TotalValue) },
		func(c *Customer) bool { return c.TotalValue != 0 }, nil},
	{"probabilityAliveAfterWindow", types.DoubleType,
		func(c *Customer) ref.Val { return types.Double(c.ProbabilityAliveAfterWindow) },
		func(c *Customer) bool { return c.ProbabilityAliveAfterWindow != 0 }, nil},
	{"probabilityNoPurchase", types.DoubleType,
		func(c *Customer) ref.Val { return types.Double(c.ProbabilityNoPurchase) },
		func(c *Customer) bool { return c.ProbabilityNoPurchase != 0 }, nil},
	{"nextPurchase", types.TimestampType,
		func(c *Customer) ref.Val { return types.Timestamp{Time: c.NextPurchase} },
		func(c *Customer) bool { return !c.NextPurchase.IsZero() }, nil},
	{"valuePercentile", types.DoubleType,
		func(c *Customer) ref.Val { return types.Double(c.ValuePercentile) },
		func(c *Customer) bool { return c.ValuePercentile != 0 }, nil},
}

var (
	customerFieldNames  []string
	customerFieldTypes  = map[string]*types.FieldType{}
	customerFieldByName = map[string]*customerField{}
)

func init() {
	for i := range customerFields {
		f := &customerFields[i]
		customerFieldNames = append(customerFieldNames, f.name)
		customerFieldByName[f.name] = f
		customerFieldTypes[f.name] = &types.FieldType{
			Type: f.typ,
			IsSet: func(target any) bool {
				c, ok := asCustomer(target)
				return ok && f.isSet(c)
			},
			GetFrom: func(target any) (any, error) {
				c, ok := asCustomer(target)
				if !ok {
					return nil, fmt.Errorf("field %q: expected %s, got %T", f.name, customerTypeName, target)
				}
				if f.native != nil {
					return f.native(c), nil
				}
				return f.get(c), nil
			},
		}
	}
}

func asCustomer(v any) (*Customer, bool) {
	switch c := v.(type) {
	case *Customer:
		return c, c != nil
	case customerVal:
		return c.c, c.c != nil
	}
	return nil, false
}

// typeRegistry is the CEL type provider and adapter of the segment environment: the standard
// registry plus the ltv.Customer object type, whose fields are read directly from *Customer
// (no reflection, no per-customer map).
type typeRegistry struct {
	*types.Registry
}

func newTypeRegistry() (*typeRegistry, error) {
	r, err := types.NewRegistry()
	if err != nil {
		return nil, err
	}
	return &typeRegistry{Registry: r}, nil
}

// FindStructType implements types.Provider.
func (r *typeRegistry) FindStructType(name string) (*types.Type, bool) {
	if name == customerTypeName {
		return types.NewTypeTypeWithParam(customerType), true
	}
	return r.Registry.FindStructType(name)
}

// FindStructFieldNames implements types.Provider.
func (r *typeRegistry) FindStructFieldNames(name string) ([]string, bool) {
	if name == customerTypeName {
		return append([]string(nil), customerFieldNames...), true
	}
	return r.Registry.FindStructFieldNames(name)
}

// FindStructFieldType implements types.Provider.
func (r *typeRegistry) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if name == customerTypeName {
		ft, ok := customerFieldTypes[field]
		return ft, ok
	}
	return r.Registry.FindStructFieldType(name, field)
}

// FindIdent implements types.Provider: the type name ltv.Customer resolves to the type value.
func (r *typeRegistry) FindIdent(name string) (ref.Val, bool) {
	if name == customerTypeName {
		return customerType, true
	}
	return r.Registry.FindIdent(name)
}

// NewValue implements types.Provider; customers cannot be constructed inside an expression.
func (r *typeRegistry) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if name == customerTypeName {
		return types.NewErr("%s cannot be constructed in a filter", customerTypeName)
	}
	return r.Registry.NewValue(name, fields)
}

// NativeToValue implements types.Adapter.
func (r *typeRegistry) NativeToValue(v any) ref.Val {
	switch c := v.(type) {
	case *Customer:
		return customerVal{c}
	case customerVal:
		return c
	}
	return r.Registry.NativeToValue(v)
}

// customerVal is the CEL value of a *Customer when it is used as a whole (e.g. `customer` alone
// or through dyn()); plain field selection reads the *Customer directly.
type customerVal struct{ c *Customer }

var customerReflectType = reflect.TypeOf(&Customer{})

// ConvertToNative implements ref.Val.
func (v customerVal) ConvertToNative(typeDesc reflect.Type) (any, error) {
	switch typeDesc {
	case customerReflectType:
		return v.c, nil
	case customerReflectType.Elem():
		return *v.c, nil
	}
	return nil, fmt.Errorf("type conversion error from %s to '%v'", customerTypeName, typeDesc)
}

// ConvertToType implements ref.Val.
func (v customerVal) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.TypeType:
		return customerType
	case customerType:
		return v
	}
	if t.TypeName() == customerTypeName {
		return v
	}
	return types.NewErr("type conversion error from '%s' to '%s'", customerTypeName, t.TypeName())
}

// Equal implements ref.Val: customers are equal when they are the same customer.
func (v customerVal) Equal(other ref.Val) ref.Val {
	o, ok := other.(customerVal)
	return types.Bool(ok && (o.c == v.c || reflect.DeepEqual(o.c, v.c)))
}

// Type implements ref.Val.
func (v customerVal) Type() ref.Type { return customerType }

// Value implements ref.Val.
func (v customerVal) Value() any { return v.c }

// Get implements traits.Indexer for dynamic field access.
func (v customerVal) Get(index ref.Val) ref.Val {
	name, ok := index.(types.String)
	if !ok {
		return types.ValOrErr(index, "no such overload")
	}
	f, ok := customerFieldByName[string(name)]
	if !ok {
		return types.NewErr("no such field '%s'", name)
	}
	return f.get(v.c)
}

// IsSet implements traits.FieldTester for has() on dynamic values.
func (v customerVal) IsSet(field ref.Val) ref.Val {
	name, ok := field.(types.String)
	if !ok {
		return types.ValOrErr(field, "no such overload")
	}
	f, ok := customerFieldByName[string(name)]
	if !ok {
		return types.NewErr("no such field '%s'", name)
	}
	return types.Bool(f.isSet(v.c))
}
