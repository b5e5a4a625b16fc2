// The agent's one failure vocabulary, after jose's util/errors.ts: every error the agent
// raises on purpose is an AgentError with a `code` discriminant. Callers branch on
// `err.code` (or instanceof), never on a message; messages are for humans and logs.

type AgentErrorCode =
  | "ERR_AGENT_CONFIG"
  | "ERR_INTENT_REFUSED"
  | "ERR_PEM_INVALID"
  | "ERR_WRITE"
  | "ERR_CONTROLLER"
  | "ERR_IDENTITY"
  | "ERR_WORKLOAD"
  | "ERR_RUNTIME_UNSUPPORTED";

abstract class AgentError extends Error {
  abstract readonly code: AgentErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad flag or environment variable: the process exits 2. */
export class ConfigError extends AgentError {
  readonly code = "ERR_AGENT_CONFIG";
}

/** The intent itself is unusable (wrong role, bad layout, bad bundle): it stays refused until a newer one comes. */
export class IntentRefused extends AgentError {
  readonly code = "ERR_INTENT_REFUSED";
}

/** PEM text that must not reach the disk (from an intent, the controller, a user secret or the disk). */
export class PemError extends AgentError {
  readonly code = "ERR_PEM_INVALID";
}

/** Publishing the file set failed (bad name, empty file, read-only or full volume). */
export class WriteError extends AgentError {
  readonly code = "ERR_WRITE";
}

/** A request to the controller failed; `status` is the HTTP status when one came back. */
export class ControllerError extends AgentError {
  readonly code = "ERR_CONTROLLER";
  constructor(message: string, readonly status?: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The pod's identity could not be obtained (issuance failed or was answered wrongly, user files unreadable). */
export class IdentityError extends AgentError {
  readonly code = "ERR_IDENTITY";
}

/** The local workload did not answer a status question the way a proof needs. */
export class WorkloadError extends AgentError {
  readonly code = "ERR_WORKLOAD";
}

/** Neither Bun nor Deno: there is no adapter for this runtime. */
export class UnsupportedRuntime extends AgentError {
  readonly code = "ERR_RUNTIME_UNSUPPORTED";
}

/** A refusal is a verdict on the intent's content: retrying the same intent cannot help. */
export function isRefusal(e: unknown): e is IntentRefused | PemError {
  return e instanceof AgentError && (e.code === "ERR_INTENT_REFUSED" || e.code === "ERR_PEM_INVALID");
}
