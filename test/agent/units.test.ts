// Unit tests: PEM validation, the atomic writer, identity (key, CSR, renewal
// schedule), config parsing, backoff, health readiness rendering.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { AtomicWriter } from "../../agent/write/atomic-writer.ts";
import { loadConfig } from "../../agent/config.ts";
import { createCsr, generateKey, subjectMatches, CLIENT_AUTH_OID } from "../../agent/identity/key.ts";
import { renewalTime, retryDelay } from "../../agent/identity/schedule.ts";
import { backoffDelay } from "../../common/backoff.ts";
import { PemError, validateBundle, validateCertificate, validateKeyPair } from "../../agent/material/pem.ts";
import { x509 } from "../../common/x509.ts";
import { issueLeaf, makeCa, pkcs8Pem } from "../fixtures/intent-server.ts";
import { killAll, tmpDir } from "./harness.ts";

afterAll(killAll); // removes the scratch dirs
const mkdir = () => tmpDir("unit");

describe("pem", async () => {
  const ca = await makeCa("unit ca");
  const ca2 = await makeCa("unit ca 2");
  const leaf = await issueLeaf(ca, { cn: "leaf" });
  const other = await issueLeaf(ca, { cn: "other" });
  const expired = await issueLeaf(ca, { cn: "expired", notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 1000) });

  test("accepts a bundle of certificates and returns them", () => {
    expect(validateBundle(ca.pem + ca2.pem).length).toBe(2);
  });
  test.each([
    ["", /trust bundle: empty/],
    ["   \n", /trust bundle: empty/],
    ["hello", /unexpected text outside PEM blocks/],
    ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", /block 1: not a parseable X.509 certificate/],
  ])("refuses %j", (text, re) => {
    expect(() => validateBundle(text)).toThrow(re);
  });
  test("refuses a private key in a bundle, naming the block", () => {
    expect(() => validateBundle(ca.pem + leaf.keyPem!)).toThrow(/block 2: is a "PRIVATE KEY" block, only CERTIFICATE is allowed \(a private key must never be placed here\)/);
  });
  test("refuses an expired certificate, naming it", () => {
    expect(() => validateBundle(ca.pem + expired.certPem)).toThrow(/block 2: certificate "CN=expired" expired at/);
  });
  test("refuses oversized input", () => {
    expect(() => validateBundle(ca.pem + " ".repeat(1024 * 1024))).toThrow(/exceeds the limit of 1048576/);
  });
  test("refuses PEM headers", () => {
    const withHeaders = ca.pem.replace("-----BEGIN CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n");
    expect(() => validateBundle(withHeaders)).toThrow(PemError);
  });
  test("key pair: matching passes, mismatching names the certificate", () => {
    const cert = validateCertificate(leaf.certPem);
    expect(() => validateKeyPair(cert, leaf.keyPem!)).not.toThrow();
    expect(() => validateKeyPair(cert, other.keyPem!, "tls.key")).toThrow(/tls.key: does not match the public key of certificate "CN=leaf"/);
    expect(() => validateKeyPair(cert, ca.pem, "tls.key")).toThrow(/is a "CERTIFICATE" block, expected PRIVATE KEY/);
    expect(() => validateKeyPair(cert, leaf.keyPem! + leaf.keyPem!, "tls.key")).toThrow(/exactly one PEM block, found 2/);
  });
});

describe("atomic writer", () => {
  const set = (v: string) => [
    { name: "ca.crt", data: `bundle ${v}\n` },
    { name: "tls.crt", data: `cert ${v}\n` },
    { name: "tls.key", data: `key ${v}\n` },
  ];
  test("publishes through ..data links with the mode, skips no-op writes, removes old versions", async () => {
    const d = mkdir();
    const w = new AtomicWriter(d);
    expect(await w.write(set("1"), { mode: 0o440 })).toBe("written");
    for (const n of ["ca.crt", "tls.crt", "tls.key"]) {
      expect(fs.readlinkSync(join(d, n))).toBe(`..data/${n}`);
      expect(fs.statSync(join(d, n)).mode & 0o777).toBe(0o440);
    }
    const v1 = fs.readlinkSync(join(d, "..data"));
    expect(await w.write(set("1"), { mode: 0o440 })).toBe("unchanged");
    expect(fs.readlinkSync(join(d, "..data"))).toBe(v1);
    expect(await w.write(set("1"), { mode: 0o400 })).toBe("written"); // a mode change is a change
    expect(await w.write(set("2"), { mode: 0o400 })).toBe("written");
    expect(fs.readFileSync(join(d, "tls.key"), "utf8")).toBe("key 2\n");
    expect(fs.readdirSync(d).filter((e) => e.startsWith("..2")).length).toBe(1);
    expect(fs.existsSync(join(d, v1))).toBe(false);
  });
  test("dropping a file removes its link without leaving it dangling", async () => {
    const d = mkdir();
    const w = new AtomicWriter(d);
    await w.write(set("1"), { mode: 0o440 });
    await w.write(set("2").slice(1), { mode: 0o440 });
    expect(fs.existsSync(join(d, "ca.crt"))).toBe(false);
    expect(() => fs.lstatSync(join(d, "ca.crt"))).toThrow();
  });
  test("refuses empty files and unsafe names", async () => {
    const w = new AtomicWriter(mkdir());
    await expect(w.write([{ name: "tls.crt", data: "" }], { mode: 0o440 })).rejects.toThrow(/refusing to write an empty tls.crt/);
    await expect(w.write([{ name: "../x", data: "a" }], { mode: 0o440 })).rejects.toThrow(/not a plain file name/);
    await expect(w.write([{ name: "..data", data: "a" }], { mode: 0o440 })).rejects.toThrow(/not a plain file name/);
  });
  test("recover() removes crash leftovers and restores missing links", async () => {
    const d = mkdir();
    const w = new AtomicWriter(d);
    await w.write(set("1"), { mode: 0o440 });
    const cur = fs.readlinkSync(join(d, "..data"));
    // Simulate a crash mid-write: a half-written version dir, a dangling ..data_tmp, a lost link.
    fs.mkdirSync(join(d, "..2026_01_01_00_00_00.000000001.abcdef"));
    fs.writeFileSync(join(d, "..2026_01_01_00_00_00.000000001.abcdef", "tls.crt"), "partial");
    fs.symlinkSync("..2026_01_01_00_00_00.000000001.abcdef", join(d, "..data_tmp"));
    fs.unlinkSync(join(d, "tls.key"));
    const { removed } = await new AtomicWriter(d).recover();
    expect(removed.sort()).toEqual(["..2026_01_01_00_00_00.000000001.abcdef", "..data_tmp"].sort());
    expect(fs.readlinkSync(join(d, "..data"))).toBe(cur);
    expect(fs.readFileSync(join(d, "tls.key"), "utf8")).toBe("key 1\n");
  });
  test("a reader never sees a mixed set while writes race", async () => {
    const d = mkdir();
    const w = new AtomicWriter(d);
    await w.write(set("0"), { mode: 0o440 });
    let stop = false;
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        // Resolve ..data once, as a reader holding the directory would, then read both files.
        try {
          const v = fs.readlinkSync(join(d, "..data"));
          const c = fs.readFileSync(join(d, v, "tls.crt"), "utf8").split(" ")[1];
          const k = fs.readFileSync(join(d, v, "tls.key"), "utf8").split(" ")[1];
          expect(c).toBe(k!);
          reads++;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e; // old version removed under us: retry
        }
        await new Promise((r) => setImmediate(r)); // yield to the event loop so the writer progresses
      }
    })();
    for (let i = 1; i <= 50; i++) await w.write(set(String(i)), { mode: 0o440 });
    stop = true;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect(fs.readFileSync(join(d, "tls.crt"), "utf8")).toBe("cert 50\n");
  });
});

describe("identity", () => {
  test.each(["ECDSA-P256", "RSA-2048"] as const)("%s key: PKCS#8 PEM and a CSR with subject and clientAuth", async (alg) => {
    const key = await generateKey(alg);
    expect(key.pkcs8Pem).toStartWith("-----BEGIN PRIVATE KEY-----");
    const pem = await createCsr(key, { commonName: "kb, with comma", organizationalUnit: "qs" });
    const csr = new x509.Pkcs10CertificateRequest(pem);
    expect(await csr.verify()).toBe(true);
    expect(csr.subjectName.getField("CN")).toEqual(["kb, with comma"]);
    expect(csr.subjectName.getField("OU")).toEqual(["qs"]);
    const eku = csr.extensions.find((e) => e instanceof x509.ExtendedKeyUsageExtension) as x509.ExtendedKeyUsageExtension;
    expect(eku.usages).toEqual([CLIENT_AUTH_OID]);
    const bc = csr.extensions.find((e) => e instanceof x509.BasicConstraintsExtension) as x509.BasicConstraintsExtension;
    expect(bc.ca).toBe(false);
    expect((csr.publicKey.algorithm as { name: string }).name).toBe(alg === "RSA-2048" ? "RSASSA-PKCS1-v1_5" : "ECDSA");
  });
  test("a new key every time", async () => {
    const a = await generateKey("ECDSA-P256");
    const b = await generateKey("ECDSA-P256");
    expect(a.pkcs8Pem).not.toBe(b.pkcs8Pem);
  });
  test("subjectMatches compares CN and OU exactly", async () => {
    const ca = await makeCa("c");
    const leaf = await issueLeaf(ca, { cn: "a", ou: "b" });
    expect(subjectMatches(leaf.cert, { commonName: "a", organizationalUnit: "b" })).toBe(true);
    expect(subjectMatches(leaf.cert, { commonName: "a", organizationalUnit: "c" })).toBe(false);
  });
  test("renewal at 2/3 of the lifetime ±10 %", () => {
    const nb = new Date(0);
    const na = new Date(3_000_000);
    const at = (r: number) => renewalTime(nb, na, 2 / 3, () => r).getTime();
    expect(at(0.5)).toBe(2_000_000);
    expect(at(0)).toBeCloseTo(1_800_000, -1);
    expect(at(0.999999)).toBeCloseTo(2_200_000, -1);
    for (let i = 0; i < 200; i++) {
      const t = renewalTime(nb, na).getTime();
      expect(t).toBeGreaterThanOrEqual(1_800_000);
      expect(t).toBeLessThanOrEqual(2_200_000);
    }
  });
  test("retry delay grows, is capped, and never exceeds a third of the remaining validity", () => {
    const now = new Date(0);
    const far = new Date(10 * 86_400_000);
    const o = { minMs: 1000, maxMs: 300_000 };
    expect(retryDelay(0, now, far, o, () => 1)).toBe(1000);
    expect(retryDelay(3, now, far, o, () => 1)).toBe(8000);
    expect(retryDelay(30, now, far, o, () => 1)).toBe(300_000);
    const soon = new Date(60_000); // one minute left
    expect(retryDelay(30, now, soon, o, () => 1)).toBe(20_000);
    expect(retryDelay(30, now, new Date(1500), o, () => 1)).toBe(1000);
  });
});

describe("config and backoff", () => {
  const base = ["--controller-url=https://ctl:8443/", "--controller-ca=/ca.crt", "--role=elasticsearch"];
  test("flags override env; defaults apply", () => {
    const c = loadConfig([...base, "--health-port", "9000"], { ES_MTLS_HEALTH_PORT: "1", ES_MTLS_FILE_MODE: "0440" });
    expect(c.healthPort).toBe(9000);
    expect(c.fileMode).toBe(0o440);
    expect(c.controllerUrl).toBe("https://ctl:8443");
    expect(c.probeUrl).toBe("https://127.0.0.1:9200");
    expect(c.heartbeatTimeoutMs).toBe(30_000);
  });
  test.each([
    [["--role=foo"], /--role: "foo"/],
    [["--controller-url=http://x"], /must be an https/],
    [["--nope=1"], /unknown option --nope/],
    [["--file-mode=999"], /not an octal mode/],
    [["--proof-timeout-ms=abc"], /not an integer/],
  ])("refuses %j", (extra, re) => {
    expect(() => loadConfig([...base, ...extra], {})).toThrow(re);
  });
  test("requires the controller URL", () => {
    expect(() => loadConfig(["--role=kibana", "--controller-ca=/x"], {})).toThrow(/--controller-url \(or ES_MTLS_CONTROLLER_URL\) is required/);
  });
  test("reconnect backoff is jittered within [min, capped max]", () => {
    for (let a = 0; a < 12; a++) {
      const d = backoffDelay(a, { minMs: 100, maxMs: 5000 });
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(Math.min(5000, 100 * 2 ** a));
    }
    expect(backoffDelay(20, { minMs: 100, maxMs: 5000 }, () => 1)).toBe(5000);
  });
});

describe("pem fixtures sanity", () => {
  test("pkcs8Pem round-trips through validateKeyPair", async () => {
    const ca = await makeCa("x");
    const l = await issueLeaf(ca, { cn: "y" });
    expect(await pkcs8Pem(((await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"])) as CryptoKeyPair).privateKey)).toContain("PRIVATE KEY");
    expect(() => validateKeyPair(validateCertificate(l.certPem), l.keyPem!)).not.toThrow();
  });
});
