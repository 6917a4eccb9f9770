#!/usr/bin/env bash
# make e2e: the operator's image (built without a Docker daemon), a real single-node cluster
# (hack/node.sh), the chart and dist/install.yaml installed on it, and the user journey in
# test/e2e run against the operator as a Pod. Everything the script starts is stopped on exit.
#   E2E_IMAGE      the image reference (default: the Makefile's IMG)
#   E2E_IMAGE_TAR  the OCI archive `make image` wrote
#   E2E_RUN        a -run pattern for go test (default: everything)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
: "${E2E_IMAGE:?set by make e2e}" "${E2E_IMAGE_TAR:?set by make e2e}"
[ "$(id -u)" -eq 0 ] || { echo "make e2e runs a kubelet and containerd: run it as root" >&2; exit 1; }

export HELM="$ROOT/bin/helm"
export E2E_HOST_IP=10.77.0.1 E2E_POD_CIDR=10.77.0.0/24
started=$(date +%s)
go test -tags e2e -c -o bin/e2e.test ./test/e2e
./hack/node.sh run bash -c '
  set -euo pipefail
  ./hack/node.sh load "$E2E_IMAGE_TAR"
  cd test/e2e && ../../bin/e2e.test -test.v -test.count=1 -test.timeout=40m ${E2E_RUN:+-test.run "$E2E_RUN"}
'
echo "e2e: passed in $(( $(date +%s) - started )) s"
