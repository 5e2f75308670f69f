import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import {
  type EmulatedServer,
  type Fault,
  json,
  type SandboxClock,
  type SandboxRequest,
  type SandboxResponse,
  type TokenRegistry,
} from "../kit/index.js";
import { JWT_BEARER_ASSERTION_TYPE, verifyClientAssertion } from "./assertion.js";
import type { EntraApp, EntraDirectory } from "./directory.js";
import { ENTRA_FAILURES, type EntraFailure, entraErrorResponse } from "./errors.js";
import type { EntraSignIns, EntraUser } from "./sign-ins.js";

/** Options of {@link createEntraServer}. */
export interface EntraServerOptions {
  directory: EntraDirectory;
  tokens: TokenRegistry;
  clock: SandboxClock;
  /** Lifetime of issued access tokens (`expires_in`). Default 3599 s, as Entra ID. */
  tokenTtlSeconds?: number;
  /** Users, device codes and refresh tokens; without it only client credentials are served. */
  signIns?: EntraSignIns;
}

const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
/** A poll this much earlier than `interval` still counts as on time (timer jitter). */
const POLL_TOLERANCE_MS = 250;

function b64url(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString("base64url");
}

/** Default access-token lifetime, in seconds (what Entra ID usually answers). */
export const DEFAULT_TOKEN_TTL_SECONDS = 3599;

const TOKEN_PATH = /^\/([^/]+)\/oauth2\/v2\.0\/token\/?$/;
const DEVICECODE_PATH = /^\/([^/]+)\/oauth2\/v2\.0\/devicecode\/?$/;
const OPENID_PATH = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration\/?$/;
const KEYS_PATH = /^\/([^/]+)\/discovery\/v2\.0\/keys\/?$/;

/** OIDC scopes msal may add; they are not resources, so client-credential requests ignore them. */
const OIDC_SCOPES = new Set(["openid", "profile", "offline_access", "email"]);

function secretMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `Authorization: Basic base64(client_id:client_secret)` (client_secret_basic), if sent. */
function basicCredentials(req: SandboxRequest): { clientId: string; secret: string } | undefined {
  const m = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? "");
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) return undefined;
  return {
    clientId: decodeURIComponent(decoded.slice(0, i)),
    secret: decodeURIComponent(decoded.slice(i + 1)),
  };
}

/**
 * The resource a `<resource>/.default` scope names, or the failure to answer. Delegated (user) flows
 * also accept one named permission of the resource (`<resource>/user_impersonation`).
 */
function resourceOf(
  scopeParam: string | null,
  app: EntraApp,
  directory: EntraDirectory,
  delegated = false,
): string | EntraFailure {
  const scopes = (scopeParam ?? "").split(/\s+/).filter((s) => s && !OIDC_SCOPES.has(s.toLowerCase()));
  if (!scopeParam?.trim()) return ENTRA_FAILURES.missingParameter("scope");
  const [scope] = scopes;
  const shape = delegated ? /^https?:\/\/.+\/[^/]+$/i : /\/\.default$/i;
  if (scopes.length !== 1 || !scope || !shape.test(scope))
    return ENTRA_FAILURES.scopeNotDefault(scopes.join(" ") || scopeParam);
  const resource = delegated ? scope.replace(/\/[^/]+$/, "") : scope.replace(/\/\.default$/i, "");
  if (!directory.allows(app, resource)) return ENTRA_FAILURES.resourceNotAllowed(scope, app.clientId);
  return resource;
}

/**
 * The sandbox's Entra ID (Microsoft identity platform v2.0): app-only tokens through the
 * client-credentials grant, with a client secret (`client_secret` in the body or HTTP Basic) or a
 * certificate (`client_assertion` signed by the app's registered key). Tokens are opaque values from
 * the shared {@link TokenRegistry}, whose audience is the resource of the requested `.default` scope;
 * the emulated APIs verify them there.
 *
 * Routes: `POST /{tenant}/oauth2/v2.0/token`, `GET /{tenant}/v2.0/.well-known/openid-configuration`,
 * `GET /{tenant}/discovery/v2.0/keys` (empty: tokens are opaque, nothing to verify locally).
 */
export function createEntraServer(options: EntraServerOptions): EmulatedServer {
  const { directory, tokens, clock, signIns } = options;
  const ttl = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;

  async function token(req: SandboxRequest, tenant: string): Promise<SandboxResponse> {
    req.endpoint = "POST /{tenant}/oauth2/v2.0/token";
    const form = new URLSearchParams(req.text());
    const correlationId =
      req.url.searchParams.get("client-request-id") ??
      form.get("client-request-id") ??
      (req.headers["client-request-id"] as string | undefined);
    const fail = (f: EntraFailure) => entraErrorResponse(f, clock.now(), correlationId ?? undefined);

    const grant = form.get("grant_type");
    if (!grant) return fail(ENTRA_FAILURES.missingParameter("grant_type"));
    // The documented URN, and the short form msal sends (Entra ID accepts both).
    if (signIns && (grant === DEVICE_CODE_GRANT || grant === "device_code"))
      return deviceCodeGrant(req, tenant, form, fail);
    if (signIns && grant === "refresh_token") return refreshTokenGrant(req, tenant, form, fail);
    if (grant !== "client_credentials") return fail(ENTRA_FAILURES.unsupportedGrant(grant));
    const basic = basicCredentials(req);
    const clientId = form.get("client_id") ?? basic?.clientId;
    if (!clientId) return fail(ENTRA_FAILURES.missingParameter("client_id"));
    if (!directory.hasTenant(tenant)) return fail(ENTRA_FAILURES.unknownTenant(tenant));
    const app = directory.find(tenant, clientId);
    if (!app) return fail(ENTRA_FAILURES.unknownClient(clientId, tenant));

    const secret = form.get("client_secret") ?? basic?.secret;
    const assertion = form.get("client_assertion");
    if (assertion) {
      const type = form.get("client_assertion_type");
      if (type !== JWT_BEARER_ASSERTION_TYPE)
        return fail(
          ENTRA_FAILURES.badAssertion(
            `client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE}, not '${type ?? ""}'.`,
          ),
        );
      const endpoint = `${req.origin}${req.url.pathname}`;
      const refused = await verifyClientAssertion(assertion, app, endpoint);
      if (refused) return fail(refused);
    } else if (secret !== null && secret !== undefined) {
      if (!(app.clientSecrets ?? []).some((s) => secretMatches(secret, s)))
        return fail(ENTRA_FAILURES.wrongSecret(app.clientId));
    } else return fail(ENTRA_FAILURES.missingCredential());

    const resource = resourceOf(form.get("scope"), app, directory);
    if (typeof resource !== "string") return fail(resource);
    const issued = tokens.issue({
      clientId: app.clientId,
      audience: resource,
      scopes: [`${resource}/.default`],
      ttlSeconds: ttl,
      prefix: "sbx-entra",
    });
    return json(
      200,
      { token_type: "Bearer", expires_in: ttl, ext_expires_in: ttl, access_token: issued.token },
      { "cache-control": "no-store", pragma: "no-cache" },
    );
  }

  /** The public client asking for a user flow, or the failure to answer. */
  function publicClient(tenant: string, clientId: string | null): EntraApp | EntraFailure {
    if (!clientId) return ENTRA_FAILURES.missingParameter("client_id");
    if (!directory.hasTenant(tenant)) return ENTRA_FAILURES.unknownTenant(tenant);
    const app = directory.find(tenant, clientId);
    if (!app) return ENTRA_FAILURES.unknownClient(clientId, tenant);
    if (!app.allowPublicClientFlows) return ENTRA_FAILURES.publicClientDisabled(app.clientId);
    return app;
  }

  /**
   * How the user grants (device code, refresh token) begin: a public client asking, with the grant's
   * own `parameter`; the failure to answer otherwise.
   */
  function publicClientGrant(
    tenant: string,
    form: URLSearchParams,
    parameter: string,
  ): { app: EntraApp; value: string } | EntraFailure {
    const app = publicClient(tenant, form.get("client_id"));
    if ("error" in app) return app;
    const value = form.get(parameter);
    if (!value) return ENTRA_FAILURES.missingParameter(parameter);
    return { app, value };
  }

  /**
   * Tokens for a signed-in user: access token (with the user's roles), id token, client info, refresh
   * token; or the failure when `scope` names no resource the app may ask for.
   */
  function userTokens(
    req: SandboxRequest,
    tenant: string,
    app: EntraApp,
    user: EntraUser,
    scope: string,
    fail: (f: EntraFailure) => SandboxResponse,
  ): SandboxResponse {
    const resource = resourceOf(scope, app, directory, true);
    if (typeof resource !== "string") return fail(resource);
    const issued = tokens.issue({
      clientId: app.clientId,
      audience: resource,
      subject: user.username,
      roles: user.roles,
      scopes: [scope],
      ttlSeconds: ttl,
      prefix: "sbx-entra",
    });
    const now = Math.floor(clock.now().getTime() / 1000);
    const iss = `${req.origin}/${encodeURIComponent(user.tenantId)}/v2.0`;
    // Entra ID signs id tokens (RS256); msal-node only decodes the claims, and nothing in the sandbox
    // verifies them, so the signature is random bytes.
    const idToken = [
      b64url({ typ: "JWT", alg: "RS256", kid: "sandbox" }),
      b64url({
        aud: app.clientId,
        iss,
        iat: now,
        nbf: now,
        exp: now + ttl,
        name: user.displayName,
        oid: user.objectId,
        preferred_username: user.username,
        sub: user.objectId,
        tid: user.tenantId,
        ver: "2.0",
      }),
      randomBytes(32).toString("base64url"),
    ].join(".");
    const refresh = signIns!.issueRefreshToken(tenant, app.clientId, user.username);
    const oidc = scope.split(/\s+/).filter((x) => OIDC_SCOPES.has(x.toLowerCase()));
    return json(
      200,
      {
        token_type: "Bearer",
        scope: [
          ...new Set([...scope.split(/\s+/).filter((x) => x && !OIDC_SCOPES.has(x.toLowerCase())), ...oidc]),
        ].join(" "),
        expires_in: ttl,
        ext_expires_in: ttl,
        access_token: issued.token,
        refresh_token: refresh.token,
        id_token: idToken,
        client_info: b64url({ uid: user.objectId, utid: user.tenantId }),
      },
      { "cache-control": "no-store", pragma: "no-cache" },
    );
  }

  /** `POST /{tenant}/oauth2/v2.0/devicecode`: starts a device-code sign-in. */
  function deviceCode(req: SandboxRequest, tenant: string): SandboxResponse {
    req.endpoint = "POST /{tenant}/oauth2/v2.0/devicecode";
    const form = new URLSearchParams(req.text());
    const fail = (f: EntraFailure) => entraErrorResponse(f, clock.now());
    if (!signIns) return fail(ENTRA_FAILURES.unsupportedGrant(DEVICE_CODE_GRANT));
    const app = publicClient(tenant, form.get("client_id"));
    if ("error" in app) return fail(app);
    const scope = form.get("scope") ?? "";
    const resource = resourceOf(scope, app, directory, true);
    if (typeof resource !== "string") return fail(resource);
    const s = signIns.startDeviceCode(tenant, app.clientId, scope);
    const verificationUri = `${req.origin}/devicelogin`;
    return json(200, {
      user_code: s.userCode,
      device_code: s.deviceCode,
      verification_uri: verificationUri,
      expires_in: Math.round((s.expiresAt.getTime() - clock.now().getTime()) / 1000),
      interval: s.intervalSeconds,
      message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${s.userCode} to authenticate.`,
    });
  }

  /** The device-code grant: polled until the user approved, declined, or the code expired. */
  function deviceCodeGrant(
    req: SandboxRequest,
    tenant: string,
    form: URLSearchParams,
    fail: (f: EntraFailure) => SandboxResponse,
  ): SandboxResponse {
    const grant = publicClientGrant(tenant, form, "device_code");
    if ("error" in grant) return fail(grant);
    const { app, value: code } = grant;
    const s = signIns!.deviceCode(code);
    if (!s || s.clientId.toLowerCase() !== app.clientId.toLowerCase())
      return fail(ENTRA_FAILURES.badVerificationCode());
    if (s.expiresAt.getTime() <= clock.now().getTime()) {
      signIns!.consume(code);
      return fail(ENTRA_FAILURES.deviceCodeExpired());
    }
    if (s.state === "pending" && signIns!.autoApproveAs) signIns!.approve(s.userCode, signIns!.autoApproveAs);
    if (s.state === "declined") {
      signIns!.consume(code);
      return fail(ENTRA_FAILURES.authorizationDeclined());
    }
    if (s.state === "pending") {
      // Wall time, not the sandbox clock: this is about how fast the client polls.
      const nowMs = performance.now();
      const early =
        s.lastPollMs !== undefined && nowMs - s.lastPollMs < s.intervalSeconds * 1000 - POLL_TOLERANCE_MS;
      s.lastPollMs = nowMs;
      return fail(early ? ENTRA_FAILURES.slowDown(s.intervalSeconds) : ENTRA_FAILURES.authorizationPending());
    }
    const user = signIns!.user(s.tenantId, s.username ?? "");
    signIns!.consume(code);
    if (!user) return fail(ENTRA_FAILURES.badVerificationCode());
    return userTokens(req, tenant, app, user, s.scope, fail);
  }

  /** The refresh-token grant: a new access token (and a new refresh token) for the same user. */
  function refreshTokenGrant(
    req: SandboxRequest,
    tenant: string,
    form: URLSearchParams,
    fail: (f: EntraFailure) => SandboxResponse,
  ): SandboxResponse {
    const grant = publicClientGrant(tenant, form, "refresh_token");
    if ("error" in grant) return fail(grant);
    const { app, value: token } = grant;
    const r = signIns!.refreshToken(token);
    if (
      !r ||
      r.clientId.toLowerCase() !== app.clientId.toLowerCase() ||
      r.tenantId.toLowerCase() !== tenant.toLowerCase()
    )
      return fail(ENTRA_FAILURES.refreshTokenUnknown());
    if (r.revoked) return fail(ENTRA_FAILURES.refreshTokenRevoked());
    if (r.expiresAt.getTime() <= clock.now().getTime()) return fail(ENTRA_FAILURES.refreshTokenExpired());
    const user = signIns!.user(r.tenantId, r.username);
    if (!user) return fail(ENTRA_FAILURES.refreshTokenRevoked());
    // Like Entra ID, the old refresh token stays valid: a new one comes with every answer.
    return userTokens(req, tenant, app, user, form.get("scope") ?? "", fail);
  }

  function openidConfiguration(req: SandboxRequest, tenant: string): SandboxResponse {
    req.endpoint = "GET /{tenant}/v2.0/.well-known/openid-configuration";
    if (!directory.hasTenant(tenant))
      return entraErrorResponse(ENTRA_FAILURES.unknownTenant(tenant), clock.now());
    const base = `${req.origin}/${encodeURIComponent(tenant)}`;
    return json(200, {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      tenant_region_scope: "NA",
      cloud_instance_name: "microsoftonline.com",
    });
  }

  return {
    name: "entra",
    async handle(req) {
      const path = req.url.pathname;
      const tokenMatch = TOKEN_PATH.exec(path);
      if (tokenMatch?.[1]) {
        if (req.method !== "POST")
          return json(405, {
            error: "invalid_request",
            error_description: "Use POST for the token endpoint.",
          });
        return token(req, decodeURIComponent(tokenMatch[1]));
      }
      const dc = DEVICECODE_PATH.exec(path);
      if (dc?.[1]) {
        if (req.method !== "POST")
          return json(405, {
            error: "invalid_request",
            error_description: "Use POST for the devicecode endpoint.",
          });
        return deviceCode(req, decodeURIComponent(dc[1]));
      }
      if (path === "/devicelogin" && req.method === "GET") {
        req.endpoint = "GET /devicelogin";
        return {
          status: 200,
          headers: { "content-type": "text/plain; charset=utf-8" },
          body: "This is the cosell sandbox's Entra ID. Nobody signs in here: approve a code with the control API (POST /entra/device-codes/approve { userCode }) or start the sandbox with device codes auto-approved.\n",
        };
      }
      const oidc = OPENID_PATH.exec(path);
      if (oidc?.[1] && req.method === "GET") return openidConfiguration(req, decodeURIComponent(oidc[1]));
      const keys = KEYS_PATH.exec(path);
      if (keys?.[1] && req.method === "GET") {
        req.endpoint = "GET /{tenant}/discovery/v2.0/keys";
        return json(200, { keys: [] });
      }
      return json(404, {
        error: "invalid_request",
        error_description: `The sandbox's Entra ID serves /{tenant}/oauth2/v2.0/token and /{tenant}/v2.0/.well-known/openid-configuration, not ${req.method} ${path}.`,
      });
    },
    faultResponse(fault: Extract<Fault, { kind: "throttle" | "serverError" }>): SandboxResponse {
      const status = fault.kind === "throttle" ? 429 : fault.status === 503 ? 503 : 500;
      return entraErrorResponse(
        {
          status,
          error: "temporarily_unavailable",
          aadsts: 90033,
          message:
            fault.kind === "throttle"
              ? "The request was throttled; retry after the time given in Retry-After."
              : "A transient error has occurred. Please try again.",
        },
        clock.now(),
        randomUUID(),
      );
    },
  };
}
