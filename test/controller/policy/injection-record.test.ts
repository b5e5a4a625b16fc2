// controller/policy/injection-record.ts: the injection annotation, parsed once per pod object (one
// per resourceVersion in the caches), and again whenever its text differs.
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { injectPod } from "../../../controller/admission/injection.ts";
import { injectionRecord, podEnforcement } from "../../../controller/policy/injection-record.ts";
import { INJECTED_ANNOTATION } from "../../../controller/names.ts";
import { applyPatch } from "../../support/json-patch.ts";
import { esMode, esPod, injectionConfig } from "../../support/eck-pods.ts";

const injected = () => {
  const pod = esPod("prod", "q", "q-es-default-0");
  return applyPatch(pod, injectPod(pod, esMode("prod", "q"), injectionConfig()).patch as any);
};

describe("injection record cache", () => {
  let parse: ReturnType<typeof spyOn> | undefined;
  afterEach(() => parse?.mockRestore());

  test("a pod object's record is parsed once, however often it is read", () => {
    const pod = injected();
    parse = spyOn(JSON, "parse");
    const first = injectionRecord(pod);
    for (let i = 0; i < 10; i++) podEnforcement(pod, "Enabled");
    expect(injectionRecord(pod)).toBe(first!);
    expect(parse.mock.calls.filter(([text]: unknown[]) => text === pod.metadata!.annotations![INJECTED_ANNOTATION]).length).toBe(1);
  });

  test("a new object of the pod (a new resourceVersion) and an annotation changed in place are parsed again", () => {
    const pod = injected();
    const before = injectionRecord(pod)!;
    const next = structuredClone(pod);
    expect(injectionRecord(next)).not.toBe(before);
    expect(injectionRecord(next)).toEqual(before);

    pod.metadata!.annotations![INJECTED_ANNOTATION] = JSON.stringify({ ...before, enforcement: "optional" });
    expect(injectionRecord(pod)!.enforcement).toBe("optional");
    expect(podEnforcement(pod, "Enabled")).toBe("optional");
    pod.metadata!.annotations![INJECTED_ANNOTATION] = "not json";
    expect(injectionRecord(pod)).toBeUndefined();
    delete pod.metadata!.annotations![INJECTED_ANNOTATION];
    expect(injectionRecord(pod)).toBeUndefined();
  });
});
