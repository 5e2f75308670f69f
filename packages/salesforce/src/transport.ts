import type { Duplex } from "node:stream";
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  pinToOrigin,
  RemoteApiError,
} from "@cosell/core";

/** The part of jsforce's transport the connection and OAuth2 client call. */
interface HttpTransport {
  httpRequest(
    req: { url: string; method: string; headers?: Record<string, string> },
    options?: object,
  ): unknown;
}

/**
 * Puts cosell's remote-call policy on a jsforce connection or OAuth2 client: a deadline per call
 * (jsforce's own default is 30 minutes, its internal retries included) and redirects refused when
 * they leave the request's origin (jsforce would follow any 3xx with the Authorization header). A
 * same-origin redirect is followed as jsforce would (GET, same headers).
 */
export function guardTransport(
  target: { _transport: unknown },
  timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES,
): void {
  const inner = target._transport as HttpTransport;
  const guarded: HttpTransport = {
    httpRequest(req, options = {}) {
      const sent = inner.httpRequest(req, {
        ...options,
        timeout: timeoutMs,
        followRedirect: (location: string) => {
          let url: string;
          try {
            url = pinToOrigin(location, new URL(req.url).origin, "redirect", "Salesforce");
          } catch (e) {
            throw new RemoteApiError(
              "REMOTE_REDIRECT_REFUSED",
              `Salesforce answered ${req.method} ${new URL(req.url).pathname} with a redirect to another address (${location.slice(0, 200)}); it was not followed, so the session token stayed home. Check crm.instanceUrl / crm.auth.loginUrl.`,
              { retryable: false, cause: e },
            );
          }
          return { method: "GET", url, headers: req.headers ?? {} };
        },
      });
      capBody(sent, maxResponseBytes, `${req.method} ${new URL(req.url).pathname}`);
      return sent;
    },
  };
  target._transport = guarded;
}

/**
 * Refuses an answer larger than `maxBytes` (`REMOTE_RESPONSE_TOO_LARGE`) instead of reading it all
 * into memory: at once by its Content-Length, or as soon as the bytes read pass the cap. jsforce's
 * request is a duplex stream that emits `response` (status, headers) and then the body; destroying
 * it with the error rejects the call.
 */
function capBody(sent: unknown, maxBytes: number, where: string): void {
  // jsforce's StreamPromise: a promise with `stream()` returning the request's duplex.
  const stream = (sent as { stream?: () => Duplex } | undefined)?.stream?.();
  if (!stream || typeof stream.on !== "function") return;
  const tooLarge = (size: string) =>
    new RemoteApiError(
      "REMOTE_RESPONSE_TOO_LARGE",
      `Salesforce answered ${where} with ${size}, more than crm.maxResponseBytes (${maxBytes} bytes); it was not read. Raise crm.maxResponseBytes if such answers are expected, or lower crm.pageSize.`,
      { retryable: false, details: { maxResponseBytes: maxBytes } },
    );
  // The call's own promise listens for `error` from the start. jsforce's body reader adds another
  // listener on `response` and is awaited inside an async event handler nobody catches: if it saw the
  // error, its rejection would be unhandled (and end the process). So the refusal goes to the call's
  // listener only, and the abandoned reader is left pending, to be collected with the stream.
  const callListeners = new Set(stream.listeners("error"));
  let refused = false;
  const refuse = (size: string) => {
    if (refused) return;
    refused = true;
    for (const l of stream.listeners("error"))
      if (!callListeners.has(l)) stream.removeListener("error", l as (...a: unknown[]) => void);
    stream.destroy(tooLarge(size));
  };
  stream.on("response", (res: { headers?: Record<string, string | undefined> }) => {
    const declared = Number(res.headers?.["content-length"]);
    if (Number.isFinite(declared) && declared > maxBytes) {
      refuse(`${declared} bytes`);
      return;
    }
    let read = 0;
    // jsforce's own reader is attached (it pipes this stream) before the body flows: both see every chunk.
    stream.on("data", (chunk: Buffer | string) => {
      read += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
      if (read > maxBytes) refuse(`more than ${maxBytes} bytes`);
    });
  });
}
