/** A control-API refusal: an HTTP status, a stable code and a message that says what to do. */
export class ControlError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ControlError";
    this.status = status;
    this.code = code;
  }
}

/** A sandbox start/stop failure (bad options, unreadable snapshot, port in use). */
export class SandboxError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SandboxError";
    this.code = code;
  }
}

/**
 * Runs a control action, turning what it throws into a control-API refusal: a `ControlError` as is,
 * an error the system knows (`known`) into its own status and code, anything else into a 400.
 */
export function guardedControl<T>(fn: () => T, known?: (e: unknown) => ControlError | undefined): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ControlError) throw e;
    throw known?.(e) ?? new ControlError(400, "BAD_REQUEST", e instanceof Error ? e.message : String(e));
  }
}
