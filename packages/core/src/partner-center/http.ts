import { randomUUID } from "node:crypto";
import pRetry from "p-retry";
import type { z } from "zod";
import {
  AuthError,
  ConflictError,
  NotFoundError,
  RemoteApiError,
  ResponseValidationError,
  ThrottledError,
  TransientError,
} from "../errors.js";
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  isRedirectStatus,
  readTextCapped,
  redirectRefused,
} from "../remote/guard.js";
import { checkKey, describeNetworkFailure, unreachableConfigError } from "../remote/network-failure.js";
import type { CallStats } from "../sync/types.js";
import type { TokenProvider } from "./auth.js";
import { ApiErrorBodySchema } from "./referral.js";

/** The HTTP methods the Partner Center APIs use. */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** How hard to try before giving up with a typed error. */
export interface RetryPolicy {
  /** Attempts in all, the first one included (≥ 1). */
  maxAttempts: number;
  /** Give up when the next wait would take the call past this many ms (waits included). */
  maxRetryTimeMs: number;
  /** First backoff step when the server gives no Retry-After; doubles each retry (with jitter). */
  baseDelayMs: number;
  /** Cap of one backoff step. */
  maxDelayMs: number;
}

/** Six attempts within two minutes, backoff from 0.5 s up to 30 s per step. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 6,
  maxRetryTimeMs: 120_000,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
};

/** What the `onRequest` hook sees, once per HTTP request sent (retries and replays included). */
export interface RequestEvent {
  method: HttpMethod;
  url: string;
  /** 1 for the first try of a call, 2 for its first retry, … */
  attempt: number;
  /** The `MS-CorrelationId` sent: one GUID per call, kept across its retries so they trace together. */
  correlationId: string;
}

/** Runtime hooks; tests inject `fetch` and `sleep`, production passes nothing. */
export interface HttpDeps {
  /** Defaults to the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Waits between retries; defaults to a timer. Tests inject one that records the waits. */
  sleep?: (ms: number) => Promise<void>;
  /** Called before every HTTP request is sent (logging, metrics). */
  onRequest?: (event: RequestEvent) => void;
  /** Jitter source in [0, 1); defaults to `Math.random`. */
  random?: () => number;
}

/**
 * API calls made so far. `total`/`reads`/`writes` are what the sync engine reports as "API calls per
 * side" (every HTTP request counts, retries included; token requests are counted apart).
 */
export interface ApiCallStats extends CallStats {
  /** Requests per HTTP method. */
  byMethod: Record<string, number>;
  /** Requests that were retries of a failed attempt. */
  retries: number;
  /** 429 answers received. */
  throttled: number;
  /** Waits that followed the server's Retry-After (or a 429). */
  throttledWaits: number;
  /** Milliseconds spent waiting between attempts. */
  waitedMs: number;
  /** Requests replayed once with a fresh token after a 401. */
  unauthorizedReplays: number;
  /** Token requests that went to Entra ID. */
  tokenRequests: number;
}

/** One call: the request, how to read its answer, and what to do when a write's outcome is unknown. */
export interface SendOptions<T> {
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Validates a 2xx body; without it the body is not read. */
  schema?: z.ZodType<T>;
  /** What the body is, for error messages ("referral", "referral page"). */
  what?: string;
  /**
   * Whether repeating the request is harmless. Default: every method but POST. A non-idempotent call
   * is retried after a throttle (the server refused it) but, after a failure that may have landed
   * (5xx, reset, timeout), only through {@link recover}.
   */
  idempotent?: boolean;
  /**
   * For non-idempotent calls: looks up whether the failed attempt landed after all (e.g. the referral
   * by its externalReferenceId). A value is returned as the call's result; `undefined` lets the call be
   * retried. Without `recover`, such a failure is thrown at once.
   */
  recover?: () => Promise<T | undefined>;
}

/** A successful answer (or the value a recovery found). */
export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  /** The validated body; `undefined` for 204 or when no schema was given. */
  body: T | undefined;
  /** True when the result came from {@link SendOptions.recover}, not from this call's own answer. */
  recovered?: boolean;
}

/** The Partner Center HTTP layer: bearer token, retries, typed errors, validated bodies, counts. */
export interface PartnerCenterHttp {
  send<T>(options: SendOptions<T>): Promise<HttpResponse<T>>;
  stats(): ApiCallStats;
}

/** Settings of {@link createPartnerCenterHttp}. */
export interface PartnerCenterHttpOptions {
  tokens: TokenProvider;
  retry?: Partial<RetryPolicy>;
  /** Abort one attempt after this many ms (counted as a transient failure). Default 60 s. */
  requestTimeoutMs?: number;
  /** Largest response body read (bytes); more is refused with `REMOTE_RESPONSE_TOO_LARGE`. Default 32 MiB. */
  maxResponseBytes?: number;
  /** Name of the remote system in messages. Default "Partner Center". */
  service?: string;
  /** The config key holding the URL called (named when a connection fails), e.g. `partnerCenter.apiBaseUrl`. */
  urlKey?: string;
}

/** Statuses worth another try: throttling and the server side's temporary failures. */
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/** An attempt failed in a way another attempt may fix. */
class RetryableFailure extends Error {
  constructor(
    readonly kind: "throttled" | "unavailable" | "network" | "token",
    /** The request may have been processed (a write may have landed). */
    readonly ambiguous: boolean,
    readonly status: number | undefined,
    readonly retryAfterMs: number | undefined,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(detail, options);
  }
}

/** Carries the value {@link SendOptions.recover} found out of p-retry. */
class Recovered<T> extends Error {
  constructor(readonly value: T) {
    super("recovered");
  }
}

/**
 * Reads `Retry-After`: delta-seconds (`"120"`, `"1.5"`) or an HTTP date. A date is measured against the
 * response's own `Date` header when present, so a skewed local clock does not stretch the wait.
 * Returns ms (≥ 0), or `undefined` when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  responseDate?: string | null,
  nowMs: number = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  const ref = responseDate ? Date.parse(responseDate) : Number.NaN;
  return Math.max(0, at - (Number.isNaN(ref) ? nowMs : ref));
}

/** Backoff with "equal jitter": half the exponential step fixed, half random, capped. */
export function backoffDelay(retriesConsumed: number, policy: RetryPolicy, random: () => number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retriesConsumed);
  return Math.round(step / 2 + (random() * step) / 2);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `/v1.0/engagements/referrals/abc?$top=1` — the URL without the origin, for messages. */
function shortUrl(url: string): string {
  try {
    const u = new URL(url);
    return decodeURIComponent(u.pathname + u.search);
  } catch {
    return url;
  }
}

/** The first zod issue as `value.0.updatedDateTime`, for messages that name the field. */
function issuePath(error: z.ZodError): string {
  const path = error.issues[0]?.path ?? [];
  return path.length ? path.map(String).join(".") : "(body)";
}

/** Creates the HTTP layer shared by the referral client and the webhook registration calls. */
export function createPartnerCenterHttp(
  options: PartnerCenterHttpOptions,
  deps: HttpDeps = {},
): PartnerCenterHttp {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const service = options.service ?? "Partner Center";
  const doFetch = deps.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const { tokens } = options;
  const counts = {
    total: 0,
    reads: 0,
    writes: 0,
    byMethod: {} as Record<string, number>,
    retries: 0,
    throttled: 0,
    throttledWaits: 0,
    waitedMs: 0,
    unauthorizedReplays: 0,
  };

  async function token(): Promise<string> {
    try {
      return await tokens.getToken();
    } catch (e) {
      // Entra ID briefly unavailable: the API call was never made, so retrying is always safe.
      if ((e instanceof TransientError || e instanceof ThrottledError) && e.retryable)
        throw new RetryableFailure("token", false, e.status, undefined, e.message, { cause: e });
      throw e;
    }
  }

  /** One HTTP exchange. Network failures (reset, refused, timeout, body cut off) become retryable. */
  async function exchange<T>(
    o: SendOptions<T>,
    bearer: string,
    correlationId: string,
    attempt: number,
  ): Promise<{ res: Response; text: string }> {
    counts.total++;
    counts.byMethod[o.method] = (counts.byMethod[o.method] ?? 0) + 1;
    if (o.method === "GET") counts.reads++;
    else counts.writes++;
    deps.onRequest?.({ method: o.method, url: o.url, attempt, correlationId });
    const headers: Record<string, string> = {
      Accept: "application/json",
      Authorization: `Bearer ${bearer}`,
      "MS-CorrelationId": correlationId,
      ...o.headers,
    };
    if (o.body !== undefined) headers["Content-Type"] = "application/json";
    const where = `${o.method} ${shortUrl(o.url)}`;
    try {
      const res = await doFetch(o.url, {
        method: o.method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        // A redirect is answered, never followed: fetch would re-send the body (and, to the same
        // host, the token) to wherever the Location header points.
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (isRedirectStatus(res.status)) {
        await res.body?.cancel().catch(() => undefined);
        throw redirectRefused(res.status, res.headers.get("location"), where, service);
      }
      const text = await readTextCapped(res, maxBytes, where, service);
      return { res, text };
    } catch (e) {
      if (e instanceof RemoteApiError) throw e;
      const failure = describeNetworkFailure(e, o.url);
      // A host that does not resolve or a refused certificate is a wrong setting: no retry helps.
      if (failure?.permanent) throw unreachableConfigError(service, failure, options.urlKey, e);
      const inner = (e as { cause?: { code?: string; message?: string } }).cause;
      const code = inner?.code ?? inner?.message ?? (e as { name?: string }).name ?? "";
      throw new RetryableFailure(
        "network",
        true,
        undefined,
        undefined,
        failure
          ? `the connection to ${failure.host} failed: ${failure.what} (${failure.code})`
          : `the connection failed (${code || (e as Error).message})`,
        { cause: e },
      );
    }
  }

  function serverError(text: string): { code?: string; message?: string; target?: string } {
    try {
      const parsed = ApiErrorBodySchema.safeParse(JSON.parse(text));
      if (parsed.success)
        return {
          code: parsed.data.error.code,
          message: parsed.data.error.message,
          target: parsed.data.error.target ?? undefined,
        };
    } catch {
      // Not JSON: the status alone tells what happened.
    }
    return {};
  }

  function parseBody<T>(o: SendOptions<T>, res: Response, text: string): T | undefined {
    if (!o.schema || res.status === 204) return undefined;
    const what = o.what ?? "response";
    const where = `${o.method} ${shortUrl(o.url)}`;
    const fail = (field: string, why: string, extra: Record<string, unknown> = {}) =>
      new ResponseValidationError(
        "REMOTE_BAD_RESPONSE",
        `${service} answered ${where} with a ${what} cosell cannot use: ${field === "(body)" ? "" : `field "${field}" `}${why}. This is a ${service} fault or an API change; report it if it persists.`,
        { status: res.status, retryable: false, details: { field, url: o.url, ...extra } },
      );
    const type = res.headers.get("content-type") ?? "";
    if (!/\bjson\b/i.test(type))
      throw fail("(body)", `it is "${type || "no content type"}", not JSON`, { contentType: type });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw fail("(body)", `it is not valid JSON (${(e as Error).message}; truncated?)`, {
        bodyStart: text.slice(0, 80),
      });
    }
    const parsed = o.schema.safeParse(json);
    if (!parsed.success) {
      const field = issuePath(parsed.error);
      throw fail(field, `— ${parsed.error.issues[0]?.message ?? "invalid"}`, {
        issues: parsed.error.issues.map((i) => ({ field: i.path.map(String).join("."), message: i.message })),
      });
    }
    return parsed.data;
  }

  /** A final (non-retryable) error for a non-2xx answer. */
  function finalError(o: SendOptions<unknown>, res: Response, text: string): RemoteApiError {
    const s = serverError(text);
    const where = `${o.method} ${shortUrl(o.url)}`;
    const said = s.message ? `: ${s.code ? `${s.code} — ` : ""}${s.message}` : "";
    const details = {
      url: o.url,
      serverCode: s.code,
      serverMessage: s.message,
      target: s.target,
    };
    const status = res.status;
    switch (status) {
      case 401:
        return new AuthError(
          "AUTH_REJECTED",
          `${service} refused the access token for ${where} even after a fresh one was fetched${said}. Check that the app registration has the ${service} API permission with admin consent and that tenantId is the partner's tenant.`,
          { status, details },
        );
      case 403:
        return new AuthError(
          "AUTH_FORBIDDEN",
          `${service} denied ${where}${said}. The app's identity needs access to referrals (in Partner Center, the Referrals admin role for the account the app acts as).`,
          { status, details },
        );
      case 404:
        return new NotFoundError("REMOTE_NOT_FOUND", `${service} has no resource at ${where}${said}.`, {
          status,
          details,
        });
      case 412:
        return new ConflictError(
          `${service} refused ${where}: the record changed since it was read (stale eTag)${said}.`,
          undefined,
          { status, details },
        );
    }
    return new RemoteApiError(
      status >= 500 ? "REMOTE_SERVER_ERROR" : "REMOTE_REJECTED",
      `${service} rejected ${where} with ${status}${said || ` ${res.statusText}`}.`,
      { status, retryable: status >= 500, details },
    );
  }

  async function attemptOnce<T>(
    o: SendOptions<T>,
    attempt: number,
    correlationId: string,
  ): Promise<HttpResponse<T>> {
    let bearer = await token();
    let { res, text } = await exchange(o, bearer, correlationId, attempt);
    if (res.status === 401) {
      // Tokens can be revoked or expire early on the server side: fetch a fresh one and replay once.
      counts.unauthorizedReplays++;
      tokens.invalidate(bearer);
      bearer = await token();
      ({ res, text } = await exchange(o, bearer, correlationId, attempt));
    }
    if (res.ok) return { status: res.status, headers: res.headers, body: parseBody(o, res, text) };
    if (RETRYABLE_STATUS.has(res.status)) {
      if (res.status === 429) counts.throttled++;
      const s = serverError(text);
      throw new RetryableFailure(
        res.status === 429 ? "throttled" : "unavailable",
        res.status !== 429,
        res.status,
        parseRetryAfter(res.headers.get("retry-after"), res.headers.get("date")),
        `${res.status}${s.message ? ` (${s.message})` : ""}`,
      );
    }
    throw finalError(o as SendOptions<unknown>, res, text);
  }

  async function send<T>(o: SendOptions<T>): Promise<HttpResponse<T>> {
    const correlationId = randomUUID();
    const idempotent = o.idempotent ?? o.method !== "POST";
    const started = performance.now();
    let waited = 0;
    let attempts = 0;
    try {
      return await pRetry(
        (n) => {
          attempts = n;
          return attemptOnce(o, n, correlationId);
        },
        {
          retries: Math.max(0, policy.maxAttempts - 1),
          // p-retry must not sleep on its own: the wait is chosen (Retry-After or jittered backoff)
          // and taken in shouldRetry through the injectable sleep, so it is exactly what we decide.
          minTimeout: 0,
          maxTimeout: 0,
          shouldRetry: async ({ error, retriesConsumed }) => {
            if (!(error instanceof RetryableFailure)) return false;
            if (error.ambiguous && !idempotent && !o.recover) return false;
            const wait = error.retryAfterMs ?? backoffDelay(retriesConsumed, policy, random);
            const spent = Math.max(performance.now() - started, waited);
            if (spent + wait > policy.maxRetryTimeMs) return false;
            if (error.kind === "throttled" || error.retryAfterMs !== undefined) counts.throttledWaits++;
            counts.waitedMs += wait;
            waited += wait;
            if (wait > 0) await sleep(wait);
            if (error.ambiguous && !idempotent && o.recover) {
              // The write may have landed: look before writing again, so nothing is duplicated.
              let found: T | undefined;
              try {
                found = await o.recover();
              } catch (e) {
                throw new TransientError(
                  "REMOTE_WRITE_UNCERTAIN",
                  `${o.method} ${shortUrl(o.url)} failed (${error.detail}) and checking whether it landed failed too; nothing was retried. Run again: the next run looks it up before writing.`,
                  { status: error.status, retryable: true, details: { url: o.url, correlationId }, cause: e },
                );
              }
              if (found !== undefined)
                throw new Recovered<HttpResponse<T>>({
                  status: 200,
                  headers: new Headers(),
                  body: found,
                  recovered: true,
                });
            }
            counts.retries++;
            return true;
          },
        },
      );
    } catch (e) {
      if (e instanceof Recovered) return e.value as HttpResponse<T>;
      if (e instanceof RetryableFailure) throw giveUp(o, e, attempts, correlationId, idempotent);
      throw e;
    }
  }

  function giveUp(
    o: SendOptions<unknown>,
    f: RetryableFailure,
    attempts: number,
    correlationId: string,
    idempotent: boolean,
  ): RemoteApiError {
    if (f.kind === "token" && f.cause instanceof RemoteApiError) return f.cause;
    const where = `${o.method} ${shortUrl(o.url)}`;
    const details = { url: o.url, attempts, correlationId, lastFailure: f.detail };
    const tries = `after ${attempts} attempt${attempts === 1 ? "" : "s"}`;
    if (f.kind === "throttled")
      return new ThrottledError(
        `${service} kept throttling ${where} (429) ${tries}${f.retryAfterMs !== undefined ? `; it asked to wait ${Math.ceil(f.retryAfterMs / 1000)} s` : ""}. cosell retries on the next run; lower the sync frequency if this repeats.`,
        f.retryAfterMs,
        { status: 429, details },
      );
    const unsafe = f.ambiguous && !idempotent && !o.recover;
    return new TransientError(
      "REMOTE_UNAVAILABLE",
      unsafe
        ? `${where} failed (${f.detail}) and was not retried because it may have landed. Check ${service} before repeating it.`
        : `${service} did not answer ${where} properly (${f.detail}) ${tries}. cosell retries on the next run.${f.kind === "network" ? checkKey(options.urlKey) : ""}`,
      { status: f.status, retryable: !unsafe, details, cause: f.cause },
    );
  }

  return {
    send,
    stats: () => ({
      ...counts,
      byMethod: { ...counts.byMethod },
      tokenRequests: tokens.stats().tokenRequests,
    }),
  };
}
