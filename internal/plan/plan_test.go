package plan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
)

func TestObservationEnd(t *testing.T) {
	warsaw, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		t.Fatal(err)
	}
	nominal := time.Date(2026, 11, 25, 23, 30, 0, 0, time.UTC) // 00:30 on the 26th in Warsaw
	cases := []struct {
		name string
		end  string
		loc  *time.Location
		want string
	}{
		{"explicit end wins", "2026-10-31", warsaw, "2026-10-31"},
		{"the day before the nominal time, in UTC", "", nil, "2026-11-24"},
		{"the day before the nominal time, in the schedule's zone", "", warsaw, "2026-11-25"},
	}
	for _, c := range cases {
		spec := &v1alpha1.LTVComputationSpec{Observation: v1alpha1.Observation{End: c.end}}
		got, err := ObservationEnd(spec, nominal, c.loc)
		if err != nil || got.Format(time.DateOnly) != c.want || got.Location() != time.UTC {
			t.Errorf("%s: got %v (%v), want %s UTC", c.name, got, err, c.want)
		}
	}
}

func TestConfigDefaultsAndDecimals(t *testing.T) {
	spec := &v1alpha1.LTVComputationSpec{
		Source: v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: "o", Key: "k"}, Columns: v1alpha1.Columns{Attributes: []string{"channel"}}},
		Economics: v1alpha1.Economics{
			GrossMargin: "0.3", AnnualDiscountRate: "0.1",
			AcquisitionCost: &v1alpha1.AcquisitionCost{Default: "25", ByAttribute: "channel", Values: map[string]v1alpha1.NonNegativeDecimal{"email": "5"}},
		},
	}
	segs := []v1alpha1.CustomerSegment{{Spec: v1alpha1.CustomerSegmentSpec{ValueTier: &v1alpha1.ValueTier{TopPercent: ptr.To[int32](20)}}}}
	segs[0].Name = "top"
	cfg, err := Config(spec, time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC), segs)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Unit != "Week" || cfg.Model != "Historical" || cfg.Spend != "GammaGamma" || cfg.HorizonMonths != 12 || cfg.Returns != "Net" ||
		cfg.Columns.CustomerID != "customer_id" || cfg.Columns.Timestamp != "date" || cfg.Columns.Amount != "amount" || cfg.TopCustomers != 100 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	if cfg.GrossMargin != 0.3 || cfg.AnnualDiscountRate != 0.1 || cfg.AcquisitionCost.Default != 25 || cfg.AcquisitionCost.Values["email"] != 5 {
		t.Errorf("decimals: %+v %+v", cfg, cfg.AcquisitionCost)
	}
	if len(cfg.Segments) != 1 || cfg.Segments[0].Name != "top" || *cfg.Segments[0].TopPercent != 20 {
		t.Errorf("segments: %+v", cfg.Segments)
	}
}

func TestConfigRefusesWhatTheSchemaCannot(t *testing.T) {
	spec := &v1alpha1.LTVComputationSpec{
		Source:      v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: "o", Key: "k"}},
		BreakdownBy: []string{"channel"},
		Economics:   v1alpha1.Economics{GrossMargin: "abc"},
	}
	_, err := Config(spec, time.Now(), nil)
	var pe *pipeline.Error
	if !errors.As(err, &pe) || pe.Reason != pipeline.ReasonInvalidSpec || !strings.Contains(err.Error(), "spec.economics.grossMargin") {
		t.Errorf("err = %v, want InvalidSpec naming the field", err)
	}
	spec.Economics.GrossMargin = "0.5"
	_, err = Config(spec, time.Now(), nil)
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), `breakdownBy "channel"`) {
		t.Errorf("err = %v, want InvalidSpec naming breakdownBy", err)
	}
}

func TestPostgresMode(t *testing.T) {
	for _, tc := range []struct {
		src  *v1alpha1.PostgresSource
		want v1alpha1.PostgresMode
	}{
		{nil, v1alpha1.PostgresModeAggregate},
		{&v1alpha1.PostgresSource{}, v1alpha1.PostgresModeAggregate},
		{&v1alpha1.PostgresSource{Mode: v1alpha1.PostgresModeStream}, v1alpha1.PostgresModeStream},
	} {
		if got := PostgresMode(tc.src); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.src, got, tc.want)
		}
	}
}
