// The controller's one failure vocabulary, after jose's util/errors.ts (as agent/errors.ts is the
// agent's): every error the controller raises on purpose is a ControllerFailure with a `code`
// discriminant. Callers branch on `err.code` (or instanceof), never on a message; messages are
// for people and logs. The apiserver's own refusals are not wrapped: they are tested with the
// predicates of kube/api-error.ts. (Not named ControllerError: the agent's ControllerError means
// "a request to the controller failed".)

type ControllerFailureCode =
  | "ERR_CONTROLLER_CONFIG"
  | "ERR_PKI_MATERIAL"
  | "ERR_PKI_REQUEST"
  | "ERR_TRUST_BUNDLE_EMPTY"
  | "ERR_CA_SECRET_FOREIGN"
  | "ERR_OWNER_LOOKUP"
  | "ERR_INTENT_STALE"
  | "ERR_NOT_LEADER";

export abstract class ControllerFailure extends Error {
  abstract readonly code: ControllerFailureCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad flag, or settings that contradict each other (lease timing, queue size): the process exits 2. */
export class ConfigError extends ControllerFailure {
  readonly code = "ERR_CONTROLLER_CONFIG";
}

/** Stored key material (a CA or leaf Secret's tls.crt / tls.key) that cannot be used: the caller replaces or skips it. */
export class PkiMaterialError extends ControllerFailure {
  readonly code = "ERR_PKI_MATERIAL";
}

/** A request to issue a certificate that cannot be honoured as asked (e.g. a serving certificate without a DNS name). */
export class PkiRequestError extends ControllerFailure {
  readonly code = "ERR_PKI_REQUEST";
}

/** A cluster's CA Secret belongs to another cluster (or is not ours): nothing is signed with it. */
export class ForeignCaSecretError extends ControllerFailure {
  readonly code = "ERR_CA_SECRET_FOREIGN";
}

/** An owner could not be looked up for a reason that says nothing about the owner (apiserver unavailable): retry, do not judge. */
export class OwnerLookupError extends ControllerFailure {
  readonly code = "ERR_OWNER_LOOKUP";
}

/** An intent whose content changed without a higher generation: the store keeps the one it has. */
export class StaleIntentError extends ControllerFailure {
  readonly code = "ERR_INTENT_STALE";
}

/** A write asked for after this replica stopped leading (its renew deadline passed): refused, never sent. */
export class NotLeaderError extends ControllerFailure {
  readonly code = "ERR_NOT_LEADER";
}
