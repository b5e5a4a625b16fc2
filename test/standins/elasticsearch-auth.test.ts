// The ES stand-in against the behaviour notes: env configuration as the Docker image
// (§6), client_authentication semantics (§1), HTTP authentication as ES security (a client
// certificate alone authenticates nobody), and the official JS client working against it (§5).
import { afterAll, describe, expect, test } from "bun:test";
import { errors } from "@elastic/elasticsearch";
import { optionsFromEnv, readSettings, type ClientAuthentication } from "../fixtures/elasticsearch-standin.ts";
import { killAll } from "../support/agent-harness.ts";
import { CONFIG, PASSWORD, esFromEnv, get, officialClient, stopAll, write } from "./setup.ts";

afterAll(async () => {
  await stopAll();
  killAll();
});

describe("configuration from env, as the official image", () => {
  test("dotted lowercase names and ES_SETTING_ map to settings, env beats elasticsearch.yml, lists split on commas", () => {
    const s = readSettings(
      { "cluster.name": "from-env", ES_SETTING_XPACK_SECURITY_HTTP_SSL_CLIENT__AUTHENTICATION: "optional", "discovery.seed_hosts": "a:9300,b", PATH: "/bin", Cluster_Name: "ignored" },
      "cluster:\n  name: from-yml\nnode.name: yml-node\n",
    );
    expect(s.get("cluster.name")).toBe("from-env");
    expect(s.get("node.name")).toBe("yml-node");
    expect(s.get("xpack.security.http.ssl.client_authentication")).toBe("optional");
    expect(s.has("path")).toBe(false);
    const o = optionsFromEnv({
      env: { "xpack.security.http.ssl.key": "certs/k", "xpack.security.http.ssl.certificate": `${CONFIG}/certs/c`, "xpack.security.http.ssl.certificate_authorities": "a.crt, b/b.crt", "discovery.seed_hosts": "es-0.es,es-1.es:9301", ELASTIC_PASSWORD: "pw", HOSTNAME: "es-0" },
      mapPath: (p) => `/root${p}`,
      bindAll: "127.1.2.3",
    });
    expect(o).toMatchObject({ keyFile: `/root${CONFIG}/certs/k`, certFile: `/root${CONFIG}/certs/c`, caFiles: [`/root${CONFIG}/a.crt`, `/root${CONFIG}/b/b.crt`], clientAuthentication: "none", host: "127.1.2.3", port: 9200, transportPort: 9300, clusterName: "docker-cluster", nodeName: "es-0", seedHosts: ["es-0.es", "es-1.es:9301"], users: { elastic: "pw" } });
  });

  test("start-up fails as ES does: SSL file outside the config dir, no key, unknown client_authentication", () => {
    const base = { "xpack.security.http.ssl.key": "k", "xpack.security.http.ssl.certificate": "c" };
    expect(() => optionsFromEnv({ env: { ...base, "xpack.security.http.ssl.certificate_authorities": "/etc/ssl/ca.crt" } })).toThrow(/SSL resources should be placed in the \[\/usr\/share\/elasticsearch\/config\] directory/);
    expect(() => optionsFromEnv({ env: { "xpack.security.http.ssl.certificate": "c" } })).toThrow(/requires a key and certificate/);
    expect(() => optionsFromEnv({ env: { ...base, "xpack.security.http.ssl.client_authentication": "sometimes" } })).toThrow(/unknown value \[sometimes\]/);
  });

  test("ELASTIC_PASSWORD_FILE (a Secret-mounted file) sets the elastic password", async () => {
    const f = await esFromEnv("none", { ELASTIC_PASSWORD: "", ELASTIC_PASSWORD_FILE: "/run/secrets/elastic/password" }).catch((e: Error) => e);
    expect(f).toBeInstanceOf(Error); // the file is not there yet: start-up fails
    const root = (await esFromEnv("none")).root;
    write(`${root}/run/secrets/elastic/password`, "from-file\n");
    const o = optionsFromEnv({ env: { "xpack.security.http.ssl.key": "k", "xpack.security.http.ssl.certificate": "c", ELASTIC_PASSWORD_FILE: "/run/secrets/elastic/password" }, mapPath: (p) => root + p });
    expect(o.users).toEqual({ elastic: "from-file" });
  });
});

describe("client_authentication (behaviour notes §1)", () => {
  const table: Array<[ClientAuthentication, "accepted" | "refused", "accepted" | "refused", "accepted" | "refused"]> = [
    // mode, no cert, trusted cert, untrusted cert
    ["none", "accepted", "accepted", "accepted"],
    ["optional", "accepted", "accepted", "refused"],
    ["required", "refused", "accepted", "refused"],
  ];
  for (const [mode, none, trusted, untrusted] of table) {
    test(`${mode}: without a certificate ${none}, trusted ${trusted}, untrusted ${untrusted}`, async () => {
      const f = await esFromEnv(mode);
      expect((await f.probe()).result).toBe(none);
      expect((await f.probe(f.client)).result).toBe(trusted);
      expect((await f.probe(f.rogue)).result).toBe(untrusted);
    });
  }
});

describe("HTTP authentication (ES security, no PKI realm)", () => {
  test("401 with WWW-Authenticate and an ES error body without credentials, with a wrong password, and with a trusted client certificate only", async () => {
    const f = await esFromEnv("required");
    for (const auth of [undefined, "elastic:wrong", "nobody:x"]) {
      const r = await get(`${f.url}/_cluster/health`, { ca: f.httpCa.pem, cert: f.client, ...(auth ? { auth } : {}) });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toStartWith('Basic realm="security"');
      expect(r.headers.get("x-elastic-product")).toBe("Elasticsearch");
      expect(r.body).toMatchObject({ status: 401, error: { type: "security_exception" } });
      expect(String((r.body.error as { reason: string }).reason)).toMatch(auth ? /unable to authenticate user/ : /missing authentication credentials for REST request \[\/_cluster\/health\]/);
    }
    const ok = await get(`${f.url}/`, { ca: f.httpCa.pem, cert: f.client, auth: `elastic:${PASSWORD}` });
    expect(ok.status).toBe(200);
    expect(ok.body.tagline).toBe("You Know, for Search");
  });

  test("a file-realm user (config/users, bcrypt) authenticates", async () => {
    const f = await esFromEnv("optional");
    write(f.host(`${CONFIG}/users`), `kibana_system:${await Bun.password.hash("kb-pw", { algorithm: "bcrypt", cost: 4 })}\n`);
    expect((await get(`${f.url}/_security/_authenticate`, { ca: f.httpCa.pem, auth: "kibana_system:kb-pw" })).body.username).toBe("kibana_system");
    expect((await get(`${f.url}/_security/_authenticate`, { ca: f.httpCa.pem, auth: "kibana_system:nope" })).status).toBe(401);
  });
});

describe("the official @elastic/elasticsearch client", () => {
  test("info, cluster.health, index and search with the HTTP CA, a client certificate and basic auth", async () => {
    const f = await esFromEnv("required", { "cluster.name": "standin-cluster", "node.name": "es-a" });
    const es = officialClient(f.url, { ca: f.httpCa.pem, cert: f.client, password: PASSWORD });
    try {
      const info = await es.info();
      expect(info).toMatchObject({ name: "es-a", cluster_name: "standin-cluster", version: { number: expect.stringMatching(/^9\./), build_flavor: "default" } });
      expect(await es.cluster.health()).toMatchObject({ cluster_name: "standin-cluster", status: "green", number_of_nodes: 1, timed_out: false });
      const created = await es.index({ index: "books", id: "1", document: { title: "Dune" } });
      expect(created).toMatchObject({ _index: "books", _id: "1", result: "created", _version: 1 });
      expect((await es.index({ index: "books", id: "1", document: { title: "Dune Messiah" } })).result).toBe("updated");
      const auto = await es.index({ index: "books", document: { title: "Hyperion" } });
      expect(auto._id).toMatch(/\w{10,}/);
      const found = await es.search<{ title: string }>({ index: "books", query: { match_all: {} } });
      expect(found.hits.total).toEqual({ value: 2, relation: "eq" });
      expect(found.hits.hits.map((h) => h._source?.title).sort()).toEqual(["Dune Messiah", "Hyperion"]);
      expect((await es.get<{ title: string }>({ index: "books", id: "1" }))._source).toEqual({ title: "Dune Messiah" });
      await expect(es.search({ index: "missing" })).rejects.toMatchObject({ meta: { statusCode: 404 } });
    } finally {
      await es.close();
    }
  });

  test("refused: 401 without basic auth although the certificate is trusted; a failed connection without a certificate under required", async () => {
    const f = await esFromEnv("required");
    const noAuth = officialClient(f.url, { ca: f.httpCa.pem, cert: f.client });
    const noCert = officialClient(f.url, { ca: f.httpCa.pem, password: PASSWORD });
    try {
      const e = await noAuth.info().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(errors.ResponseError);
      expect((e as errors.ResponseError).statusCode).toBe(401);
      const c = await noCert.info().catch((x: unknown) => x);
      expect(c).toBeInstanceOf(errors.ConnectionError);
    } finally {
      await noAuth.close();
      await noCert.close();
    }
  });
});
