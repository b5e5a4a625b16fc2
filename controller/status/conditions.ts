// Condition helpers, in one place: build one, and merge a reconcile's conditions into the
// previous ones keeping lastTransitionTime where a condition's status did not change.
import type { Condition } from "../resources.ts";

export function cond(type: string, status: Condition["status"], reason: string, message: string): Condition {
  return { type, status, reason, message };
}

/** RFC 3339 to the second, as Kubernetes writes metav1.Time. */
export function kubeTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Keeps lastTransitionTime when a condition's status did not change; a later condition of the same type wins. */
export function mergeConditions(previous: Condition[] | undefined, next: Condition[], now: Date = new Date()): Condition[] {
  const at = kubeTime(now);
  const byType = new Map<string, Condition>();
  for (const c of next) byType.set(c.type, c);
  return [...byType.values()]
    .map((c) => {
      const before = previous?.find((p) => p.type === c.type);
      return { ...c, lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime ?? at : at };
    })
    .sort((a, b) => (a.type < b.type ? -1 : 1));
}
