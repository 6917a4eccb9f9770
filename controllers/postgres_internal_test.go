package controllers

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

// TestPostgresSecretsStayOutOfLogs reconciles computations whose database refuses the password
// or is down, with a logger that records everything at every level, and checks that the
// password and the connection string appear in no log line, event, status or returned error
// (controller-runtime logs that error).
func TestPostgresSecretsStayOutOfLogs(t *testing.T) {
	srv := pgtest.Shared(t)
	dsn := pgtest.NewDatabase(t)
	const leaked = "L0g-S3cret-pa55"
	wrong := strings.Replace(dsn, ":"+srv.Password+"@", ":"+leaked+"@", 1)
	down := pgtest.New(t)
	downDSN := strings.Replace(down.DSN("postgres"), ":"+down.Password+"@", ":"+leaked+"@", 1)
	down.Stop()

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dsn, sinkDSN, reason string
	}{
		{"wrong password", wrong, "", v1alpha1.ReasonAccessDenied},
		{"database down", downDSN, "", v1alpha1.ReasonSourceUnavailable},
		{"sink: wrong password", dsn, wrong, v1alpha1.ReasonSinkFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.sinkDSN != "" {
				if err := srv.Exec(ctx, strings.TrimPrefix(dsnDatabase(dsn), "/"),
					"CREATE TABLE IF NOT EXISTS orders (customer_id text, date date, amount numeric)",
					"INSERT INTO orders VALUES ('a', '2026-01-01', 5), ('a', '2026-02-01', 7), ('b', '2026-03-01', 9)"); err != nil {
					t.Fatal(err)
				}
			}
			obj := &v1alpha1.LTVComputation{
				ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "ns", Generation: 1, CreationTimestamp: metav1.Now()},
				Spec: v1alpha1.LTVComputationSpec{
					Source: v1alpha1.Source{
						Postgres: &v1alpha1.PostgresSource{ConnectionSecretRef: v1alpha1.SecretKeyReference{Name: "db", Key: "dsn"}, Table: "orders"},
						Columns:  v1alpha1.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"},
					},
					Observation: v1alpha1.Observation{End: "2026-10-31", TimeUnit: v1alpha1.TimeUnitWeek},
					Model:       v1alpha1.Model{Type: v1alpha1.ModelHistorical, Spend: v1alpha1.SpendMean, HorizonMonths: 12},
					Economics:   v1alpha1.Economics{Currency: "USD", GrossMargin: "0.3", AnnualDiscountRate: "0.1", RetentionCostPerMonth: "0"},
				},
			}
			secrets := []runtime.Object{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "ns"}, Data: map[string][]byte{"dsn": []byte(tc.dsn)}}}
			if tc.sinkDSN != "" {
				obj.Spec.Output.Customers = &v1alpha1.CustomersOutput{Postgres: &v1alpha1.PostgresSink{
					ConnectionSecretRef: v1alpha1.SecretKeyReference{Name: "scores", Key: "dsn"}, Table: "scores"}}
				secrets = append(secrets, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "scores", Namespace: "ns"}, Data: map[string][]byte{"dsn": []byte(tc.sinkDSN)}})
			}
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(obj).WithRuntimeObjects(secrets...).
				WithStatusSubresource(&v1alpha1.LTVComputation{}).Build()
			rec := events.NewFakeRecorder(100)
			rec.Verbose = true
			r := &LTVComputationReconciler{
				Client: c, Scheme: scheme, Recorder: rec, Clock: clocktesting.NewFakeClock(time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)),
				RunTimeout: time.Minute, PostgresSource: resolvePostgresSource, CustomersSink: writePostgresCustomers,
			}
			var logs bytes.Buffer
			ctx = logf.IntoContext(ctx, zap.New(zap.WriteTo(&logs), zap.UseDevMode(true), zap.Level(zapcore.Level(zapDebug))))
			_, rerr := r.Reconcile(ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "shop"}})

			var got v1alpha1.LTVComputation
			if err := c.Get(ctx, types.NamespacedName{Namespace: "ns", Name: "shop"}, &got); err != nil {
				t.Fatal(err)
			}
			ready := findCondition(got.Status.Conditions, v1alpha1.ConditionReady)
			if ready == nil || ready.Reason != tc.reason {
				t.Fatalf("Ready = %+v, want reason %s", ready, tc.reason)
			}
			close(rec.Events)
			var evs []string
			for e := range rec.Events {
				evs = append(evs, e)
			}
			texts := map[string]string{"logs": logs.String(), "events": strings.Join(evs, "\n"), "status": fmt.Sprintf("%+v", got.Status)}
			if rerr != nil {
				texts["error"] = rerr.Error()
			}
			if !strings.Contains(logs.String(), "run failed") || !strings.Contains(logs.String(), `"reason": "`+tc.reason+`"`) || len(evs) == 0 {
				t.Errorf("the failure is not in the logs or in an event:\n%s\n%v", logs.String(), evs)
			}
			for what, text := range texts {
				for _, secret := range []string{leaked, tc.dsn, tc.sinkDSN, srv.Password, down.Password} {
					if secret != "" && strings.Contains(text, secret) {
						t.Errorf("%s contain a secret: %s", what, text)
					}
				}
			}
			t.Logf("condition: %s", ready.Message)
		})
	}
}

const zapDebug = -10

func findCondition(conds []metav1.Condition, condType string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == condType {
			return &conds[i]
		}
	}
	return nil
}

func dsnDatabase(dsn string) string {
	i := strings.LastIndex(dsn, "/")
	j := strings.Index(dsn, "?")
	return dsn[i:j]
}
