{{/* The controller's namespace: every namespaced object, the webhooks' Service and the admission policy name it. */}}
{{- define "es-mtls.namespace" -}}
{{ .Values.namespace.name }}
{{- end }}

{{/* What deploy/ labels every object with. Helm's own labels are left out on purpose, so the chart's objects stay equal to deploy/'s (test/helm/chart-defaults.test.ts). */}}
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
