// status/build.ts podEntry: one pod's line in the ClientAuthentication status, from the pod and its agent's report.
import { expect, test } from "bun:test";
import { podEntry } from "../../../controller/status/build.ts";

const pod = { name: "quickstart-es-default-0", uid: "u0", role: "elasticsearch" as const, injected: true };

test("a pod's entry names the image of the agent it runs (pods keep theirs across an upgrade until they restart), and none without an agent", () => {
  expect(podEntry({ ...pod, agentImage: "ghcr.io/es-mtls/agent:0.1.0" }, undefined)).toEqual({ ...pod, agentImage: "ghcr.io/es-mtls/agent:0.1.0" });
  expect(podEntry({ ...pod, injected: false, agentImage: undefined }, undefined)).toEqual({ ...pod, injected: false });
});

test("a pod's entry carries what its agent reported: generation, bundle, certificate expiry, proof and readiness", () => {
  const report = { generation: 3, bundleSha256: "ab", certificate: { notAfter: "2027-01-01T00:00:00Z" }, proof: { withCertificate: "accepted", withoutCertificate: "refused" }, ready: true };
  expect(podEntry(pod, report as never)).toEqual({ ...pod, appliedGeneration: 3, bundleSha256: "ab", certificateNotAfter: "2027-01-01T00:00:00Z", withCertificate: "accepted", withoutCertificate: "refused", ready: true });
});
