// `npm start`: the product's demo on a local cluster that runs itself. A real control plane with
// kube-controller-manager, the controller with its pod webhook, the test node running the agent from
// its image (where podman is present; else the shipped binary) next to Elasticsearch stand-ins, and an ECK-shaped 3-node `quickstart` StatefulSet (all as
// the lifecycle e2e test builds it). It switches client authentication on, follows the rollout,
// proves a request without a certificate is refused and one with the controller's certificate
// accepted, switches it off again, then waits for Ctrl-C (or exits with `--exit-when-done`). A
// Kibana Deployment (the stand-in) rides along and is restarted first; `--no-kibana` leaves it out.
import { agentSource, agentSourceName, Lifecycle, MTLS_SECRETS, NS, ES_NAME } from "../e2e/lifecycle/cluster.ts";
import { info, notWhole } from "../e2e/lifecycle/observe.ts";
import { eventually } from "../support/eventually.ts";
import { clientAuthentication, follow, kibanaRestarting, say, table } from "./progress.ts";
import { createKibana, kibanaPods, kibanaStatus } from "./kibana.ts";

const exitWhenDone = process.argv.includes("--exit-when-done") || process.env.ES_MTLS_DEMO_EXIT_WHEN_DONE === "1";
const withKibana = !process.argv.includes("--no-kibana");
const verbose = process.argv.includes("--verbose") ? (l: string) => console.error(`  ${l}`) : () => {};

let lc: Lifecycle | undefined;
let stopping = false;

/** Stops every process the demo started (node's pods, DNS, controller, control plane), then exits. */
async function shutdown(code: number, boundMs = 30_000): Promise<never> {
  if (!stopping) {
    stopping = true;
    say("stopping: pods, controller, control plane");
    // Bounded: a hung step must not keep the demo alive; the exit hooks SIGKILL whatever is left.
    // A terminal's Ctrl-C signals the whole process group, so etcd is already gone and the API
    // calls of a graceful stop would only wait: hence the short bound on a signal.
    const done = await Promise.race([lc?.stop().then(() => true), Bun.sleep(boundMs).then(() => false)]);
    say(done ? "stopped" : "stopped (the rest killed)");
  }
  process.exit(code);
}

/** The control plane's own signal handler kills synchronously and exits 130; once we are up we stop gracefully instead (a second Ctrl-C forces it). */
function takeOverSignals(): void {
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.removeAllListeners(sig);
    process.on(sig, () => {
      if (stopping) process.exit(130); // exit hooks kill what is left
      void shutdown(0, 5_000);
    });
  }
}

/** Requests to every pod through the official client: without a certificate, and with `cert`. */
async function prove(caPem: string, cert: { cert: string; key: string } | undefined, expect: "refused" | "accepted"): Promise<boolean> {
  let good = true;
  for (const p of await lc!.pods()) {
    const answer = await info(p.status!.podIP!, caPem, cert);
    // Refused = the TLS layer closed the connection (a 401 would be a ResponseError, i.e. not refused by mTLS).
    const got = answer === "ok" ? "accepted" : answer.startsWith("ConnectionError") ? "refused" : `failed (${answer})`;
    good &&= got === expect;
    say(`  ${p.metadata!.name} (${p.status!.podIP}:9200) ${cert ? "with the trusted certificate" : "without a certificate"}: ${got}${got === "refused" ? ` — ${answer.slice(0, 90)}` : ""}`);
  }
  return good;
}

try {
  say("starting a local cluster: control plane (the first run builds it: minutes), controller + webhook, test node, 3-node Elasticsearch StatefulSet");
  say("the agent: its image where podman is present (the first run builds it: minutes), else the built binary");
  const agent = agentSource((l) => say(`  ${l}`));
  say(`  ${agentSourceName(agent)}: ${"image" in agent ? agent.image : `(${agent.binary})`}`);
  lc = await Lifecycle.start(verbose, { agent });
  takeOverSignals();
  if (withKibana) await createKibana(lc);
  const kibana = withKibana ? () => kibanaPods(lc!) : undefined;
  await eventually(async () => {
    const problems = [...notWhole(await lc!.pods()), ...(kibana ? kibanaRestarting(await kibana(), 1) : [])];
    if (problems.length) throw new Error(problems.join("; "));
  }, { timeoutMs: 40_000, intervalMs: 500, what: `3 Ready Elasticsearch pods${withKibana ? " and a Ready Kibana" : ""}` });
  say(`cluster up. kubeconfig: ${lc.cp.certKubeconfigPath}`);
  say(`  try: KUBECONFIG=${lc.cp.certKubeconfigPath} kubectl get pods,clientauthentications -n ${NS}`);
  let ok = await prove(lc.httpCaPem, undefined, "accepted");

  say(`switching client authentication ON: kubectl patch elasticsearch ${ES_NAME} -n ${NS} spec.http.tls.client.authentication=true`);
  await lc.setAuthentication(true);
  await follow(lc, "Enabled", 180_000, kibana);
  console.log(table(await clientAuthentication(lc)));
  const internal = await lc.secret(MTLS_SECRETS[0]!);
  if (!internal?.["tls.crt"]) throw new Error(`Secret ${MTLS_SECRETS[0]} missing`);
  say(`requests while certificates are required (trusted certificate: Secret ${MTLS_SECRETS[0]}):`);
  ok = (await prove(lc.httpCaPem, undefined, "refused")) && ok;
  ok = (await prove(lc.httpCaPem, { cert: internal["tls.crt"], key: internal["tls.key"]! }, "accepted")) && ok;
  if (withKibana) {
    // Kibana reaches Elasticsearch only with the certificate its agent got from the controller.
    const kb = await kibanaStatus(lc);
    ok &&= kb.endsWith(": available");
    say(`  Kibana ${kb} (talks to Elasticsearch with its own certificate, issued through its agent)`);
  }

  say(`switching client authentication OFF: spec.http.tls.client.authentication=false`);
  await lc.setAuthentication(false);
  await follow(lc, "Disabled", 180_000, kibana);
  console.log(table(await clientAuthentication(lc)));
  const left = [];
  for (const name of MTLS_SECRETS) if (await lc.secret(name)) left.push(name);
  say(left.length ? `still present: ${left.join(", ")}` : `cleaned up after the last proof: ${MTLS_SECRETS.join(", ")}`);
  say("requests after switching off:");
  ok = (await prove(lc.httpCaPem, undefined, "accepted")) && ok && left.length === 0;
  if (withKibana) {
    const kb = await kibanaStatus(lc);
    ok &&= kb.endsWith(": available");
    say(`  Kibana ${kb}`);
  }

  if (!ok) throw new Error("a request did not get the expected answer (see above)");
  say("demo complete");
  if (exitWhenDone) await shutdown(0);
  say("the cluster keeps running; Ctrl-C stops everything");
} catch (e) {
  say(`failed: ${e instanceof Error ? e.message : String(e)}`);
  for (const l of lc?.controller?.logs.slice(-20) ?? []) console.error(l);
  if (lc && withKibana) for (const p of await kibanaPods(lc).catch(() => [])) {
    const local = lc.node?.pod(NS, p.metadata!.name!);
    console.error(`Kibana pod ${p.metadata!.name}: ${JSON.stringify(p.status?.containerStatuses?.map((c) => [c.name, c.ready, c.state]))}`);
    for (const c of ["kibana", "es-mtls-agent"]) console.error(`--- ${c}:\n${String(local?.logs(c) ?? "").split("\n").slice(-15).join("\n")}`);
  }
  await shutdown(1);
}
