// controller/policy/uninjected.ts: pods running without the agent.
import { describe, expect, test } from "bun:test";
import { injectPod } from "../../../controller/admission/injection.ts";
import { findUninjected } from "../../../controller/policy/uninjected.ts";
import { applyPatch } from "../../support/json-patch.ts";
import { esMode, esPod, injectionConfig } from "../../support/eck-pods.ts";

describe("uninjected pods", () => {
  test("reports pods without the agent, ignoring terminating and finished ones", () => {
    const config = injectionConfig();
    const injected = esPod("prod", "q", "q-es-default-0");
    const a = applyPatch(injected, injectPod(injected, esMode("prod", "q"), config).patch as any);
    const b = esPod("prod", "q", "q-es-default-2");
    const c = esPod("prod", "q", "q-es-default-1");
    const gone = { ...esPod("prod", "q", "q-es-default-3"), metadata: { ...esPod("prod", "q", "x").metadata, name: "q-es-default-3", deletionTimestamp: new Date() } };
    const report = findUninjected({ namespace: "prod", name: "q" }, [a, b, c, gone]);
    expect(report!.pods).toEqual(["q-es-default-1", "q-es-default-2"]);
    expect(report!.reason).toBe("PodsNotInjected");
    expect(report!.message).toStartWith("2 of 3 pods of prod/q run without the es-mtls agent");
    expect(findUninjected({ namespace: "prod", name: "q" }, [a])).toBeUndefined();
  });
});
