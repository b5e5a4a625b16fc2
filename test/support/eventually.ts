// The one polling helper for tests: polls until a check passes or the time is up; the
// last failure is the error. A check passes when it returns without throwing; wrap a
// check that answers with a value instead (falsy = not yet) in truthy().
export async function eventually<T>(
  check: () => Promise<T> | T,
  { timeoutMs = 10_000, intervalMs = 100, what = "condition" } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} not met within ${timeoutMs} ms: ${last instanceof Error ? last.message : String(last)}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Turns a check that returns a value (falsy = not yet) into one for eventually(). */
export function truthy<T>(check: () => Promise<T> | T): () => Promise<NonNullable<T>> {
  return async () => {
    const value = await check();
    if (!value) throw new Error(`check returned ${JSON.stringify(value) ?? String(value)}`);
    return value as NonNullable<T>;
  };
}
