#!/usr/bin/env bash
# Builds Kubernetes' control plane for the Kubernetes suites — kube-apiserver, kube-controller-manager
# and kube-scheduler as ONE multi-call binary (`kube apiserver|controller-manager|scheduler …`), so
# the shared code links once — from the Go module proxy, and caches it:
#
#   bash test/tools/build-kube.sh            prints the binary's path (building it when missing)
#
# A wrapper module requires k8s.io/kubernetes and replaces each of its staging modules (the
# `=> ./staging/…` lines of Kubernetes' own go.mod, which a module download cannot follow) with the
# published k8s.io/<name> of the matching v0 version. Takes ~6 minutes of 2 cores the first time.
set -euo pipefail
KUBE_VERSION="${CDS_KUBE_VERSION:-v1.34.3}"
CACHE="${CDS_CI_CACHE:-$HOME/.cache/cds-ts}"
BIN="$CACHE/kube-$KUBE_VERSION/kube"
if [ -x "$BIN" ]; then
	echo "$BIN"
	exit 0
fi
mkdir -p "$(dirname "$BIN")"
staging_version="v0.${KUBE_VERSION#v1.}"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
{
	echo "module cds-ts.local/kube"
	echo
	echo "go 1.24.0"
	echo
	echo "require k8s.io/kubernetes $KUBE_VERSION"
	echo
	sed -n -E 's#^\s*(k8s\.io/[a-z0-9-]+) => \./staging/.*#replace \1 => \1 '"$staging_version"'#p' "$gomod"
} >"$build/go.mod"
cat >"$build/main.go" <<'GO'
// One binary for the control plane of the tests: `kube apiserver|controller-manager|scheduler ARGS…`.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kube apiserver|controller-manager|scheduler [flags]")
		os.Exit(2)
	}
	var cmd *cobra.Command
	switch os.Args[1] {
	case "apiserver":
		cmd = apiserver.NewAPIServerCommand()
	case "controller-manager":
		cmd = controllermanager.NewControllerManagerCommand()
	case "scheduler":
		cmd = scheduler.NewSchedulerCommand()
	default:
		fmt.Fprintf(os.Stderr, "unknown component %q (apiserver, controller-manager, scheduler)\n", os.Args[1])
		os.Exit(2)
	}
	cmd.SetArgs(os.Args[2:])
	os.Exit(cli.Run(cmd))
}
GO
(
	cd "$build"
	echo "building kube-apiserver, kube-controller-manager and kube-scheduler $KUBE_VERSION (one binary)…" >&2
	GOFLAGS=-mod=mod go mod tidy >&2
	# The version the components report (and check each other's skew with).
	v=k8s.io/component-base/version minor=${KUBE_VERSION#v1.}
	minor=${minor%%.*}
	CGO_ENABLED=0 go build -trimpath -o "$BIN.tmp" \
		-ldflags="-s -w -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean" . >&2
)
mv "$BIN.tmp" "$BIN"
echo "$BIN"
