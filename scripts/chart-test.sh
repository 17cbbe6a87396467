#!/usr/bin/env bash
# chart-test.sh — tests the Helm chart charts/lastpass-operator with a real helm and a real
# kube-apiserver. Stops with a clear message at the first failed check.
#
#   scripts/chart-test.sh
#
# 1. helm lint (and --strict) with default, namespaced and all-features values.
# 2. helm template of each variant; static checks on the output (no `*` in any RBAC rule, the
#    Deployment's hardening, args built from values, PDB API version, Secrets confinement), and
#    values the chart must refuse (schema and template checks).
# 3. Applies three renderings to a real API server (LASTPASS_OPERATOR_TEST_KUBECONFIG, else an
#    envtest server of its own from scripts/envtest.sh): cluster-wide with every optional object
#    on, namespaced (watchNamespaces), and cluster-wide with Secrets confined
#    (rbac.secrets.namespaces). CRDs lose their CEL rules below 1.25; the ServiceMonitor is
#    skipped unless its CRD exists.
# 4. `kubectl auth can-i --as=system:serviceaccount:...`: each ServiceAccount can do what the
#    operator needs and cannot touch what it must not (Secrets elsewhere, deleting CRDs, `*`);
#    the Secret watches the Deployment's --secret-namespace args start are each granted.
#
# Needs kubectl, jq and yq (Debian package yq); helm comes from scripts/helm.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

CHART=charts/lastpass-operator
MANAGER=lastpass-operator-chart-test
log() { printf '[chart-test] %s\n' "$*" >&2; }
fail() { printf '\n[chart-test] FAILED: %s\n' "$*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }

for t in kubectl jq yq; do
  command -v $t >/dev/null || fail "'$t' not found (apt-get install ${t/kubectl/kubernetes-client})"
done
HELM=$(scripts/helm.sh install)
log "helm $("$HELM" version --short) at $HELM"
work=$(mktemp -d "${TMPDIR:-/tmp}/lpo-chart-test.XXXXXX")
started=""
cleanup() {
  if [ -n "$started" ]; then scripts/envtest.sh stop "$work/envtest" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# A discovery cache of this run only: envtest servers reuse loopback ports, and a cache left by
# an earlier server on the same port would hide the CRDs just installed.
export KUBECACHEDIR=$work/kube-cache

# ---------------------------------------------------------------------------------------------
# 1. lint
# Leader election (and two replicas) on, to check the Lease RBAC the complete product needs.
LEADER=(--set leaderElection.enabled=true --set replicaCount=2)
NAMESPACED=(--set 'watchNamespaces={team-a,team-b}' "${LEADER[@]}")
ALL_ON=(--set serviceMonitor.enabled=true --set pdb.enabled=true --set networkPolicy.enabled=true "${LEADER[@]}")
CONFINED=(--set 'rbac.secrets.namespaces={lpo-creds}')
lint() {
  local what=$1; shift
  "$HELM" lint "$CHART" "$@" >"$work/lint.log" 2>&1 || { cat "$work/lint.log" >&2; fail "helm lint ($what)"; }
  "$HELM" lint --strict "$CHART" "$@" >"$work/lint.log" 2>&1 ||
    { cat "$work/lint.log" >&2; fail "helm lint --strict ($what)"; }
  ok; log "ok: helm lint and lint --strict ($what)"
}
lint "default values"
lint "watchNamespaces={team-a,team-b}" "${NAMESPACED[@]}"
lint "serviceMonitor, pdb, networkPolicy on" "${ALL_ON[@]}"
lint "rbac.secrets.namespaces={lpo-creds}" "${CONFINED[@]}"

# ---------------------------------------------------------------------------------------------
# 2. template + static checks
render() {  # OUT RELEASE NAMESPACE [helm args...]
  local out=$1 rel=$2 ns=$3; shift 3
  "$HELM" template "$rel" "$CHART" --namespace "$ns" "$@" >"$out" 2>"$work/template.log" ||
    { cat "$work/template.log" >&2; fail "helm template $rel $* failed"; }
}
# q FILE JQ: evaluates JQ over all rendered documents as one array (slurped).
q() { yq -s "map(select(. != null)) | $2" "$1"; }
expect() {  # FILE JQ WHAT: JQ must print true
  [ "$(q "$1" "$2")" = true ] || fail "$(basename "$1"): $3"
  ok
}
refuse() {  # WHAT MESSAGE-PART [helm args...]: helm template must fail, saying MESSAGE-PART
  local what=$1 want=$2; shift 2
  if "$HELM" template t "$CHART" "$@" >/dev/null 2>"$work/refuse.log"; then
    fail "the chart accepted $what"
  fi
  grep -qiF -- "$want" "$work/refuse.log" ||
    { cat "$work/refuse.log" >&2; fail "refusing $what did not say '$want'"; }
  ok; log "ok: refuses $what"
}

render "$work/default.yaml" lpo lpo-system
render "$work/namespaced.yaml" lpo-teams lpo-teams-system "${NAMESPACED[@]}"
render "$work/all-on.yaml" lpo lpo-system "${ALL_ON[@]}"
render "$work/confined.yaml" lpo-conf lpo-conf-system "${CONFINED[@]}"
render "$work/all-on-1.20.yaml" lpo lpo-system "${ALL_ON[@]}" --kube-version 1.20.2

ROLES='map(select(.kind == "Role" or .kind == "ClusterRole"))'
for f in "$work"/*.yaml; do
  expect "$f" "[$ROLES | .[].rules[] | (.verbs + .resources + .apiGroups)[] | select(test(\"\\\\*\"))] | length == 0" \
    "an RBAC rule uses '*'"
  expect "$f" '[.[] | select(.kind == "Deployment")] | length == 1' "exactly one Deployment"
  expect "$f" '.[] | select(.kind == "Deployment") | .spec.template.spec as $p | $p.containers[0] as $c |
    $p.securityContext.runAsNonRoot == true and $p.securityContext.runAsUser == 65532 and
    $p.securityContext.seccompProfile.type == "RuntimeDefault" and
    $c.securityContext.readOnlyRootFilesystem == true and $c.securityContext.allowPrivilegeEscalation == false and
    $c.securityContext.capabilities.drop == ["ALL"] and $c.securityContext.runAsNonRoot == true and
    ([$c.resources.requests.cpu, $c.resources.requests.memory, $c.resources.limits.cpu, $c.resources.limits.memory] | all(. != null)) and
    $c.livenessProbe.httpGet.path == "/healthz" and $c.livenessProbe.httpGet.port == "metrics" and
    $c.readinessProbe.httpGet.path == "/readyz" and $c.readinessProbe.httpGet.port == "metrics" and
    $c.args[0] == "run" and ($c.args | index("--metrics-addr=0.0.0.0:8080")) != null and
    ($c.args | index("--scim-addr=0.0.0.0:8443")) != null' \
    "Deployment hardening (non-root 65532, read-only root, no privilege escalation, drop ALL, RuntimeDefault seccomp), requests/limits, probes on the metrics port, run args"
  expect "$f" '[.[] | select(.kind == "Service") | .spec.ports[0].name] | sort == ["metrics", "scim"]' \
    "a metrics Service and a SCIM Service"
done
log "ok: no '*' in RBAC; Deployment hardened, probed, limited; metrics and SCIM Services (5 renderings)"

expect "$work/default.yaml" '.[] | select(.kind == "Deployment") | .spec.replicas == 2 and
  (.spec.template.spec.containers[0].args | map(select(startswith("--namespace"))) | length == 0) and
  (.spec.template.spec.containers[0].args | index("--disable-leader-election") == null) and
  (.spec.template.spec.containers[0].args | index("--lease-name=lpo-lastpass-operator") != null) and
  ([.spec.template.spec.containers[0].env[].name] | index("POD_NAME") != null and index("POD_NAMESPACE") != null)' \
  "default: 2 replicas, leader election on the release's Lease, identity from the downward API, all namespaces"
expect "$work/default.yaml" '[.[] | select(.kind == "PodDisruptionBudget") | .spec.minAvailable] == [1]' \
  "default: a PodDisruptionBudget keeps one of the two replicas"
expect "$work/default.yaml" "[$ROLES | .[] | select(.metadata.name | endswith(\"-leader-election\")) | .rules[] | select(.resourceNames) | {n: .resourceNames, v: .verbs}] == [{\"n\": [\"lpo-lastpass-operator\"], \"v\": [\"get\", \"patch\"]}]" \
  "Lease RBAC: get and patch on the release's Lease only"
render "$work/single.yaml" lpo lpo-system --set leaderElection.enabled=false --set replicaCount=1 --set pdb.enabled=false
expect "$work/single.yaml" '.[] | select(.kind == "Deployment") | .spec.replicas == 1 and
  (.spec.template.spec.containers[0].args | index("--disable-leader-election") != null)' \
  "leaderElection.enabled=false: 1 replica with --disable-leader-election"
expect "$work/single.yaml" "[$ROLES | .[] | select(.metadata.name | endswith(\"-leader-election\"))] | length == 0" \
  "leaderElection.enabled=false: no Lease Role"
expect "$work/all-on.yaml" '.[] | select(.kind == "Deployment") | .spec.replicas == 2 and
  (.spec.template.spec.containers[0].args | index("--disable-leader-election") == null)' \
  "leader election on: 2 replicas, no --disable-leader-election"
expect "$work/default.yaml" "[$ROLES | .[] | select(.kind == \"ClusterRole\") | .rules[] | select(.resources | index(\"secrets\"))] | length == 1" \
  "default (documented as broader): the ClusterRole grants Secrets"
expect "$work/namespaced.yaml" '.[] | select(.kind == "Deployment") | .spec.template.spec.containers[0].args |
  index("--namespace=team-a") != null and index("--namespace=team-b") != null' "namespaced: --namespace per watched namespace"
expect "$work/namespaced.yaml" "[$ROLES | .[] | select(.kind == \"ClusterRole\") | .rules[].resources[]] | sort == [\"namespaces\"]" \
  "namespaced: the only ClusterRole reads namespaces, nothing else"
expect "$work/namespaced.yaml" '[.[] | select(.kind == "Role" and (.metadata.name | endswith("-secrets"))) | .metadata.namespace] | sort == ["team-a", "team-b"]' \
  "namespaced: Secrets Roles in the watched namespaces only"
expect "$work/confined.yaml" "[$ROLES | .[] | select(.kind == \"ClusterRole\") | .rules[] | select(.resources | index(\"secrets\"))] | length == 0" \
  "rbac.secrets.namespaces: no ClusterRole grants Secrets"
# The operator watches Secrets exactly where the chart grants them: --secret-namespace args ==
# the namespaces of the Secrets Roles (none: the ClusterRole grants Secrets everywhere).
SECRET_ARGS='[.[] | select(.kind == "Deployment") | .spec.template.spec.containers[0].args[] | select(startswith("--secret-namespace=")) | ltrimstr("--secret-namespace=")] | sort'
SECRET_ROLES='[.[] | select(.kind == "Role" and (.metadata.name | endswith("-secrets"))) | .metadata.namespace] | sort'
expect "$work/confined.yaml" "($SECRET_ARGS) == ($SECRET_ROLES) and ($SECRET_ARGS) == [\"lpo-creds\"]" \
  "rbac.secrets.namespaces: --secret-namespace names exactly the namespaces of the Secrets Roles"
expect "$work/namespaced.yaml" "($SECRET_ARGS) == ($SECRET_ROLES) and ($SECRET_ARGS) == [\"team-a\", \"team-b\"]" \
  "namespaced: --secret-namespace names exactly the watched namespaces, where the Secrets Roles are"
expect "$work/default.yaml" "($SECRET_ARGS) == [] and ($SECRET_ROLES) == []" \
  "default: no --secret-namespace (Secrets watched in all namespaces, as the ClusterRole grants)"
expect "$work/all-on.yaml" '[.[] | .kind] | (index("ServiceMonitor") and index("PodDisruptionBudget") and index("NetworkPolicy")) != null' \
  "all-on: ServiceMonitor, PodDisruptionBudget, NetworkPolicy rendered"
expect "$work/all-on.yaml" '.[] | select(.kind == "PodDisruptionBudget") | .apiVersion == "policy/v1"' \
  "PodDisruptionBudget is policy/v1 for current Kubernetes"
expect "$work/all-on-1.20.yaml" '.[] | select(.kind == "PodDisruptionBudget") | .apiVersion == "policy/v1beta1"' \
  "PodDisruptionBudget is policy/v1beta1 for Kubernetes 1.20"
expect "$work/all-on.yaml" '.[] | select(.kind == "NetworkPolicy") | (.spec.ingress | map(.ports[].port) | sort) == ["metrics", "scim"]
  and (.spec.policyTypes | sort) == ["Egress", "Ingress"]' "NetworkPolicy: ingress to the metrics and SCIM ports only"
expect "$work/default.yaml" '.[] | select(.kind == "Deployment") | .spec.template.spec as $p |
  ($p.containers[0].args | map(select(startswith("--scim-tls"))) | length == 0) and
  ($p.volumes | map(select(.secret)) | length == 0)' "default: SCIM plain HTTP (TLS in front), no Secret mounted"
expect "$work/default.yaml" '.[] | select(.kind == "Service" and .spec.ports[0].name == "scim") | .spec.sessionAffinity == "ClientIP"' \
  "SCIM Service: ClientIP affinity (a provider reads its own writes on one replica)"
render "$work/scim-tls.yaml" lpo lpo-system --set scim.tls.secretName=scim-cert
expect "$work/scim-tls.yaml" '.[] | select(.kind == "Deployment") | .spec.template.spec as $p | $p.containers[0] as $c |
  ($c.args | index("--scim-tls-cert=/etc/lastpass-operator/scim-tls/tls.crt") != null) and
  ($c.args | index("--scim-tls-key=/etc/lastpass-operator/scim-tls/tls.key") != null) and
  ($c.volumeMounts | map(select(.name == "scim-tls" and .readOnly == true and .mountPath == "/etc/lastpass-operator/scim-tls")) | length == 1) and
  ($p.volumes | map(select(.secret.secretName == "scim-cert")) | length == 1)' \
  "scim.tls.secretName: the Secret mounted read-only and passed as --scim-tls-cert/--scim-tls-key"
log "ok: values shape the output (namespaces, Secrets confinement, PDB API version, NetworkPolicy, SCIM TLS)"

refuse "an unknown value" "additional properties" --set bogus=1
refuse "an unknown nested value" "additional properties" --set metrics.bogus=1
refuse "logging.format=xml" "/logging/format" --set logging.format=xml
refuse "a SCIM TLS Secret name that is not a name" "/scim/tls/secretName" --set 'scim.tls.secretName=Not_A_Name'
refuse "leader election off with 2 replicas" "replicaCount" --set leaderElection.enabled=false --set replicaCount=2
refuse "a Secrets namespace it does not watch" "not in watchNamespaces" "${NAMESPACED[@]}" --set 'rbac.secrets.namespaces={kube-system}'

# ---------------------------------------------------------------------------------------------
# 3. apply to a real API server
if [ -n "${LASTPASS_OPERATOR_TEST_KUBECONFIG:-}" ]; then
  export KUBECONFIG=$LASTPASS_OPERATOR_TEST_KUBECONFIG
  log "API server: $KUBECONFIG"
else
  scripts/envtest.sh install
  started=1
  scripts/envtest.sh start "$work/envtest" >/dev/null
  export KUBECONFIG=$work/envtest/kubeconfig
  log "API server: envtest ($KUBECONFIG)"
fi
version=$(kubectl version -o json 2>/dev/null | jq -r .serverVersion.gitVersion)
minor=$(kubectl version -o json 2>/dev/null | jq -r .serverVersion.minor | tr -dc 0-9)
[ -n "$minor" ] || fail "cannot read the API server's version"
log "server $version"

kapply() {  # FILE: server-side apply, ServiceMonitor dropped unless its CRD exists
  local filter='.'
  kubectl get crd servicemonitors.monitoring.coreos.com >/dev/null 2>&1 ||
    filter='select(.kind != "ServiceMonitor")'
  yq -y "select(. != null) | $filter" "$1" >"$1.apply"
  kubectl apply --server-side --force-conflicts --field-manager="$MANAGER" -f "$1.apply" >"$work/apply.log" 2>&1 ||
    { cat "$work/apply.log" >&2; fail "kubectl apply of $(basename "$1") was refused by the API server"; }
}

# The chart's CRDs, as a Helm install would create them (without CEL rules below 1.25).
for f in "$CHART"/crds/*.yaml; do echo ---; cat "$f"; done >"$work/crds.yaml"
if [ "$minor" -lt 25 ]; then
  yq -y 'walk(if type == "object" then del(."x-kubernetes-validations") else . end)' "$work/crds.yaml" >"$work/crds.stripped"
  mv "$work/crds.stripped" "$work/crds.yaml"
fi
kapply "$work/crds.yaml"
kubectl wait --for condition=established --timeout=60s -f "$work/crds.yaml.apply" >/dev/null ||
  fail "the chart's CRDs did not become Established"
[ "$(kubectl api-resources --api-group lastpass-operator.io -o name | wc -l)" -eq 3 ] ||
  fail "the API server does not serve the three kinds of the chart's CRDs"
ok

for ns in lpo-system lpo-teams-system lpo-conf-system team-a team-b team-c lpo-creds; do
  kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply --server-side --field-manager="$MANAGER" -f - >/dev/null
done
render "$work/apply-all-on.yaml" lpo lpo-system "${ALL_ON[@]}" --kube-version "$version"
render "$work/apply-namespaced.yaml" lpo-teams lpo-teams-system "${NAMESPACED[@]}" --kube-version "$version"
render "$work/apply-confined.yaml" lpo-conf lpo-conf-system "${CONFINED[@]}" --kube-version "$version"
for f in apply-all-on apply-namespaced apply-confined; do kapply "$work/$f.yaml"; ok; done
kubectl -n lpo-system get deployment/lpo-lastpass-operator service/lpo-lastpass-operator-metrics \
  service/lpo-lastpass-operator-scim poddisruptionbudget/lpo-lastpass-operator networkpolicy/lpo-lastpass-operator >/dev/null ||
  fail "the applied objects are not all there"
ok
log "ok: CRDs and three renderings applied to $version (ServiceMonitor $(grep -q ServiceMonitor "$work/apply-all-on.yaml.apply" && echo applied || echo 'skipped: no CRD'))"

# ---------------------------------------------------------------------------------------------
# 4. what each ServiceAccount can and cannot do
can() {  # yes|no SA ARGS...: kubectl auth can-i ARGS --as SA must answer yes|no
  local want=$1 sa=$2 got; shift 2
  got=$(kubectl auth can-i "$@" --as="system:serviceaccount:$sa" 2>"$work/can-i.err" || true)
  if grep -qi 'warning\|error' "$work/can-i.err"; then
    cat "$work/can-i.err" >&2; fail "kubectl auth can-i $* --as=$sa: the check itself is broken"
  fi
  [ "$got" = "$want" ] || fail "$sa: 'kubectl auth can-i $*' is '$got', want '$want'"
  ok
}
# The Secret watches the operator will start (one per --secret-namespace, else one for all
# namespaces) are each allowed: list and watch.
secret_watches_allowed() {  # FILE SA
  local nss
  nss=$(q "$1" "$SECRET_ARGS | .[]" | tr -d '"')
  if [ -z "$nss" ]; then
    for verb in list watch; do can yes "$2" "$verb" secrets -A; done
  else
    for ns in $nss; do for verb in list watch; do can yes "$2" "$verb" secrets -n "$ns"; done; done
  fi
}
CW=lpo-system:lpo-lastpass-operator
NS=lpo-teams-system:lpo-teams-lastpass-operator
CF=lpo-conf-system:lpo-conf-lastpass-operator

# Cluster-wide, default Secrets (documented as broader).
for verb in get list watch; do can yes $CW "$verb" lastpassusers.lastpass-operator.io -A; done
can yes $CW list directoryintegrations.lastpass-operator.io -A
can yes $CW watch lastpassgroups.lastpass-operator.io -A
can yes $CW patch lastpassusers.lastpass-operator.io --subresource=status -n team-c
can yes $CW patch directoryintegrations.lastpass-operator.io --subresource=status -n team-c
can yes $CW update lastpassusers.lastpass-operator.io --subresource=finalizers -n team-c
can yes $CW patch directoryintegrations.lastpass-operator.io -n team-c
can yes $CW create lastpassusers.lastpass-operator.io -n team-c
can yes $CW delete lastpassgroups.lastpass-operator.io -n team-c
can yes $CW create events.events.k8s.io -n team-c
can yes $CW create events -n team-c
can yes $CW list namespaces -A
can yes $CW watch namespaces -A
can yes $CW create leases.coordination.k8s.io -n lpo-system
for verb in get patch; do can yes $CW "$verb" leases.coordination.k8s.io/lpo-lastpass-operator -n lpo-system; done
for verb in update delete list watch; do can no $CW "$verb" leases.coordination.k8s.io/lpo-lastpass-operator -n lpo-system; done
can no $CW patch leases.coordination.k8s.io/lastpass-operator -n lpo-system     # another release's Lease
can yes $CW get secrets -n kube-system    # the documented cost of rbac.secrets.namespaces: []
can no $CW create directoryintegrations.lastpass-operator.io -n team-c
can no $CW delete directoryintegrations.lastpass-operator.io -n team-c
can no $CW update lastpassusers.lastpass-operator.io --subresource=status -n team-c
can no $CW delete customresourcedefinitions.apiextensions.k8s.io -A
can no $CW update customresourcedefinitions.apiextensions.k8s.io -A
can no $CW get leases.coordination.k8s.io/kube-controller-manager -n lpo-system
can no $CW patch leases.coordination.k8s.io/kube-controller-manager -n kube-system
can no $CW patch leases.coordination.k8s.io/lpo-lastpass-operator -n kube-system
can no $CW create leases.coordination.k8s.io -n kube-system
can no $CW get configmaps -n lpo-system
can no $CW list pods -A
can no $CW create namespaces -A
can no $CW delete events.events.k8s.io -n team-c
can no $CW create clusterrolebindings.rbac.authorization.k8s.io -A
can no $CW impersonate serviceaccounts -A
can no $CW '*' '*'
can no $CW '*' '*' -n lpo-system
log "ok: cluster-wide ServiceAccount ($CW): what the operator needs, nothing more"

# Namespaced: team-a and team-b only.
for ns in team-a team-b; do
  for verb in get list watch patch; do can yes $NS "$verb" lastpassusers.lastpass-operator.io -n $ns; done
  can yes $NS list directoryintegrations.lastpass-operator.io -n $ns
  can yes $NS patch lastpassusers.lastpass-operator.io --subresource=status -n $ns
  can yes $NS create events.events.k8s.io -n $ns
  for verb in get list watch create update delete; do can yes $NS "$verb" secrets -n $ns; done
done
can yes $NS list namespaces -A
can yes $NS create leases.coordination.k8s.io -n lpo-teams-system
for verb in get patch; do can yes $NS "$verb" leases.coordination.k8s.io/lpo-teams-lastpass-operator -n lpo-teams-system; done
can no $NS update leases.coordination.k8s.io/lpo-teams-lastpass-operator -n lpo-teams-system
can no $NS list lastpassusers.lastpass-operator.io -A
can no $NS list lastpassusers.lastpass-operator.io -n team-c
can no $NS patch lastpassusers.lastpass-operator.io --subresource=status -n team-c
can no $NS create events.events.k8s.io -n team-c
can no $NS get secrets -n team-c
can no $NS get secrets -n kube-system
can no $NS get secrets -n lpo-teams-system
can no $NS list secrets -A
can no $NS watch secrets -A
can no $NS get leases.coordination.k8s.io/lpo-lastpass-operator -n lpo-system
can no $NS patch leases.coordination.k8s.io/lpo-teams-lastpass-operator -n team-a
can no $NS '*' '*'
can no $NS '*' '*' -n team-a
log "ok: namespaced ServiceAccount ($NS): team-a and team-b only"

# Cluster-wide resources, Secrets confined to lpo-creds.
can yes $CF list lastpassusers.lastpass-operator.io -A
can yes $CF patch lastpassgroups.lastpass-operator.io --subresource=status -n team-c
for verb in get list watch create update patch delete; do can yes $CF "$verb" secrets -n lpo-creds; done
can no $CF get secrets -n kube-system
can no $CF get secrets -n team-a
can no $CF get secrets -n lpo-conf-system
can no $CF list secrets -A
can no $CF watch secrets -A
can no $CF '*' '*'
log "ok: Secrets-confined ServiceAccount ($CF): Secrets in lpo-creds only"

secret_watches_allowed "$work/apply-all-on.yaml" $CW
secret_watches_allowed "$work/apply-namespaced.yaml" $NS
secret_watches_allowed "$work/apply-confined.yaml" $CF
log "ok: every Secret watch the operator starts (--secret-namespace, else all) is granted (list, watch)"

if [ -n "${LASTPASS_OPERATOR_TEST_KUBECONFIG:-}" ] && [ -z "$started" ]; then
  # A shared cluster: remove what this test applied (the namespaces stay; envtest cannot delete them).
  for f in apply-all-on apply-namespaced apply-confined; do
    kubectl delete --ignore-not-found --wait=false -f "$work/$f.yaml.apply" >/dev/null 2>&1 || true
  done
fi
log "all $checks checks passed in ${SECONDS}s"
