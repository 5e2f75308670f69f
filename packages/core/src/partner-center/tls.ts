import { ConfigError } from "../errors.js";

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/** True for the loopback host names the sandbox listens on (`127.0.0.1`, `localhost`, `::1`). */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase());
}

/**
 * Parses `value` as a URL and refuses plain http anywhere but loopback: tokens and customer data must
 * never cross a network in clear text, and the only http servers cosell talks to are the local sandbox's.
 * Throws a {@link ConfigError} naming `key`.
 */
export function requireSecureUrl(key: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      "CONFIG_INVALID",
      `${key}: "${value}" is not a URL. Give an absolute https:// URL.`,
      {
        key,
        value,
      },
    );
  }
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) return url;
  if (url.protocol === "http:")
    throw new ConfigError(
      "CONFIG_TLS_REQUIRED",
      `${key}: "${value}" uses plain http. TLS required: use https:// (plain http is only allowed to 127.0.0.1/localhost/::1, for the sandbox).`,
      { key, value },
    );
  throw new ConfigError("CONFIG_INVALID", `${key}: "${value}" must be an https:// URL.`, { key, value });
}
