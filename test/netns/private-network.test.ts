// Runs the *.inner.ts files of this folder, each inside a network namespace of its own
// (private-network.ts), and passes when every test in it ran and passed; their tests' names and
// failures are printed here.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { baseImagesUnavailable } from "../images/base-images.ts";
import { localImage } from "../images/build.ts";
import { imageRunnerUnavailable } from "../node/image-runner.ts";
import { skipReason as helmMissing } from "../support/helm-chart.ts";
import { privateNetworkUnavailable, runInPrivateNetwork } from "./private-network.ts";

const unavailable = privateNetworkUnavailable();

/** `bun test` of an inner file in its own network namespace: every one of its `tests` tests passed. */
async function expectInnerPassed(file: string, tests: number, timeoutMs: number): Promise<void> {
  const r = await runInPrivateNetwork(join(import.meta.dir, file), { timeoutMs, onLine: (l) => console.error(`  [netns] ${l}`) });
  const passed = Number(/^\s*(\d+) pass$/m.exec(r.output)?.[1] ?? 0);
  const failed = Number(/^\s*(\d+) fail$/m.exec(r.output)?.[1] ?? 0);
  // Inside, nothing may skip: a skipped test would count as neither.
  expect({ status: r.status, passed, failed }).toEqual({ status: 0, passed: tests, failed: 0 });
}

test.skipIf(!!unavailable)(`webhook reached through its Service at a pod IP, in a private network namespace${unavailable ? ` (skipped: ${unavailable})` : ""}`, async () => {
  await expectInnerPassed("webhook-service.inner.ts", 2, 240_000);
}, 300_000);

const installUnavailable = unavailable ?? helmMissing ?? imageRunnerUnavailable() ?? baseImagesUnavailable();
test.skipIf(!!installUnavailable)(`install e2e: helm install, the controller as pods from its image, on/off, uninstall${installUnavailable ? ` (skipped: ${installUnavailable})` : ""}`, async () => {
  // Built (or found in the cache) out here: a first build fetches Debian packages, and the private
  // namespace has no route out.
  for (const name of ["controller", "agent"]) {
    const image = localImage(name, (l) => console.error(l));
    if ("unavailable" in image) throw new Error(`no ${name} image: ${image.unavailable}`);
  }
  await expectInnerPassed("install.inner.ts", 6, 1_080_000);
}, 1_200_000);
