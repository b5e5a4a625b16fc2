// The witness of "es-mtls stands aside": every write one user made, after a moment, to a
// namespace, the objects in it and its pods, as the apiserver's audit log recorded them — other
// than the user's own ClientAuthentication and Events, which is how es-mtls says it stands aside.
import type { ControlPlane } from "../controlplane/controlplane.ts";

const WRITES = ["create", "update", "patch", "delete", "deletecollection"];
const OWN = ["clientauthentications", "events"];

/** "verb resource/name[/subresource]" for each such write, in order. */
export function writesToNamespace(cp: ControlPlane, user: string, namespace: string, since: string): string[] {
  return cp
    .auditEvents()
    .filter((e) => e.user.username === user && e.stage === "ResponseComplete" && e.requestReceivedTimestamp >= since && WRITES.includes(e.verb))
    .filter((e) => e.objectRef?.namespace === namespace || (e.objectRef?.resource === "namespaces" && e.objectRef.name === namespace))
    .filter((e) => !OWN.includes(e.objectRef?.resource ?? ""))
    .map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""}`);
}
