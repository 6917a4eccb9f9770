package controllers_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/controllers"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

func waitGone(t *testing.T, ns, name string) {
	t.Helper()
	eventually(t, 30*time.Second, name+" to be gone", func() (bool, string) {
		var o v1alpha1.LTVComputation
		err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &o)
		return apierrors.IsNotFound(err), describe(&o) + " finalizers " + strings.Join(o.Finalizers, ",")
	})
}

// updateLTV edits the computation, retrying on conflicts with the operator's writes.
func updateLTV(t *testing.T, ns, name string, edit func(*v1alpha1.LTVComputation)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		o := getLTV(t, ns, name)
		edit(o)
		return k8sClient.Update(context.Background(), o)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// updateSegment edits the segment, retrying on conflicts with the segment controller's status
// writes.
func updateSegment(t *testing.T, ns, name string, edit func(*v1alpha1.CustomerSegment)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s := getSegment(t, ns, name)
		edit(s)
		return k8sClient.Update(context.Background(), s)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func deleteLTV(t *testing.T, ns, name string) {
	t.Helper()
	if err := k8sClient.Delete(context.Background(), getLTV(t, ns, name)); err != nil {
		t.Fatal(err)
	}
}

// spec.output.customers.deletionPolicy: Delete (the default) deletes the computation's rows
// before it goes, through a finalizer; Orphan leaves them and adds no finalizer. Rows of other
// computations in the table stay.
func TestDeletionPolicy(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgLoadCDNOW(t, dsn)
	ns := newNamespace(t)
	pgSecret(t, ns, "warehouse", dsn)
	ref := v1alpha1.SecretKeyReference{Name: "warehouse", Key: "dsn"}
	pgComputation(t, ns, "deleted", ref, &ref)
	pgComputation(t, ns, "orphaned", ref, &ref)
	updateLTV(t, ns, "orphaned", func(o *v1alpha1.LTVComputation) {
		o.Spec.Output.Customers.DeletionPolicy = v1alpha1.DeletionPolicyOrphan
	})
	deleted := waitCondition(t, ns, "deleted", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	orphaned := waitCondition(t, ns, "orphaned", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	if deleted.Spec.Output.Customers.DeletionPolicy != v1alpha1.DeletionPolicyDelete {
		t.Errorf("default deletionPolicy %q, want Delete", deleted.Spec.Output.Customers.DeletionPolicy)
	}
	if !slices.Contains(deleted.Finalizers, controllers.FinalizerCustomersRows) {
		t.Errorf("finalizers %v: no %s", deleted.Finalizers, controllers.FinalizerCustomersRows)
	}
	if slices.Contains(orphaned.Finalizers, controllers.FinalizerCustomersRows) {
		t.Errorf("Orphan has the finalizer: %v", orphaned.Finalizers)
	}
	for _, name := range []string{"deleted", "orphaned"} {
		if n := pgCount(t, dsn, ns+"/"+name); n != 2357 {
			t.Fatalf("%s: %d rows, want 2357", name, n)
		}
	}
	deleteLTV(t, ns, "deleted")
	deleteLTV(t, ns, "orphaned")
	waitGone(t, ns, "deleted")
	waitGone(t, ns, "orphaned")
	if n := pgCount(t, dsn, ns+"/deleted"); n != 0 {
		t.Errorf("deletionPolicy Delete left %d rows", n)
	}
	if n := pgCount(t, dsn, ns+"/orphaned"); n != 2357 {
		t.Errorf("deletionPolicy Orphan left %d rows, want 2357", n)
	}
}

// A sink that cannot be reached when the computation is deleted holds the deletion: Ready and
// a Warning Event (DeletionFailed) name the table and how to force it; it is retried until the
// database is back. Setting deletionPolicy: Orphan lets the deletion finish without it.
func TestDeletionWithUnreachableSink(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	pgLoadCDNOW(t, dsn)
	srv := pgtest.New(t)
	if err := srv.Exec(ctx, "postgres", "CREATE SCHEMA analytics"); err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	pgSecret(t, ns, "warehouse", dsn)
	pgSecret(t, ns, "scores", srv.DSN("postgres"))
	src := v1alpha1.SecretKeyReference{Name: "warehouse", Key: "dsn"}
	sink := v1alpha1.SecretKeyReference{Name: "scores", Key: "dsn"}
	pgComputation(t, ns, "retried", src, &sink)
	pgComputation(t, ns, "forced", src, &sink)
	waitCondition(t, ns, "retried", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	waitCondition(t, ns, "forced", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)

	srv.Stop()
	deleteLTV(t, ns, "retried")
	deleteLTV(t, ns, "forced")
	for _, name := range []string{"retried", "forced"} {
		eventually(t, 30*time.Second, name+": the deletion failure in Ready", func() (bool, string) {
			o := getLTV(t, ns, name)
			c := meta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady)
			return c != nil && c.Reason == v1alpha1.ReasonDeletionFailed, describe(o)
		})
		msg := meta.FindStatusCondition(getLTV(t, ns, name).Status.Conditions, v1alpha1.ConditionReady).Message
		for _, want := range []string{ns + "/" + name, "analytics.customer_ltv", "deletionPolicy to Orphan", controllers.FinalizerCustomersRows} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q does not name %q", msg, want)
			}
		}
		assertEvent(t, ns, name, v1alpha1.ReasonDeletionFailed)
		assertNoSecret(t, ns, name, srv.Password, pgtest.Shared(t).Password)
	}

	updateLTV(t, ns, "forced", func(o *v1alpha1.LTVComputation) {
		o.Spec.Output.Customers.DeletionPolicy = v1alpha1.DeletionPolicyOrphan
	})
	waitGone(t, ns, "forced")

	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ns, "retried")
	if n := pgCount(t, srv.DSN("postgres"), ns+"/retried"); n != 0 {
		t.Errorf("%d rows left after the retried deletion", n)
	}
	if n := pgCount(t, srv.DSN("postgres"), ns+"/forced"); n != 2357 {
		t.Errorf("the forced (orphaned) deletion left %d rows, want 2357", n)
	}
}
