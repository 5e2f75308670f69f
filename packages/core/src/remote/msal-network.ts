import type { INetworkModule, NetworkResponse } from "@azure/msal-node";
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  isRedirectStatus,
  readTextCapped,
} from "./guard.js";

/** Settings of {@link boundedMsalNetwork}. */
export interface BoundedMsalNetworkOptions {
  /** One token or metadata request is abandoned after this long. Default 60 s. */
  timeoutMs?: number;
  /** Largest answer read (bytes). Default 32 MiB. */
  maxResponseBytes?: number;
  /** Defaults to the global fetch. */
  fetch?: typeof globalThis.fetch;
}

/**
 * msal's network client (`system.networkClient`) with the same policy as every other remote call:
 * a deadline per request (msal-node's own client sets none on the token POST), redirects refused
 * rather than followed with the client's credential, and a size cap on the answer. A failure is
 * thrown as a plain error: msal reports it as `network_error`, which cosell treats as transient.
 */
export function boundedMsalNetwork(options: BoundedMsalNetworkOptions = {}): INetworkModule {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  async function send<T>(
    url: string,
    method: "GET" | "POST",
    opts: { headers?: Record<string, string>; body?: string } | undefined,
    timeout?: number,
  ): Promise<NetworkResponse<T>> {
    const res = await doFetch(url, {
      method,
      headers: opts?.headers ?? {},
      ...(method === "POST" ? { body: opts?.body ?? "" } : {}),
      redirect: "manual",
      signal: AbortSignal.timeout(Math.min(timeout ?? timeoutMs, timeoutMs)),
    });
    if (isRedirectStatus(res.status)) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error(`Entra ID answered with a redirect (${res.status}); not followed.`);
    }
    const text = await readTextCapped(res, maxBytes, `${method} ${new URL(url).pathname}`, "Entra ID");
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      // msal reads an OAuth error from the body; a non-JSON answer is reported by its status.
      body = { error: `http_${res.status}`, error_description: "The answer was not JSON." };
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      headers[k] = v;
    });
    return { headers, body: body as T, status: res.status };
  }

  return {
    sendGetRequestAsync: (url, opts, timeout) => send(url, "GET", opts, timeout),
    sendPostRequestAsync: (url, opts) => send(url, "POST", opts),
  };
}
