// Step: ECK's client-authentication-required annotation on the Elasticsearch: set while the cluster
// requires (or is moving to require) client certificates, removed when it no longer does.
import { CLIENT_AUTH_REQUIRED_ANNOTATION } from "../names.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

/** ECK's annotation: the cluster requires (or is moving to require) client certificates. */
export async function markRequired(c: ClusterView, d: Pick<ReconcilerDeps, "writer">): Promise<void> {
  if (c.annotated) return;
  await d.writer.apply({ apiVersion: c.es.apiVersion, kind: "Elasticsearch", metadata: { name: c.name, namespace: c.namespace, annotations: { [CLIENT_AUTH_REQUIRED_ANNOTATION]: "true" } } });
}

export async function removeAnnotation(c: ClusterView, d: Pick<ReconcilerDeps, "writer">): Promise<void> {
  if (c.es.metadata.annotations?.[CLIENT_AUTH_REQUIRED_ANNOTATION] === undefined) return;
  // A JSON merge patch removes the annotation whoever set it (ECK, a user, this controller).
  await d.writer.mergePatch({ apiVersion: c.es.apiVersion, kind: "Elasticsearch", metadata: { name: c.name, namespace: c.namespace, annotations: { [CLIENT_AUTH_REQUIRED_ANNOTATION]: null as unknown as string } } });
}
