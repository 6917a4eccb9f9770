{{/*
The chart name, or nameOverride.
*/}}
{{- define "ltv-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the objects: fullnameOverride, or the release name plus the chart name unless the
release name already contains it. Truncated to 63 characters (DNS label).
*/}}
{{- define "ltv-operator.fullname" -}}
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

{{/*
helm.sh/chart: name-version.
*/}}
{{- define "ltv-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The labels of every object (objects of the manager add app.kubernetes.io/component: manager, the
metrics Service component: metrics).
*/}}
{{- define "ltv-operator.labels" -}}
helm.sh/chart: {{ include "ltv-operator.chart" . }}
app.kubernetes.io/name: {{ include "ltv-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "ltv-operator.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ltv-operator
{{- end }}

{{/*
The labels that select the manager's pods (immutable in the Deployment: never add to them).
*/}}
{{- define "ltv-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ltv-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end }}

{{/*
The operator version: the image tag, or appVersion.
*/}}
{{- define "ltv-operator.version" -}}
{{- default .Chart.AppVersion .Values.image.tag | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The manager image: repository@digest, or repository:tag (tag defaults to appVersion).
*/}}
{{- define "ltv-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The ServiceAccount's name.
*/}}
{{- define "ltv-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ltv-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The metrics Service's name.
*/}}
{{- define "ltv-operator.metricsServiceName" -}}
{{- printf "%s-metrics" (include "ltv-operator.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{/*
The metrics port: 8443 over HTTPS (metrics.secure), 8080 over plain HTTP.
*/}}
{{- define "ltv-operator.metricsPort" -}}
{{- if .Values.metrics.secure }}8443{{ else }}8080{{ end }}
{{- end }}
