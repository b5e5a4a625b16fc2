// The objects the reconciler's Events are recorded on.
import type { V1Secret } from "@kubernetes/client-node";
import type { EventTarget } from "../kube/events.ts";
import { ELASTICSEARCH, KIBANA, apiVersionOf, type Elasticsearch, type Kibana } from "../resources.ts";

export const esTarget = (es: Elasticsearch): EventTarget => ({ apiVersion: apiVersionOf(ELASTICSEARCH), kind: "Elasticsearch", namespace: es.metadata.namespace, name: es.metadata.name, uid: es.metadata.uid });
export const secretTarget = (s: V1Secret): EventTarget => ({ apiVersion: "v1", kind: "Secret", namespace: s.metadata!.namespace!, name: s.metadata!.name!, uid: s.metadata!.uid });
export const kibanaTarget = (kb: Kibana): EventTarget => ({ apiVersion: apiVersionOf(KIBANA), kind: "Kibana", namespace: kb.metadata.namespace, name: kb.metadata.name, uid: kb.metadata.uid });
