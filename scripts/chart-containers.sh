#!/usr/bin/env bash
# chart-containers.sh — the chart's image runs as the chart runs it, in every RBAC mode of the
# chart, against a real kube-apiserver, with the simulator as LastPass.
#
#   scripts/chart-containers.sh [MODE...]      modes: cluster secrets namespaced (default: all)
#
# The image is the chart's default image, built by scripts/image.sh (release binary, buildah).
# For each mode, on an envtest API server of its own (scripts/envtest.sh):
# 1. `helm template` (real helm) renders the chart twice with the mode's values, differing only
#    in metrics.port and scim.port (two containers share the host network); the first rendering
#    is applied (ServiceAccount, RBAC, Services, Deployment, PDB).
# 2. Each container gets what the pod would: a token of the chart's ServiceAccount from the
#    TokenRequest API (serviceaccounts/token, signed with the API server's
#    --service-account-signing-key-file; no static token), the API server's CA and the namespace,
#    mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount, and
#    KUBERNETES_SERVICE_HOST/PORT: in-cluster configuration, no kubeconfig. The image, args, env
#    (POD_NAME/POD_NAMESPACE from the downward API), user, read-only root, dropped capabilities,
#    no-new-privileges, emptyDir /tmp and resource limits are read from the rendered Deployment,
#    not copied from it. podman + runc run it (crun does not work here).
# 3. The examples are applied, their Secret made with a placeholder provhash (wrong): the engine fails twice, then
#    the fixed Secret must wake it at once (the next LastPass read within half the 10 s backoff);
#    the examples converge (users and the integration Ready; groups Synced, Ready but for the
#    example's documented missing member); SCIM mints its token, which both containers accept;
#    exactly one container leads (Lease holder, leader gauge); /healthz, /readyz, /metrics answer
#    on each container's chart port; `podman stop` of the leader exits 0 and hands the Lease
#    over; the new leader reads the account again and repeats no LastPass write.
# 4. No log line of either container says Forbidden or 403, and the API server's audit log holds
#    no request of the ServiceAccount answered 403 (the operator logs some refusals, such as a
#    failed Event, at debug level only).
#
# Needs root (podman). Installs what is missing: kubectl, jq, yq, curl, openssl (apt-get),
# buildah, podman, runc (scripts/image.sh), helm (scripts/helm.sh), the envtest API server
# (scripts/envtest.sh install). About 2.5 minutes here, plus the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

CHART=charts/lastpass-operator
PODMAN=(podman --runtime /usr/sbin/runc --cgroup-manager cgroupfs)
SA_DIR=/var/run/secrets/kubernetes.io/serviceaccount
log() { printf '[chart-containers] %s\n' "$*" >&2; }
fail() { printf '\n[chart-containers] FAILED (%s): %s\n' "${mode:-setup}" "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

[ "$(id -u)" = 0 ] || fail "needs root (podman with the system storage)"
missing=()
for t in kubectl:kubernetes-client jq:jq yq:yq python3:python3 curl:curl openssl:openssl; do
  command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
    >/tmp/lpo-chart-containers-apt.log 2>&1 || { tail -n 20 /tmp/lpo-chart-containers-apt.log >&2; fail "apt-get install ${missing[*]}"; }
fi
HELM=$(scripts/helm.sh install)
scripts/envtest.sh install
IMAGE=$(scripts/image.sh)
log "image $IMAGE, helm $("$HELM" version --short)"

work=$(mktemp -d "${TMPDIR:-/tmp}/lpo-chart-containers.XXXXXX")
containers=()
envtest=""
cleanup() {
  local c
  for c in "${containers[@]}"; do "${PODMAN[@]}" rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  [ -z "$envtest" ] || scripts/envtest.sh stop "$envtest" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# until SECONDS WHAT CMD...: retries CMD every 0.2 s until it succeeds
until_ok() {
  local end=$(($(date +%s) + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.2
  done
}
http_ok() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$@")" = 200 ]; }
lease_holder() { kubectl get lease -n "$relns" "$lease" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
leader_gauge() { curl -sf "http://127.0.0.1:$1/metrics" | awk '$1 == "lastpass_operator_leader" {print $2}'; }
sim() { curl -sf "http://127.0.0.1:$simport/__admin/$1"; }
# The simulator's calls other than reads: the LastPass writes, as "command targets" lines.
writes() { sim calls | jq -r '.[] | select(.command != "getuserdata") | "\(.command) \(.targets | join(","))"'; }
whole_reads() { sim reads | jq .whole; }
# Account syncs a container completed (lastpass_operator_sync_duration_seconds_count, all outcomes).
syncs() { curl -sf "http://127.0.0.1:$1/metrics" | awk '$1 ~ /^lastpass_operator_sync_duration_seconds_count/ {n += $2} END {print n + 0}'; }
# Predicates for until_ok.
auth_failures() { [ "$(sim calls | jq '[.[] | select(.outcome == "auth_error")] | length')" -ge "$1" ]; }
good_read() { sim calls | jq -e 'any(.[]; .outcome == "data")'; }
holder_is() { [ "$(lease_holder)" = "$1" ]; }
gauge_is() { [ "$(leader_gauge "$2")" = "$1" ]; }
synced_at_least() { [ "$(syncs "$2")" -ge "$1" ]; }

# podman arguments for the Deployment's container, as the kubelet would run it: prints them one
# per line. DEPLOYMENT_JSON POD_NAME SA_DIR_ON_HOST
pod_args() {
  python3 - "$@" <<'PY'
import json, re, sys

deploy, pod_name, sa_dir = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
ns = deploy["metadata"]["namespace"]
spec = deploy["spec"]["template"]["spec"]
(c,) = spec["containers"]  # one container
def need(ok, what):
    if not ok:
        sys.exit(f"chart-containers: the Deployment has {what}, which this test cannot run")
psc, csc = spec.get("securityContext", {}), c.get("securityContext", {})
def sc(key):
    return csc.get(key, psc.get(key))
def quantity(q, cpu=False):
    m = re.fullmatch(r"(\d+)(m|Ki|Mi|Gi)?", str(q))
    need(m, f"the quantity {q}")
    n, unit = int(m.group(1)), m.group(2) or ""
    if cpu:
        return f"{n / 1000 if unit == 'm' else n:g}"
    return {"": f"{n}", "Ki": f"{n}k", "Mi": f"{n}m", "Gi": f"{n}g"}[unit]
out = ["--name", pod_name, "--hostname", pod_name, "--network", "host"]
uid, gid = sc("runAsUser"), sc("runAsGroup")
need(uid is not None and gid is not None, "no runAsUser/runAsGroup")
out += ["--user", f"{uid}:{gid}"]
if psc.get("fsGroup") is not None:
    out += ["--group-add", str(psc["fsGroup"])]
if sc("readOnlyRootFilesystem"):
    out.append("--read-only")
for cap in csc.get("capabilities", {}).get("drop", []):
    out += ["--cap-drop", cap]
need(not csc.get("capabilities", {}).get("add"), "added capabilities")
need(not sc("privileged"), "privileged: true")
if sc("allowPrivilegeEscalation") is False:
    out += ["--security-opt", "no-new-privileges"]
need(sc("seccompProfile") in (None, {"type": "RuntimeDefault"}), "a seccomp profile other than RuntimeDefault")
limits = c.get("resources", {}).get("limits", {})
if "memory" in limits:
    out += ["--memory", quantity(limits["memory"])]
if "cpu" in limits:
    out += ["--cpus", quantity(limits["cpu"], cpu=True)]
# runc needs explicit rlimits here.
out += ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
volumes = {v["name"]: v for v in spec.get("volumes", [])}
for m in c.get("volumeMounts", []):
    v = volumes[m["name"]]
    need("emptyDir" in v, f"the volume {m['name']} (only emptyDir is run here)")
    size = v["emptyDir"].get("sizeLimit")
    out += ["--tmpfs", m["mountPath"] + (f":size={quantity(size)}" if size else "")]
if spec.get("automountServiceAccountToken", True):
    out += ["-v", f"{sa_dir}:/var/run/secrets/kubernetes.io/serviceaccount:ro"]
need(not c.get("envFrom"), "envFrom")
for e in c.get("env", []):
    if "value" in e:
        out += ["-e", f"{e['name']}={e['value']}"]
        continue
    path = e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
    need(path in ("metadata.name", "metadata.namespace"), f"the env {e['name']} from {e.get('valueFrom')}")
    out += ["-e", f"{e['name']}={pod_name if path == 'metadata.name' else ns}"]
out.append(c["image"])
out += c.get("command", [])
out += c.get("args", [])
print("\n".join(out))
PY
}

# Starts the container NAME from the Deployment rendered in RENDERED.
start_container() {  # NAME RENDERED
  local name=$1 sa=$work/$mode/$1-sa
  mkdir -p "$sa"
  # TokenRequest (as `kubectl create token`, which kubectl before 1.24 lacks); no newline, as the
  # kubelet writes it.
  echo '{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}}' |
    kubectl create --raw "/api/v1/namespaces/$relns/serviceaccounts/$sa_name/token" -f - | jq -je .status.token >"$sa/token" ||
    fail "TokenRequest for the ServiceAccount $relns/$sa_name"
  cp "$work/$mode/ca.crt" "$sa/ca.crt"
  printf '%s' "$relns" >"$sa/namespace"
  chmod 0755 "$sa" && chmod 0644 "$sa"/*
  yq -s 'map(select(. != null and .kind == "Deployment")) | .[0]' "$2" >"$work/$mode/$name-deploy.json"
  mapfile -t args < <(pod_args "$work/$mode/$name-deploy.json" "$name" "$sa")
  [ ${#args[@]} -gt 10 ] || fail "cannot build the container's arguments from the Deployment"
  containers+=("$name")
  "${PODMAN[@]}" run -d -e KUBERNETES_SERVICE_HOST=127.0.0.1 -e "KUBERNETES_SERVICE_PORT=$apiport" \
    "${args[@]}" >/dev/null || fail "podman run $name"
}

forbidden_count() {  # CONTAINER: log lines mentioning Forbidden or 403
  "${PODMAN[@]}" logs "$1" 2>&1 | grep -ciE 'forbidden|\b403\b' || true
}
# The ServiceAccount's requests in the API server's audit log: "total 403s".
audited() {
  jq -rs --arg u "system:serviceaccount:$relns:$sa_name" '[.[] | select(.stage == "ResponseComplete" and .user.username == $u)] |
    "\(length) \([.[] | select(.responseStatus.code == 403)] | length)"' "$work/$mode/audit.log"
}

run_mode() {  # MODE RELEASE RELEASE_NAMESPACE EXAMPLES_NAMESPACE [helm args...]
  mode=$1 release=$2 relns=$3 exns=$4; shift 4
  local values=("$@") dir=$work/$mode t0 ma mb sa sb a b leader follower ready_s
  mkdir -p "$dir"
  log "=== mode $mode: helm template $release -n $relns ${values[*]:-(default values)}; examples in $exns"
  envtest=$dir/envtest
  # Every request in an audit log, to count what the API server refused the ServiceAccount.
  printf 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n' >"$dir/audit-policy.yaml"
  KUBE_APISERVER_EXTRA_ARGS="--audit-policy-file=$dir/audit-policy.yaml --audit-log-path=$dir/audit.log" \
    scripts/envtest.sh start "$envtest" >/dev/null 2>"$dir/envtest.log" || { cat "$dir/envtest.log" >&2; fail "envtest start"; }
  export KUBECONFIG=$envtest/kubeconfig KUBECACHEDIR=$dir/kube-cache
  apiport=$(yq -r '.clusters[0].cluster.server' "$KUBECONFIG" | sed 's/.*://')
  version=$(kubectl version -o json 2>/dev/null | jq -r .serverVersion.gitVersion)
  # The API server's own CA (the second certificate of its self-signed serving bundle).
  awk '/BEGIN CERT/ {n++} n == 2' "$envtest/certs/apiserver.crt" >"$dir/ca.crt"
  grep -q 'END CERT' "$dir/ca.crt" || fail "no CA certificate in $envtest/certs/apiserver.crt"

  # CRDs as Helm installs them (CEL rules stripped: 1.20), namespaces, the chart.
  for f in "$CHART"/crds/*.yaml; do echo ---; cat "$f"; done |
    yq -y 'select(. != null) | walk(if type == "object" then del(."x-kubernetes-validations") else . end)' >"$dir/crds.yaml"
  kubectl apply --server-side -f "$dir/crds.yaml" >/dev/null || fail "apply the CRDs"
  kubectl wait --for condition=established --timeout=60s -f "$dir/crds.yaml" >/dev/null || fail "CRDs not Established"
  for ns in "$relns" "$exns" elsewhere; do kubectl create namespace "$ns" >/dev/null; done
  ma=$(free_port) sa=$(free_port) mb=$(free_port) sb=$(free_port)
  "$HELM" template "$release" "$CHART" -n "$relns" --kube-version "$version" "${values[@]}" \
    --set metrics.port="$ma" --set scim.port="$sa" >"$dir/a.yaml" || fail "helm template (a)"
  "$HELM" template "$release" "$CHART" -n "$relns" --kube-version "$version" "${values[@]}" \
    --set metrics.port="$mb" --set scim.port="$sb" >"$dir/b.yaml" || fail "helm template (b)"
  yq -y 'select(. != null)' "$dir/a.yaml" >"$dir/a.apply"
  kubectl apply --server-side -f "$dir/a.apply" >"$dir/apply.log" 2>&1 || { cat "$dir/apply.log" >&2; fail "apply the chart"; }
  sa_name=$(yq -r 'select(.kind == "Deployment") | .spec.template.spec.serviceAccountName' "$dir/a.yaml")
  lease=$(yq -r 'select(.kind == "Deployment") | .spec.template.spec.containers[0].args[] | select(startswith("--lease-name=")) | ltrimstr("--lease-name=")' "$dir/a.yaml")
  [ "$(yq -r 'select(.kind == "Deployment") | .spec.template.spec.containers[0].image' "$dir/a.yaml")" = "$IMAGE" ] ||
    fail "the chart's default image is not $IMAGE"
  [ -n "$lease" ] || fail "no --lease-name in the Deployment"

  # The simulator as LastPass, from the same image; its provhash is not the examples' placeholder.
  printf 'chart-containers-provhash\n' >"$dir/provhash" && chmod 0644 "$dir/provhash"
  simport=$(free_port)
  containers+=("lpo-cc-$$-$mode-sim")
  "${PODMAN[@]}" run -d --name "lpo-cc-$$-$mode-sim" --read-only --cap-drop ALL --user 65532:65532 \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network host -v "$dir/provhash:/run/provhash:ro" \
    "$IMAGE" simulator --listen "127.0.0.1:$simport" --cid 12345678 --provhash-file /run/provhash >/dev/null ||
    fail "podman run the simulator"
  until_ok 20 simulator sim state || fail "the simulator did not answer"

  # The examples, with the placeholder provhash: the engine must fail on the credentials.
  kubectl create secret generic lastpass-api -n "$exns" --from-literal=cid=12345678 \
    --from-literal=provhash=REPLACE-WITH-YOUR-PROVISIONING-HASH >/dev/null
  kubectl apply -n "$exns" -f examples/00-integration.yaml -f examples/10-users.yaml -f examples/20-groups.yaml >/dev/null
  kubectl patch -n "$exns" lpdi acme --type merge -p "{\"spec\":{\"lastpass\":{\"endpoint\":\"http://127.0.0.1:$simport/enterpriseapi.php\"},\"sync\":{\"debounce\":\"1s\"},\"scim\":{\"enabled\":true}}}" >/dev/null

  a=lpo-cc-$$-$mode-a b=lpo-cc-$$-$mode-b
  t0=$(now)
  start_container "$a" "$dir/a.yaml"
  until_ok 60 "/readyz of $a" http_ok "http://127.0.0.1:$ma/readyz" ||
    { "${PODMAN[@]}" logs "$a" 2>&1 | tail -n 30 >&2; fail "$a did not become ready"; }
  ready_s=$(since "$t0")
  log "container $a ready $ready_s s after podman run (metrics :$ma, SCIM :$sa)"
  start_container "$b" "$dir/b.yaml"
  until_ok 60 "/readyz of $b" http_ok "http://127.0.0.1:$mb/readyz" ||
    { "${PODMAN[@]}" logs "$b" 2>&1 | tail -n 30 >&2; fail "$b did not become ready"; }

  # A fixed credentials Secret wakes the engine at once: after the second failed read the retry
  # waits 10 s; the next read must come well within that.
  until_ok 60 "two failed reads" auth_failures 2 ||
    fail "the engine did not try the placeholder credentials twice"
  kubectl get lpdi -n "$exns" acme -o json | jq -e '.status.conditions[] | select(.type == "CredentialsValid") | .status == "False"' >/dev/null ||
    fail "CredentialsValid is not False with the placeholder provhash"
  kubectl patch -n "$exns" secret lastpass-api --type merge -p '{"stringData":{"provhash":"chart-containers-provhash"}}' >/dev/null
  until_ok 30 "a read with the fixed credentials" good_read ||
    fail "no LastPass read after the Secret was fixed"
  local wake
  wake=$(sim calls | jq -r '([.[] | select(.outcome == "auth_error")] | last.at) as $f | ([.[] | select(.outcome == "data")] | first.at) as $ok |
    [$f, $ok] | map(sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) | .[1] - .[0]')
  [ "$wake" -lt 5 ] || fail "the first good read came ${wake} s after the last failed one: the retry (10 s), not the Secret watch"
  log "ok: the fixed Secret woke the engine (good read ${wake} s after the last failure; the retry was due after 10 s)"

  # The examples converge.
  kubectl wait -n "$exns" --for=condition=Ready lpu --all --timeout=90s >/dev/null ||
    { kubectl get lpu -n "$exns" -o yaml >&2; fail "not every LastPassUser became Ready"; }
  kubectl wait -n "$exns" --for=condition=Ready lpdi/acme --timeout=60s >/dev/null || fail "the integration is not Ready"
  kubectl wait -n "$exns" --for=condition=Synced lpg --all --timeout=60s >/dev/null || fail "not every LastPassGroup is Synced"
  kubectl get lpg -n "$exns" -o json | jq -e '[.items[] | {n: .metadata.name, r: (.status.conditions[] | select(.type == "Ready") | if .status == "True" then "True" else .status + "/" + .reason end), m: .status.missingMembers}] |
    sort_by(.n) == [{n: "engineering", r: "True", m: null}, {n: "finance", r: "False/MembersMissing", m: ["cfo@example.com"]}, {n: "on-call", r: "True", m: null}]' >/dev/null ||
    { kubectl get lpg -n "$exns" -o json | jq '.items[] | {n: .metadata.name, s: .status}' >&2; fail "the groups are not as the examples say"; }
  log "ok: examples converged in $(since "$t0") s from the first podman run ($(sim state | jq '.users | length') LastPass users)"

  # SCIM: the minted token is accepted by both containers, nothing without it.
  until_ok 30 "the SCIM token" kubectl get secret -n "$exns" acme-scim-token || fail "no Secret acme-scim-token"
  local token p
  token=$(kubectl get secret -n "$exns" acme-scim-token -o jsonpath='{.data.token}' | base64 -d)
  [ ${#token} -ge 32 ] || fail "the SCIM token is too short"
  for p in "$sa" "$sb"; do
    http_ok -H "Authorization: Bearer $token" "http://127.0.0.1:$p/scim/v2/$exns/acme/ServiceProviderConfig" ||
      fail "SCIM on :$p refused the minted token"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/scim/v2/$exns/acme/Users")" = 401 ] ||
      fail "SCIM on :$p answered without a token"
    http_ok -H "Authorization: Bearer $token" "http://127.0.0.1:$p/scim/v2/$exns/acme/Users?filter=userName%20eq%20%22kiosk@example.com%22" ||
      fail "SCIM on :$p cannot list Users"
  done
  log "ok: SCIM minted its token; both containers accept it (and refuse a request without it)"

  # Exactly one leads; both answer /healthz, /readyz, /metrics on their chart ports.
  for p in "$ma" "$mb"; do
    http_ok "http://127.0.0.1:$p/healthz" || fail "/healthz on :$p"
    http_ok "http://127.0.0.1:$p/readyz" || fail "/readyz on :$p"
    http_ok "http://127.0.0.1:$p/metrics" || fail "/metrics on :$p"
  done
  leader=$(lease_holder)
  case "$leader" in
    "$a") follower=$b; [ "$(leader_gauge "$ma")/$(leader_gauge "$mb")" = 1/0 ] || fail "leader gauges $(leader_gauge "$ma")/$(leader_gauge "$mb"), Lease $a" ;;
    "$b") follower=$a; [ "$(leader_gauge "$ma")/$(leader_gauge "$mb")" = 0/1 ] || fail "leader gauges $(leader_gauge "$ma")/$(leader_gauge "$mb"), Lease $b" ;;
    *) fail "the Lease $relns/$lease is held by '$leader', not by one of the containers" ;;
  esac
  log "ok: exactly one leads ($leader: Lease holder, leader gauge 1; $follower: 0); /healthz /readyz /metrics on both"

  # Hand-over: stop the leader; the follower takes the Lease, reads LastPass, repeats no write.
  local before reads0 code t1 fport
  fport=$([ "$leader" = "$a" ] && echo "$mb" || echo "$ma")
  [ "$(syncs "$fport")" = 0 ] || fail "the follower $follower ran account syncs"
  before=$(writes)
  [ -n "$before" ] || fail "no LastPass write before the hand-over"
  [ "$(sort <<<"$before" | uniq -d)" = "" ] || fail "a LastPass write was repeated before the hand-over: $(sort <<<"$before" | uniq -d)"
  reads0=$(whole_reads)
  t1=$(now)
  "${PODMAN[@]}" stop -t 30 "$leader" >/dev/null || fail "podman stop $leader"
  code=$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$leader")
  [ "$code" = 0 ] || fail "$leader exited $code after SIGTERM"
  until_ok 40 "the Lease hand-over" holder_is "$follower" ||
    fail "the Lease did not pass to $follower (holder '$(lease_holder)')"
  until_ok 20 "the new leader's gauge" gauge_is 1 "$fport" ||
    fail "$follower holds the Lease but its leader gauge is not 1"
  log "hand-over: $leader exited 0; $follower leads $(since "$t1") s after podman stop"
  # Evidence the new leader synced: an account sync completed (its sync_duration count, 0 while
  # it followed) and a whole-account read since the stop.
  until_ok 60 "the new leader's sync" synced_at_least 1 "$fport" ||
    fail "the new leader completed no account sync"
  [ "$(whole_reads)" -gt "$reads0" ] || fail "the new leader synced without reading the account"
  [ "$(writes)" = "$before" ] || fail "LastPass writes after the hand-over: $(diff <(echo "$before") <(writes) | grep '^>' || true)"
  http_ok "http://127.0.0.1:$fport/readyz" || fail "/readyz of the new leader"
  log "ok: the new leader read the account $(($(whole_reads) - reads0)) times and repeated none of the $(wc -l <<<"$before") LastPass writes"

  local fa fb fs total
  fa=$(forbidden_count "$a") fb=$(forbidden_count "$b")
  read -r total fs <<<"$(audited)"
  [ "$total" -gt 20 ] || fail "the audit log holds only $total requests of the ServiceAccount"
  log "Forbidden/403: log lines of $a $fa, of $b $fb; audit log: $fs of the ServiceAccount's $total requests answered 403"
  [ "$fa" = 0 ] && [ "$fb" = 0 ] || {
    { "${PODMAN[@]}" logs "$a"; "${PODMAN[@]}" logs "$b"; } 2>&1 | grep -iE 'forbidden|\b403\b' | head -n 5 >&2
    fail "the operator was refused something its RBAC should allow"
  }
  [ "$fs" = 0 ] || {
    jq -c 'select(.responseStatus.code == 403) | [.verb, .requestURI]' "$dir/audit.log" | sort | uniq -c | head >&2
    fail "the API server refused the ServiceAccount $fs requests (the chart's RBAC is short of what the operator does)"
  }
  log "what the ServiceAccount did (audit log: verb resource[/subresource] namespace, all allowed):"
  jq -r --arg u "system:serviceaccount:$relns:$sa_name" 'select(.stage == "ResponseComplete" and .user.username == $u and .objectRef) |
    "\(.verb) \(.objectRef.apiGroup // "core")/\(.objectRef.resource)\(if .objectRef.subresource then "/" + .objectRef.subresource else "" end) \(.objectRef.namespace // "(cluster)")"' \
    "$dir/audit.log" | sort | uniq -c | sed 's/^/    /' >&2
  summary+=("$mode: container ready ${ready_s}s, examples converged, hand-over ok, 403s: logs $fa + $fb, audit $fs of $total")

  "${PODMAN[@]}" rm -f -t 0 "$a" "$b" "lpo-cc-$$-$mode-sim" >/dev/null
  scripts/envtest.sh stop "$envtest" >/dev/null 2>&1
  envtest=""
  log "=== mode $mode passed"
}

summary=()
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(cluster secrets namespaced)
for m in "${modes[@]}"; do
  case "$m" in
    cluster) run_mode cluster lpo lpo-system identity ;;
    secrets) run_mode secrets lpo-conf lpo-conf-system identity --set 'rbac.secrets.namespaces={identity}' ;;
    namespaced) run_mode namespaced lpo-teams lpo-teams-system identity --set 'watchNamespaces={identity,elsewhere}' ;;
    *) fail "unknown mode '$m' (cluster, secrets, namespaced)" ;;
  esac
done
mode=done
log "image $IMAGE: $(($(podman image inspect --format '{{.Size}}' "$IMAGE") / 1024 / 1024)) MiB"
for s in "${summary[@]}"; do log "$s"; done
log "passed in ${SECONDS}s"
