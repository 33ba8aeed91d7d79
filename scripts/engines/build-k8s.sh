#!/usr/bin/env bash
# Builds the engines the control-plane tests run for real: etcd, kube-apiserver and nats-server,
# from the Go module proxy, into a cache outside the clone (~/.cache/veritee/bin by default) so that
# later runs reuse them. Idempotent: a binary already in the cache is kept.
#
#   scripts/engines/build-k8s.sh [etcd|kube-apiserver|nats-server ...]   (default: all three)
#
# Versions are pinned here; change one and its binary is rebuilt (the cache name carries it).
set -euo pipefail

ETCD_VERSION="${VERITEE_ETCD_VERSION:-v3.6.16}"
K8S_VERSION="${VERITEE_K8S_VERSION:-v1.34.4}"
NATS_VERSION="${VERITEE_NATS_VERSION:-v2.15.3}"
BIN_DIR="${VERITEE_ENGINE_BIN:-$HOME/.cache/veritee/bin}"
WORK_DIR="${VERITEE_ENGINE_WORK:-$HOME/.cache/veritee/engine-build}"
mkdir -p "$BIN_DIR" "$WORK_DIR"
# Two test files may ask for engines at once: one build at a time, the second finds the cache.
if command -v flock >/dev/null; then exec 9>"$BIN_DIR/.build.lock"; flock 9; fi

command -v go >/dev/null || { echo "build-k8s: go is not installed (needed to build the engines)" >&2; exit 2; }
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

link() { # link <name> <versioned file>: the plain name points at the pinned build
  ln -sfn "$(basename "$2")" "$BIN_DIR/$1"
}

build_etcd() {
  local out="$BIN_DIR/etcd-$ETCD_VERSION"
  if [ -x "$out" ]; then echo "etcd $ETCD_VERSION: cached"; link etcd "$out"; return; fi
  local d="$WORK_DIR/etcd-$ETCD_VERSION"
  rm -rf "$d"; mkdir -p "$d"
  cat > "$d/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$d" && go mod init veritee.local/etcd >/dev/null 2>&1 \
    && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
    && go mod tidy \
    && go build -trimpath -o "$out.tmp" .)
  mv "$out.tmp" "$out"; link etcd "$out"
  echo "etcd $ETCD_VERSION: built"
}

build_kube_apiserver() {
  local out="$BIN_DIR/kube-apiserver-$K8S_VERSION"
  if [ -x "$out" ]; then echo "kube-apiserver $K8S_VERSION: cached"; link kube-apiserver "$out"; return; fi
  local d="$WORK_DIR/kube-apiserver-$K8S_VERSION"
  rm -rf "$d"; mkdir -p "$d"
  local staging="v0${K8S_VERSION#v1}"   # v1.34.4 -> v0.34.4
  # k8s.io/kubernetes's go.mod replaces its staging modules with ./staging/...: a module that
  # requires it must replace each of them with the published version of the same release.
  local modfile
  modfile="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$modfile" ] || { echo "build-k8s: could not read the go.mod of k8s.io/kubernetes@$K8S_VERSION" >&2; exit 3; }
  {
    echo "module veritee.local/kube-apiserver"
    echo
    echo "go $(sed -n 's/^go \(.*\)$/\1/p' "$modfile" | head -1)"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    grep -oE 'k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$modfile" \
      | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } > "$d/go.mod"
  cat > "$d/main.go" <<'GO'
// Wrapper module: kube-apiserver's own main, built from the module proxy.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() { os.Exit(cli.Run(app.NewAPIServerCommand())) }
GO
  (cd "$d" && go mod tidy && go build -trimpath -o "$out.tmp" .)
  mv "$out.tmp" "$out"; link kube-apiserver "$out"
  echo "kube-apiserver $K8S_VERSION: built"
}

build_nats() {
  local out="$BIN_DIR/nats-server-$NATS_VERSION"
  if [ -x "$out" ]; then echo "nats-server $NATS_VERSION: cached"; link nats-server "$out"; return; fi
  GOBIN="$WORK_DIR/nats-$NATS_VERSION" go install "github.com/nats-io/nats-server/v2@$NATS_VERSION"
  mv "$WORK_DIR/nats-$NATS_VERSION/nats-server" "$out"; link nats-server "$out"
  echo "nats-server $NATS_VERSION: built"
}

targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=(nats-server etcd kube-apiserver)
for t in "${targets[@]}"; do
  case "$t" in
    etcd) build_etcd ;;
    kube-apiserver) build_kube_apiserver ;;
    nats-server) build_nats ;;
    *) echo "build-k8s: unknown engine '$t' (etcd, kube-apiserver, nats-server)" >&2; exit 2 ;;
  esac
done
