#!/usr/bin/env bash
# Provides the Kubernetes binaries under bin/k8s/:
#   default:  kube-apiserver, etcd and kubectl (envtest, `make demo`)
#   --node:   also kube-controller-manager, kube-scheduler and kubelet (the real node of `make e2e`)
#
# setup-envtest is tried first for the envtest trio (it works wherever its download site is
# reachable); when that fails, and always for the node components, the binaries are built from the Go
# module proxy, which is all some machines can reach: the components from k8s.io/kubernetes (its
# staging modules replaced by their published versions), etcd from go.etcd.io/etcd/server/v3 via
# etcdmain.Main. Every Kubernetes binary is stamped with its version (component-base ldflags), so
# `kubectl version` and `kubectl get nodes` say v1.37.2 rather than v0.0.0-master.
# The result is cached: a second call returns at once.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${ENVTEST_ASSETS_DIR:-$ROOT/bin/k8s}"
K8S_VERSION="${K8S_VERSION:-1.37.2}"
STAGING_VERSION="v0.${K8S_VERSION#1.}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.6}"

NODE=""
[ "${1:-}" = "--node" ] && NODE=1

envtest_bins=(kube-apiserver etcd kubectl)
node_bins=(kube-controller-manager kube-scheduler kubelet)
have() { local b; for b in "$@"; do [ -x "$DEST/$b" ] || return 1; done; }
wanted=("${envtest_bins[@]}")
[ -n "$NODE" ] && wanted+=("${node_bins[@]}")
if have "${wanted[@]}"; then echo "$DEST"; exit 0; fi
mkdir -p "$DEST"

try_setup_envtest() {
  local tmp; tmp="$(mktemp -d)"
  if GOBIN="$tmp" go install sigs.k8s.io/controller-runtime/tools/setup-envtest@release-0.22 >/dev/null 2>&1 &&
     dir="$(timeout 30 "$tmp/setup-envtest" use "$K8S_VERSION" --bin-dir "$tmp/assets" -p path 2>/dev/null)" &&
     [ -x "$dir/kube-apiserver" ]; then
    cp "$dir/kube-apiserver" "$dir/etcd" "$dir/kubectl" "$DEST/"
    rm -rf "$tmp"; return 0
  fi
  rm -rf "$tmp"; return 1
}

# build_kubernetes NAME... builds the named components in one `go build` (they share most packages).
build_kubernetes() {
  local work; work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  echo ">> building $* $K8S_VERSION from the Go module proxy (several minutes)" >&2
  mkdir -p "$work/k8s"
  local name pkgs=()
  for name in "$@"; do
    mkdir -p "$work/k8s/$name"
    case "$name" in
      kube-apiserver) cat > "$work/k8s/$name/main.go" <<'GO'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() { os.Exit(cli.Run(app.NewAPIServerCommand())) }
GO
      ;;
      kube-controller-manager) cat > "$work/k8s/$name/main.go" <<'GO'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() { os.Exit(cli.Run(app.NewControllerManagerCommand())) }
GO
      ;;
      kube-scheduler) cat > "$work/k8s/$name/main.go" <<'GO'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() { os.Exit(cli.Run(app.NewSchedulerCommand())) }
GO
      ;;
      kubelet) cat > "$work/k8s/$name/main.go" <<'GO'
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/restclient"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kubelet/app"
)

func main() { os.Exit(cli.Run(app.NewKubeletCommand(context.Background()))) }
GO
      ;;
      kubectl) cat > "$work/k8s/$name/main.go" <<'GO'
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
GO
      ;;
      *) echo "unknown component $name" >&2; return 1 ;;
    esac
    pkgs+=("./$name")
  done
  local major="${K8S_VERSION%%.*}" minor; minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  local v=k8s.io/component-base/version
  local ldflags="-s -w -X $v.gitVersion=v$K8S_VERSION -X $v.gitMajor=$major -X $v.gitMinor=$minor -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=$major -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  (
    cd "$work/k8s"
    go mod init envtest.local/k8s >/dev/null 2>&1
    # k8s.io/kubernetes points its staging modules at ./staging; map each to its published version.
    gomod="$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    grep -E '^\s*k8s.io/[a-z0-9-]+ => ./staging' "$gomod" | awk '{print $1}' | while read -r m; do
      go mod edit -replace "$m=$m@$STAGING_VERSION"
    done
    go mod edit -require "k8s.io/kubernetes@v$K8S_VERSION"
    go mod tidy >/dev/null
    CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" -o "$work/out/" "${pkgs[@]}"
  )
  for name in "$@"; do mv "$work/out/$name" "$DEST/$name"; done
}

build_etcd() {
  local work; work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  echo ">> building etcd $ETCD_VERSION from the Go module proxy" >&2
  cat > "$work/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (
    cd "$work"
    go mod init envtest.local/etcd >/dev/null 2>&1
    go mod edit -require "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go mod tidy >/dev/null
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$DEST/etcd" .
  )
}

if ! have "${envtest_bins[@]}"; then
  if [ -z "${ENVTEST_SKIP_DOWNLOAD:-}" ] && try_setup_envtest; then
    echo ">> envtest binaries from setup-envtest" >&2
  fi
fi
missing=()
for b in kube-apiserver kubectl "${node_bins[@]}"; do
  case " ${wanted[*]} " in *" $b "*) have "$b" || missing+=("$b") ;; esac
done
[ ${#missing[@]} -eq 0 ] || build_kubernetes "${missing[@]}"
have etcd || build_etcd
have "${wanted[@]}" || { echo "binaries missing in $DEST" >&2; exit 1; }
echo "$DEST"
