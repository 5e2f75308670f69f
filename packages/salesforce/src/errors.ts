import {
  AuthError,
  CoSellError,
  errorMessage,
  NotFoundError,
  RemoteApiError,
  ThrottledError,
  TransientError,
} from "@cosell/core";

/** Per-record status codes that succeed when tried again later (record locks, timeouts). */
const RETRYABLE = new Set(["UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE"]);

/** Whether a per-record failure code may succeed on a later attempt. */
export function isRetryable(code: string): boolean {
  return RETRYABLE.has(code);
}

/** Turns whatever jsforce threw into a typed cosell error with a message that says what to do. */
export function toCoSellError(e: unknown, what: string): CoSellError {
  if (e instanceof CoSellError) return e;
  const code = String((e as { errorCode?: string }).errorCode ?? (e as { name?: string }).name ?? "UNKNOWN");
  if (isNetworkFailure(e))
    return new TransientError("SALESFORCE_UNREACHABLE", `Salesforce ${what} failed: ${errorMessage(e)}`, {
      retryable: true,
      cause: e,
    });
  const message = `Salesforce ${what} failed: ${code}: ${errorMessage(e)}`;
  if (/Unable to refresh session/.test(errorMessage(e)))
    return new AuthError("SALESFORCE_AUTH_FAILED", `${message}. Check the crm.auth settings.`, { cause: e });
  switch (code) {
    case "INVALID_SESSION_ID":
      return new AuthError(code, `${message}. The session could not be renewed.`, { status: 401, cause: e });
    case "REQUEST_LIMIT_EXCEEDED":
      return new ThrottledError(
        `${message}. The org's API allocation is used up; wait or raise the limit.`,
        undefined,
        { status: 403 },
      );
    case "NOT_FOUND":
      return new NotFoundError(code, message, { status: 404, cause: e });
    case "INVALID_FIELD":
      return new RemoteApiError(
        code,
        `${message}. Run \`cosell setup\` (fields or field permissions missing).`,
        {
          status: 400,
          cause: e,
        },
      );
    case "SERVER_UNAVAILABLE":
    case "UNKNOWN_EXCEPTION":
    case "ERROR_HTTP_500":
    case "ERROR_HTTP_502":
    case "ERROR_HTTP_503":
    case "ECONNRESET":
    case "ECONNREFUSED":
      return new TransientError(code, message, { retryable: true, cause: e });
    default:
      return new RemoteApiError(code, message, { cause: e });
  }
}

/** A connection that failed or broke before Salesforce answered (reset, refused, timed out, DNS). */
export function isNetworkFailure(e: unknown): boolean {
  const err = e as { name?: string; code?: string; cause?: { code?: string } } | undefined;
  const code = err?.code ?? err?.cause?.code ?? "";
  return (
    err?.name === "FetchError" ||
    // jsforce aborts a call that ran past its timeout (crm.requestTimeoutMs).
    err?.name === "AbortError" ||
    /^Request Timeout$/.test(errorMessage(e)) ||
    /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|UND_ERR_SOCKET)$/.test(code) ||
    /socket hang up|fetch failed|other side closed/i.test(errorMessage(e))
  );
}

/** A failure worth trying again: throttled, a 5xx, or the network. */
export function isTransientFailure(e: unknown): boolean {
  const name = String(
    (e as { name?: string; errorCode?: string })?.errorCode ?? (e as { name?: string })?.name ?? "",
  );
  // `unknown_error` is the OAuth endpoint's "retry your request".
  return (
    isNetworkFailure(e) ||
    /^ERROR_HTTP_(429|5\d\d)$/.test(name) ||
    name === "SERVER_UNAVAILABLE" ||
    name === "unknown_error"
  );
}
