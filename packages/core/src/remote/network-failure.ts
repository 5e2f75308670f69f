import { ConfigError } from "../errors.js";

/** A connection that failed before any answer, told in words a person can act on. */
export interface NetworkFailure {
  /** The system error code, e.g. `ECONNREFUSED`, `ENOTFOUND`. */
  code: string;
  /** `host[:port]` the connection was for. */
  host: string;
  /** What happened, e.g. "connection refused". */
  what: string;
  /**
   * Retrying cannot help: the host name does not resolve, or its certificate is refused. These are
   * configuration errors (a wrong URL, a missing CA), reported at once.
   */
  permanent: boolean;
}

/** Codes that mean the name does not exist (not: the resolver was briefly unreachable, `EAI_AGAIN`). */
const NOT_FOUND = new Set(["ENOTFOUND", "EAI_NONAME", "EAI_NODATA"]);
const TLS =
  /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_)/;
const WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused (nothing accepts connections there)",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EAI_AGAIN: "DNS lookup failed for now",
  EPIPE: "connection closed",
};

/**
 * Finds the system error under `e` (fetch, undici, node-fetch and msal nest it under `cause`, or
 * only put it in the message) and describes it; `undefined` when `e` is not a connection failure.
 */
export function describeNetworkFailure(e: unknown, url: string): NetworkFailure | undefined {
  const code = systemCode(e);
  if (!code) return undefined;
  let host = url;
  try {
    host = new URL(url).host;
  } catch {
    // Not a URL: name it as given.
  }
  if (NOT_FOUND.has(code)) return { code, host, what: "host name not found (DNS)", permanent: true };
  if (TLS.test(code)) return { code, host, what: "TLS certificate refused", permanent: true };
  return { code, host, what: WORDS[code] ?? "connection failed", permanent: false };
}

function systemCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 6; depth++) {
    const c = cur as { code?: unknown; errno?: unknown; cause?: unknown; errors?: unknown[] };
    if (
      typeof c.code === "string" &&
      /^(E[A-Z_]+|UND_ERR_[A-Z_]+|CERT_|UNABLE_|DEPTH_|SELF_|ERR_TLS|ERR_SSL)/.test(c.code)
    )
      return c.code;
    // An AggregateError (happy eyeballs: IPv4 and IPv6 both refused) holds the real ones.
    const inner = c.errors?.find((x) => systemCode(x));
    if (inner) return systemCode(inner);
    cur = c.cause;
  }
  const m = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\b/.exec(
    e instanceof Error ? e.message : String(e),
  );
  return m?.[1];
}

/** `… — check <key>` when the config key that holds the URL is known. */
export function checkKey(key: string | undefined): string {
  return key ? ` Check ${key}.` : "";
}

/**
 * The error for a failure retrying cannot fix: the host does not resolve or its certificate is
 * refused. Names the service, the host, the cause and the config key to correct.
 */
export function unreachableConfigError(
  service: string,
  failure: NetworkFailure,
  key: string | undefined,
  cause: unknown,
): ConfigError {
  const fix =
    failure.code === "ENOTFOUND" || failure.code === "EAI_NONAME" || failure.code === "EAI_NODATA"
      ? "the host name is wrong or not resolvable from this machine"
      : "the server's certificate is not trusted here (a proxy or a private CA: set NODE_EXTRA_CA_CERTS)";
  return new ConfigError(
    failure.permanent && failure.what.startsWith("host") ? "REMOTE_HOST_NOT_FOUND" : "REMOTE_TLS_REFUSED",
    `${service} at ${failure.host}: ${failure.what} (${failure.code}); ${fix}.${checkKey(key)}`,
    { host: failure.host, code: failure.code, ...(key ? { key } : {}) },
    { cause },
  );
}
