{{/* Chart name, overridable. */}}
{{- define "lastpass-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects: <release>-<chart>, or <release> when it holds the chart name. */}}
{{- define "lastpass-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "lastpass-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "lastpass-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lastpass-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "lastpass-operator.labels" -}}
helm.sh/chart: {{ include "lastpass-operator.chart" . }}
{{ include "lastpass-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lastpass-operator
{{- end }}

{{- define "lastpass-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lastpass-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "lastpass-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Namespaces that get a Role for Secrets, as a JSON list (use fromJsonArray); empty: Secrets are
in the cluster-wide ClusterRole. rbac.secrets.namespaces when set, else the watched namespaces.
*/}}
{{- define "lastpass-operator.secretNamespaces" -}}
{{- .Values.rbac.secrets.namespaces | default .Values.watchNamespaces | uniq | toJson }}
{{- end }}

{{/* Refuses value combinations that would deploy something broken. */}}
{{- define "lastpass-operator.validate" -}}
{{- if and (not .Values.leaderElection.enabled) (gt (int .Values.replicaCount) 1) }}
{{- fail "leaderElection.enabled=false needs replicaCount <= 1: two active replicas would both write to LastPass" }}
{{- end }}
{{- if .Values.watchNamespaces }}
{{- range .Values.rbac.secrets.namespaces }}
{{- if not (has . $.Values.watchNamespaces) }}
{{- fail (printf "rbac.secrets.namespaces lists %q, which is not in watchNamespaces: the operator never reads Secrets of a namespace it does not watch" .) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
RBAC rules on the operator's own resources, shared by the ClusterRole (cluster-wide) and the
per-namespace Roles (watchNamespaces). Every verb is justified; nothing is `*`.
*/}}
{{- define "lastpass-operator.resourceRules" -}}
# DirectoryIntegrations are written by people, never created or deleted by the operator:
# get/list/watch feed the reflector stores and the account engines; patch/update add and
# remove the operator's finalizer and clear the approve-plan / resync annotations.
- apiGroups: ["lastpass-operator.io"]
  resources: ["directoryintegrations"]
  verbs: ["get", "list", "watch", "patch", "update"]
# LastPassUsers and LastPassGroups: get/list/watch for the stores; patch/update for finalizers
# and labels; create for users and groups the SCIM server and the LDAP pull write, and for
# `unmanagedUsers: Adopt`; delete when SCIM deprovisions or LDAP loses a person or group
# (only resources of the operator's own source: labels lastpass-operator.io/source).
- apiGroups: ["lastpass-operator.io"]
  resources: ["lastpassusers", "lastpassgroups"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# Status is written with server-side apply (a patch) under the field manager lastpass-operator.
- apiGroups: ["lastpass-operator.io"]
  resources: ["directoryintegrations/status", "lastpassusers/status", "lastpassgroups/status"]
  verbs: ["patch"]
# Owner references with blockOwnerDeletion (the owned Secrets name their integration or user)
# need update on the owner's finalizers where OwnerReferencesPermissionEnforcement is on.
- apiGroups: ["lastpass-operator.io"]
  resources: ["directoryintegrations/finalizers", "lastpassusers/finalizers", "lastpassgroups/finalizers"]
  verbs: ["update", "patch"]
# Events for each action and failure: kube-rs' Recorder creates events.k8s.io/v1 Events and
# patches them to count repeats (series).
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
# The same for core/v1 Events, which older tools (kubectl describe before 1.22) read and older
# event recorders write.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* RBAC rules on Secrets: only in the namespaces of lastpass-operator.secretNamespaces, unless cluster-wide. */}}
{{- define "lastpass-operator.secretRules" -}}
# Credentials Secrets (each integration's credentialsSecretRef, the LDAP bindSecretRef):
# get, and list/watch so a rotated Secret wakes the integration that names it.
# Owned Secrets <integration>-scim-token and <user>-initial-password: create, then
# update/patch on token rotation, delete when the initial password is consumed. Names are not
# known in advance (and create cannot be limited by resourceNames), so the namespace is the
# boundary.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
{{- end }}

{{/* Namespaces are cluster-scoped: read for `allowedNamespaces.from: Selector` (namespace labels). */}}
{{- define "lastpass-operator.namespaceRules" -}}
# Namespace labels decide `allowedNamespaces.from: Selector`: list/watch (no get: the store
# answers). Namespaces hold no secrets; nothing is written.
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- end }}
