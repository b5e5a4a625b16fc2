// The image cache's keys (test/images/cache.ts): a built image is reused only while nothing that
// goes into it changed, so the key must follow every file a Dockerfile COPYs, by content and name.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerfileSources, inputsKey } from "./cache.ts";

describe("image cache keys", () => {
  const dir = mkdtempSync(join(tmpdir(), "es-mtls-cache-key-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a Dockerfile's sources are what it COPYs from the context, not from another stage", () => {
    const text = ["FROM x AS deps", "COPY package.json package-lock.json ./", "FROM y", "COPY --from=deps /src/node_modules ./node_modules", 'COPY ["common/", "./common"]', "COPY --chown=1:1 agent \\", "  ./agent", "RUN true"].join("\n");
    expect(dockerfileSources(text)).toEqual(["agent", "common", "package-lock.json", "package.json"]);
  });

  test("the key changes with a file's content or name under a folder, and only then", () => {
    mkdirSync(join(dir, "src/sub"), { recursive: true });
    writeFileSync(join(dir, "src/sub/a.ts"), "export const a = 1;\n");
    const key = () => inputsKey([{ text: "FROM x" }, { path: join(dir, "src"), root: dir }]);
    const first = key();
    expect(key()).toBe(first);
    writeFileSync(join(dir, "src/sub/a.ts"), "export const a = 2;\n");
    const changed = key();
    expect(changed).not.toBe(first);
    renameSync(join(dir, "src/sub/a.ts"), join(dir, "src/sub/b.ts"));
    expect(key()).not.toBe(changed);
    expect(inputsKey([{ text: "FROM y" }, { path: join(dir, "src"), root: dir }])).not.toBe(key());
  });
});
