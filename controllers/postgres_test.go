package controllers_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

// pgLoadCDNOW creates sales.orders with the CDNOW sample.
func pgLoadCDNOW(t *testing.T, dsn string) {
	t.Helper()
	data, err := os.ReadFile("../testdata/cdnow_sample_transactions.csv")
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, dsn, "CREATE SCHEMA sales", "CREATE SCHEMA analytics")
	pgtest.LoadCSV(t, dsn, "sales.orders", "customer_id text, ordered_at date, total numeric(12,2)", data)
}

func pgSecret(t *testing.T, ns, name, dsn string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: map[string]string{"dsn": dsn + "\n"}}
	if err := k8sClient.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// pgComputation creates a BG/NBD computation of sales.orders (the CDNOW sample) with the
// connection string in Secret "warehouse" and, when sinkSecret is set, the customers sink.
func pgComputation(t *testing.T, ns, name string, src v1alpha1.SecretKeyReference, sink *v1alpha1.SecretKeyReference) {
	t.Helper()
	obj := &v1alpha1.LTVComputation{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.LTVComputationSpec{
			Source: v1alpha1.Source{
				Postgres: &v1alpha1.PostgresSource{ConnectionSecretRef: src, Table: "sales.orders"},
				Columns:  v1alpha1.Columns{CustomerID: "customer_id", Timestamp: "ordered_at", Amount: "total"},
			},
			Observation: v1alpha1.Observation{End: "1997-09-30", TimeUnit: v1alpha1.TimeUnitWeek},
			Model:       v1alpha1.Model{Type: v1alpha1.ModelBGNBD, Spend: v1alpha1.SpendGammaGamma, HorizonMonths: 12},
		},
	}
	if sink != nil {
		obj.Spec.Output.Customers = &v1alpha1.CustomersOutput{Postgres: &v1alpha1.PostgresSink{ConnectionSecretRef: *sink, Table: "analytics.customer_ltv"}}
	}
	if err := k8sClient.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}

func pgCount(t *testing.T, dsn, computation string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM analytics.customer_ltv WHERE computation = $1", computation).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// assertNoSecret checks that the computation's status and the namespace's events never contain
// any of the strings.
func assertNoSecret(t *testing.T, ns, name string, secrets ...string) {
	t.Helper()
	obj := getLTV(t, ns, name)
	var texts []string
	for _, c := range obj.Status.Conditions {
		texts = append(texts, c.Message)
	}
	for _, r := range obj.Status.RecentRuns {
		texts = append(texts, r.Message)
	}
	var events corev1.EventList
	if err := k8sClient.List(context.Background(), &events, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		texts = append(texts, e.Message)
	}
	status := fmt.Sprintf("%+v", obj.Status)
	for _, s := range secrets {
		for _, text := range append(texts, status) {
			if strings.Contains(text, s) {
				t.Errorf("%q contains a secret (%q)", text, s)
			}
		}
	}
}

// A computation with a PostgreSQL source (the summary computed in the database) and the
// customers sink becomes Ready with the CDNOW sample's published BG/NBD fit, and the table
// holds one row per customer.
func TestPostgresSourceAndCustomersSink(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgLoadCDNOW(t, dsn)
	ns := newNamespace(t)
	pgSecret(t, ns, "warehouse", dsn)
	ref := v1alpha1.SecretKeyReference{Name: "warehouse", Key: "dsn"}
	pgComputation(t, ns, "cdnow", ref, &ref)
	obj := waitCondition(t, ns, "cdnow", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	res := obj.Status.Result
	if res.Customers != 2357 || res.Transactions == 0 {
		t.Errorf("customers %d, transactions %d", res.Customers, res.Transactions)
	}
	for name, want := range map[string]float64{"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426} {
		if v, err := strconv.ParseFloat(res.Model.Parameters[name], 64); err != nil || !near(v, want, 0.0005) {
			t.Errorf("%s = %q, want %v", name, res.Model.Parameters[name], want)
		}
	}
	if !strings.HasPrefix(res.DataDigest, "sha256:") {
		t.Errorf("dataDigest %q", res.DataDigest)
	}
	if n := pgCount(t, dsn, ns+"/cdnow"); n != 2357 {
		t.Errorf("customer_ltv holds %d rows for %s/cdnow, want 2357", n, ns)
	}
	if !strings.Contains(obj.Status.LastAttemptedRevision, "secret-version:") {
		t.Errorf("revision %q does not follow the Secret", obj.Status.LastAttemptedRevision)
	}
	assertNoSecret(t, ns, "cdnow", pgtest.Shared(t).Password, dsn)

	// the same numbers as the CSV in a ConfigMap
	data, err := os.ReadFile("../testdata/cdnow_sample_transactions.csv")
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cdnow", Namespace: ns},
		Data: map[string]string{"tx.csv": strings.Replace(string(data), "customer_id,date,amount", "customer_id,ordered_at,total", 1)}}
	if err := k8sClient.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	csv := &v1alpha1.LTVComputation{ObjectMeta: metav1.ObjectMeta{Name: "cdnow-csv", Namespace: ns}, Spec: *obj.Spec.DeepCopy()}
	csv.Spec.Source.Postgres = nil
	csv.Spec.Source.ConfigMap = &v1alpha1.ConfigMapSource{Name: "cdnow", Key: "tx.csv"}
	csv.Spec.Output.Customers = nil
	if err := k8sClient.Create(context.Background(), csv); err != nil {
		t.Fatal(err)
	}
	want := waitCondition(t, ns, "cdnow-csv", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded).Status.Result
	if want.Customers != res.Customers || want.Transactions != res.Transactions || want.Revenue != res.Revenue ||
		want.AverageLTV != res.AverageLTV || want.TotalLTV != res.TotalLTV || fmt.Sprint(want.Model.Parameters) != fmt.Sprint(res.Model.Parameters) {
		t.Errorf("ConfigMap and PostgreSQL differ:\n%+v\n%+v", want, res)
	}
}

// A wrong password stalls with a clear condition that shows neither the password nor the
// connection string; fixing the Secret re-runs the computation.
func TestPostgresWrongPassword(t *testing.T) {
	srv := pgtest.Shared(t)
	dsn := pgtest.NewDatabase(t)
	pgLoadCDNOW(t, dsn)
	ns := newNamespace(t)
	wrong := strings.Replace(dsn, ":"+srv.Password+"@", ":Sup3r-S3cret-Wr0ng@", 1)
	secret := pgSecret(t, ns, "warehouse", wrong)
	pgComputation(t, ns, "cdnow", v1alpha1.SecretKeyReference{Name: "warehouse", Key: "dsn"}, nil)
	obj := waitCondition(t, ns, "cdnow", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonAccessDenied)
	msg := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady).Message
	if !strings.Contains(msg, "password authentication failed") || !strings.Contains(msg, "28P01") {
		t.Errorf("condition message %q", msg)
	}
	assertEvent(t, ns, "cdnow", v1alpha1.ReasonAccessDenied)
	assertNoSecret(t, ns, "cdnow", "Sup3r-S3cret-Wr0ng", wrong, srv.Password)

	// the right password: the Secret's new version re-runs the computation
	secret.StringData = map[string]string{"dsn": dsn}
	if err := k8sClient.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	obj = waitCondition(t, ns, "cdnow", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	if obj.Status.Result.Customers != 2357 {
		t.Errorf("customers %d", obj.Status.Result.Customers)
	}
	assertNoSecret(t, ns, "cdnow", "Sup3r-S3cret-Wr0ng", wrong, srv.Password, dsn)
}

// A database that is down is a transient failure (Ready=False, Reconciling with
// ProgressingWithRetry, retried with backoff) and the computation recovers by itself when the
// database is back.
func TestPostgresDown(t *testing.T) {
	srv := pgtest.New(t) // stopped by this test: a server of its own
	ctx := context.Background()
	dsn, err := srv.CreateDatabase(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	pgLoadCDNOW(t, dsn)
	ns := newNamespace(t)
	pgSecret(t, ns, "warehouse", dsn)
	ref := v1alpha1.SecretKeyReference{Name: "warehouse", Key: "dsn"}
	pgComputation(t, ns, "cdnow", ref, &ref)
	waitCondition(t, ns, "cdnow", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)

	srv.Stop()
	obj := getLTV(t, ns, "cdnow")
	obj.Annotations = map[string]string{v1alpha1.RequestedAtAnnotation: "2026-11-26T10:00:00Z"}
	if err := k8sClient.Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, ns, "cdnow", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSourceUnavailable)
	// between retries (each one shows Reconciling=True Progressing while it runs)
	obj = waitCondition(t, ns, "cdnow", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonProgressingWithRetry)
	if c := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonSourceUnavailable ||
		!strings.Contains(c.Message, "connection refused") {
		t.Errorf("Ready = %+v", c)
	}
	if meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionStalled) != nil {
		t.Error("a database that is down stalls the computation")
	}
	if obj.Status.Result == nil || obj.Status.Result.Customers != 2357 {
		t.Error("the previous result is not kept")
	}
	assertNoSecret(t, ns, "cdnow", srv.Password, dsn)
	runs := len(obj.Status.RecentRuns)

	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	obj = waitCondition(t, ns, "cdnow", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	if len(obj.Status.RecentRuns) <= runs || !obj.Status.RecentRuns[0].Succeeded {
		t.Errorf("no successful run after the database came back: %+v", obj.Status.RecentRuns)
	}
	if meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReconciling) != nil {
		t.Error("still reconciling")
	}
	if n := pgCount(t, dsn, ns+"/cdnow"); n != 2357 {
		t.Errorf("customer_ltv holds %d rows, want 2357", n)
	}
}

// Secrets of other namespaces are refused (Stalled, AccessDenied), for the source and for the
// sink; a missing Secret waits (Ready=False, neither reconciling nor stalled) and the
// computation runs when it appears.
func TestPostgresSecretReferences(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgLoadCDNOW(t, dsn)
	ns := newNamespace(t)
	other := newNamespace(t)
	pgSecret(t, other, "warehouse", dsn)

	pgComputation(t, ns, "elsewhere", v1alpha1.SecretKeyReference{Name: "warehouse", Key: "dsn", Namespace: other}, nil)
	obj := waitCondition(t, ns, "elsewhere", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonAccessDenied)
	if msg := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "spec.source.postgres.connectionSecretRef") {
		t.Errorf("message %q", msg)
	}

	pgComputation(t, ns, "waiting", v1alpha1.SecretKeyReference{Name: "warehouse", Key: "dsn"}, nil)
	obj = waitCondition(t, ns, "waiting", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSourceNotFound)
	if meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionStalled) != nil || meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReconciling) != nil {
		t.Errorf("a missing Secret should wait: %s", describe(obj))
	}
	pgSecret(t, ns, "warehouse", dsn)
	waitCondition(t, ns, "waiting", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)

	// the sink's Secret in another namespace
	pgComputation(t, ns, "sink-elsewhere", v1alpha1.SecretKeyReference{Name: "warehouse", Key: "dsn"},
		&v1alpha1.SecretKeyReference{Name: "warehouse", Key: "dsn", Namespace: other})
	obj = waitCondition(t, ns, "sink-elsewhere", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonAccessDenied)
	if msg := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "spec.output.customers.postgres.connectionSecretRef") {
		t.Errorf("message %q", msg)
	}
	if n := pgCountMaybe(t, dsn, ns+"/sink-elsewhere"); n != 0 {
		t.Errorf("%d rows written with another namespace's Secret", n)
	}
	assertNoSecret(t, ns, "sink-elsewhere", pgtest.Shared(t).Password, dsn)
}

// pgCountMaybe is pgCount, 0 when the table does not exist.
func pgCountMaybe(t *testing.T, dsn, computation string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('analytics.customer_ltv') IS NOT NULL").Scan(&exists); err != nil || !exists {
		return 0
	}
	return pgCount(t, dsn, computation)
}

// The sink's database being unreachable fails the run with SinkFailed and a retry, and the
// previous result stays.
func TestPostgresSinkUnavailable(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgLoadCDNOW(t, dsn)
	ns := newNamespace(t)
	pgSecret(t, ns, "warehouse", dsn)
	srv := pgtest.New(t)
	srv.Stop()
	pgSecret(t, ns, "scores", srv.DSN("postgres"))
	pgComputation(t, ns, "cdnow", v1alpha1.SecretKeyReference{Name: "warehouse", Key: "dsn"}, &v1alpha1.SecretKeyReference{Name: "scores", Key: "dsn"})
	waitCondition(t, ns, "cdnow", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSinkFailed)
	waitCondition(t, ns, "cdnow", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonProgressingWithRetry)
	assertNoSecret(t, ns, "cdnow", srv.Password, pgtest.Shared(t).Password)
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	// up, but without the table's schema: still retried
	waitCondition(t, ns, "cdnow", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSinkFailed)
	eventually(t, 30*time.Second, "the missing schema in the condition", func() (bool, string) {
		msg := meta.FindStatusCondition(getLTV(t, ns, "cdnow").Status.Conditions, v1alpha1.ConditionReady).Message
		return strings.Contains(msg, "3F000"), msg
	})
	if err := srv.Exec(context.Background(), "postgres", "CREATE SCHEMA analytics"); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, ns, "cdnow", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	if n := pgCount(t, srv.DSN("postgres"), ns+"/cdnow"); n != 2357 {
		t.Errorf("customer_ltv holds %d rows, want 2357", n)
	}
}
