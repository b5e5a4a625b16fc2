// A freshly issued certificate is renewed at the fraction of its life counted from its issuance:
// the controller back-dates notBefore by 10 min (clock skew), so counting from notBefore made any
// certificate shorter than ~30 min due at once (found by test/e2e/transitions-under-load.test.ts
// with --agent-cert-validity=75s: agents re-issued until rate-limited, Kibana restarted in a loop).
import { expect, test } from "bun:test";
import { renewalAfterIssue, renewalTime } from "../../../agent/identity/schedule.ts";

const mid = () => 0.5; // no jitter

test("75 s certificate back-dated 10 min: renewed 50 s after issue, not at once", () => {
  const issued = new Date("2026-11-29T01:00:00Z");
  const notBefore = new Date(issued.getTime() - 10 * 60_000);
  const notAfter = new Date(issued.getTime() + 75_000);
  expect(renewalTime(notBefore, notAfter, 2 / 3, mid).getTime()).toBeLessThan(issued.getTime()); // the old rule: due before it arrived
  expect(renewalAfterIssue(notBefore, notAfter, issued, 2 / 3, mid).getTime() - issued.getTime()).toBe(50_000);
});

test("without back-dating, or with the default 168 h, nothing changes", () => {
  const issued = new Date("2026-11-29T01:00:00Z");
  const notAfter = new Date(issued.getTime() + 168 * 3600_000);
  expect(renewalAfterIssue(issued, notAfter, issued, 2 / 3, mid)).toEqual(renewalTime(issued, notAfter, 2 / 3, mid));
  // An issuance time past notAfter (a clock jump) is clamped: due at notAfter at the latest.
  expect(renewalAfterIssue(issued, notAfter, new Date(notAfter.getTime() + 1), 2 / 3, mid)).toEqual(notAfter);
});
