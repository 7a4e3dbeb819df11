#!/usr/bin/env bash
# Builds `helm` (helm.sh/helm/v4) from the Go module proxy and caches it, for the Kubernetes
# platform's Helm deployments and the rendering of CDS-TS's own chart in the Kubernetes suites:
#
#   bash test/tools/build-helm.sh            prints the binary's path (building it when missing)
set -euo pipefail
HELM_VERSION="${CDS_HELM_VERSION:-v4.3.2}"
CACHE="${CDS_CI_CACHE:-$HOME/.cache/cds-ts}"
BIN="$CACHE/helm-$HELM_VERSION/helm"
if [ -x "$BIN" ]; then
	echo "$BIN"
	exit 0
fi
mkdir -p "$(dirname "$BIN")"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
(
	cd "$build"
	echo "building helm $HELM_VERSION…" >&2
	go mod init cds-ts.local/helm >&2 2>&1
	GOFLAGS=-mod=mod go get "helm.sh/helm/v4@$HELM_VERSION" >&2
	CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$BIN.tmp" \
		-ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" helm.sh/helm/v4/cmd/helm >&2
)
mv "$BIN.tmp" "$BIN"
echo "$BIN"
