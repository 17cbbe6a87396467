#!/usr/bin/env bash
# single-node.sh — a real one-node Kubernetes v1.20.2 for the Helm chart, run by hand (not in
# .ci/run): the envtest API server (scripts/envtest.sh), plus kube-controller-manager,
# kube-scheduler and kubelet built from the same Debian `kubernetes` source package the same way,
# with Debian's containerd + runc, the image from scripts/image.sh imported, and `helm install`.
#
#   single-node.sh install    apt prerequisites (containerd, runc, CNI plugins, gcc) + build the three binaries
#                             (cached next to kube-apiserver in $KUBE_APISERVER_CACHE)
#   single-node.sh run        start everything in a fresh directory, helm install the chart,
#                             wait for both replicas Running and Ready, then stop everything
#
# `run` checks: the node Ready; both replicas Running and Ready (the kubelet's probes); the
# PodDisruptionBudget in force (2 healthy, 1 disruption allowed); the examples' users Ready with
# the simulator as LastPass; `helm upgrade` rolls the pods and a new pod takes the Lease, completes
# an account sync and repeats no LastPass write; no Forbidden/403 in the pods' logs. It prints
# what it reached and, if the node cannot run, the error that stopped it (STOPPED: ...).
#
# Deviations from a real cluster, because of this sandbox: no kube-proxy (the chart's extraEnv
# points KUBERNETES_SERVICE_HOST/PORT at the node's address); containerd's
# restrict_oom_score_adj (root here has no CAP_SYS_RESOURCE); kubelet without iptables chains;
# the kubelet, controller-manager and scheduler use the envtest admin token. The kubelet may set
# kernel tunables (vm.overcommit_memory, kernel.panic...): they are put back when it stops.
# Needs root, about 2 minutes once built (the build: about 25 minutes on 2 busy cores).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${KUBE_APISERVER_CACHE:-$HOME/.cache/kube-apiserver}
VERSION=v1.20.2
GO_BIN=/usr/lib/go/bin
WHAT=(kube-controller-manager kube-scheduler kubelet)
log() { printf '[single-node] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
have() { [ -x "$CACHE/$1" ] && "$CACHE/$1" --version 2>/dev/null | grep -qF "$VERSION"; }

cmd_install() {
  [ "$(id -u)" = 0 ] || die "needs root"
  scripts/envtest.sh install
  local p missing=()
  for p in containerd runc containernetworking-plugins podman buildah gcc libc6-dev; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$CACHE/single-node-apt.log" 2>&1 ||
      { tail -n 20 "$CACHE/single-node-apt.log" >&2; die "apt-get install ${missing[*]}"; }
  fi
  local todo=() w
  for w in "${WHAT[@]}"; do have "$w" || todo+=("cmd/$w"); done
  [ ${#todo[@]} -gt 0 ] || [ ! -f "$CACHE/pause.c" ] || { log "cached: ${WHAT[*]} ($VERSION) in $CACHE"; return 0; }
  local b src r2 v
  b=$(mktemp -d "${TMPDIR:-/tmp}/kube-node-build.XXXXXX")
  trap 'rm -rf "$b"' EXIT
  log "apt-get source kubernetes (into $b)"
  (cd "$b" && apt-get source -q kubernetes) >"$CACHE/single-node-source.log" 2>&1 ||
    { tail -n 20 "$CACHE/single-node-source.log" >&2; die "apt-get source kubernetes failed"; }
  src=$(echo "$b"/kubernetes-*/)
  grep -qF "tag: $VERSION'" "$src/hack/lib/version.sh" || die "the source package is not Kubernetes $VERSION"
  # As scripts/envtest.sh: the vendored reflect2 v1.0.1 segfaults under Go >= 1.18.
  r2=$(dirname "$(dpkg -L golang-github-modern-go-reflect2-dev | grep '/reflect2\.go$' | head -n 1)")
  v=$src/vendor/github.com/modern-go/reflect2
  rm -f "$v"/*.go "$v"/*.s && cp "$r2"/*.go "$r2"/*.s "$v"/
  mkdir -p "$src/.go/src/k8s.io" && ln -sfn ../../.. "$src/.go/src/k8s.io/kubernetes"
  if [ ${#todo[@]} -gt 0 ]; then
    log "building ${todo[*]} with $("$GO_BIN/go" version | awk '{print $3}') (log: $CACHE/single-node-build.log)"
    (cd "$src" && env PATH="$GO_BIN:$PATH" HOME="$b" GOPATH="$src/.go" GOCACHE="$b/gocache" \
      CGO_ENABLED=0 GOFLAGS=-mod=vendor GOPROXY=off make WHAT="${todo[*]}") >"$CACHE/single-node-build.log" 2>&1 ||
      { tail -n 30 "$CACHE/single-node-build.log" >&2; die "make WHAT='${todo[*]}' failed"; }
  fi
  for w in "${todo[@]}"; do install -m 0755 "$src/_output/bin/${w#cmd/}" "$CACHE/${w#cmd/}"; done
  cp "$src/build/pause/linux/pause.c" "$CACHE/pause.c"  # the pod sandbox, built by `run`
  for w in "${WHAT[@]}"; do have "$w" || die "$w does not report $VERSION"; done
  rm -rf "$b"; trap - EXIT
  log "ready: ${WHAT[*]} in $CACHE"
}

# The node's processes, started by cmd_run; stopped in reverse order by stop_all.
pids=()
dir=""
sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops)
saved=()
stop_pid() {  # PID: SIGTERM, up to 10 s, then SIGKILL
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}
containerd_pid=""
netns_before=""
stop_all() {
  local i t
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[$i]}"; done
  if [ -n "$containerd_pid" ]; then
    # The pods' containers outlive containerd (their shims are detached): kill them first.
    local ctr=(ctr -a "$dir/containerd.sock" -n k8s.io)
    for t in $("${ctr[@]}" tasks ls -q 2>/dev/null); do "${ctr[@]}" tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
    for t in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
      for _ in $(seq 50); do "${ctr[@]}" tasks rm -f "$t" >/dev/null 2>&1 && break; sleep 0.1; done
    done
    stop_pid "$containerd_pid"
  fi
  # The kubelet's (empty, once its pods are gone) cgroups.
  find /sys/fs/cgroup/*/kubepods -depth -type d -exec rmdir {} \; 2>/dev/null || true
  # The pod network namespaces the CRI made.
  for t in $(ls /var/run/netns 2>/dev/null); do
    case " $netns_before " in *" $t "*) ;; *) [[ "$t" == cni-* ]] && ip netns delete "$t" 2>/dev/null || true ;; esac
  done
  podman --runtime /usr/sbin/runc --cgroup-manager cgroupfs rm -f -t 0 "lpo-node-sim-$$" >/dev/null 2>&1 || true
  [ -z "$dir" ] || scripts/envtest.sh stop "$dir/envtest" >/dev/null 2>&1 || true
  # The kubelet may have set these kernel tunables: put the machine's values back.
  for i in "${!saved[@]}"; do sysctl -qw "${sysctls[$i]}=${saved[$i]}" 2>/dev/null || true; done
  if [ -n "$dir" ]; then
    grep -F " $dir/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    ip link del lpo-cni0 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$dir"
  fi
}

step() { log "--- $*"; }
stopped_by() {  # WHAT LOGFILE: the stretch ends here; say why
  log "STOPPED: $1"
  [ -z "${2:-}" ] || { log "last lines of $2:"; tail -n 25 "$2" | sed 's/^/    /' >&2; }
  exit 1
}

cmd_run() {
  [ "$(id -u)" = 0 ] || die "needs root"
  local w
  for w in "${WHAT[@]}"; do have "$w" || die "no $w $VERSION in $CACHE: run '$0 install' first"; done
  [ -f "$CACHE/pause.c" ] || die "no pause.c in $CACHE: run '$0 install' first"
  for w in containerd ctr gcc buildah podman kubectl jq yq; do command -v $w >/dev/null || die "'$w' not found"; done
  local helm hostip ap image ns=lpo-system exns=identity simport t0
  helm=$(scripts/helm.sh install)
  image=$(scripts/image.sh)
  hostip=$(ip -4 route get 192.0.2.255 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1)}' | head -n 1)
  [ -n "$hostip" ] || hostip=$(hostname -I | awk '{print $1}')
  dir=$(mktemp -d /tmp/lpo-node.XXXXXX)
  for w in "${sysctls[@]}"; do saved+=("$(sysctl -n "$w")"); done
  trap stop_all EXIT
  log "node state in $dir (KEEP=1 keeps it), node IP $hostip"

  step "API server (envtest.sh), reachable from pods on $hostip"
  KUBE_APISERVER_EXTRA_ARGS="--bind-address=0.0.0.0 --advertise-address=$hostip --allow-privileged=true" \
    scripts/envtest.sh start "$dir/envtest" >/dev/null
  export KUBECONFIG=$dir/envtest/kubeconfig
  ap=$(yq -r '.clusters[0].cluster.server' "$KUBECONFIG" | sed 's/.*://')
  awk '/BEGIN CERT/ {n++} n == 2' "$dir/envtest/certs/apiserver.crt" >"$dir/ca.crt"

  step "containerd (Debian's, runc), CNI bridge, the pause and operator images imported"
  mkdir -p "$dir/cni" "$dir/pause"
  cat >"$dir/cni/10-lpo.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "lpo", "plugins": [
  {"type": "bridge", "bridge": "lpo-cni0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$dir/ipam", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "loopback"}]}
JSON
  containerd config default >"$dir/containerd.toml.default"
  python3 - "$dir" "$dir/containerd.toml.default" >"$dir/containerd.toml" <<'PY'
import re, sys
d = sys.argv[1]
s = open(sys.argv[2]).read()
s = re.sub(r'(?m)^root = .*$', f'root = "{d}/containerd/root"', s)
s = re.sub(r'(?m)^state = .*$', f'state = "{d}/containerd/state"', s)
s = re.sub(r'(?m)^(\s*)address = "/run/containerd/containerd.sock"', rf'\1address = "{d}/containerd.sock"', s)
s = re.sub(r'(?m)^(\s*)sandbox_image = .*$', r'\1sandbox_image = "localhost/lpo-pause:3.4.1"', s)
s = re.sub(r'(?m)^(\s*)SystemdCgroup = .*$', r'\1SystemdCgroup = false', s)
# No CAP_SYS_RESOURCE in this sandbox: runc cannot lower the pause container's oom_score_adj
# (-998; "can't get final child's PID from pipe: EOF"): keep it at containerd's own.
s = re.sub(r'(?m)^(\s*)restrict_oom_score_adj = .*$', r'\1restrict_oom_score_adj = true', s)
s = re.sub(r'(?m)^(\s*)bin_dir = .*$', r'\1bin_dir = "/usr/lib/cni"', s)
s = re.sub(r'(?m)^(\s*)conf_dir = .*$', rf'\1conf_dir = "{d}/cni"', s)
s = re.sub(r'(?m)^(\s*)address = "/run/containerd/debug.sock"', rf'\1address = "{d}/containerd-debug.sock"', s)
print(s)
PY
  netns_before=$(ls /var/run/netns 2>/dev/null | tr '\n' ' ')
  containerd --config "$dir/containerd.toml" >"$dir/containerd.log" 2>&1 &
  containerd_pid=$!
  for _ in $(seq 100); do [ -S "$dir/containerd.sock" ] && break; sleep 0.1; done
  [ -S "$dir/containerd.sock" ] || stopped_by "containerd did not start" "$dir/containerd.log"
  gcc -Os -static -DVERSION=v3.4.1-k8s -o "$dir/pause/pause" "$CACHE/pause.c" || stopped_by "gcc could not build pause.c"
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$dir/pause/Containerfile"
  buildah bud -q --isolation chroot -f "$dir/pause/Containerfile" -t localhost/lpo-pause:3.4.1 "$dir/pause" >/dev/null
  local ctr=(ctr -a "$dir/containerd.sock" -n k8s.io)
  for w in localhost/lpo-pause:3.4.1 "$image"; do
    podman save -q -o "$dir/img.tar" "$w" && "${ctr[@]}" images import "$dir/img.tar" >/dev/null ||
      stopped_by "importing $w into containerd failed" "$dir/containerd.log"
    rm -f "$dir/img.tar"
  done

  step "kube-controller-manager, kube-scheduler"
  "$CACHE/kube-controller-manager" --kubeconfig="$KUBECONFIG" --leader-elect=false --port=0 --secure-port=0 \
    --service-account-private-key-file="$dir/envtest/sa.key" --root-ca-file="$dir/ca.crt" \
    >"$dir/controller-manager.log" 2>&1 &
  pids+=($!)
  "$CACHE/kube-scheduler" --kubeconfig="$KUBECONFIG" --leader-elect=false --port=0 --secure-port=0 \
    >"$dir/scheduler.log" 2>&1 &
  pids+=($!)

  step "kubelet (containerd CRI, cgroupfs)"
  cat >"$dir/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failSwapOn: false
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
makeIPTablesUtilChains: false
readOnlyPort: 0
healthzPort: 0
port: 10250
resolvConf: /etc/resolv.conf
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}
imageGCHighThresholdPercent: 100
YAML
  "$CACHE/kubelet" --config="$dir/kubelet.yaml" --kubeconfig="$KUBECONFIG" --container-runtime=remote \
    --container-runtime-endpoint="unix://$dir/containerd.sock" --root-dir="$dir/kubelet" --cert-dir="$dir/kubelet-pki" \
    --hostname-override=lpo-node --node-ip="$hostip" --v=2 >"$dir/kubelet.log" 2>&1 &
  pids+=($!)
  t0=$SECONDS
  until kubectl wait node/lpo-node --for=condition=Ready --timeout=5s >/dev/null 2>&1; do
    kill -0 "${pids[-1]}" 2>/dev/null || stopped_by "the kubelet exited" "$dir/kubelet.log"
    [ $((SECONDS - t0)) -lt 120 ] || {
      kubectl get node lpo-node -o json 2>/dev/null | jq -c '.status.conditions[]? | [.type, .status, .message]' >&2 || true
      grep -E '^E' "$dir/kubelet.log" | tail -n 10 >&2
      stopped_by "the node did not become Ready in 120 s" "$dir/kubelet.log"
    }
  done
  log "node lpo-node Ready after $((SECONDS - t0)) s"

  step "the simulator (podman, host network) and helm install"
  printf 'single-node-provhash\n' >"$dir/provhash" && chmod 0644 "$dir/provhash"
  simport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1])')
  podman --runtime /usr/sbin/runc --cgroup-manager cgroupfs run -d --name "lpo-node-sim-$$" --read-only --cap-drop ALL \
    --user 65532:65532 --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network host \
    -v "$dir/provhash:/run/provhash:ro" "$image" simulator --listen "$hostip:$simport" --cid 12345678 \
    --provhash-file /run/provhash >/dev/null
  # Kubernetes 1.20 knows no CEL rules, and Helm 4 applies CRDs server-side, which refuses them:
  # the chart's CRDs without them first (as the README's upgrade does), then --skip-crds.
  for w in charts/lastpass-operator/crds/*.yaml; do echo ---; cat "$w"; done |
    yq -y 'select(. != null) | walk(if type == "object" then del(."x-kubernetes-validations") else . end)' >"$dir/crds.yaml"
  kubectl apply --server-side -f "$dir/crds.yaml" >/dev/null && kubectl wait --for condition=established --timeout=60s -f "$dir/crds.yaml" >/dev/null ||
    stopped_by "the CRDs were not established"
  # No kube-proxy here: the pods reach the API server at the node's address, not the Service IP.
  "$helm" install lpo charts/lastpass-operator -n "$ns" --create-namespace --skip-crds \
    --set-string "extraEnv[0].name=KUBERNETES_SERVICE_HOST,extraEnv[0].value=$hostip" \
    --set-string "extraEnv[1].name=KUBERNETES_SERVICE_PORT,extraEnv[1].value=$ap" >"$dir/helm.log" 2>&1 ||
    stopped_by "helm install failed" "$dir/helm.log"
  t0=$SECONDS
  kubectl -n "$ns" rollout status deployment/lpo-lastpass-operator --timeout=180s >&2 || {
    kubectl -n "$ns" get pods -o wide >&2; kubectl -n "$ns" describe pods | tail -n 30 >&2
    stopped_by "the Deployment did not roll out" "$dir/kubelet.log"
  }
  log "both replicas Running and Ready $((SECONDS - t0)) s after helm install"
  kubectl -n "$ns" get pods -o wide >&2
  kubectl -n "$ns" get pods -o json | jq -e '[.items[] | select(.status.phase == "Running" and
    (.status.conditions[] | select(.type == "Ready") | .status == "True"))] | length == 2' >/dev/null ||
    stopped_by "not two Running and Ready pods"
  kubectl -n "$ns" get pdb lpo-lastpass-operator -o json | jq -e '.status.disruptionsAllowed == 1 and .status.currentHealthy == 2' >/dev/null ||
    stopped_by "the PodDisruptionBudget is not in force (want 2 healthy, 1 disruption allowed)"
  log "PodDisruptionBudget in force: 2 healthy, 1 disruption allowed; readiness from the kubelet's /readyz probes"

  step "the examples converge"
  kubectl create namespace "$exns" >/dev/null
  kubectl create secret generic lastpass-api -n "$exns" --from-literal=cid=12345678 \
    --from-literal=provhash=single-node-provhash >/dev/null
  kubectl apply -n "$exns" -f examples/00-integration.yaml -f examples/10-users.yaml -f examples/20-groups.yaml >/dev/null
  kubectl patch -n "$exns" lpdi acme --type merge -p "{\"spec\":{\"lastpass\":{\"endpoint\":\"http://$hostip:$simport/enterpriseapi.php\",\"allowInsecureEndpoint\":true},\"sync\":{\"debounce\":\"1s\"}}}" >/dev/null
  kubectl wait -n "$exns" --for=condition=Ready lpu --all --timeout=120s >/dev/null || {
    kubectl -n "$ns" logs -l app.kubernetes.io/name=lastpass-operator --tail=20 >&2
    stopped_by "the examples' users did not become Ready"
  }
  local sim="http://127.0.0.1:$simport/__admin" before holder
  sim="http://$hostip:$simport/__admin"
  before=$(curl -sf "$sim/calls" | jq -r '.[] | select(.command != "getuserdata") | "\(.command) \(.targets | join(","))"')
  holder=$(kubectl -n "$ns" get lease lpo-lastpass-operator -o jsonpath='{.spec.holderIdentity}')
  log "users Ready; leader $holder; $(wc -l <<<"$before") LastPass writes"

  step "helm upgrade: a rolling update hands leadership over"
  local reads0 newholder
  reads0=$(curl -sf "$sim/reads" | jq .whole)
  "$helm" upgrade lpo charts/lastpass-operator -n "$ns" --reuse-values --set-string podAnnotations.rollout=2 >"$dir/helm.log" 2>&1 ||
    stopped_by "helm upgrade failed" "$dir/helm.log"
  kubectl -n "$ns" rollout status deployment/lpo-lastpass-operator --timeout=240s >&2 || stopped_by "the rolling update did not finish"
  t0=$SECONDS
  until newholder=$(kubectl -n "$ns" get lease lpo-lastpass-operator -o jsonpath='{.spec.holderIdentity}') &&
    [ -n "$newholder" ] && [ "$newholder" != "$holder" ] && kubectl -n "$ns" get pod "$newholder" >/dev/null 2>&1; do
    [ $((SECONDS - t0)) -lt 60 ] || stopped_by "no new pod took the Lease (holder '$newholder')"
    sleep 1
  done
  # The new leader completed an account sync (its sync_duration count, from its pod IP).
  local podip
  podip=$(kubectl -n "$ns" get pod "$newholder" -o jsonpath='{.status.podIP}')
  until [ "$(curl -sf "http://$podip:8080/metrics" | awk '$1 ~ /^lastpass_operator_sync_duration_seconds_count/ {n += $2} END {print n + 0}')" -ge 1 ]; do
    [ $((SECONDS - t0)) -lt 120 ] || stopped_by "the new leader ($podip) completed no account sync"
    sleep 1
  done
  [ "$(curl -sf "$sim/reads" | jq .whole)" -gt "$reads0" ] || stopped_by "the new leader synced without reading the account"
  [ "$(curl -sf "$sim/calls" | jq -r '.[] | select(.command != "getuserdata") | "\(.command) \(.targets | join(","))"')" = "$before" ] ||
    stopped_by "a LastPass write after the rolling update"
  log "rolling update: $holder -> $newholder, no LastPass write repeated"
  local forbidden
  forbidden=$(for w in $(kubectl -n "$ns" get pods -o name); do kubectl -n "$ns" logs "$w"; done 2>&1 | grep -ciE 'forbidden|\b403\b' || true)
  log "Forbidden/403 lines in the pods' logs: $forbidden"
  [ "$forbidden" = 0 ] || stopped_by "the operator was refused something"
  log "PASSED: the chart on a real single node"
}

case "${1:-}" in
  install) cmd_install ;;
  run) cmd_run ;;
  *) echo "usage: $0 install | run" >&2; exit 2 ;;
esac
