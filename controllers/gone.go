package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

// errGone ends a run whose computation was deleted (or is being deleted) while it ran: nothing
// more is written for it, and it is not an error.
var errGone = errors.New("the computation was deleted during its run")

// runRegistry holds the cancel function of every in-process run, by computation UID, so that
// deleting a computation cancels its run at once. A reconcile of the deleted object cannot do
// it: controller-runtime never reconciles one key twice at the same time, so that reconcile
// would wait for the run it should stop.
type runRegistry struct {
	mu   sync.Mutex
	runs map[types.UID]context.CancelCauseFunc
}

// start derives the run's context from ctx and registers it; the returned function
// unregisters and cancels it.
func (r *runRegistry) start(ctx context.Context, uid types.UID) (context.Context, func()) {
	runCtx, cancel := context.WithCancelCause(ctx)
	r.mu.Lock()
	if r.runs == nil {
		r.runs = map[types.UID]context.CancelCauseFunc{}
	}
	r.runs[uid] = cancel
	r.mu.Unlock()
	return runCtx, func() {
		r.mu.Lock()
		delete(r.runs, uid)
		r.mu.Unlock()
		cancel(nil)
	}
}

// cancel stops the computation's run, if one is in progress.
func (r *runRegistry) cancel(uid types.UID) {
	r.mu.Lock()
	cancel := r.runs[uid]
	r.mu.Unlock()
	if cancel != nil {
		cancel(errGone)
	}
}

// goneHandler cancels the run of a computation that is deleted or marked for deletion. It
// enqueues nothing: the For watch does.
func (r *LTVComputationReconciler) goneHandler() handler.EventHandler {
	type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]
	return handler.Funcs{
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, _ queue) {
			if e.ObjectNew.GetDeletionTimestamp() != nil {
				r.runs.cancel(e.ObjectNew.GetUID())
			}
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, _ queue) { r.runs.cancel(e.Object.GetUID()) },
	}
}

// checkAlive returns errGone when the computation no longer exists as this run knows it
// (deleted, replaced by another of the same name, or being deleted). It reads the API server,
// not the cache, because it guards writes that must not happen for a deleted object; the
// cancel registry usually stops the run before this is reached.
func (s *scope) checkAlive(ctx context.Context) error {
	if err := context.Cause(ctx); errors.Is(err, errGone) {
		return errGone
	}
	reader := s.r.APIReader
	if reader == nil {
		reader = s.r.Client
	}
	var cur v1alpha1.LTVComputation
	err := reader.Get(ctx, client.ObjectKeyFromObject(s.obj), &cur)
	switch {
	case apierrors.IsNotFound(err):
		return errGone
	case err != nil:
		return fmt.Errorf("checking that %s/%s still exists: %w", s.obj.Namespace, s.obj.Name, err)
	case cur.UID != s.obj.UID || cur.DeletionTimestamp != nil:
		return errGone
	}
	return nil
}

// goneDuring reports whether err ended the run because its computation went away.
func goneDuring(ctx context.Context, err error) bool {
	return errors.Is(err, errGone) || errors.Is(context.Cause(ctx), errGone)
}
