import type { SandboxResponse } from "../kit/index.js";

/**
 * The error codes of the Partner Center REST APIs' error body (MicrosoftDocs/partner-rest
 * "error-codes"), plus `conflict`, which the webhook registration answers when an event already has a URL.
 */
export type PartnerCenterErrorCode =
  | "accessDenied"
  | "generalException"
  | "invalidRequest"
  | "itemNotFound"
  | "preconditionFailed"
  | "resourceModified"
  | "serviceNotAvailable"
  | "unauthenticated"
  | "conflict";

/** A refusal by the emulated Partner Center: an HTTP status, the wire code and a message that says what to do. */
export class PartnerCenterError extends Error {
  readonly status: number;
  readonly code: PartnerCenterErrorCode;
  /**
   * The finer reason, when there is one: core's lifecycle codes (`TRANSITION_NOT_ALLOWED`,
   * `FIELD_NOT_EDITABLE`, `DEAL_ARCHIVED`, `REASON_REQUIRED`, a guard's code) or `VALIDATION_FAILED`.
   * Sent as `error.innerError.code`.
   */
  readonly reason?: string;
  /** Referral fields the refusal is about (sent as `error.innerError.fields`). */
  readonly fields?: string[];
  readonly target: string;

  constructor(
    status: number,
    code: PartnerCenterErrorCode,
    message: string,
    opts: { reason?: string; fields?: string[]; target?: string } = {},
  ) {
    super(message);
    this.name = "PartnerCenterError";
    this.status = status;
    this.code = code;
    this.reason = opts.reason;
    this.fields = opts.fields;
    this.target = opts.target ?? "referral";
  }

  /** The documented error body: `{"error":{"code","message","target"}}` (+ `innerError` with the reason). */
  toResponse(headers: SandboxResponse["headers"] = {}): SandboxResponse {
    return errorResponse(this.status, this.code, this.message, {
      target: this.target,
      headers,
      innerError:
        this.reason || this.fields
          ? { ...(this.reason ? { code: this.reason } : {}), ...(this.fields ? { fields: this.fields } : {}) }
          : undefined,
    });
  }
}

/** Builds a Partner Center error response. */
export function errorResponse(
  status: number,
  code: PartnerCenterErrorCode,
  message: string,
  opts: { target?: string; headers?: SandboxResponse["headers"]; innerError?: Record<string, unknown> } = {},
): SandboxResponse {
  return {
    status,
    headers: opts.headers ?? {},
    body: {
      error: {
        code,
        message,
        target: opts.target ?? "referral",
        ...(opts.innerError ? { innerError: opts.innerError } : {}),
      },
    },
  };
}

export const notFound = (id: string) =>
  new PartnerCenterError(404, "itemNotFound", `Referral ${id} does not exist.`, { target: "referral" });

export const invalidRequest = (message: string, opts: { reason?: string; fields?: string[] } = {}) =>
  new PartnerCenterError(400, "invalidRequest", message, {
    reason: opts.reason ?? "VALIDATION_FAILED",
    ...opts,
  });

/** A lifecycle violation (409): the stage move, field edit or action is not allowed now. */
export const lifecycleViolation = (reason: string, message: string, fields?: string[]) =>
  new PartnerCenterError(409, "invalidRequest", message, { reason, fields });
