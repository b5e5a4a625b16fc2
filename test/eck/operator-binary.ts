// Finds or builds the real ECK operator (`elastic-operator`) from its Go module, as
// test/controlplane/binaries.ts does the control plane: cached outside the repository
// (test/support/go-binary-cache.ts), keyed by everything that goes into it (module checksum, Go
// version, flags), so only the first run on a machine pays for the build (about 5 minutes on 2 cores).
import { cacheKey, cachedGoBinary, goEnv, goVersion } from "../support/go-binary-cache.ts";
import { ECK_MODULE, ECK_VERSION, eckModule } from "./module.ts";

// The version ECK's Makefile stamps (pkg/about): the operator reports and compares it.
const LDFLAGS = `-s -w -X ${ECK_MODULE}/pkg/about.version=${ECK_VERSION.replace(/^v/, "")}`;

/** The build's cache key: ECK's module checksum (go.sum's h1:), `go version`, the flags. */
export const eckOperatorCacheKey = (moduleSum: string, goVersionLine: string) => cacheKey([moduleSum, goVersionLine, LDFLAGS]);

/** The binary's path, or why it cannot be had (no Go, no proxy, a failed build). */
export function ensureEckOperator(log: (line: string) => void = () => {}): { path: string } | { missing: string } {
  const m = eckModule();
  if (typeof m === "string") return { missing: m };
  const go = goVersion(goEnv());
  if ("missing" in go) return go;
  return cachedGoBinary(
    {
      name: "eck-operator",
      key: eckOperatorCacheKey(m.sum, go.version),
      binary: "elastic-operator",
      what: `ECK's operator ${ECK_VERSION}`,
      // In the module's own directory: its go.mod has replace directives, which `go install …@version` refuses.
      workdir: () => ({ dir: m.dir }),
      ldflags: LDFLAGS,
      pkg: "./cmd",
      env: goEnv({ GOFLAGS: "-mod=readonly" }),
    },
    log,
  );
}

if (import.meta.main) {
  const r = ensureEckOperator((l) => console.error(l));
  if ("missing" in r) {
    console.error(r.missing);
    process.exit(1);
  }
  console.log(r.path);
}
