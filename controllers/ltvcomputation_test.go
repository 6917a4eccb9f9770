package controllers_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/report"
)

// shopCSV is a small shop: a same-day merge (c1), a return (c3), a row after the observation end
// (c4) and three channels.
const shopCSV = `customer_id,date,amount,channel
c1,2026-01-05,100.00,email
c1,2026-01-05,20.00,email
c1,2026-03-10,50.00,email
c2,2026-02-01,80.00,paid_search
c3,2026-02-15,30.00,organic
c3,2026-04-20,-10.00,organic
c3,2026-06-01,45.50,organic
c4,2026-12-01,99.00,email
`

const shopEnd = "2026-10-31"

// expectedCustomer is an independent re-computation of one customer's summary from the CSV.
type expectedCustomer struct {
	days          map[string]float64
	first         time.Time
	channel       string
	historicValue float64
}

func independentSummary(t *testing.T, data, end string) map[string]*expectedCustomer {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	endDay, _ := time.Parse(time.DateOnly, end)
	out := map[string]*expectedCustomer{}
	for _, r := range recs[1:] {
		day, _ := time.Parse(time.DateOnly, r[1])
		if day.After(endDay) {
			continue
		}
		amount, _ := strconv.ParseFloat(r[2], 64)
		c := out[r[0]]
		if c == nil {
			c = &expectedCustomer{days: map[string]float64{}, first: day, channel: r[3]}
			out[r[0]] = c
		}
		c.days[r[1]] += amount
		c.historicValue += amount
	}
	return out
}

func createShop(t *testing.T, ns string, spec func(*v1alpha1.LTVComputationSpec)) {
	t.Helper()
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: ns}, Data: map[string]string{"orders.csv": shopCSV}}
	if err := k8sClient.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	obj := &v1alpha1.LTVComputation{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: v1alpha1.LTVComputationSpec{
			Source: v1alpha1.Source{
				ConfigMap: &v1alpha1.ConfigMapSource{Name: "orders", Key: "orders.csv"},
				Columns:   v1alpha1.Columns{Attributes: []string{"channel"}},
			},
			Observation: v1alpha1.Observation{End: shopEnd},
			Economics: v1alpha1.Economics{
				GrossMargin: "0.30",
				AcquisitionCost: &v1alpha1.AcquisitionCost{
					Default: "10", ByAttribute: "channel", Values: map[string]v1alpha1.NonNegativeDecimal{"email": "5"},
				},
			},
			BreakdownBy: []string{"channel"},
		},
	}
	if spec != nil {
		spec(&obj.Spec)
	}
	if err := k8sClient.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
}

func resultsSummary(t *testing.T, ns, name string) *report.Result {
	t.Helper()
	var cm corev1.ConfigMap
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
		t.Fatal(err)
	}
	var r report.Result
	if err := json.Unmarshal([]byte(cm.Data["summary.json"]), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestHistoricalHappyPath(t *testing.T) {
	ns := newNamespace(t)
	createShop(t, ns, nil)
	obj := waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)

	// Independent calculation: margin x each customer's net amounts up to the end.
	want := independentSummary(t, shopCSV, shopEnd)
	cac := map[string]float64{"email": 5, "paid_search": 10, "organic": 10}
	var values []float64
	var total, transactions, revenue, cacSum float64
	for _, c := range want {
		v := 0.30 * c.historicValue
		values = append(values, v)
		total += v
		for _, amount := range c.days {
			if amount > 0 { // a day with only a refund is not a purchase
				transactions++
			}
		}
		revenue += c.historicValue
		cacSum += cac[c.channel]
	}
	sort.Float64s(values)
	n := float64(len(want))
	avg := total / n
	avgCAC := cacSum / n

	res := obj.Status.Result
	if res == nil {
		t.Fatal("status.result is empty")
	}
	checks := []struct{ field, got, want string }{
		{"customers", strconv.FormatInt(res.Customers, 10), strconv.Itoa(len(want))},
		{"transactions", strconv.FormatInt(res.Transactions, 10), fmt.Sprint(transactions)},
		{"revenue", res.Revenue, fmt.Sprintf("%.2f", revenue)},
		{"averageLTV", res.AverageLTV, fmt.Sprintf("%.2f", avg)},
		{"totalLTV", res.TotalLTV, fmt.Sprintf("%.2f", total)},
		{"medianLTV", res.MedianLTV, fmt.Sprintf("%.2f", values[1])},
		{"ltvToCAC", res.LTVToCAC, fmt.Sprintf("%.2f", avg/avgCAC)},
		{"affordableCAC", res.AffordableCAC, fmt.Sprintf("%.2f", avg/3)},
		{"top20PercentValueShare", res.Top20PercentValueShare, fmt.Sprintf("%.4f", values[2]/total)},
		{"repeatCustomers", strconv.FormatInt(res.RepeatCustomers, 10), "2"},
		{"excludedRows", strconv.FormatInt(res.ExcludedRows, 10), "1"},
		{"resultsConfigMap", res.ResultsConfigMap, "shop-results"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("status.result.%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if !strings.HasPrefix(res.DataDigest, "sha256:") {
		t.Errorf("dataDigest = %q", res.DataDigest)
	}

	// The ConfigMap holds the same result at full precision, and is owned by the computation.
	full := resultsSummary(t, ns, "shop-results")
	if full.Customers != res.Customers || !near(full.AverageLTV, avg, 1e-9) || !near(full.TotalLTV, total, 1e-9) {
		t.Errorf("summary.json customers=%d averageLTV=%v totalLTV=%v, want %v %v %v", full.Customers, full.AverageLTV, full.TotalLTV, res.Customers, avg, total)
	}
	if len(full.Breakdowns) != 1 || len(full.Breakdowns[0].Values) != 3 {
		t.Fatalf("breakdowns = %+v", full.Breakdowns)
	}
	for _, v := range full.Breakdowns[0].Values {
		var sum float64
		var count int64
		for _, c := range want {
			if c.channel == v.Value {
				sum += 0.30 * c.historicValue
				count++
			}
		}
		if v.Customers != count || !near(v.AverageLTV, sum/float64(count), 1e-9) || v.LTVToCAC == nil || !near(*v.LTVToCAC, sum/float64(count)/cac[v.Value], 1e-9) {
			t.Errorf("breakdown %s = %+v, want customers %d average %v", v.Value, v, count, sum/float64(count))
		}
	}
	var cm corev1.ConfigMap
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "shop-results"}, &cm); err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(&cm, obj) {
		t.Errorf("results ConfigMap is not owned by the computation: %+v", cm.OwnerReferences)
	}
	for _, key := range []string{"summary.json", "segments.csv", "breakdown-channel.csv", "top-customers.csv", "report.html"} {
		if _, ok := cm.Data[key]; !ok {
			t.Errorf("results ConfigMap has no %s", key)
		}
	}
	if got := strings.Count(cm.Data["top-customers.csv"], "\n"); got != 4 {
		t.Errorf("top-customers.csv has %d lines, want a header and 3 customers", got)
	}
	if len(obj.Status.RecentRuns) != 1 || !obj.Status.RecentRuns[0].Succeeded || obj.Status.RecentRuns[0].Trigger != "Change" {
		t.Errorf("recentRuns = %+v", obj.Status.RecentRuns)
	}
	if meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReconciling) != nil || meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionStalled) != nil {
		t.Errorf("finished computation still has Reconciling or Stalled: %s", describe(obj))
	}
	assertEvent(t, ns, "shop", v1alpha1.ReasonSucceeded)
}

func TestFormulaModel(t *testing.T) {
	ns := newNamespace(t)
	createShop(t, ns, func(s *v1alpha1.LTVComputationSpec) {
		// An explicit lifespan: the estimate from churn is tested in internal/ltv and internal/pipeline.
		s.Model = v1alpha1.Model{Type: v1alpha1.ModelFormula, HorizonMonths: 24, LifetimeMonths: "24"}
		s.Economics.AnnualDiscountRate = "0.10"
		s.Economics.RetentionCostPerMonth = "0.50"
	})
	waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)

	// Independent calculation: per customer, order value x orders per month (observed for at
	// least a month) x margin - retention cost, over 24 months discounted at 10% a year.
	end, _ := time.Parse(time.DateOnly, shopEnd)
	monthly := math.Pow(1.10, 1.0/12) - 1
	annuity := 0.0
	for m := 1; m <= 24; m++ {
		annuity += 1 / math.Pow(1+monthly, float64(m))
	}
	total := 0.0
	want := independentSummary(t, shopCSV, shopEnd)
	for _, c := range want {
		orders := float64(len(c.days))
		months := math.Max(end.Sub(c.first).Hours()/24/(365.25/12), 1)
		total += (c.historicValue/orders*(orders/months)*0.30 - 0.50) * annuity
	}
	full := resultsSummary(t, ns, "shop-results")
	if !near(full.TotalLTV, total, 1e-6) || !near(full.AverageLTV, total/3, 1e-6) {
		t.Errorf("formula totalLTV = %v averageLTV = %v, want %v %v", full.TotalLTV, full.AverageLTV, total, total/3)
	}
	if full.Model.LifetimeMonths == nil || *full.Model.LifetimeMonths != 24 {
		t.Errorf("lifetimeMonths = %v, want 24", full.Model.LifetimeMonths)
	}
}

func TestSpecChangeAndRequestedRerun(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	createShop(t, ns, nil)
	obj := waitRuns(t, ns, "shop", 1)
	before := obj.Status.Result.AverageLTV

	// A new generation runs again with the new margin.
	obj.Spec.Economics.GrossMargin = "0.60"
	if err := k8sClient.Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
	obj = waitRuns(t, ns, "shop", 2)
	b, _ := strconv.ParseFloat(before, 64)
	a, _ := strconv.ParseFloat(obj.Status.Result.AverageLTV, 64)
	if !near(a, 2*b, 0.011) {
		t.Errorf("averageLTV after doubling the margin = %v, want about %v", a, 2*b)
	}
	if obj.Status.ObservedGeneration != obj.Generation {
		t.Errorf("observedGeneration %d != generation %d", obj.Status.ObservedGeneration, obj.Generation)
	}

	// The Flux annotation requests a run of the same spec.
	patch := client.MergeFrom(obj.DeepCopy())
	obj.Annotations = map[string]string{v1alpha1.RequestedAtAnnotation: "2026-11-26T09:00:00Z"}
	if err := k8sClient.Patch(ctx, obj, patch); err != nil {
		t.Fatal(err)
	}
	obj = waitRuns(t, ns, "shop", 3)
	if obj.Status.LastHandledReconcileAt != "2026-11-26T09:00:00Z" {
		t.Errorf("lastHandledReconcileAt = %q", obj.Status.LastHandledReconcileAt)
	}
	if obj.Status.RecentRuns[0].Trigger != "Request" {
		t.Errorf("newest run trigger = %q, want Request", obj.Status.RecentRuns[0].Trigger)
	}

	// runHistoryLimit bounds the history.
	obj.Spec.RunHistoryLimit = ptr.To[int32](2)
	if err := k8sClient.Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "history trimmed to 2", func() (bool, string) {
		o := getLTV(t, ns, "shop")
		return len(o.Status.RecentRuns) == 2 && o.Status.ObservedGeneration == o.Generation, describe(o)
	})
}

// A status-only write (here by someone else) must not start a run.
func TestNoRunOnStatusUpdate(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	createShop(t, ns, nil)
	obj := waitRuns(t, ns, "shop", 1)
	patch := client.MergeFrom(obj.DeepCopy())
	meta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{Type: "ExternalNote", Status: metav1.ConditionTrue, Reason: "Test", Message: "written by a test"})
	if err := k8sClient.Status().Patch(ctx, obj, patch); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	obj = getLTV(t, ns, "shop")
	if len(obj.Status.RecentRuns) != 1 {
		t.Fatalf("a status update started a run: %d runs", len(obj.Status.RecentRuns))
	}
}

func TestFailedRunKeepsPreviousResult(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	createShop(t, ns, nil)
	good := waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)

	var cm corev1.ConfigMap
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "orders"}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["orders.csv"] = shopCSV + "c9,2026-05-01,12.x3,email\n"
	if err := k8sClient.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	obj := waitCondition(t, ns, "shop", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonInvalidData)
	stalled := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionStalled)
	for _, want := range []string{"line 10", "12.x3", "amount"} {
		if !strings.Contains(stalled.Message, want) {
			t.Errorf("Stalled message %q does not mention %q", stalled.Message, want)
		}
	}
	if obj.Status.Result == nil || obj.Status.Result.AverageLTV != good.Status.Result.AverageLTV {
		t.Errorf("status.result was not kept: %+v", obj.Status.Result)
	}
	if full := resultsSummary(t, ns, "shop-results"); full.Customers != 3 {
		t.Errorf("results ConfigMap lost the previous result: %+v", full)
	}
	if obj.Status.RecentRuns[0].Succeeded || obj.Status.RecentRuns[0].Reason != v1alpha1.ReasonInvalidData {
		t.Errorf("failed run not recorded: %+v", obj.Status.RecentRuns[0])
	}
	assertEvent(t, ns, "shop", v1alpha1.ReasonInvalidData)

	// Fixing the data recovers.
	cm.Data["orders.csv"] = shopCSV
	if err := k8sClient.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
}

func TestMissingSourceRunsWhenItAppears(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	obj := &v1alpha1.LTVComputation{
		ObjectMeta: metav1.ObjectMeta{Name: "late", Namespace: ns},
		Spec: v1alpha1.LTVComputationSpec{
			Source:      v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: "orders", Key: "orders.csv"}},
			Observation: v1alpha1.Observation{End: shopEnd},
		},
	}
	if err := k8sClient.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	got := waitCondition(t, ns, "late", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSourceNotFound)
	if meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionStalled) {
		t.Errorf("a missing ConfigMap must not stall: %s", describe(got))
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: ns}, Data: map[string]string{"other.csv": shopCSV}}
	if err := k8sClient.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "a condition naming the missing key", func() (bool, string) {
		got = getLTV(t, ns, "late")
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		return c != nil && c.Reason == v1alpha1.ReasonSourceNotFound && strings.Contains(c.Message, `no key "orders.csv"`), describe(got)
	})
	cm.Data["orders.csv"] = shopCSV
	if err := k8sClient.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	got = waitCondition(t, ns, "late", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	if got.Status.Result.Customers != 3 {
		t.Errorf("customers = %d, want 3", got.Status.Result.Customers)
	}
}

func TestBadInputStalls(t *testing.T) {
	cases := []struct {
		name    string
		csv     string
		reason  string
		mention []string
	}{
		{"missing column", "customer_id,day,amount\nc1,2026-01-01,10\n", v1alpha1.ReasonMissingColumn, []string{`"date"`}},
		{"duplicate header", "customer_id,date,amount,amount\nc1,2026-01-01,10,11\n", v1alpha1.ReasonMissingColumn, []string{`"amount"`, "appears 2 times"}},
		{"unparsable date", "customer_id,date,amount\nc1,2026-01-01,10\nc2,01/02/2026,10\n", v1alpha1.ReasonInvalidData, []string{"line 3", "01/02/2026"}},
		{"non-numeric amount", "customer_id,date,amount\nc1,2026-01-01,ten\n", v1alpha1.ReasonInvalidData, []string{"line 2", `"ten"`}},
		{"wrong field count", "customer_id,date,amount\nc1,2026-01-01\n", v1alpha1.ReasonInvalidData, []string{"line 2"}},
		{"empty data", "customer_id,date,amount\n", v1alpha1.ReasonNoData, nil},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := newNamespace(t)
			ctx := context.Background()
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: ns}, Data: map[string]string{"orders.csv": c.csv}}
			if err := k8sClient.Create(ctx, cm); err != nil {
				t.Fatal(err)
			}
			obj := &v1alpha1.LTVComputation{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bad-%d", i), Namespace: ns},
				Spec: v1alpha1.LTVComputationSpec{
					Source:      v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: "orders", Key: "orders.csv"}},
					Observation: v1alpha1.Observation{End: shopEnd},
				},
			}
			if err := k8sClient.Create(ctx, obj); err != nil {
				t.Fatal(err)
			}
			got := waitCondition(t, ns, obj.Name, v1alpha1.ConditionStalled, metav1.ConditionTrue, c.reason)
			msg := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionStalled).Message
			for _, m := range c.mention {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q does not mention %s", msg, m)
				}
			}
			if r := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady); r.Status != metav1.ConditionFalse || r.Reason != c.reason {
				t.Errorf("Ready = %+v, want False/%s", r, c.reason)
			}
			assertEvent(t, ns, obj.Name, c.reason)
		})
	}
}

// The BG/NBD + Gamma-Gamma fit of the CDNOW sample through the controller gives the published
// parameters (Fader, Hardie & Lee 2005) in status.
func TestBGNBDOnCDNOWThroughController(t *testing.T) {
	data, err := os.ReadFile("../testdata/cdnow_sample_transactions.csv")
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cdnow", Namespace: ns}, Data: map[string]string{"tx.csv": string(data)}}
	if err := k8sClient.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	obj := &v1alpha1.LTVComputation{
		ObjectMeta: metav1.ObjectMeta{Name: "cdnow", Namespace: ns},
		Spec: v1alpha1.LTVComputationSpec{
			Source:      v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: "cdnow", Key: "tx.csv"}},
			Observation: v1alpha1.Observation{End: "1997-09-30", TimeUnit: v1alpha1.TimeUnitWeek},
			Model:       v1alpha1.Model{Type: v1alpha1.ModelBGNBD, Spend: v1alpha1.SpendGammaGamma, HorizonMonths: 12},
		},
	}
	if err := k8sClient.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	got := waitCondition(t, ns, "cdnow", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	res := got.Status.Result
	if res.Customers != 2357 {
		t.Errorf("customers = %d, want 2357", res.Customers)
	}
	published := map[string]float64{"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "gamma": 15.44}
	for name, want := range published {
		v, err := strconv.ParseFloat(res.Model.Parameters[name], 64)
		// Published to 3 decimals (2 for Gamma-Gamma): the fit must round to them.
		tol := 0.0005
		if name == "p" || name == "q" || name == "gamma" {
			tol = 0.005
		}
		if err != nil || !near(v, want, tol) {
			t.Errorf("parameter %s = %q, want %v ± %v", name, res.Model.Parameters[name], want, tol)
		}
	}
	if ll, _ := strconv.ParseFloat(res.Model.LogLikelihood, 64); !near(ll, -9582.4, 0.05) {
		t.Errorf("logLikelihood = %s, want -9582.4", res.Model.LogLikelihood)
	}
	if res.AverageProbabilityAlive == "" || res.AverageLTVInterval == nil {
		t.Errorf("missing probability alive or interval: %+v", res)
	}
}

func assertEvent(t *testing.T, ns, name, reason string) {
	t.Helper()
	eventually(t, 10*time.Second, "event "+reason, func() (bool, string) {
		var list corev1.EventList
		if err := k8sClient.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range list.Items {
			if e.InvolvedObject.Name == name {
				if e.Reason == reason {
					return true, ""
				}
				seen = append(seen, e.Reason)
			}
		}
		return false, fmt.Sprint(seen)
	})
}

// Deleting the results ConfigMap publishes the results again.
func TestDeletedResultsAreRepublished(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	createShop(t, ns, nil)
	waitRuns(t, ns, "shop", 1)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-results"}}
	if err := k8sClient.Delete(ctx, cm); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the results ConfigMap to come back", func() (bool, string) {
		var got corev1.ConfigMap
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "shop-results"}, &got)
		return err == nil && got.Data["summary.json"] != "", fmt.Sprint(err)
	})
}

// A results ConfigMap name taken by someone else's ConfigMap stalls: retrying cannot free it.
func TestTakenResultsConfigMapStalls(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	taken := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: ns}, Data: map[string]string{"mine": "yes"}}
	if err := k8sClient.Create(ctx, taken); err != nil {
		t.Fatal(err)
	}
	createShop(t, ns, func(s *v1alpha1.LTVComputationSpec) { s.Output.ConfigMapName = "taken" })
	obj := waitCondition(t, ns, "shop", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonInvalidSpec)
	if c := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionStalled); !strings.Contains(c.Message, "spec.output.configMapName") {
		t.Errorf("message %q does not say what to change", c.Message)
	}
	var got corev1.ConfigMap
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(taken), &got); err != nil || got.Data["mine"] != "yes" || len(got.OwnerReferences) != 0 {
		t.Errorf("someone else's ConfigMap was touched: %+v, %v", got, err)
	}
	// Choosing another name recovers.
	obj.Spec.Output.ConfigMapName = "shop-ltv"
	if err := k8sClient.Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
}

// Editing the results ConfigMap's content (summary.json changed, a key added) publishes the
// results again at once, without waiting for the next run; an edit of its labels alone does not.
func TestTamperedResultsAreRestored(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	createShop(t, ns, nil)
	waitRuns(t, ns, "shop", 1)
	key := client.ObjectKey{Namespace: ns, Name: "shop-results"}
	var cm corev1.ConfigMap
	if err := k8sClient.Get(ctx, key, &cm); err != nil {
		t.Fatal(err)
	}
	published := cm.Data["summary.json"]

	// metadata only: not republished
	cm.Labels["team"] = "growth"
	if err := k8sClient.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if n := len(getLTV(t, ns, "shop").Status.RecentRuns); n != 1 {
		t.Errorf("a label edit of the results ConfigMap started a run (%d runs)", n)
	}

	if err := k8sClient.Get(ctx, key, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["summary.json"] = `{"averageLTV": 1e9}`
	cm.Data["extra.csv"] = "x"
	if err := k8sClient.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the results ConfigMap restored", func() (bool, string) {
		var got corev1.ConfigMap
		err := k8sClient.Get(ctx, key, &got)
		_, extra := got.Data["extra.csv"]
		return err == nil && averageLTVOf(got.Data["summary.json"]) == averageLTVOf(published) && !extra, fmt.Sprint(err, " ", got.Data["summary.json"][:min(40, len(got.Data["summary.json"]))])
	})
}

func averageLTVOf(summaryJSON string) any {
	var v map[string]any
	if err := json.Unmarshal([]byte(summaryJSON), &v); err != nil {
		return err.Error()
	}
	return v["averageLTV"]
}
