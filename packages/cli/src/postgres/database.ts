import { ConfigError } from "@cosell/core";

/** The environment variable holding the PostgreSQL URL of a several-machine deployment. */
export const DATABASE_URL_ENV = "COSELL_DATABASE_URL";

/**
 * The deployment's PostgreSQL URL, from `COSELL_DATABASE_URL` (never from a flag: it carries a
 * password, and command lines show in `ps`). TLS is required unless the server is on loopback.
 */
export function databaseUrl(env: NodeJS.ProcessEnv): string {
  const url = env[DATABASE_URL_ENV];
  if (!url)
    throw new ConfigError(
      "DATABASE_URL_MISSING",
      `${DATABASE_URL_ENV} is not set. Set it to the PostgreSQL URL of this deployment, e.g. ` +
        "postgres://cosell@db.example.com:5432/cosell?sslmode=verify-full (see docs/postgres.md).",
      { key: DATABASE_URL_ENV },
    );
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(
      "DATABASE_URL_INVALID",
      `${DATABASE_URL_ENV} is not a URL: use postgres://user@host:5432/db.`,
      {
        key: DATABASE_URL_ENV,
      },
    );
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol))
    throw new ConfigError(
      "DATABASE_URL_INVALID",
      `${DATABASE_URL_ENV} must start with postgres:// (it starts with ${parsed.protocol}//).`,
      { key: DATABASE_URL_ENV },
    );
  const loopback = ["127.0.0.1", "localhost", "[::1]", ""].includes(parsed.hostname);
  const sslmode = parsed.searchParams.get("sslmode");
  if (!loopback && !(sslmode && ["require", "verify-ca", "verify-full"].includes(sslmode)))
    throw new ConfigError(
      "DATABASE_TLS_REQUIRED",
      `${DATABASE_URL_ENV} points at ${parsed.hostname} without TLS. Add ?sslmode=verify-full (or require) to the URL; only a server on 127.0.0.1 may be reached without TLS.`,
      { key: DATABASE_URL_ENV, host: parsed.hostname },
    );
  return url;
}
