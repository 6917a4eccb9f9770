#!/usr/bin/env bash
# Provides kube-apiserver, etcd and kubectl for envtest and `make demo` under bin/k8s/.
#
# setup-envtest is tried first (it works wherever its download site is reachable); when that
# fails, the binaries are built from the Go module proxy, which is all some machines can reach:
#   kube-apiserver and kubectl from k8s.io/kubernetes (its staging modules replaced by their
#   published versions), etcd from go.etcd.io/etcd/server/v3 via etcdmain.Main.
# The result is cached: a second call returns at once.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${ENVTEST_ASSETS_DIR:-$ROOT/bin/k8s}"
K8S_VERSION="${K8S_VERSION:-1.37.2}"
STAGING_VERSION="v0.${K8S_VERSION#1.}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.6}"

have_all() { [ -x "$DEST/kube-apiserver" ] && [ -x "$DEST/etcd" ] && [ -x "$DEST/kubectl" ]; }
if have_all; then echo "$DEST"; exit 0; fi
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

build_from_proxy() {
  local work; work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  echo ">> building kube-apiserver and kubectl $K8S_VERSION from the Go module proxy (a few minutes)" >&2
  mkdir -p "$work/k8s/apiserver" "$work/k8s/kubectl" "$work/etcd"
  cat > "$work/k8s/apiserver/main.go" <<'GO'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() { os.Exit(cli.Run(app.NewAPIServerCommand())) }
GO
  cat > "$work/k8s/kubectl/main.go" <<'GO'
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
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$DEST/kube-apiserver" ./apiserver
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$DEST/kubectl" ./kubectl
  )
  echo ">> building etcd $ETCD_VERSION from the Go module proxy" >&2
  cat > "$work/etcd/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (
    cd "$work/etcd"
    go mod init envtest.local/etcd >/dev/null 2>&1
    go mod edit -require "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go mod tidy >/dev/null
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$DEST/etcd" .
  )
}

if [ -z "${ENVTEST_SKIP_DOWNLOAD:-}" ] && try_setup_envtest; then
  echo ">> envtest binaries from setup-envtest" >&2
else
  build_from_proxy
fi
have_all || { echo "envtest binaries missing in $DEST" >&2; exit 1; }
echo "$DEST"
