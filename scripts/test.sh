#!/usr/bin/env bash
# The project's test command: every test, nothing skipped.
#
#   scripts/test.sh [extra cargo-nextest arguments]
#
# 1. Unless LASTPASS_OPERATOR_TEST_KUBECONFIG names a real cluster, installs the envtest API
#    server if missing (scripts/envtest.sh install: ~7 min once, cached in ~/.cache) and starts
#    one kube-apiserver + etcd on loopback for the whole run.
# 2. Unless LASTPASS_OPERATOR_TEST_SAMBA names a running Samba's env file, installs the Samba AD
#    DC packages if missing and starts one domain controller for the whole run
#    (scripts/samba-ad.sh; fixed ports on loopback), for the Active Directory tests.
# 3. Runs `cargo nextest run` (cargo test if nextest is missing) with CI=true semantics for the
#    cluster tests: a cluster test that cannot reach a server fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test.sh] %s\n' "$*" >&2; }

dir="" samba_dir=""
cleanup() {
  if [ -n "$dir" ]; then scripts/envtest.sh stop "$dir" || true; rm -rf "$dir"; fi
  if [ -n "$samba_dir" ]; then scripts/samba-ad.sh stop "$samba_dir" || true; rm -rf "$samba_dir"; fi
}
trap cleanup EXIT

if [ -z "${LASTPASS_OPERATOR_TEST_KUBECONFIG:-}" ]; then
  scripts/envtest.sh install
  dir=$(mktemp -d "${TMPDIR:-/tmp}/lpo-test-run.XXXXXX")
  scripts/envtest.sh start "$dir" >/dev/null
  export LASTPASS_OPERATOR_TEST_KUBECONFIG="$dir/kubeconfig"
  log "cluster tests use the envtest server ($LASTPASS_OPERATOR_TEST_KUBECONFIG)"
else
  log "cluster tests use $LASTPASS_OPERATOR_TEST_KUBECONFIG"
fi
command -v kubectl >/dev/null || { log "kubectl is required by the cluster tests"; exit 1; }

# The LDAP tests run a real slapd (Debian's), and fail in CI without it.
if ! command -v slapd >/dev/null && [ ! -x /usr/sbin/slapd ]; then
  log "installing slapd and ldap-utils for the LDAP tests"
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    slapd ldap-utils openssl >/dev/null
fi

# The Argo CD health check is tested with Lua 5.1, the language of Argo CD's gopher-lua.
if ! command -v lua5.1 >/dev/null; then
  log "installing lua5.1 for the Argo CD health-check tests"
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends lua5.1 >/dev/null
fi

# The Active Directory tests (tests/ldap_ad*.rs) run against a real Samba AD DC: one for the
# whole run (it binds 88, 389, 636 and more on loopback), stopped by pid on exit.
if [ -z "${LASTPASS_OPERATOR_TEST_SAMBA:-}" ]; then
  scripts/samba-ad.sh install
  samba_dir=$(mktemp -d "${TMPDIR:-/tmp}/lpo-samba.XXXXXX")
  started=$(date +%s)
  scripts/samba-ad.sh start "$samba_dir" >/dev/null
  export LASTPASS_OPERATOR_TEST_SAMBA="$samba_dir/env"
  log "AD tests use Samba AD DC in $samba_dir (up in $(($(date +%s) - started)) s)"
else
  log "AD tests use $LASTPASS_OPERATOR_TEST_SAMBA"
fi

# Cluster tests must not skip under this command.
export CI="${CI:-true}"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
else
  log "cargo-nextest not found: falling back to cargo test"
  cargo test --no-fail-fast "$@"
fi
