// The volumes injection adds: the shared material volume, the agent's projected token and
// controller CA, the empty volume that hides the pod's API token from the agent, and (Kibana with
// its own Secret) the user's client certificate.
import type { V1Volume } from "@kubernetes/client-node";
import { INTENT_API_AUDIENCE, type Role } from "../../protocol/intent.ts";
import { AGENT_VOLUME, CONTROLLER_CA_ANNOTATION, MATERIAL_VOLUME, NO_API_TOKEN_VOLUME, PROBE_VOLUME, USER_CERT_VOLUME } from "../names.ts";
import type { ClusterMode } from "./cluster-mode.ts";

const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;

/** Volume names injection adds; a pod that already has one of them is left alone. */
export const INJECTED_VOLUMES: ReadonlySet<string> = new Set([MATERIAL_VOLUME, AGENT_VOLUME, USER_CERT_VOLUME, NO_API_TOKEN_VOLUME, PROBE_VOLUME]);

export function agentVolumes(role: Role, mode: ClusterMode, tokenExpirationSeconds: number | undefined): V1Volume[] {
  const volumes: V1Volume[] = [
    { name: MATERIAL_VOLUME, emptyDir: { medium: "Memory", sizeLimit: "4Mi" } },
    {
      name: AGENT_VOLUME,
      projected: {
        sources: [
          { serviceAccountToken: { audience: INTENT_API_AUDIENCE, expirationSeconds: tokenLifetime(tokenExpirationSeconds), path: "token" } },
          { downwardAPI: { items: [{ path: "controller-ca.crt", fieldRef: { fieldPath: `metadata.annotations['${CONTROLLER_CA_ANNOTATION}']` } }] } },
        ],
      },
    },
    // Mounted over the API-token path in the agent: the ServiceAccount admission plugin then leaves the
    // agent without the pod's kube-apiserver credentials (it needs none).
    { name: NO_API_TOKEN_VOLUME, emptyDir: { medium: "Memory", sizeLimit: "1Ki" } },
  ];
  // Elasticsearch: the local probe identity's folder (CURL_HOME), apart from the material so the
  // agent's own files and this key readable by the workload's probes never share a write set.
  if (role === "elasticsearch") volumes.push({ name: PROBE_VOLUME, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } });
  if (role === "kibana" && mode.kibanaUserSecret) volumes.push({ name: USER_CERT_VOLUME, secret: { secretName: mode.kibanaUserSecret } });
  return volumes;
}

function tokenLifetime(wanted: number | undefined): number {
  const want = wanted ?? DEFAULT_TOKEN_EXPIRATION_SECONDS;
  // 600 s is the apiserver's minimum; a day bounds what a leaked token is worth.
  return Math.min(86_400, Math.max(600, Math.floor(want)));
}
