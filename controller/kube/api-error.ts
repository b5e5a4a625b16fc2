// The kube-apiserver's refusals as predicates, so callers write `if (isNotFound(e))` rather
// than `catch (e: any)` + `e?.code`. client-node 1.x throws an ApiException whose `code` is the
// HTTP status and whose `body` is the apiserver's Status (a JSON string or already parsed).
//
// Failure idiom of the kube layer: every API call throws; callers that expect a particular
// refusal (404 on a read, 403 from RBAC, 409 on a create, 429 from a PodDisruptionBudget) test for it here
// and rethrow the rest.

/** HTTP status of an apiserver error, or undefined for anything else (network, programming error). */
function apiStatusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** The Status `reason` word of an apiserver error ("NotFound", "AlreadyExists", "Conflict", ...). */
function apiReason(error: unknown): string | undefined {
  const status = statusBody(error);
  return typeof status?.reason === "string" ? status.reason : undefined;
}

export const isNotFound = (error: unknown): boolean => apiStatusCode(error) === 404;
/** 403: RBAC does not allow the request. */
export const isForbidden = (error: unknown): boolean => apiStatusCode(error) === 403;
/** 409 on a create: the object already exists. */
export const isAlreadyExists = (error: unknown): boolean => apiStatusCode(error) === 409 && apiReason(error) !== "Conflict";
/** 409 on an update: the object changed since it was read (optimistic concurrency). */
export const isConflict = (error: unknown): boolean => apiStatusCode(error) === 409 && apiReason(error) !== "AlreadyExists";
/** 429: throttled, or an eviction a PodDisruptionBudget refuses for now. */
export const isTooManyRequests = (error: unknown): boolean => apiStatusCode(error) === 429;

/** One line for a log: the apiserver's message when there is one, else the error's own. */
export function apiErrorMessage(error: unknown): string {
  const message = statusBody(error)?.message;
  if (typeof message === "string" && message) return message;
  return error instanceof Error ? error.message : String(error);
}

function statusBody(error: unknown): { reason?: unknown; message?: unknown } | undefined {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === "string") {
    try {
      const parsed: unknown = JSON.parse(body);
      return parsed && typeof parsed === "object" ? (parsed as { reason?: unknown; message?: unknown }) : undefined;
    } catch {
      return undefined;
    }
  }
  return body && typeof body === "object" ? (body as { reason?: unknown; message?: unknown }) : undefined;
}
