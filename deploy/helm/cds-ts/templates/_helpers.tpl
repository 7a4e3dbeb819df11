{{/* Names and labels. */}}
{{- define "cds-ts.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cds-ts.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "cds-ts.labels" -}}
{{ include "cds-ts.selector" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "cds-ts.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "cds-ts.fullname" .)) -}}
{{- end -}}

{{- define "cds-ts.apiUrl" -}}
{{- .Values.publicUrl | default (printf "http://%s-api.%s.svc:%v" (include "cds-ts.fullname" .) .Release.Namespace .Values.api.port) -}}
{{- end -}}

{{- define "cds-ts.mongoUrl" -}}
{{- if .Values.mongodb.enabled -}}
{{- printf "mongodb://%s-mongodb:27017/%s" (include "cds-ts.fullname" .) .Values.mongodb.database -}}
{{- else -}}
{{- required "mongodb.externalUrl is required when mongodb.enabled is false" .Values.mongodb.externalUrl -}}
{{- end -}}
{{- end -}}

{{- define "cds-ts.workerNamespace" -}}
{{- .Values.hatchery.kubernetes.namespace | default .Release.Namespace -}}
{{- end -}}

{{/* The environment every CDS-TS node shares (config/core.ts). */}}
{{- define "cds-ts.env" -}}
- name: NATS_URL
  value: {{ printf "nats://%s-nats:4222" (include "cds-ts.fullname" .) | quote }}
- name: NATS_USER
  value: {{ .Values.nats.user | quote }}
- name: NATS_PASSWORD_FILE
  value: /run/secrets/cds/nats-password
- name: MONGO_URL
  value: {{ include "cds-ts.mongoUrl" . | quote }}
- name: CDS_SECRET_KEY_FILE
  value: /run/secrets/cds/secret-key
- name: CDS_ADMIN_TOKEN_FILE
  value: /run/secrets/cds/admin-token
# A directory the node makes itself (mode 0700, its own): the emptyDir's root belongs to root.
- name: CDS_DATA_DIR
  value: /var/lib/cds/node
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
# git and npm write under $HOME; the root file system is read-only.
- name: HOME
  value: /tmp
{{- end -}}

{{/* Extra environment of one component, from its `env` map. */}}
{{- define "cds-ts.extraEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end -}}
{{- end -}}

{{/* Pod-level settings of a CDS-TS node: security, volumes, placement. */}}
{{- define "cds-ts.podSpec" -}}
securityContext: {{ toYaml .Values.podSecurityContext | nindent 2 }}
{{- include "cds-ts.placement" . }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{ toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: secrets
    secret:
      secretName: {{ include "cds-ts.secretName" . }}
      defaultMode: 0440
      items:
        - { key: secret-key, path: secret-key }
        - { key: admin-token, path: admin-token }
        - { key: nats-password, path: nats-password }
  - name: data
    emptyDir: { sizeLimit: {{ .Values.dataDirSizeLimit }} }
  - name: tmp
    emptyDir: {}
{{- end -}}

{{/* Container-level settings of a CDS-TS node. */}}
{{- define "cds-ts.container" -}}
image: {{ printf "%s:%s" .Values.image.repository .Values.image.tag | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext: {{ toYaml .Values.containerSecurityContext | nindent 2 }}
volumeMounts:
  - { name: secrets, mountPath: /run/secrets/cds, readOnly: true }
  - { name: data, mountPath: /var/lib/cds }
  - { name: tmp, mountPath: /tmp }
{{- end -}}

{{/* A map as `key=value,…` (sorted), the form of CDS_KUBERNETES_IMAGES and _NODE_SELECTOR. */}}
{{- define "cds-ts.pairs" -}}
{{- $out := list -}}
{{- range $key, $value := . -}}
{{- $out = append $out (printf "%s=%s" $key $value) -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{/* Where every pod of the release goes (nodeSelector, tolerations, affinity). */}}
{{- define "cds-ts.placement" -}}
{{- with .Values.nodeSelector }}
nodeSelector: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity: {{ toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
