// The agent's requests and limits for one pod: the controller's (--agent-* flags) with the pod's
// AGENT_RESOURCES_ANNOTATION, e.g. {"requests":{"memory":"96Mi"},"limits":{"memory":"192Mi"}},
// merged over them.
//
// An invalid annotation (not JSON, an unknown key, not a quantity, a limit below its request) is not
// applied, and not refused either: the apiserver validates the pod after our patch, so a bad value
// patched in would refuse the pod, and refusing it here would too. Under ECK the StatefulSet
// controller creates the pods, so a refusal would stall a rollout over a sizing hint. The pod gets
// the defaults and the reason goes where it can be seen: the admission warning (shown to whoever
// creates the pod directly), the controller's log and the pod's injection record (the StatefulSet
// controller drops warnings; the pod keeps the record).
import { limitBelowRequest, parseQuantity, type AgentResources } from "../../common/quantity.ts";
import { AGENT_RESOURCES_ANNOTATION } from "../names.ts";

type AgentResourcesChoice = { resources: AgentResources; ignored?: string };

const KINDS = ["requests", "limits"] as const;
const RESOURCES = ["cpu", "memory"] as const;
/** An echoed value is cut here: warnings are short, and the annotation is the pod author's text. */
const MAX_ECHO = 40;

/** The resources for a pod with these annotations; `ignored` says why its annotation was not applied. */
export function agentResourcesFor(annotations: Record<string, string> | undefined, defaults: AgentResources): AgentResourcesChoice {
  const raw = annotations?.[AGENT_RESOURCES_ANNOTATION];
  if (raw === undefined) return { resources: defaults };
  const merged = mergeOverride(raw, defaults);
  if (typeof merged === "string") return { resources: defaults, ignored: `annotation ${AGENT_RESOURCES_ANNOTATION} ignored, the controller's agent resources used: ${merged}` };
  return { resources: merged };
}

/** The defaults with the annotation's values over them, or what is wrong with it. */
function mergeOverride(raw: string, defaults: AgentResources): AgentResources | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return `not JSON (expected e.g. {"requests":{"memory":"96Mi"},"limits":{"memory":"192Mi"}})`;
  }
  if (!isObject(value)) return "not a JSON object with requests and/or limits";
  const merged: AgentResources = { requests: { ...defaults.requests }, limits: { ...defaults.limits } };
  for (const [kind, entries] of Object.entries(value)) {
    if (!(KINDS as readonly string[]).includes(kind)) return `unknown key ${echo(kind)} (requests, limits)`;
    if (!isObject(entries)) return `${kind} is not an object of cpu and/or memory`;
    for (const [resource, q] of Object.entries(entries)) {
      if (!(RESOURCES as readonly string[]).includes(resource)) return `unknown key ${kind}.${echo(resource)} (cpu, memory)`;
      // The apiserver takes a number where a quantity goes, as in a pod spec.
      const text = typeof q === "number" ? String(q) : q;
      if (typeof text !== "string" || parseQuantity(text) === undefined) return `${kind}.${resource} ${echo(q)} is not a Kubernetes quantity (e.g. 96Mi, 1Gi, 50m)`;
      merged[kind as (typeof KINDS)[number]][resource as (typeof RESOURCES)[number]] = text;
    }
  }
  const below = limitBelowRequest(merged);
  if (below) return `limits.${below.resource} ${below.limit} is below requests.${below.resource} ${below.request} (after merging over the controller's)`;
  return merged;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function echo(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > MAX_ECHO ? `${text.slice(0, MAX_ECHO)}…` : text;
}
