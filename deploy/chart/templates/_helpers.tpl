{{/* The controller's namespace: every namespaced object, the webhooks' Service and the admission policy name it. */}}
{{- define "es-mtls.namespace" -}}
{{ .Values.namespace.name }}
{{- end }}

{{/* What deploy/ labels every object with. Helm's own labels are left out on purpose: deploy/ is rendered from this chart (scripts/render-deploy.ts) and applied with kubectl too, where they would lie. */}}
{{- define "es-mtls.labels" -}}
app.kubernetes.io/part-of: es-mtls
{{- end }}

{{/* The controller's pods and what selects them (Services, PDB, NetworkPolicy, spread constraints). */}}
{{- define "es-mtls.controllerLabels" -}}
app.kubernetes.io/name: es-mtls-controller
app.kubernetes.io/part-of: es-mtls
{{- end }}

{{/* A CRD file kept on uninstall and upgraded like any template (Helm never upgrades a chart's crds/ folder). */}}
{{- define "es-mtls.keptCrd" -}}
{{- $crd := fromYaml . }}
{{- $_ := set $crd.metadata "annotations" (merge (dict "helm.sh/resource-policy" "keep") ($crd.metadata.annotations | default dict)) }}
{{- toYaml $crd }}
{{- end }}

{{/* The controller pods' priority class: the one named, or the chart's own when it creates one (never both). */}}
{{- define "es-mtls.priorityClassName" -}}
{{- if and .Values.priorityClass.create .Values.priorityClassName }}
{{- fail "set priorityClassName or priorityClass.create, not both: the created class is named es-mtls-controller" }}
{{- end }}
{{- if .Values.priorityClass.create }}es-mtls-controller{{ else }}{{ .Values.priorityClassName }}{{ end }}
{{- end }}
