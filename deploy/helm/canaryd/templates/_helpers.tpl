{{/* The chart name, cut to the 63 characters a label value allows. */}}
{{- define "canaryd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Object names: the release name when it already says canaryd, else RELEASE-canaryd. */}}
{{- define "canaryd.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "canaryd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "canaryd.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The username the API server gives canaryd's ServiceAccount: the admission policies exempt it. */}}
{{- define "canaryd.serviceAccountUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "canaryd.serviceAccountName" . }}
{{- end -}}

{{- define "canaryd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "canaryd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
The pods of one Deployment: the unsharded one keeps the chart's selector; a shard's pods carry
NAME-shard instead (no Deployment or Service selects another's pods) and canaryd.dev/shard.
Called with (dict "root" . "shard" NAME), NAME "" for the unsharded Deployment.
*/}}
{{- define "canaryd.podSelectorLabels" -}}
{{- if .shard -}}
app.kubernetes.io/name: {{ include "canaryd.name" .root }}-shard
app.kubernetes.io/instance: {{ .root.Release.Name }}
canaryd.dev/shard: {{ .shard | quote }}
{{- else -}}
{{ include "canaryd.selectorLabels" .root }}
{{- end -}}
{{- end -}}

{{- define "canaryd.podLabels" -}}
{{- if .shard -}}
{{ include "canaryd.podSelectorLabels" . }}
app.kubernetes.io/version: {{ .root.Values.image.tag | default .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- else -}}
{{ include "canaryd.labels" .root }}
{{- end -}}
{{- end -}}

{{- define "canaryd.labels" -}}
{{ include "canaryd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "canaryd.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Refuses values that would run two reconciling replicas at once. */}}
{{- define "canaryd.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) -}}
{{- fail (printf "replicaCount is %d but leaderElection.enabled is false: two replicas would both reconcile every policy. Set leaderElection.enabled=true or replicaCount=1." (int .Values.replicaCount)) -}}
{{- end -}}
{{- if not (has .Values.logLevel (list "debug" "info" "warn" "error")) -}}
{{- fail (printf "logLevel %q: use one of debug, info, warn, error" .Values.logLevel) -}}
{{- end -}}
{{- end -}}
