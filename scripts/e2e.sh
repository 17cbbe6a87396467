#!/usr/bin/env bash
# End to end with the real binary: `lastpass-operator simulator` as LastPass, `lastpass-operator
# run` against a real API server (the envtest server, or LASTPASS_OPERATOR_TEST_KUBECONFIG),
# `kubectl apply` of the examples, `kubectl wait --for=condition=Ready lpu --all`, then a deleted
# user is held by the safeguard (1 of 5 > maxPercent 10 %), approved with the annotation, and must
# show up deactivated in the simulator. Then operations: leader election on (the Lease
# is held), /readyz, /metrics checked by `promtool check metrics`, the idle memory, and SIGTERM:
# a clean exit (code 0) that releases the Lease.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[e2e] %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/lpo-e2e.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -f "$work/envtest/pids" ] && scripts/envtest.sh stop "$work/envtest" || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build -q --locked
# LASTPASS_OPERATOR_TEST_BIN: a copy of the binary, when several checkouts share a target dir.
bin=${LASTPASS_OPERATOR_TEST_BIN:-${CARGO_TARGET_DIR:-target}/debug/lastpass-operator}
[ -x "$bin" ] || fail "no binary at $bin"

if [ -n "${LASTPASS_OPERATOR_TEST_KUBECONFIG:-}" ]; then
  export KUBECONFIG=$LASTPASS_OPERATOR_TEST_KUBECONFIG
else
  scripts/envtest.sh install
  scripts/envtest.sh start "$work/envtest" >/dev/null
  export KUBECONFIG=$work/envtest/kubeconfig
fi
ns=lpo-e2e-$$
minor=$(kubectl version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["minor"].rstrip("+"))')
if [ "$minor" -lt 25 ]; then "$bin" crds --without-cel; else "$bin" crds; fi | kubectl apply -f - >/dev/null
kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null
kubectl create namespace "$ns" >/dev/null

# The simulator on a free port.
printf 'e2e-provhash\n' >"$work/provhash"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" simulator --listen "127.0.0.1:$port" --cid 12345678 --provhash-file "$work/provhash" >"$work/sim.log" 2>&1 &
pids+=($!)
endpoint="http://127.0.0.1:$port/enterpriseapi.php"
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/__admin/state" >/dev/null && break; sleep 0.1; done

log "apply the examples into $ns"
kubectl create secret generic lastpass-api -n "$ns" --from-literal=cid=12345678 \
  --from-literal=provhash=e2e-provhash >/dev/null
kubectl apply -n "$ns" -f examples/00-integration.yaml -f examples/10-users.yaml -f examples/20-groups.yaml >/dev/null
kubectl patch -n "$ns" lpdi acme --type merge -p "{\"spec\":{\"lastpass\":{\"endpoint\":\"$endpoint\"},\"sync\":{\"debounce\":\"1s\"}}}" >/dev/null

log "start the operator (leader election on, Lease in $ns)"
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# SCIM over HTTPS from certificate files, as the chart mounts a kubernetes.io/tls Secret.
if ! command -v openssl >/dev/null; then
  log "installing openssl"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends openssl >/dev/null || fail "cannot install openssl"
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=e2e-scim \
  -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null || fail "openssl could not make a certificate"
POD_NAME=e2e-operator POD_NAMESPACE=$ns RUST_LOG=info "$bin" run --namespace "$ns" \
  --metrics-addr "127.0.0.1:$mport" --scim-addr "127.0.0.1:$sport" \
  --scim-tls-cert "$work/tls.crt" --scim-tls-key "$work/tls.key" \
  --log-format text >"$work/operator.log" 2>&1 &
op=$!
pids+=($op)

if ! kubectl wait -n "$ns" --for=condition=Ready lpu --all --timeout=120s; then
  kubectl get lpu,lpdi -n "$ns" -o yaml >&2 || true
  tail -n 40 "$work/operator.log" >&2
  fail "not every LastPassUser became Ready"
fi
kubectl get lpu,lpg,lpdi -n "$ns"

log "delete jane-doe: one leaver of five is more than maxPercent (10 %), so the safeguard holds it"
kubectl delete -n "$ns" lpu jane-doe --wait=false >/dev/null
kubectl wait -n "$ns" lpdi/acme --for=condition=DeprovisionBlocked --timeout=60s >/dev/null ||
  { tail -n 40 "$work/operator.log" >&2; fail "the deprovision of jane-doe was not held"; }
plan=$(kubectl get -n "$ns" lpdi acme -o jsonpath='{.status.held.planId}')
[ -n "$plan" ] || fail "no status.held.planId"
# `kubectl get` says that a plan is held and why; `kubectl describe` gives the exact commands.
kubectl get -n "$ns" lpdi acme | tee "$work/get-lpdi.txt"
header=$(head -n 1 "$work/get-lpdi.txt")
[[ "$header" == *"HELD"*"HELD BECAUSE"* ]] || fail "kubectl get lpdi has no HELD / HELD BECAUSE columns: $header"
grep -q 'True .*more than maxPercent 10%' "$work/get-lpdi.txt" ||
  fail "kubectl get lpdi does not show the held plan and its reason"
approve=$(kubectl describe -n "$ns" lpdi acme | tr -s ' \n' ' ' |
  grep -o "kubectl -n $ns annotate lpdi acme lastpass-operator.io/approve-plan=$plan --overwrite" | head -n 1)
[ -n "$approve" ] || fail "kubectl describe lpdi does not show the approve command for plan $plan"
log "approve plan $plan with the command kubectl describe shows: $approve"
log "she must be deactivated in LastPass and the resource gone"
$approve >/dev/null
kubectl wait -n "$ns" lpu/jane-doe --for=delete --timeout=60s >/dev/null ||
  { tail -n 40 "$work/operator.log" >&2; fail "jane-doe was not released after the approval"; }
state=$(curl -sf "http://127.0.0.1:$port/__admin/state")
python3 - "$state" <<'PY' || fail "jane.doe@example.com is not deactivated in the simulator"
import json, sys
users = json.loads(sys.argv[1])["users"]
jane = users.get("jane.doe@example.com")
assert jane is not None and jane["disabled"], jane
print("[e2e] jane.doe@example.com is disabled in LastPass (Deactivate)", file=sys.stderr)
PY
batchadds=$(curl -sf "http://127.0.0.1:$port/__admin/calls" | python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c["command"]=="batchadd"))')
log "batchadd calls: $batchadds"
[ "$batchadds" -ge 1 ] || fail "no batchadd was made"

log "operations: Lease, /readyz, /metrics"
holder=$(kubectl get lease -n "$ns" lastpass-operator -o jsonpath='{.spec.holderIdentity}')
[ "$holder" = e2e-operator ] || fail "the Lease is held by '$holder', not e2e-operator"
curl -sf "http://127.0.0.1:$mport/healthz" >/dev/null || fail "/healthz"
curl -sf "http://127.0.0.1:$mport/readyz" >/dev/null || fail "/readyz: $(curl -s "http://127.0.0.1:$mport/readyz")"
curl -sf "http://127.0.0.1:$mport/metrics" >"$work/metrics.txt" || fail "/metrics"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/tls.crt" \
  "https://127.0.0.1:$sport/scim/v2/$ns/acme/ServiceProviderConfig")
[ "$code" = 401 ] || fail "SCIM over HTTPS without a token answered $code, not 401"
curl -s -o /dev/null "http://127.0.0.1:$sport/scim/v2/$ns/acme/Users" 2>/dev/null &&
  fail "SCIM answered plain HTTP on its TLS port"
log "SCIM over HTTPS (--scim-tls-cert/--scim-tls-key): 401 without a token, plain HTTP refused"
if ! command -v promtool >/dev/null; then
  log "installing promtool (Debian package prometheus)"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends prometheus >/dev/null || fail "cannot install promtool"
fi
promtool --version 2>&1 | head -1 >&2
# Metrics that appear only after their event, exercised here: SCIM on for acme (the token
# manager mints a token: no previous one yet, overlap ratio 0), an LDAP pull that must fail
# (nothing listens on port 9), one HTTP 429 from LastPass (a queued simulator fault, then a
# resync), and an integration whose credentials Secret does not exist (a failed account sync).
# Then /metrics again, after the SCIM requests above.
kubectl patch -n "$ns" lpdi acme --type merge -p '{"spec":{"scim":{"enabled":true},"ldap":{"url":"ldap://127.0.0.1:9","bindSecretRef":{"name":"e2e-no-such-bind-secret"},"userBaseDN":"dc=e2e,dc=invalid"}}}' >/dev/null
curl -sf -X POST "http://127.0.0.1:$port/__admin/faults" -H 'content-type: application/json' \
  -d '[{"kind":"throttle","command":"getuserdata","retry_after_secs":0}]' >/dev/null || fail "queueing a 429"
kubectl annotate -n "$ns" lpdi acme --overwrite lastpass-operator.io/resync=e2e-throttle >/dev/null
kubectl apply -n "$ns" -f - >/dev/null <<YAML
apiVersion: lastpass-operator.io/v1alpha1
kind: DirectoryIntegration
metadata: {name: no-credentials}
spec:
  lastpass: {endpoint: "$endpoint", credentialsSecretRef: {name: e2e-no-such-secret}}
YAML
exported() {
  grep -Eq "^lastpass_operator_ldap_pull_failing\{integration=\"$ns/acme\"\} 1\$" "$work/metrics.txt" &&
    grep -Eq "^lastpass_operator_scim_previous_token_overlap_remaining_ratio\{integration=\"$ns/acme\"\} 0(\.0)?\$" "$work/metrics.txt" &&
    grep -Eq "^lastpass_operator_lastpass_throttled_replies_total\{command=\"getuserdata\"\} [1-9]" "$work/metrics.txt" &&
    grep -Eq "^lastpass_operator_credentials_valid\{integration=\"$ns/no-credentials\"\} 0\$" "$work/metrics.txt" &&
    grep -Eq "^lastpass_operator_reconcile_errors_total\{kind=\"DirectoryIntegration\",error=\"credentials\"\} [1-9]" "$work/metrics.txt"
}
for _ in $(seq 150); do
  curl -sf "http://127.0.0.1:$mport/metrics" >"$work/metrics.txt" || fail "/metrics"
  exported && break
  sleep 0.2
done
exported || { grep -E 'ldap_pull_failing|overlap_remaining|throttled|credentials_valid|reconcile_errors' "$work/metrics.txt" >&2
  fail "the LDAP, SCIM, 429 and credentials metrics did not all show"; }
kubectl delete -n "$ns" lpdi no-credentials --wait=false >/dev/null
promtool check metrics <"$work/metrics.txt" || fail "promtool check metrics rejected /metrics"
for m in lastpass_requests_total lastpass_request_duration_seconds_bucket sync_duration_seconds_count \
  users deprovisions_pending deprovisions_blocked drift_corrections_total untrusted_reads_total leader; do
  grep -q "^lastpass_operator_$m[{ ]" "$work/metrics.txt" || fail "metric lastpass_operator_$m missing"
done
grep -q '^lastpass_operator_leader 1$' "$work/metrics.txt" || fail "leader gauge is not 1"
log "promtool check metrics: ok ($(grep -c '^# TYPE' "$work/metrics.txt") metric families)"
# jane-doe's held-then-approved deactivation is a revocation: its latency counts from her
# deletion, the approval wait included.
grep -q "^lastpass_operator_revocation_seconds_count{integration=\"$ns/acme\",source=\"git\",action=\"Deactivate\"} 1\$" \
  "$work/metrics.txt" || fail "no revocation recorded for jane-doe's deactivation"
revocation=$(kubectl get -n "$ns" lpdi acme -o jsonpath='{.status.revocation.slowest}')
[ -n "$revocation" ] || fail "no status.revocation on the integration"
log "revocation latency (held plan included): $revocation"
bash scripts/alerts-test.sh --metrics "$work/metrics.txt" || fail "the rules or the dashboard use a metric the operator does not export"

sleep 5 # idle: nothing left to do
rss=$(awk '/VmRSS/ {print $2" "$3}' "/proc/$op/status")
hwm=$(awk '/VmHWM/ {print $2" "$3}' "/proc/$op/status")
log "memory of the idle operator (debug build): VmRSS $rss, peak VmHWM $hwm"

log "SIGTERM: clean exit, Lease released"
kill -TERM "$op"
code=""
for _ in $(seq 250); do
  if ! kill -0 "$op" 2>/dev/null; then wait "$op" && code=0 || code=$?; break; fi
  sleep 0.1
done
[ -n "$code" ] || fail "the operator did not exit within 25 s of SIGTERM"
[ "$code" = 0 ] || { tail -n 20 "$work/operator.log" >&2; fail "exit code $code after SIGTERM"; }
holder=$(kubectl get lease -n "$ns" lastpass-operator -o jsonpath='{.spec.holderIdentity}')
[ -z "$holder" ] || fail "the Lease is still held by $holder after shutdown"
log "exited 0, Lease released"
log "passed"
