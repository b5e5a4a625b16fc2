// The Go builds' cache keys stay what they were before test/support/go-binary-cache.ts served all
// three builders: a changed key sends every machine and CI into ~25 minutes of cold Go builds. The
// references below are the formulas each builder had (sequential hash updates for the control plane,
// a NUL-joined string for helm and ECK's operator); the literals were computed by that old code.
// Change a literal only when a rebuild is meant (a new helm or ECK version, other flags).
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inputsHash } from "../controlplane/binaries.ts";
import { eckOperatorCacheKey } from "../eck/operator-binary.ts";
import { helmCacheKey } from "../helm/binary.ts";
import { cacheBase, cacheKey, goEnv, goVersion } from "./go-binary-cache.ts";

const go = goVersion(goEnv({ GOFLAGS: "-mod=mod" }));
if ("missing" in go) console.error(`skipping the control plane's key on its real inputs: ${go.missing}`);

const SUM = "h1:fixed-module-sum=";
const GO = "go version go1.26.0 linux/amd64";

describe("Go binary cache keys", () => {
  test("cacheKey(parts) equals the parts hashed one after another with NUL between them, bytes or text", () => {
    const parts = ["go.mod", new TextEncoder().encode("module x\n\u00e9"), "", "go version go1.26.0"];
    const h = createHash("sha256");
    for (const [i, p] of parts.entries()) h.update(i ? "\0" : "").update(p);
    expect(cacheKey(parts)).toBe(h.digest("hex").slice(0, 16));
    expect(cacheKey(["a", "b"])).not.toBe(cacheKey(["ab"]));
  });

  test("helm's and ECK's operator's keys are the old code's for the same inputs", () => {
    expect(helmCacheKey(SUM, GO)).toBe("5189c1e0d0dcc55c");
    expect(eckOperatorCacheKey(SUM, GO)).toBe("50a1e3ce22b1bde0");
    expect(helmCacheKey(SUM, `${GO} `)).not.toBe("5189c1e0d0dcc55c");
  });

  test.skipIf("missing" in go)("the control plane's key is the old code's on its real go.mod, go.sum, main.go and go version", () => {
    const dir = join(import.meta.dir, "..", "controlplane");
    const old = createHash("sha256");
    for (const f of ["go.mod", "go.sum", "main.go"]) old.update(f).update("\0").update(readFileSync(join(dir, f))).update("\0");
    old.update((go as { version: string }).version);
    expect(inputsHash()).toBe(old.digest("hex").slice(0, 16));
  });

  test("the cache folder is ES_MTLS_CACHE_DIR, else $XDG_CACHE_HOME/es-mtls", () => {
    const saved = { dir: process.env.ES_MTLS_CACHE_DIR, xdg: process.env.XDG_CACHE_HOME };
    try {
      process.env.ES_MTLS_CACHE_DIR = "/c/es";
      expect(cacheBase()).toBe("/c/es");
      delete process.env.ES_MTLS_CACHE_DIR;
      process.env.XDG_CACHE_HOME = "/x";
      expect(cacheBase()).toBe("/x/es-mtls");
    } finally {
      for (const [k, v] of [["ES_MTLS_CACHE_DIR", saved.dir], ["XDG_CACHE_HOME", saved.xdg]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
