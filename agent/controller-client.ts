// HTTPS calls to the controller: the token file is read for every request (the
// kubelet rotates projected tokens; caching one is a known outage cause, istio#26225)
// and only the controller CA from its file is trusted.
import * as fsp from "node:fs/promises";
import type { ApiError } from "../protocol/intent.ts";
import { ControllerError } from "./errors.ts";
import { errorMessage } from "./log.ts";
import type { RuntimeAdapter } from "./runtime/contract.ts";

interface ClientOptions {
  baseUrl: string;
  caFile: string;
  tokenFile: string;
}

export class ControllerClient {
  constructor(private readonly rt: RuntimeAdapter, private readonly opts: ClientOptions) {}

  private async credentials(): Promise<{ token: string; ca: string }> {
    let token: string, ca: string;
    try {
      token = (await fsp.readFile(this.opts.tokenFile, "utf8")).trim();
    } catch (e) {
      throw new ControllerError(`cannot read token file ${this.opts.tokenFile}: ${errorMessage(e)}`, undefined, { cause: e });
    }
    if (!token) throw new ControllerError(`token file ${this.opts.tokenFile} is empty`);
    try {
      ca = await fsp.readFile(this.opts.caFile, "utf8");
    } catch (e) {
      throw new ControllerError(`cannot read controller CA file ${this.opts.caFile}: ${errorMessage(e)}`, undefined, { cause: e });
    }
    return { token, ca };
  }

  async request(path: string, init: RequestInit & { timeoutMs?: number }): Promise<Response> {
    const { token, ca } = await this.credentials();
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${token}`);
    const signal = init.signal ?? (init.timeoutMs ? AbortSignal.timeout(init.timeoutMs) : undefined);
    const url = this.opts.baseUrl + path;
    let res: Response;
    try {
      res = await this.rt.fetchTrusting(url, { ...init, headers, ...(signal ? { signal } : {}) }, ca);
    } catch (e) {
      throw new ControllerError(`${init.method ?? "GET"} ${url}: ${errorMessage(e)}`, undefined, { cause: e });
    }
    if (!res.ok) {
      let reason = "";
      try {
        const body = (await res.json()) as Partial<ApiError>;
        reason = `${body.error ?? ""}: ${body.reason ?? ""}`;
      } catch {
        reason = res.statusText;
      }
      throw new ControllerError(`${init.method ?? "GET"} ${path} answered ${res.status} ${reason}`, res.status);
    }
    return res;
  }

  async postJson<T>(path: string, body: unknown, timeoutMs: number): Promise<T | undefined> {
    const res = await this.request(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      timeoutMs,
    });
    if (res.status === 204) return undefined;
    return (await res.json()) as T;
  }
}
