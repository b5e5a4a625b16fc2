// The kube-apiserver's service-account signing keys, fetched with the
// controller's own credentials (whatever the kubeconfig holds: client
// certificate or token) so it works in a pod and against a test control plane.
import { request } from "node:https";
import * as k8s from "@kubernetes/client-node";
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from "jose";

async function getWithKubeconfig(kc: k8s.KubeConfig, url: string, timeoutMs: number): Promise<Response> {
  const opts: import("node:https").RequestOptions = { method: "GET", timeout: timeoutMs, headers: {} };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: { "content-type": String(res.headers["content-type"] ?? "") } })));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`timeout fetching ${url}`)));
    req.end();
  });
}

/** The issuer the apiserver puts in service-account tokens (OIDC discovery). */
export async function serviceAccountIssuer(kc: k8s.KubeConfig): Promise<string> {
  const res = await getWithKubeconfig(kc, `${kc.getCurrentCluster()!.server}/.well-known/openid-configuration`, 5000);
  if (!res.ok) throw new Error(`OIDC discovery at the kube-apiserver answered ${res.status}`);
  const doc = (await res.json()) as { issuer?: string };
  if (!doc.issuer) throw new Error("OIDC discovery document has no issuer");
  return doc.issuer;
}

/** A jose key set over /openid/v1/jwks; jose refetches when a token names an unknown `kid`. */
export function kubeJwks(kc: k8s.KubeConfig, timeoutMs = 5000): JWTVerifyGetKey {
  const url = new URL("/openid/v1/jwks", kc.getCurrentCluster()!.server);
  return createRemoteJWKSet(url, {
    timeoutDuration: timeoutMs,
    cooldownDuration: 5000,
    [customFetch]: (u) => getWithKubeconfig(kc, String(u), timeoutMs),
  });
}
