#!/usr/bin/env bash
# alerts-test.sh — the chart's alerts and dashboard, offline:
#   1. `helm template` with prometheusRule and grafanaDashboard on (release namespace lpo);
#   2. `promtool check rules` on the rendered rules (expressions, durations, annotation
#      templates);
#   3. `promtool test rules tests/alerts/rules-test.yaml` on synthetic series: each alert fires
#      when it should and stays silent when it should not (annotations stripped: text);
#   4. the dashboard ConfigMap holds valid JSON whose every panel has a Prometheus expression.
# With a scrape of a running operator (`scripts/alerts-test.sh --metrics FILE`, as scripts/e2e.sh
# does), also checks that every metric name in the rules' and the dashboard's expressions is
# exported by the operator.
#
# Needs promtool (Debian package prometheus), jq and yq (installed with apt-get when missing);
# helm comes from scripts/helm.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[alerts-test] %s\n' "$*" >&2; }
fail() { printf '\n[alerts-test] FAILED: %s\n' "$*" >&2; exit 1; }

metrics=""
if [ "${1:-}" = --metrics ]; then metrics=$2; fi

need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v jq >/dev/null || need+=(jq)
command -v yq >/dev/null || need+=(yq)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends "${need[@]}" >/dev/null || fail "cannot install ${need[*]}"
fi
HELM=$(scripts/helm.sh install)
work=$(mktemp -d "${TMPDIR:-/tmp}/lpo-alerts-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$HELM" template lpo charts/lastpass-operator --namespace lpo \
  --set prometheusRule.enabled=true --set grafanaDashboard.enabled=true \
  --show-only templates/prometheusrule.yaml --show-only templates/dashboard.yaml >"$work/rendered.yaml" ||
  fail "helm template"
yq -y 'select(.kind == "PrometheusRule") | .spec' "$work/rendered.yaml" >"$work/full-rules.yaml"
promtool check rules "$work/full-rules.yaml" >&2 || fail "promtool check rules"
alerts=$(yq -r 'select(.kind == "PrometheusRule") | .spec.groups[].rules[].alert' "$work/rendered.yaml" | sort)
log "alerts: $(echo $alerts)"

yq -y '.groups[].rules[] |= del(.annotations)' "$work/full-rules.yaml" >"$work/rules.yaml"
cp tests/alerts/rules-test.yaml "$work/"
promtool test rules "$work/rules-test.yaml" >&2 || fail "promtool test rules"
tested=$(yq -r '.tests[].alert_rule_test[].alertname' tests/alerts/rules-test.yaml | sort -u)
[ "$tested" = "$alerts" ] || fail "alerts without a promtool test: $(comm -23 <(echo "$alerts") <(echo "$tested") | tr '\n' ' ')"
for a in $alerts; do
  grep -qi "^### $a\$" docs/operations.md || fail "no runbook section '### $a' in docs/operations.md"
done
log "ok: promtool test rules (every alert fires and stays silent in its cases); a runbook each"

yq -r 'select(.kind == "ConfigMap") | .data["lastpass-operator.json"]' "$work/rendered.yaml" >"$work/dashboard.json"
jq -e '[.panels[] | select(.type != "row") | .targets | length > 0] | all' "$work/dashboard.json" >/dev/null ||
  fail "the dashboard is not valid JSON, or a panel has no query"
[ "$(yq -r 'select(.kind == "ConfigMap") | .metadata.labels.grafana_dashboard' "$work/rendered.yaml")" = 1 ] ||
  fail "the dashboard ConfigMap lacks the label grafana_dashboard: \"1\""
log "ok: dashboard ConfigMap ($(jq '[.panels[] | select(.type != "row")] | length' "$work/dashboard.json") panels)"

if [ -n "$metrics" ]; then
  # Names used in expressions, and the sample names the operator exported.
  { yq -r 'select(.kind == "PrometheusRule") | .spec.groups[].rules[].expr' "$work/rendered.yaml"
    jq -r '.panels[].targets[]?.expr, .templating.list[].definition? // empty' "$work/dashboard.json"
  } | grep -o 'lastpass_operator_[a-z0-9_]*' | sort -u >"$work/used"
  grep -v '^#' "$metrics" | grep -o '^lastpass_operator_[a-z0-9_]*' | sort -u >"$work/exported"
  missing=$(comm -23 "$work/used" "$work/exported")
  [ -z "$missing" ] || fail "expressions use metrics the operator did not export: $(echo $missing)"
  log "ok: all $(wc -l <"$work/used") metric names of the rules and the dashboard are exported by the running operator"
fi
log "passed"
