// A pod's volumes as folders under the pod's folder, and each container's mounts
// as symlinks in its root folder. emptyDir (and hostPath, which is not given the
// host's path) is a plain folder shared by the pod's containers; a
// PersistentVolumeClaim is a folder per claim under the node's folder, so it
// outlives the pod as a volume would. Secret, ConfigMap, downwardAPI and projected
// volumes are (re)written atomically on every sync when their content changed;
// projected tokens come from TokenRequest bound to the pod and are renewed at 80 %
// of their lifetime.
import type * as k8s from "@kubernetes/client-node";
import { chmodSync, existsSync, lstatSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeAtomic, type Payload } from "./atomic-dir.ts";
import { fieldValue, MissingSourceError, resourceValue, type PodFacts } from "./env.ts";

type KeyToPath = k8s.V1KeyToPath;
interface Token { token: string; refreshAt: number }

export interface VolumeOptions {
  core: k8s.CoreV1Api;
  podDir: string;
  /** Where claims' folders live: `<pvcRoot>/<namespace>/<claim>`. */
  pvcRoot: string;
  capacity: Record<string, string>;
  /** Renew projected tokens after this long instead of at 80 % of their lifetime (tests of rotation). */
  tokenRenewAfterMs?: number;
}

export class PodVolumes {
  private readonly written = new Map<string, { digest?: string }>();
  private readonly tokens = new Map<string, Token>();

  constructor(private readonly o: VolumeOptions) {}

  dir(volume: k8s.V1Volume, namespace: string): string {
    const claim = volume.persistentVolumeClaim?.claimName;
    return claim ? join(this.o.pvcRoot, namespace, claim) : join(this.o.podDir, "volumes", volume.name);
  }

  /** Creates or refreshes every volume of the pod; throws MissingSourceError while a required source is absent. */
  async sync(f: PodFacts): Promise<void> {
    const ns = f.pod.metadata!.namespace!;
    for (const v of f.pod.spec?.volumes ?? []) {
      const dir = this.dir(v, ns);
      const payload = await this.payload(v, f);
      if (!payload) {
        mkdirSync(dir, { recursive: true });
        // World-writable as the kubelet makes an emptyDir: a container running as its own UID (an image's) writes there.
        if (v.emptyDir) chmodSync(dir, 0o777);
        continue;
      }
      const last = this.written.get(v.name) ?? {};
      this.written.set(v.name, last);
      writeAtomic(dir, payload, last);
    }
  }

  private async payload(v: k8s.V1Volume, f: PodFacts): Promise<Payload | undefined> {
    const ns = f.pod.metadata!.namespace!;
    if (v.secret) return this.fromObject("secret", ns, v.secret.secretName!, v.secret.items, v.secret.defaultMode ?? 0o644, v.secret.optional);
    if (v.configMap) return this.fromObject("configmap", ns, v.configMap.name!, v.configMap.items, v.configMap.defaultMode ?? 0o644, v.configMap.optional);
    if (v.downwardAPI) return this.downward(v.downwardAPI.items ?? [], v.downwardAPI.defaultMode ?? 0o644, f);
    if (!v.projected) return undefined;
    const mode = v.projected.defaultMode ?? 0o644;
    const out: Payload = {};
    for (const s of v.projected.sources ?? []) {
      if (s.secret) Object.assign(out, await this.fromObject("secret", ns, s.secret.name!, s.secret.items, mode, s.secret.optional));
      if (s.configMap) Object.assign(out, await this.fromObject("configmap", ns, s.configMap.name!, s.configMap.items, mode, s.configMap.optional));
      if (s.downwardAPI) Object.assign(out, this.downward(s.downwardAPI.items ?? [], mode, f));
      if (s.serviceAccountToken) out[s.serviceAccountToken.path] = { content: await this.token(v.name, s.serviceAccountToken, f.pod), mode };
    }
    return out;
  }

  private async fromObject(kind: "secret" | "configmap", namespace: string, name: string, items: KeyToPath[] | undefined, mode: number, optional?: boolean): Promise<Payload> {
    const data = await readData(this.o.core, kind, namespace, name);
    if (!data) {
      if (optional) return {};
      throw new MissingSourceError(`${kind} "${name}" not found`);
    }
    const out: Payload = {};
    const wanted: KeyToPath[] = items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const item of wanted) {
      const content = data[item.key];
      if (content === undefined) {
        if (optional) continue;
        throw new MissingSourceError(`${kind} "${name}" has no key ${item.key}`);
      }
      out[item.path] = { content, mode: item.mode ?? mode };
    }
    return out;
  }

  private downward(items: k8s.V1DownwardAPIVolumeFile[], mode: number, f: PodFacts): Payload {
    const out: Payload = {};
    for (const item of items) {
      const container = f.pod.spec?.containers.find((c) => c.name === item.resourceFieldRef?.containerName);
      const value = item.fieldRef ? fieldValue(item.fieldRef.fieldPath, f) : resourceValue(item.resourceFieldRef!, container, this.o.capacity);
      out[item.path] = { content: value, mode: item.mode ?? mode };
    }
    return out;
  }

  private async token(volume: string, s: k8s.V1ServiceAccountTokenProjection, pod: k8s.V1Pod): Promise<string> {
    const key = `${volume}/${s.path}`;
    const have = this.tokens.get(key);
    if (have && Date.now() < have.refreshAt) return have.token;
    const tr = await this.o.core.createNamespacedServiceAccountToken({
      name: pod.spec?.serviceAccountName ?? "default",
      namespace: pod.metadata!.namespace!,
      body: {
        spec: {
          audiences: s.audience ? [s.audience] : [],
          expirationSeconds: s.expirationSeconds ?? 3600,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata!.name!, uid: pod.metadata!.uid! },
        },
      },
    });
    const expires = new Date(tr.status!.expirationTimestamp).getTime();
    const lifetime = Math.min(expires - Date.now(), 24 * 3600_000);
    this.tokens.set(key, { token: tr.status!.token, refreshAt: Date.now() + Math.min(lifetime * 0.8, this.o.tokenRenewAfterMs ?? Infinity) });
    return tr.status!.token;
  }

  /** Makes each mount of the container a symlink in its root, outer mounts first (nested ones land inside them). */
  mount(c: k8s.V1Container, pod: k8s.V1Pod, root: string): void {
    mkdirSync(root, { recursive: true });
    for (const m of [...(c.volumeMounts ?? [])].sort((a, b) => a.mountPath.length - b.mountPath.length)) {
      const link = join(root, m.mountPath);
      mkdirSync(dirname(link), { recursive: true });
      if (exists(link)) rmSync(link, { recursive: true, force: true });
      symlinkSync(this.target(c, pod, m), link);
    }
  }

  /** Host path of a container path, through the longest matching mount. */
  resolve(c: k8s.V1Container, pod: k8s.V1Pod, root: string, path: string): string {
    const mounts = [...(c.volumeMounts ?? [])].sort((a, b) => b.mountPath.length - a.mountPath.length);
    const norm = (p: string) => p.replace(/\/+$/, "");
    const m = mounts.find((x) => path === norm(x.mountPath) || path.startsWith(norm(x.mountPath) + "/"));
    return m ? join(this.target(c, pod, m), path.slice(norm(m.mountPath).length)) : join(root, path);
  }

  private target(c: k8s.V1Container, pod: k8s.V1Pod, m: k8s.V1VolumeMount): string {
    const v = pod.spec?.volumes?.find((x) => x.name === m.name);
    if (!v) throw new MissingSourceError(`container ${c.name} mounts unknown volume ${m.name}`);
    const base = this.dir(v, pod.metadata!.namespace!);
    if (!m.subPath) return base;
    const sub = join(base, m.subPath);
    if (!exists(sub)) mkdirSync(sub, { recursive: true });
    return sub;
  }
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return existsSync(p);
  }
}

async function readData(core: k8s.CoreV1Api, kind: "secret" | "configmap", namespace: string, name: string): Promise<Record<string, Uint8Array> | undefined> {
  try {
    if (kind === "secret") {
      const s = await core.readNamespacedSecret({ name, namespace });
      return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")]));
    }
    const c = await core.readNamespacedConfigMap({ name, namespace });
    return {
      ...Object.fromEntries(Object.entries(c.data ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
      ...Object.fromEntries(Object.entries(c.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")])),
    };
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}
