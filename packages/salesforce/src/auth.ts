import { createPrivateKey } from "node:crypto";
import {
  AuthError,
  describeNetworkFailure,
  errorMessage,
  isSecureOrLoopback,
  RemoteApiError,
  TransientError,
  unreachableConfigError,
} from "@cosell/core";
import { importPKCS8, SignJWT } from "jose";
import jsforce, { type Connection } from "jsforce";
import { PRODUCTION_LOGIN_URL, SANDBOX_LOGIN_URL, type SalesforceAuth } from "./config.js";
import { isTransientFailure } from "./errors.js";
import { guardTransport } from "./transport.js";

/** The token response fields the adapter uses. */
export interface TokenResult {
  access_token: string;
  instance_url: string;
  /** Identity URL `…/id/<orgId>/<userId>`. */
  id?: string;
  refresh_token?: string;
}

/** Hooks the auth flows call. */
export interface AuthDeps {
  /** A rotated refresh token: persist it, the old one no longer works. */
  onRefreshToken?(token: string): void | Promise<void>;
  /** Clock for JWT `exp` (the sandbox's clock in tests). */
  now(): Date;
  /** Counts each token call. */
  onTokenCall(): void;
  /** Waits between token attempts (tests pass a fake). Default: a real timer. */
  sleep?(ms: number): Promise<void>;
  /** Deadline of one token or API call (ms). Default 60 s. */
  timeoutMs?: number;
}

/** Token attempts before a transient failure of the token endpoint is reported. */
const TOKEN_ATTEMPTS = 3;
const TOKEN_RETRY_MS = 500;

export const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** The audience a JWT assertion names: Salesforce wants the login host, not the My Domain. */
export function jwtAudience(auth: Extract<SalesforceAuth, { kind: "jwt" }>): string {
  if (auth.audience) return auth.audience;
  const host = new URL(auth.loginUrl).hostname;
  if (host === "test.salesforce.com" || host.endsWith(".sandbox.my.salesforce.com")) return SANDBOX_LOGIN_URL;
  if (host === "127.0.0.1" || host === "localhost") return auth.loginUrl;
  return PRODUCTION_LOGIN_URL;
}

/**
 * Gets access tokens for one of the three flows. The same function serves the first login and
 * jsforce's `refreshFn` (salesforce.md §2.3: JWT and client credentials have no refresh token, and the
 * built-in refresh ignores a rotated one), so a long run survives session expiry.
 */
export class TokenSource {
  private refreshToken: string | undefined;
  private key: Awaited<ReturnType<typeof importPKCS8>> | undefined;
  /** User id of the last session (from the token response's identity URL). */
  userId: string | undefined;
  /**
   * Why the last token request failed (cleared by a success). jsforce turns a failed `refreshFn` into
   * a generic "Unable to refresh session" error; this keeps the typed one for the caller.
   */
  lastError: unknown;

  constructor(
    private readonly auth: SalesforceAuth,
    private readonly deps: AuthDeps,
  ) {
    if (auth.kind === "refreshToken") this.refreshToken = auth.refreshToken;
  }

  async obtain(): Promise<TokenResult> {
    // A throttled, failing or unreachable token endpoint is not a wrong credential: try again a few
    // times, then report it as transient so the cycle is retried rather than the admin sent hunting.
    try {
      const token = await this.obtainWithRetries();
      // Every later API call (and its bearer token) goes to instance_url: never over plain http to
      // anything but loopback (the sandbox).
      let instance: URL | undefined;
      try {
        instance = new URL(token.instance_url);
      } catch {
        instance = undefined;
      }
      if (!instance || !isSecureOrLoopback(instance))
        throw new RemoteApiError(
          "REMOTE_LINK_REFUSED",
          `Salesforce's token answer names instance_url ${JSON.stringify(String(token.instance_url).slice(0, 200))}, which is not an https URL; cosell will not send the session there. Check crm.auth.loginUrl, or set crm.instanceUrl to your My Domain URL.`,
          { retryable: false },
        );
      this.lastError = undefined;
      return token;
    } catch (e) {
      this.lastError = e;
      throw e;
    }
  }

  private async obtainWithRetries(): Promise<TokenResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.obtainOnce();
      } catch (e) {
        const cause = (e as { cause?: unknown }).cause;
        const failure = describeNetworkFailure(cause, this.auth.loginUrl);
        // A host that does not resolve or a refused certificate is a wrong setting: no retry helps.
        if (e instanceof AuthError && failure?.permanent)
          throw unreachableConfigError("Salesforce's token endpoint", failure, "crm.auth.loginUrl", cause);
        if (!(e instanceof AuthError) || !isTransientFailure(cause)) throw e;
        if (attempt >= TOKEN_ATTEMPTS)
          throw new TransientError(
            "SALESFORCE_LOGIN_UNAVAILABLE",
            `Salesforce's token endpoint at ${this.auth.loginUrl} did not answer after ${attempt} attempts: ${failure ? `${failure.what} (${failure.code})` : errorMessage(cause)}. The next cycle tries again; if it keeps failing, check crm.auth.loginUrl and the network.`,
            { retryable: true, cause },
          );
        const wait = TOKEN_RETRY_MS * 2 ** (attempt - 1);
        await (this.deps.sleep?.(wait) ?? new Promise((resolve) => setTimeout(resolve, wait)));
      }
    }
  }

  private async obtainOnce(): Promise<TokenResult> {
    this.deps.onTokenCall();
    try {
      const res = await this.request();
      this.userId = res.id?.split("/").at(-1) ?? this.userId;
      return res;
    } catch (e) {
      if (e instanceof AuthError) throw e;
      const name = (e as { name?: string }).name ?? "";
      throw new AuthError(
        "SALESFORCE_AUTH_FAILED",
        `Salesforce refused the ${this.auth.kind} login at ${this.auth.loginUrl}: ${name ? `${name}: ` : ""}${errorMessage(e)}. ${this.hint(name)}`,
        { status: 400, details: { flow: this.auth.kind, error: name }, cause: e },
      );
    }
  }

  private hint(error: string): string {
    switch (this.auth.kind) {
      case "jwt":
        return error === "invalid_client_id"
          ? "Check crm.auth.clientId (the connected app's consumer key)."
          : "Check that the certificate uploaded to the connected app matches crm.auth.privateKey, that crm.auth.username is pre-authorised (Admin approved users + profile or permission set), and the audience (test.salesforce.com for sandboxes).";
      case "clientCredentials":
        return "Check crm.auth.clientId/clientSecret, that the client credentials flow is enabled with a run-as user, and that crm.auth.loginUrl is your My Domain URL.";
      default:
        return "The refresh token may have been revoked or rotated by another process: log in again to get a new one.";
    }
  }

  private oauth2(withClient: boolean): jsforce.OAuth2 {
    const a = this.auth;
    const oauth2 = new jsforce.OAuth2({
      loginUrl: a.loginUrl,
      ...(withClient ? { clientId: a.clientId } : {}),
      ...(withClient && "clientSecret" in a && a.clientSecret ? { clientSecret: a.clientSecret } : {}),
    });
    guardTransport(oauth2, this.deps.timeoutMs);
    return oauth2;
  }

  private async request(): Promise<TokenResult> {
    const a = this.auth;
    if (a.kind === "jwt") {
      this.key ??= await importPKCS8(toPkcs8(a.privateKey), "RS256");
      const now = Math.floor(this.deps.now().getTime() / 1000);
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: "RS256" })
        .setIssuer(a.clientId)
        .setSubject(a.username)
        .setAudience(jwtAudience(a))
        .setExpirationTime(now + 180)
        .sign(this.key);
      // No client id/secret in the body: the assertion carries the issuer.
      return (await this.oauth2(false).requestToken({
        grant_type: JWT_BEARER_GRANT,
        assertion,
      } as never)) as unknown as TokenResult;
    }
    if (a.kind === "clientCredentials")
      return (await this.oauth2(true).requestToken({
        grant_type: "client_credentials",
      } as never)) as unknown as TokenResult;
    const res = (await this.oauth2(true).refreshToken(this.refreshToken!)) as unknown as TokenResult;
    if (res.refresh_token && res.refresh_token !== this.refreshToken) {
      // Rotation: the old token is dead from now on; hand the new one over before anything else.
      this.refreshToken = res.refresh_token;
      await this.deps.onRefreshToken?.(res.refresh_token);
    }
    return res;
  }
}

/** jose wants PKCS#8; a PKCS#1 (`BEGIN RSA PRIVATE KEY`) key is converted with node:crypto. */
function toPkcs8(pem: string): string {
  if (!pem.includes("BEGIN RSA PRIVATE KEY")) return pem;
  return createPrivateKey(pem).export({ type: "pkcs8", format: "pem" }).toString();
}

/** A jsforce connection that re-runs the configured flow whenever the session expires. */
export async function openConnection(options: {
  source: TokenSource;
  apiVersion: string;
  instanceUrl?: string;
  /** Deadline of one API call (ms). */
  timeoutMs?: number;
  /** Largest answer read (bytes). */
  maxResponseBytes?: number;
}): Promise<Connection> {
  const first = await options.source.obtain();
  const conn = new jsforce.Connection({
    version: options.apiVersion,
    instanceUrl: options.instanceUrl ?? first.instance_url,
    accessToken: first.access_token,
    refreshFn: (_conn, callback) => {
      options.source.obtain().then(
        (r) => callback(null, r.access_token, r as never),
        (e: Error) => callback(e),
      );
    },
  });
  guardTransport(conn, options.timeoutMs, options.maxResponseBytes);
  return conn;
}
