/**
 * Every error cosell raises is a {@link CoSellError}: a stable `code` to branch on, a message written
 * for the person who has to fix it, and structured `details` for logs and the CLI's `--json` output.
 */
export class CoSellError extends Error {
  /** Stable, documented identifier (see docs/troubleshooting.md). */
  readonly code: string;
  /** Machine-readable context: the field, the record, the server's reply. Never secrets. */
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** One broken business rule or malformed field. */
export interface ValidationIssue {
  /** e.g. `DEAL_NAME_REQUIRED`. */
  code: string;
  /** Dotted path of the offending field in the canonical deal, e.g. `team.0.email`. */
  path: string;
  /** What is wrong and how to fix it. */
  message: string;
}

/** A deal, referral or CRM record breaks a rule; `issues` lists every broken rule, not just the first. */
export class ValidationError extends CoSellError {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[], details: Record<string, unknown> = {}) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    super(first?.code ?? "VALIDATION_FAILED", `${first?.message ?? "Invalid input."}${more}`, {
      ...details,
      issues,
    });
    this.issues = issues;
  }
}

/** A lifecycle action is not allowed in the deal's current state. */
export class TransitionError extends CoSellError {}

/** Invalid configuration: the message names the key, the value and the fix. */
export class ConfigError extends CoSellError {}

/** A remote system (Partner Center, Entra ID, a CRM) refused or failed a call. */
export class RemoteApiError extends CoSellError {
  /** HTTP status, when there was a response. */
  readonly status: number | undefined;
  /** Whether retrying the same call later can succeed. */
  readonly retryable: boolean;
  constructor(
    code: string,
    message: string,
    opts: { status?: number; retryable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(code, message, opts.details ?? {}, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = opts.status;
    this.retryable = opts.retryable ?? false;
  }
}

/** Credentials were refused or a token could not be obtained. */
export class AuthError extends RemoteApiError {}
/** The record does not exist on the remote side. */
export class NotFoundError extends RemoteApiError {}
/** Optimistic concurrency failed (HTTP 412); `current` holds the server's copy when it sent one. */
export class ConflictError extends RemoteApiError {
  readonly current: unknown;
  constructor(
    message: string,
    current: unknown,
    opts: { status?: number; details?: Record<string, unknown> } = {},
  ) {
    super("REMOTE_CONFLICT", message, { ...opts, retryable: false });
    this.current = current;
  }
}
/** The remote side throttled us and retries ran out; `retryAfterMs` is its last hint. */
export class ThrottledError extends RemoteApiError {
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    retryAfterMs: number | undefined,
    opts: { status?: number; details?: Record<string, unknown> } = {},
  ) {
    super("REMOTE_THROTTLED", message, { ...opts, retryable: true });
    this.retryAfterMs = retryAfterMs;
  }
}
/** A transient failure (5xx, connection reset, timeout) that outlived the retry budget. */
export class TransientError extends RemoteApiError {}
/** The remote side answered with something we cannot use (bad JSON, a field of the wrong type). */
export class ResponseValidationError extends RemoteApiError {}

/**
 * The Partner Center user sign-in is missing, expired, revoked or was never finished. The message
 * always ends with what to run (`cosell login`). Codes: `SIGN_IN_REQUIRED` (nobody signed in yet),
 * `SIGN_IN_EXPIRED` (Entra ID refused the saved refresh token), `SIGN_IN_TIMED_OUT` (a device code
 * expired before it was approved), `SIGN_IN_DECLINED`, `SIGN_IN_FAILED`.
 */
export class SignInRequiredError extends AuthError {}

/**
 * A local file cosell keeps (token cache, state lock) could not be read or written. Not a remote or
 * sign-in failure: the fix is on this machine (disk space, permissions, the encryption key).
 */
export class StorageError extends CoSellError {}

/** Another cosell process holds the state file (`STATE_LOCKED`); `holderPid` says which. */
export class StateLockedError extends CoSellError {
  readonly holderPid: number;
  constructor(message: string, holderPid: number, details: Record<string, unknown> = {}) {
    super("STATE_LOCKED", message, { ...details, holderPid });
    this.holderPid = holderPid;
  }
}

/** Pulls a readable message out of anything thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === "string" ? err : JSON.stringify(err);
}

/**
 * A cycle step ran past `sync.stepTimeoutMs`. Retryable: the step stopped without moving cursors, so
 * the next cycle reads the same changes again.
 */
export class StepTimeoutError extends RemoteApiError {
  constructor(step: string, timeoutMs: number) {
    super(
      "SYNC_STEP_TIMEOUT",
      `${step} did not finish within sync.stepTimeoutMs (${timeoutMs} ms); it was stopped and its cursors were not moved. The next cycle retries it; if this repeats, check that Partner Center and the CRM answer, or raise sync.stepTimeoutMs.`,
      { retryable: true, details: { step, timeoutMs } },
    );
  }
}
