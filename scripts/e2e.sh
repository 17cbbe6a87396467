#!/usr/bin/env bash
# End to end with the real binary: `lastpass-operator simulator` as LastPass, `lastpass-operator
# run` against a real API server (the envtest server, or LASTPASS_OPERATOR_TEST_KUBECONFIG),
# `kubectl apply` of the examples, `kubectl wait --for=condition=Ready lpu --all`, then a deleted
# user must show up deactivated in the simulator.
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
bin=target/debug/lastpass-operator
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
kubectl apply -n "$ns" -f examples/00-credentials.yaml -f examples/10-users.yaml -f examples/20-groups.yaml >/dev/null
kubectl patch -n "$ns" secret lastpass-api --type merge -p '{"stringData":{"provhash":"e2e-provhash"}}' >/dev/null
kubectl patch -n "$ns" lpdi acme --type merge -p "{\"spec\":{\"lastpass\":{\"endpoint\":\"$endpoint\"},\"sync\":{\"debounce\":\"1s\"}}}" >/dev/null

log "start the operator"
RUST_LOG=info "$bin" run --disable-leader-election --namespace "$ns" --metrics-addr 127.0.0.1:0 \
  --log-format text >"$work/operator.log" 2>&1 &
pids+=($!)

if ! kubectl wait -n "$ns" --for=condition=Ready lpu --all --timeout=120s; then
  kubectl get lpu,lpdi -n "$ns" -o yaml >&2 || true
  tail -n 40 "$work/operator.log" >&2
  fail "not every LastPassUser became Ready"
fi
kubectl get lpu,lpg,lpdi -n "$ns"

log "delete jane-doe: she must be deactivated in LastPass and the resource gone"
kubectl delete -n "$ns" lpu jane-doe --timeout=60s >/dev/null || { tail -n 40 "$work/operator.log" >&2; fail "jane-doe was not released"; }
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
log "passed"
