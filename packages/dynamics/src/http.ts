import {
  AuthError,
  ConflictError,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  describeNetworkFailure,
  isRedirectStatus,
  NotFoundError,
  pinToOrigin,
  RemoteApiError,
  readTextCapped,
  redirectRefused,
  ThrottledError,
  type TokenProvider,
  TransientError,
  unreachableConfigError,
} from "@cosell/core";
import pRetry, { AbortError } from "p-retry";

/** What the HTTP layer needs from outside: injectable for tests. */
export interface HttpDeps {
  fetch: typeof fetch;
  sleep(ms: number): Promise<void>;
  logger?: { warn(obj: object, msg: string): void; debug?(obj: object, msg: string): void };
}

/** A Web API answer, body already read. */
export interface DvResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** HTTP calls made, by kind (what `stats()` reports). */
export interface CallCounter {
  total: number;
  reads: number;
  writes: number;
}

/** Options of one request. */
export interface DvRequest {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  /** Relative to the API base (`opportunities?$select=…`) or absolute (a nextLink). */
  url: string;
  headers?: Record<string, string>;
  /** JSON body (serialised here) or a raw string (`$batch`). */
  body?: unknown;
  /** How `stats()` counts it; default: GET is a read, anything else a write. */
  kind?: "reads" | "writes";
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const s = Number(value);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The `{"error":{"code","message"}}` body of a Dataverse error, if it is one. */
export function dataverseError(text: string): { code: string; message: string } | undefined {
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    if (e && typeof e.message === "string") return { code: String(e.code ?? ""), message: e.message };
  } catch {
    // not JSON: the caller reports the raw status
  }
  return undefined;
}

/** Turns a failed Web API answer into a typed core error whose message says what to do. */
export function errorFrom(res: DvResponse, what: string): RemoteApiError {
  const e = dataverseError(res.text);
  const detail = e ? `${e.message}${e.code ? ` (${e.code})` : ""}` : `HTTP ${res.status}`;
  const details = { status: res.status, dataverseCode: e?.code };
  if (res.status === 401)
    return new AuthError(
      "DATAVERSE_UNAUTHORIZED",
      `Dataverse refused the token for ${what}: ${detail}. Check tenantId/clientId and that the token audience is the environment URL.`,
      { status: 401, details },
    );
  if (res.status === 403)
    return new AuthError(
      "DATAVERSE_FORBIDDEN",
      `Dataverse refused ${what}: ${detail}. Add the app as an application user in the Power Platform admin center and give it a security role with read/write on opportunities (see docs/dynamics.md).`,
      { status: 403, details },
    );
  if (res.status === 404)
    return new NotFoundError("DATAVERSE_NOT_FOUND", `${what}: ${detail}.`, { status: 404, details });
  if (res.status === 412)
    return new ConflictError(
      `${what}: ${detail}. The record changed meanwhile; it is re-read next cycle.`,
      undefined,
      { status: 412, details },
    );
  if (res.status === 429)
    return new ThrottledError(
      `Dataverse throttled ${what}: ${detail}.`,
      retryAfterMs(res.headers.get("retry-after")),
      { status: 429, details },
    );
  if (res.status >= 500)
    return new TransientError("DATAVERSE_UNAVAILABLE", `Dataverse failed ${what}: ${detail}.`, {
      status: res.status,
      retryable: true,
      details,
    });
  // A custom column cosell selects does not exist: the environment was set up by an earlier version
  // (new releases add columns) or not at all. Setup adds what is missing and changes nothing else.
  const column =
    res.status === 400
      ? /Could not find a property named '([a-z][a-z0-9]*_[a-z0-9_]+)'/.exec(e?.message ?? "")?.[1]
      : undefined;
  if (column)
    return new RemoteApiError(
      "DYNAMICS_COLUMN_MISSING",
      `Dataverse has no column ${column} for ${what}: this version of cosell uses columns that \`cosell setup\` creates. Run \`cosell setup\` (it only adds what is missing), then \`cosell doctor\`.`,
      { status: 400, details },
    );
  return new RemoteApiError("DATAVERSE_REJECTED", `Dataverse rejected ${what}: ${detail}.`, {
    status: res.status,
    details,
  });
}

const RETRYABLE = new Set([429, 502, 503, 504]);
/** A 500 may be transient too, but is retried only where repeating is harmless: reads. */
const retryable = (status: number, method: string) =>
  RETRYABLE.has(status) || (status === 500 && method === "GET");

/**
 * A small authenticated client for one Web API (Dataverse or Graph): bearer token from msal (a 401
 * refreshes it once), OData headers, and p-retry for 429/5xx that waits exactly what `Retry-After`
 * says (service protection, dynamics.md §5) or backs off exponentially without it.
 */
export class WebApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly tokens: TokenProvider,
    private readonly deps: HttpDeps,
    private readonly counter: CallCounter,
    private readonly options: {
      maxRetries: number;
      maxRetryAfterMs: number;
      odata: boolean;
      /** One attempt is abandoned after this long (counted as a transient failure). */
      requestTimeoutMs?: number;
      /** A call (its attempts and waits together) gives up once this much time has passed. */
      maxRetryTimeMs?: number;
      /** Largest answer read, in bytes. */
      maxResponseBytes?: number;
    },
  ) {}

  /**
   * Absolute URL of `path`. An absolute URL (a nextLink or delta link the server handed back) must
   * stay on the API's origin over https (loopback http for the sandbox): the bearer token goes with it.
   */
  url(path: string, what = "link"): string {
    if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith("//"))
      return pinToOrigin(path, this.baseUrl, what, "Dataverse");
    return `${this.baseUrl}/${path.replace(/^\//, "")}`;
  }

  /** Sends one request with retries; resolves with any answer that is not retryable (check `status`). */
  async send(req: DvRequest): Promise<DvResponse> {
    const url = this.url(req.url);
    const kind = req.kind ?? (req.method === "GET" ? "reads" : "writes");
    const where = `${req.method} ${new URL(url).pathname}`;
    const timeoutMs = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const started = Date.now();
    const budget = this.options.maxRetryTimeMs ?? 360_000;
    let waited = 0;
    /** Whether waiting `ms` more keeps the call inside its total time budget (then it is counted). */
    const canWait = (ms: number) => {
      if (Math.max(Date.now() - started, waited) + ms > budget) return false;
      waited += ms;
      return true;
    };
    let authRetried = false;
    let waitMs = 0;
    return pRetry(
      async () => {
        if (waitMs > 0) await this.deps.sleep(waitMs);
        waitMs = 0;
        let token: string;
        try {
          token = await this.tokens.getToken();
        } catch (e) {
          // Entra ID already said no (or msal retried): retrying here would only hammer the token endpoint.
          throw new AbortError(e as Error);
        }
        const headers: Record<string, string> = {
          Accept: "application/json",
          Authorization: `Bearer ${token}`,
          ...(this.options.odata ? { "OData-MaxVersion": "4.0", "OData-Version": "4.0" } : {}),
          ...req.headers,
        };
        let body: string | undefined;
        if (req.body !== undefined) {
          body = typeof req.body === "string" ? req.body : JSON.stringify(req.body);
          headers["Content-Type"] ??= "application/json; charset=utf-8";
        }
        this.counter.total++;
        this.counter[kind]++;
        let out: DvResponse;
        try {
          // Redirects are answered, not followed: the token and the body would go along.
          const res = await this.deps.fetch(url, {
            method: req.method,
            headers,
            body,
            redirect: "manual",
            signal: AbortSignal.timeout(timeoutMs),
          });
          if (isRedirectStatus(res.status)) {
            await res.body?.cancel().catch(() => undefined);
            throw new AbortError(
              redirectRefused(res.status, res.headers.get("location"), where, "Dataverse"),
            );
          }
          const text = await readTextCapped(
            res,
            this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
            where,
            "Dataverse",
          );
          out = { status: res.status, headers: res.headers, text };
        } catch (e) {
          if (e instanceof AbortError) throw e;
          if (e instanceof RemoteApiError) throw new AbortError(e);
          const failure = describeNetworkFailure(e, url);
          // A host that does not resolve or a refused certificate is a wrong setting: no retry helps.
          if (failure?.permanent)
            throw new AbortError(unreachableConfigError("Dataverse", failure, "crm.environmentUrl", e));
          const why =
            (e as Error).name === "TimeoutError"
              ? `no answer within ${timeoutMs} ms`
              : failure
                ? `${failure.what} (${failure.code})`
                : (e as Error).message;
          const err = new TransientError(
            "DATAVERSE_UNREACHABLE",
            `Cannot reach ${new URL(url).origin} (${where}): ${why}. Check crm.environmentUrl and the network.`,
            { retryable: true, cause: e },
          );
          waitMs = 500;
          if (!canWait(waitMs)) throw new AbortError(err);
          throw err;
        }
        if (out.status === 401 && !authRetried) {
          authRetried = true;
          this.tokens.invalidate(token);
          throw new AuthError("DATAVERSE_UNAUTHORIZED", "token refused; retrying with a fresh one", {
            status: 401,
            retryable: true,
          });
        }
        if (retryable(out.status, req.method)) {
          const hinted = retryAfterMs(out.headers.get("retry-after"));
          const err = errorFrom(out, `${req.method} ${new URL(url).pathname}`);
          if (hinted !== undefined && hinted > this.options.maxRetryAfterMs) throw new AbortError(err);
          waitMs = hinted ?? Math.min(30_000, 1000 * 2 ** (this.counter.total % 6));
          // The call's total deadline: a cycle step is never held longer by one call's retries.
          if (!canWait(waitMs)) throw new AbortError(err);
          this.deps.logger?.warn(
            { status: out.status, waitMs, url: new URL(url).pathname },
            "dataverse: throttled or unavailable, waiting before retry",
          );
          throw err;
        }
        return out;
      },
      { retries: this.options.maxRetries + 1, minTimeout: 0, maxTimeout: 0, factor: 1, randomize: false },
    );
  }

  /** Sends and requires a 2xx answer; otherwise throws the typed error. */
  async ok(req: DvRequest, what: string): Promise<DvResponse> {
    const res = await this.send(req);
    if (res.status >= 400) throw errorFrom(res, what);
    return res;
  }

  /** GET returning parsed JSON. */
  async getJson<T>(url: string, what: string, headers: Record<string, string> = {}): Promise<T> {
    const res = await this.ok({ method: "GET", url, headers }, what);
    return JSON.parse(res.text) as T;
  }

  /** GET returning parsed JSON, or undefined when the resource does not exist (404). */
  async getJsonIfExists<T>(
    url: string,
    what: string,
    headers: Record<string, string> = {},
  ): Promise<T | undefined> {
    const res = await this.send({ method: "GET", url, headers });
    if (res.status === 404) return undefined;
    if (res.status >= 400) throw errorFrom(res, what);
    return JSON.parse(res.text) as T;
  }
}
