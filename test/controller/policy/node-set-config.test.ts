// A nodeSet's config in both of ECK's spellings (dotted keys, nested objects): the rules that read a
// setting (the user's HTTP CAs carried on at injection, a truststore refused) see it either way.
import { describe, expect, test } from "bun:test";
import type * as k8s from "@kubernetes/client-node";
import { flatSettings, nodeSetOfPod } from "../../../controller/policy/node-set-config.ts";
import { clusterModeOf } from "../../../controller/admission/cluster-mode.ts";
import type { ObjectCache } from "../../../controller/kube/informers.ts";
import type { ClientAuthentication, Elasticsearch, Kibana } from "../../../controller/resources.ts";
import { ES_STATEFULSET_LABEL } from "../../../controller/names.ts";
import { esPod } from "../../support/eck-pods.ts";

const CA = "xpack.security.http.ssl.certificate_authorities";
const es = (config: Record<string, unknown>): Elasticsearch => ({ metadata: { name: "quickstart", namespace: "prod", uid: "u" }, spec: { nodeSets: [{ name: "default", config }, { name: "other", config: { [CA]: "/other.crt" } }] } });

describe("flatSettings", () => {
  test("dotted, nested and mixed spellings give the same dotted names; arrays and scalars are values", () => {
    const want = new Map<string, unknown>([[CA, ["/a.crt", "/b.crt"]], ["node.roles", ["master"]], ["xpack.security.http.ssl.enabled", true]]);
    expect(flatSettings({ [CA]: ["/a.crt", "/b.crt"], "node.roles": ["master"], "xpack.security.http.ssl.enabled": true })).toEqual(want);
    expect(flatSettings({ xpack: { security: { http: { ssl: { certificate_authorities: ["/a.crt", "/b.crt"], enabled: true } } } }, node: { roles: ["master"] } })).toEqual(want);
    expect(flatSettings({ "xpack.security": { http: { "ssl.certificate_authorities": ["/a.crt", "/b.crt"], "ssl.enabled": true } }, node: { roles: ["master"] } })).toEqual(want);
    expect(flatSettings(undefined)).toEqual(new Map());
  });
});

describe("nodeSetOfPod", () => {
  test("by the pod's StatefulSet label <es>-es-<nodeSet>; none without it or for another cluster's", () => {
    expect(nodeSetOfPod(es({}), { [ES_STATEFULSET_LABEL]: "quickstart-es-other" })?.name).toBe("other");
    expect(nodeSetOfPod(es({}), {})).toBeUndefined();
    expect(nodeSetOfPod(es({}), { [ES_STATEFULSET_LABEL]: "elsewhere-es-default" })).toBeUndefined();
  });
});

test("injection carries the nodeSet's certificate_authorities on whether its config nests them or not", async () => {
  const cache = <T extends k8s.KubernetesObject>(items: T[]): ObjectCache<T> => ({ list: () => items, get: (name, ns) => items.find((i) => i.metadata?.name === name && i.metadata?.namespace === ns) });
  const pod = esPod("prod", "quickstart", "quickstart-es-default-0");
  pod.metadata!.labels![ES_STATEFULSET_LABEL] = "quickstart-es-default";
  const modeWith = (config: Record<string, unknown>) =>
    clusterModeOf(pod, {
      elasticsearch: cache([es(config)]),
      kibana: cache<Kibana>([]),
      clientAuthentication: () => ({ status: { phase: "Enabling" } }) as unknown as ClientAuthentication,
    });
  expect((await modeWith({ [CA]: "/mine.crt" }))?.userCertificateAuthorities).toEqual(["/mine.crt"]);
  expect((await modeWith({ xpack: { security: { http: { ssl: { certificate_authorities: ["/a.crt", "/b.crt"] } } } } }))?.userCertificateAuthorities).toEqual(["/a.crt", "/b.crt"]);
  expect((await modeWith({}))?.userCertificateAuthorities).toBeUndefined();
});
