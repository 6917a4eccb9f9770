#!/usr/bin/env bash
# make demo: a local control plane (etcd + kube-apiserver from bin/k8s), the operator, the sample
# shop from config/samples, the results printed, everything shut down again.
# DEMO_KEEP=1 leaves the control plane and the operator running and prints the KUBECONFIG.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/bin"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ltv-demo.XXXXXX")"
export KUBECONFIG="$WORK/kubeconfig"
KUBECTL="$BIN/k8s/kubectl"
NS=default

pids=()
cleanup() {
  local code=$?
  if [ "${DEMO_KEEP:-}" = "1" ] && [ $code -eq 0 ]; then return; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
  exit $code
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting a local control plane (etcd + kube-apiserver)"
go build -o "$BIN/localcluster" ./hack/localcluster
"$BIN/localcluster" -write-kubeconfig "$KUBECONFIG" -assets "$BIN/k8s" -crds config/crd/bases >"$WORK/controlplane.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  [ -f "$KUBECONFIG" ] && break
  if ! kill -0 "${pids[0]}" 2>/dev/null; then cat "$WORK/controlplane.log"; exit 1; fi
  sleep 0.5
done
[ -f "$KUBECONFIG" ] || { echo "control plane did not start"; cat "$WORK/controlplane.log"; exit 1; }
"$KUBECTL" get crd -o name

step "Starting the operator"
"$BIN/manager" --metrics-bind-address=127.0.0.1:0 --metrics-secure=false --health-probe-bind-address=127.0.0.1:0 >"$WORK/manager.log" 2>&1 &
pids+=($!)

step "Applying config/samples: the shop's orders, 7 segments, one computation"
"$KUBECTL" apply -n "$NS" -k config/samples

step "Waiting for the computation to be Ready"
if ! "$KUBECTL" wait -n "$NS" --for=condition=Ready --timeout=120s ltvcomputation/shop-ltv; then
  "$KUBECTL" get -n "$NS" ltv shop-ltv -o yaml
  tail -50 "$WORK/manager.log"
  exit 1
fi
"$KUBECTL" wait -n "$NS" --for=condition=Ready --timeout=60s customersegment --all >/dev/null

step "kubectl get ltv,cseg"
"$KUBECTL" get -n "$NS" ltv,cseg

step "Results (status and ConfigMap shop-ltv-results)"
"$BIN/ltvctl" show -n "$NS" shop-ltv

step "Acquisition economics per channel (status.result.breakdowns[].newCustomer)"
{
  printf 'channel\tnew-customer LTV\tCAC\tLTV:CAC\tpayback months\tobserved payback\n'
  "$KUBECTL" get -n "$NS" ltv shop-ltv -o jsonpath='{range .status.result.breakdowns[?(@.attribute=="channel")].values[*]}{.value}{"\t"}{.newCustomer.ltv}{"\t"}{.newCustomer.acquisitionCost}{"\t"}{.newCustomer.ltvToCAC}{"\t"}{.newCustomer.paybackMonths}{"\t"}{.newCustomer.observedPaybackMonths}{"\n"}{end}'
} | awk -F'\t' '{ for (i = 2; i <= 6; i++) if ($i == "") $i = "-"; printf "%-14s %17s %8s %8s %15s %17s\n", $1, $2, $3, $4, $5, $6 }'
echo "(payback: months after acquisition by the model, observed: what the acquisition cohorts did;"
echo " -: not repaid within the horizon or the data, or nothing to repay. The new-customer LTV is a new"
echo " customer's expected discounted margin over the horizon, first order included: docs/models.md)"

step "A requested re-run (the Flux annotation), recorded in status.recentRuns"
requested="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
"$KUBECTL" annotate -n "$NS" ltv shop-ltv reconcile.fluxcd.io/requestedAt="$requested" --overwrite
"$KUBECTL" wait -n "$NS" --for=jsonpath='{.status.lastHandledReconcileAt}'="$requested" --timeout=60s ltv/shop-ltv
"$KUBECTL" get -n "$NS" ltv shop-ltv -o jsonpath='{range .status.recentRuns[*]}{.trigger}{"\t"}{.succeeded}{"\t"}{.customers}{"\t"}{.averageLTV}{"\n"}{end}'

if [ "${DEMO_KEEP:-}" = "1" ]; then
  step "Still running (DEMO_KEEP=1)"
  echo "export KUBECONFIG=$KUBECONFIG"
  echo "kubectl: $KUBECTL"
  echo "Stop with: kill ${pids[*]}"
fi
