#!/usr/bin/env bash
# envtest.sh — a real Kubernetes API server for lastpass-operator's cluster tests on machines with
# no Docker, no cluster and no internet beyond package registries (Debian bookworm + apt).
# The cluster tests (tests/support/) start one through this script unless
# LASTPASS_OPERATOR_TEST_KUBECONFIG names a real cluster.
#
# It gives kube-apiserver v1.20.2, built from Debian's `kubernetes` *source* package (the only
# kube-apiserver source reachable there), backed by Debian's etcd-server (3.4.23), both listening on
# 127.0.0.1 only, on free ports.
#
#   envtest.sh install       apt prerequisites + build (about 6-7 min once, 2 cores), cached in
#                                 ${KUBE_APISERVER_CACHE:-$HOME/.cache/kube-apiserver}/kube-apiserver
#   envtest.sh start DIR     fresh etcd + apiserver with state in DIR (wiped); waits for /readyz;
#                                 writes DIR/kubeconfig and DIR/pids; prints `export KUBECONFIG=...`
#                                 (so `eval "$(scripts/envtest.sh start DIR)"` works; progress on stderr)
#   envtest.sh stop DIR      stops the apiserver, then etcd, by the pids in DIR/pids
#   KUBE_APISERVER_EXTRA_ARGS  more kube-apiserver flags for `start` (space-separated), e.g. an
#                                 audit log: --audit-policy-file=P --audit-log-path=F
#
# Limits — this is a v1.20 API server and nothing else:
#  - no CRD CEL rules: 1.20 does not know `x-kubernetes-validations` (nor other newer CRD fields
#    such as selectableFields). A plain create/update silently drops them; server-side apply rejects
#    the whole CRD ("field not declared in schema"), so strip them before applying in tests.
#    No ValidatingAdmissionPolicy; `fieldValidation=Strict` is silently ignored; no watch-list
#    streaming (ordinary list+watch works); server-side apply is beta but works.
#  - no controller-manager, scheduler or kubelet: ownerReferences are never garbage-collected,
#    deleted namespaces stay Terminating, no default ServiceAccount, Pods are stored but never run.
#  - one static admin token (system:masters); the serving certificate is self-signed, so the
#    kubeconfig sets insecure-skip-tls-verify. `install` needs root or sudo (apt-get).
set -euo pipefail

CACHE=${KUBE_APISERVER_CACHE:-$HOME/.cache/kube-apiserver}  # shared with other projects using the same recipe
BIN=$CACHE/kube-apiserver
VERSION=v1.20.2
GO_BIN=/usr/lib/go/bin   # Debian's golang-go (1.19), as Debian's own package build uses

log() { printf '[envtest.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root or sudo to run: $*"; fi
}
have_binary() { [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -qF "$VERSION"; }
apt_log() { tail -n 20 "$CACHE/apt.log" >&2; die "$1 (log: $CACHE/apt.log)"; }

# Adds deb-src entries that mirror the existing `deb` entries for "<this release> main".
ensure_deb_src() {
  apt-cache showsrc kubernetes >/dev/null 2>&1 && return 0
  local c d=/etc/apt/sources.list.d f tmp
  c=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null | tr -d "\"'")
  [ -n "$c" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
  tmp=$(mktemp)
  for f in "$d"/*.sources; do  # deb822 stanzas
    [ -e "$f" ] && awk -v c="$c" 'BEGIN { RS = ""; FS = "\n" }
      { t = s = m = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/) t = " " substr($i, 7) " "; else if ($i ~ /^Suites:/) s = " " substr($i, 8) " "
          else if ($i ~ /^Components:/) m = " " substr($i, 12) " "; else if ($i ~ /^Enabled:[ \t]*no/) next }
        gsub(/[ \t]+/, " ", t); gsub(/[ \t]+/, " ", s); gsub(/[ \t]+/, " ", m)
        if (t !~ / deb / || !index(s, " " c " ") || m !~ / main /) next
        for (i = 1; i <= NF; i++)
          if ($i ~ /^Types:/) print "Types: deb-src"; else if ($i ~ /^Suites:/) print "Suites: " c
          else if ($i ~ /^Components:/) print "Components: main"; else print $i
        print "" }' "$f" >>"$tmp"
  done
  [ -s "$tmp" ] && as_root cp "$tmp" "$d/kube-apiserver-src.sources"
  : >"$tmp"
  for f in /etc/apt/sources.list "$d"/*.list; do  # one-line entries
    [ -e "$f" ] && sed -nE "s/^deb(\s+\[[^]]*\])?\s+(\S+)\s+$c\s.*\bmain\b.*/deb-src\1 \2 $c main/p" "$f" >>"$tmp"
  done
  [ -s "$tmp" ] && as_root cp "$tmp" "$d/kube-apiserver-src.list"
  rm -f "$tmp"
  log "added deb-src entries for '$c main' (derived from the existing apt sources); apt-get update"
  as_root apt-get update -q >>"$CACHE/apt.log" 2>&1 || log "apt-get update reported errors (see $CACHE/apt.log)"
  apt-cache showsrc kubernetes >/dev/null 2>&1 ||
    die "apt knows no source package 'kubernetes': add a deb-src entry for Debian bookworm main"
}

cmd_install() {
  if have_binary && command -v etcd >/dev/null; then
    log "cached: $BIN ($VERSION); etcd $(etcd --version | awk 'NR==1 {print $3}')"; return 0
  fi
  command -v apt-get >/dev/null || die "apt-get not found: this needs Debian bookworm packages"
  local p pkgs="etcd-server openssl curl" missing=()
  have_binary || pkgs="$pkgs golang-go golang-github-modern-go-reflect2-dev rsync make dpkg-dev"
  for p in $pkgs; do  # only what is missing: never upgrade what the machine already has
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  mkdir -p "$CACHE"
  log "apt-get update (log: $CACHE/apt.log)"
  as_root apt-get update -q >"$CACHE/apt.log" 2>&1 || apt_log "apt-get update failed"
  have_binary || ensure_deb_src
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
      >>"$CACHE/apt.log" 2>&1 || apt_log "apt-get install failed: ${missing[*]}"
  fi
  command -v etcd >/dev/null || die "etcd-server is installed but 'etcd' is not on PATH"
  have_binary || build
  log "ready: $BIN ($("$BIN" --version)), etcd $(etcd --version | awk 'NR==1 {print $3}')"
}

build() {
  local b src r2 v
  [ -x "$GO_BIN/go" ] || die "$GO_BIN/go missing (Debian package golang-go)"
  b=$(mktemp -d "${TMPDIR:-/tmp}/kube-apiserver-build.XXXXXX")
  trap 'rm -rf "$b"' EXIT
  log "apt-get source kubernetes (into $b)"
  (cd "$b" && apt-get source -q kubernetes) >"$CACHE/source.log" 2>&1 ||
    { tail -n 20 "$CACHE/source.log" >&2; die "apt-get source kubernetes failed (log: $CACHE/source.log)"; }
  src=$(echo "$b"/kubernetes-*/)
  [ -f "$src/cmd/kube-apiserver/apiserver.go" ] || die "unexpected source tree: $src"
  grep -qF "tag: $VERSION'" "$src/hack/lib/version.sh" || die "the source package is not Kubernetes $VERSION"
  # The vendored reflect2 v1.0.1 segfaults under Go >= 1.18: replace it with Debian's 1.0.2.
  r2=$(dirname "$(dpkg -L golang-github-modern-go-reflect2-dev | grep '/reflect2\.go$' | head -n 1)")
  v=$src/vendor/github.com/modern-go/reflect2
  { [ -f "$r2/reflect2.go" ] && [ -d "$v" ]; } || die "cannot find the reflect2 sources to patch in"
  rm -f "$v"/*.go "$v"/*.s && cp "$r2"/*.go "$r2"/*.s "$v"/
  mkdir -p "$src/.go/src/k8s.io" && ln -sfn ../../.. "$src/.go/src/k8s.io/kubernetes"
  log "building cmd/kube-apiserver with $("$GO_BIN/go" version | awk '{print $3}') (about 6 min; log: $CACHE/build.log)"
  (cd "$src" && env PATH="$GO_BIN:$PATH" HOME="$b" GOPATH="$src/.go" GOCACHE="$b/gocache" \
    CGO_ENABLED=0 GOFLAGS=-mod=vendor GOPROXY=off make WHAT=cmd/kube-apiserver) 2>&1 |
    tee "$CACHE/build.log" | sed -un '/^+++ /{n;s/^ */  building /p}' >&2 ||
    { tail -n 30 "$CACHE/build.log" >&2; die "make WHAT=cmd/kube-apiserver failed (log: $CACHE/build.log)"; }
  install -m 0755 "$src/_output/bin/kube-apiserver" "$BIN.tmp" && mv -f "$BIN.tmp" "$BIN"
  have_binary || die "the built binary does not report $VERSION: $("$BIN" --version 2>&1)"
  rm -rf "$b"; trap - EXIT
}

# alive PID COMM: the process exists, is no zombie, and still runs that program (no pid reuse).
alive() {
  [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] &&
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
wait_gone() { for _ in $(seq "$3"); do alive "$1" "$2" || return 0; sleep 0.1; done; ! alive "$1" "$2"; }
stop_pid() {  # NAME PID COMM: SIGTERM, up to 30 s, then SIGKILL
  alive "$2" "$3" || { log "$1 (pid $2) is not running"; return 0; }
  kill -TERM "$2" 2>/dev/null || true
  wait_gone "$2" "$3" 300 || { log "$1 (pid $2) ignored SIGTERM for 30 s: SIGKILL"; kill -KILL "$2" 2>/dev/null || true; }
  wait_gone "$2" "$3" 50 || die "$1 (pid $2) did not exit"
  log "stopped $1 (pid $2)"
}
pid_of() { awk -v n="$2" '$1 == n {print $2}' "$1/pids"; }

cmd_stop() {
  local dir=${1:?usage: $0 stop DIR} pid
  [ -f "$dir/pids" ] || { log "nothing to stop: no $dir/pids"; return 0; }
  pid=$(pid_of "$dir" apiserver); [ -z "$pid" ] || stop_pid apiserver "$pid" kube-apiserver
  pid=$(pid_of "$dir" etcd); [ -z "$pid" ] || stop_pid etcd "$pid" etcd
  rm -f "$dir/pids"
}

free_ports() {  # N distinct ports in 20000-32767 (below the ephemeral range) with no TCP socket on them
  local used p out=""
  used=" $(awk 'FNR > 1 {split($2, a, ":"); print a[2]}' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    while read -r h; do printf '%d ' "$((16#$h))"; done) "
  while [ "$(wc -w <<<"$out")" -lt "$1" ]; do
    p=$((20000 + RANDOM % 12768))
    case "$used $out " in *" $p "*) ;; *) out="$out $p" ;; esac
  done
  echo "${out# }"
}

wait_http() {  # URL SECONDS PIDS...: until URL answers 200, as long as the pids live
  local url=$1 end=$((SECONDS + $2)) p; shift 2
  until [ "$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$url")" = 200 ]; do
    for p in "$@"; do kill -0 "$p" 2>/dev/null || return 1; done
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.25
  done
}

cmd_start() {
  local dir=${1:?usage: $0 start DIR} ep pp ap epid apid t t0=$SECONDS
  local extra=()
  read -r -a extra <<<"${KUBE_APISERVER_EXTRA_ARGS:-}"
  have_binary || die "no $VERSION binary at $BIN: run '$0 install' first"
  command -v etcd >/dev/null || die "no etcd on PATH: run '$0 install' first"
  for t in openssl curl awk setsid; do command -v $t >/dev/null || die "'$t' not found"; done
  mkdir -p "$dir" && dir=$(cd "$dir" && pwd)
  if [ -f "$dir/pids" ]; then
    alive "$(pid_of "$dir" apiserver)" kube-apiserver && die "an apiserver from $dir still runs: '$0 stop $dir' first"
    cmd_stop "$dir"
  fi
  rm -rf "$dir/etcd" "$dir/certs" "$dir/kubeconfig"
  { openssl genrsa -out "$dir/sa.key" 2048 && openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub"; } 2>/dev/null ||
    die "openssl could not create the service-account key pair"
  TOKEN=$(openssl rand -hex 24)
  (umask 077 && printf '%s,admin,admin,system:masters\n' "$TOKEN" >"$dir/tokens.csv")
  for _ in 1 2 3; do  # a port taken between choosing and binding: choose again
    read -r ep pp ap <<<"$(free_ports 3)"
    rm -rf "$dir/etcd"
    log "starting etcd on 127.0.0.1:$ep"
    setsid etcd --name kube-apiserver-sh --data-dir "$dir/etcd" \
      --listen-client-urls "http://127.0.0.1:$ep" --advertise-client-urls "http://127.0.0.1:$ep" \
      --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
      --initial-cluster "kube-apiserver-sh=http://127.0.0.1:$pp" >"$dir/etcd.log" 2>&1 </dev/null &
    epid=$!; printf 'etcd %s\n' "$epid" >"$dir/pids"
    if ! wait_http "http://127.0.0.1:$ep/health" 20 "$epid"; then
      cmd_stop "$dir"; grep -q 'address already in use' "$dir/etcd.log" && continue
      tail -n 20 "$dir/etcd.log" >&2; die "etcd did not become healthy (log: $dir/etcd.log)"
    fi
    log "starting kube-apiserver $VERSION on https://127.0.0.1:$ap"
    setsid "$BIN" --etcd-servers="http://127.0.0.1:$ep" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
      --secure-port="$ap" --insecure-port=0 --cert-dir="$dir/certs" --token-auth-file="$dir/tokens.csv" \
      --authorization-mode=RBAC --service-account-issuer=https://kubernetes.default.svc \
      --service-account-key-file="$dir/sa.pub" --service-account-signing-key-file="$dir/sa.key" \
      --service-cluster-ip-range=10.0.0.0/24 --endpoint-reconciler-type=none --profiling=false \
      "${extra[@]}" >"$dir/apiserver.log" 2>&1 </dev/null &
    apid=$!; printf 'apiserver %s\netcd %s\n' "$apid" "$epid" >"$dir/pids"
    wait_http "https://127.0.0.1:$ap/readyz" 60 "$apid" "$epid" && break
    cmd_stop "$dir"; grep -q 'address already in use' "$dir/apiserver.log" && continue
    tail -n 20 "$dir/apiserver.log" >&2; die "kube-apiserver not ready within 60 s (log: $dir/apiserver.log)"
  done
  [ -f "$dir/pids" ] || die "no free ports found in 3 attempts"
  (umask 077 && cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- {name: kube-apiserver-sh, cluster: {server: "https://127.0.0.1:$ap", insecure-skip-tls-verify: true}}
users:
- {name: admin, user: {token: "$TOKEN"}}
contexts:
- {name: kube-apiserver-sh, context: {cluster: kube-apiserver-sh, user: admin, namespace: default}}
current-context: kube-apiserver-sh
EOF
  )
  log "ready in $((SECONDS - t0)) s (apiserver pid $apid, etcd pid $epid); stop: $0 stop $dir"
  echo "export KUBECONFIG=$dir/kubeconfig"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  *) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac
