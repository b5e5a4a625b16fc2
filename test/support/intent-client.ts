// Test-side calls to a running controller's intent API with real projected
// service-account tokens from the test control plane.
import * as k8s from "@kubernetes/client-node";
import type { StatusReport, StreamLine } from "../../protocol/intent.ts";

export async function podToken(core: k8s.CoreV1Api, pod: k8s.V1Pod, audience: string, expirationSeconds = 600): Promise<string> {
  const tr = await core.createNamespacedServiceAccountToken({
    name: pod.spec!.serviceAccountName ?? "default",
    namespace: pod.metadata!.namespace!,
    body: { spec: { audiences: [audience], expirationSeconds, boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata!.name!, uid: pod.metadata!.uid! } } },
  });
  return tr.status!.token;
}

export async function servingCa(core: k8s.CoreV1Api, namespace: string): Promise<string> {
  const s = await core.readNamespacedSecret({ name: "es-mtls-controller-serving", namespace });
  return atob(s.data!["ca.crt"]!);
}

export function call(url: string, ca: string, token: string | undefined, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  return fetch(url, { ...init, headers, tls: { ca } });
}

/** Opens the intent stream and returns the first `n` non-heartbeat lines (or fails with the HTTP error). */
export async function firstIntents(url: string, ca: string, token: string, n = 1, after = 0, timeoutMs = 10_000): Promise<StreamLine[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await call(`${url}/v1/intent?after=${after}`, ca, token, { signal: ac.signal });
    if (!res.ok) throw Object.assign(new Error(`intent stream: ${res.status} ${await res.text()}`), { status: res.status });
    const out: StreamLine[] = [];
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    while (out.length < n) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = JSON.parse(buf.slice(0, i)) as StreamLine;
        buf = buf.slice(i + 1);
        if (line.type !== "heartbeat") out.push(line);
      }
    }
    return out;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

/** POST /v1/status as the pod's agent would. */
export function postStatus(url: string, ca: string, token: string, report: StatusReport): Promise<Response> {
  return call(`${url}/v1/status`, ca, token, { method: "POST", body: JSON.stringify(report), headers: { "content-type": "application/json" } });
}
