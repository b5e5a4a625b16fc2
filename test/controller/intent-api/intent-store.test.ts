// The intent store's withdrawal by cluster (controller/intent-api/intent-store.ts, issue 18): a
// cluster's reconcile withdraws the intents it published for pods that left its view, and only those.
import { expect, test } from "bun:test";
import { IntentStore } from "../../../controller/intent-api/intent-store.ts";
import type { Intent } from "../../../protocol/intent.ts";

const intent = (namespace: string, name: string, cluster: { namespace: string; name: string }, generation = 1): Intent =>
  ({ type: "intent", generation, pod: { namespace, name, uid: `uid-${name}` }, role: "kibana", cluster, phase: "Enabled", enforcement: "none", files: {} }) as unknown as Intent;

test("withdrawExcept removes the cluster's intents of non-members (their streams close), keeps members' and other clusters'; a pod whose intent moved to another cluster is not withdrawn by the first", () => {
  const store = new IntentStore();
  const own = { namespace: "b", name: "own" };
  const prod = { namespace: "prod", name: "quickstart" };
  store.set(intent("b", "kb-0", own));
  store.set(intent("b", "kb-1", own));
  store.set(intent("prod", "kb-0", prod));
  store.set(intent("b", "moved", own));
  store.set(intent("b", "moved", prod, 2)); // now prod's
  const events: string[] = [];
  store.subscribe("b", "kb-1", (e) => events.push(e.type));

  expect(store.withdrawExcept(own, [{ namespace: "b", name: "kb-0" }])).toEqual([{ namespace: "b", name: "kb-1" }]);
  expect(events).toEqual(["removed"]);
  expect(store.get("b", "kb-1")).toBeUndefined();
  expect(store.get("b", "kb-0")?.cluster).toEqual(own);
  expect(store.get("b", "moved")?.cluster).toEqual(prod);
  expect(store.clusterOf("b", "moved")).toEqual(prod);
  expect(store.withdrawExcept(own, [])).toEqual([{ namespace: "b", name: "kb-0" }]);
  expect(store.withdrawExcept(own, [])).toEqual([]);
  expect(store.withdrawExcept(prod, [{ namespace: "prod", name: "kb-0" }])).toEqual([{ namespace: "b", name: "moved" }]);
  expect(store.get("prod", "kb-0")?.cluster).toEqual(prod);
});
