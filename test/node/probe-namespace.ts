// Exec probes as the kubelet runs them: inside the container's filesystem view. A container of the
// test node is a folder of symlinks, so a probe script that names container paths
// (`/usr/share/elasticsearch/config/certs/…`, `$CURL_HOME/.curlrc`, the charts' `/tmp/.es_start_file`)
// would read the host's. As root, the probe instead runs in a private mount namespace
// (`unshare --mount --propagation private`) where each of the container's mounts is bind-mounted at
// its container path and the container's own `/tmp` covers the host's. Nothing reaches the host:
// every bind and overlay lives and dies with the namespace; a target whose parent folders do not
// exist on the host is created inside an overlay whose upper layer is a tmpfs (scratch), so the
// host's `/usr/share` (say) is never written.
//
// A pod's "localhost" here is its podIP (each pod has its own 127.X.Y.N), so `127.0.0.1` and
// `localhost` in URLs of the probe's argv are rewritten to the podIP.
import type * as k8s from "@kubernetes/client-node";
import { existsSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";

/** A folder that exists on every Linux host, covered by the scratch tmpfs inside the namespace only. */
const SCRATCH_CANDIDATES = ["/srv", "/media", "/mnt", "/opt"];
const SAFE_PATH = /^\/[A-Za-z0-9._/-]*$/;

/** True where the private mount namespace can be used: Linux, as root, with unshare on PATH. */
export function mountNamespaceAvailable(): boolean {
  return process.platform === "linux" && process.getuid?.() === 0 && ["/usr/bin/unshare", "/bin/unshare"].some((p) => existsSync(p));
}

/** `127.0.0.1` / `localhost` in URLs → the pod's own address. */
export function podLocalArgv(argv: string[], podIP: string): string[] {
  return argv.map((a) => a.replace(/\b127\.0\.0\.1\b/g, podIP).replace(/(\/\/)localhost\b/g, `$1${podIP}`));
}

/**
 * The argv that runs `argv` inside the container's filesystem view: unshare, then a shell that sets
 * up the mounts and `exec`s the probe. `root` is the container's root folder (mounts are symlinks in it).
 */
export function inContainerMounts(argv: string[], container: k8s.V1Container, root: string): string[] {
  const scratch = SCRATCH_CANDIDATES.find((d) => existsSync(d) && statSync(d).isDirectory());
  if (!scratch) throw new Error(`no scratch mount point among ${SCRATCH_CANDIDATES.join(", ")}`);
  const tmp = join(root, "tmp");
  mkdirSync(tmp, { recursive: true });
  // Outer mounts first, as the kubelet does; the container's own /tmp is one of them.
  const mounts = [{ mountPath: "/tmp", source: tmp }, ...(container.volumeMounts ?? []).map((m) => ({ mountPath: m.mountPath.replace(/\/+$/, "") || "/", source: join(root, m.mountPath) }))]
    .filter((m, i, all) => all.findIndex((x) => x.mountPath === m.mountPath) === i)
    .sort((a, b) => a.mountPath.length - b.mountPath.length);
  const lines = [
    "set -e",
    `S=${scratch}`,
    'mount -t tmpfs es-mtls-probe "$S"',
    "n=0; ours=''",
    // Is $1 inside something this script mounted (writable without touching the host)?
    'is_ours() { for p in $ours; do case "$1/" in "$p"/*) return 0;; esac; done; return 1; }',
    // Make target $1 (d: folder, f: file) exist, overlaying its deepest existing host ancestor first.
    'ensure() { [ -e "$1" ] && return 0; a=$(dirname "$1"); while [ ! -e "$a" ]; do a=$(dirname "$a"); done;' +
      ' if ! is_ours "$a"; then [ "$a" = / ] && { echo "cannot create $1 without writing to the host" >&2; exit 97; };' +
      ' n=$((n+1)); mkdir "$S/u$n" "$S/w$n"; mount -t overlay overlay -o "lowerdir=$a,upperdir=$S/u$n,workdir=$S/w$n" "$a"; ours="$ours $a"; fi;' +
      ' if [ "$2" = d ]; then mkdir -p "$1"; else mkdir -p "$(dirname "$1")"; : > "$1"; fi; }',
  ];
  // Sources first (some live under the host's /tmp, which the container's /tmp is about to cover).
  mounts.forEach((m, i) => {
    const source = realpathSync(m.source);
    if (!SAFE_PATH.test(source) || !SAFE_PATH.test(m.mountPath)) throw new Error(`mount path ${m.mountPath} (${source}) has characters this probe runner does not quote`);
    const kind = statSync(source).isDirectory() ? "d" : "f";
    lines.push(kind === "d" ? `mkdir "$S/m${i}"` : `: > "$S/m${i}"`, `mount --bind ${source} "$S/m${i}"`);
  });
  mounts.forEach((m, i) => {
    const kind = statSync(realpathSync(m.source)).isDirectory() ? "d" : "f";
    lines.push(`ensure ${m.mountPath} ${kind}`, `mount --bind "$S/m${i}" ${m.mountPath}`, `ours="$ours ${m.mountPath === "/" ? "" : m.mountPath}"`);
  });
  lines.push('exec "$@"');
  return ["unshare", "--mount", "--propagation", "private", "sh", "-c", lines.join("\n"), "es-mtls-probe", ...argv];
}
