import { createPrivateKey } from "node:crypto";
import {
  type AuthenticationResult,
  ClientConfigurationError,
  ConfidentialClientApplication,
  type Configuration,
  AuthError as MsalAuthError,
  ServerError,
} from "@azure/msal-node";
import { z } from "zod";
import { AuthError, ConfigError, errorMessage, ThrottledError, TransientError } from "../errors.js";
import { configErrorFromZod } from "./config-error.js";
import { requireSecureUrl } from "./tls.js";

/** Entra ID's public cloud. Sovereign clouds use their own host (`https://login.microsoftonline.us`, …). */
export const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com";

/** The Partner Center API's `.default` scope (app permissions granted to the app registration). */
export const PARTNER_CENTER_SCOPE = "https://api.partner.microsoft.com/.default";

/**
 * A certificate credential (preferred over a secret: nothing to leak in config). `privateKeyPem` is the
 * PKCS#8 (or PKCS#1) PEM of the key whose public certificate is uploaded to the app registration;
 * `thumbprintSha256` is that certificate's SHA-256 thumbprint in hex; `x5c` the optional PEM chain
 * (needed for subject-name/issuer authentication).
 */
export const CertificateCredentialSchema = z.object({
  privateKeyPem: z.string().min(1, "give the PEM private key of the app's certificate"),
  thumbprintSha256: z
    .string()
    .transform((s) => s.replace(/[\s:]/g, ""))
    .pipe(
      z.string().regex(/^[0-9a-fA-F]{64}$/, "expected the certificate's SHA-256 thumbprint: 64 hex digits"),
    ),
  x5c: z.string().min(1).optional(),
});
/** A parsed {@link CertificateCredentialSchema}. */
export type CertificateCredential = z.infer<typeof CertificateCredentialSchema>;

/**
 * The fields of {@link TokenProviderOptionsSchema}, unrefined, so that other config schemas (the
 * Partner Center client's, the Dynamics adapter's) can embed them and apply {@link requireOneCredential}.
 */
export const tokenProviderShape = {
  /** Directory (tenant) id of the partner's Entra ID tenant. */
  tenantId: z.string().min(1, "give the directory (tenant) id"),
  /** Application (client) id of the app registration. */
  clientId: z.string().min(1, "give the application (client) id"),
  /** Client secret; give this or `certificate`. */
  clientSecret: z.string().min(1).optional(),
  certificate: CertificateCredentialSchema.optional(),
  /** Entra ID host; default {@link DEFAULT_AUTHORITY_HOST}. */
  authorityHost: z.string().default(DEFAULT_AUTHORITY_HOST),
  /**
   * Token endpoint override (a proxy, the sandbox). Plain http is allowed only to loopback.
   * When `authorityHost` is a loopback http URL this defaults to `{authorityHost}/{tenantId}/oauth2/v2.0/token`.
   */
  tokenEndpoint: z.string().optional(),
  /** The resource's `.default` scope, e.g. {@link PARTNER_CENTER_SCOPE} or `https://org.crm.dynamics.com/.default`. */
  scope: z.string().min(1).default(PARTNER_CENTER_SCOPE),
};

/** Exactly one credential: a client secret or a certificate. Use with `.superRefine`. */
export function requireOneCredential(
  o: { clientSecret?: string | undefined; certificate?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (!o.clientSecret && !o.certificate)
    ctx.addIssue({
      code: "custom",
      path: ["clientSecret"],
      message:
        "give a client secret or a certificate ({ privateKeyPem, thumbprintSha256 }) of the app registration",
    });
  if (o.clientSecret && o.certificate)
    ctx.addIssue({
      code: "custom",
      path: ["certificate"],
      message: "give either a client secret or a certificate, not both (remove one)",
    });
}

/** What {@link createTokenProvider} needs: an app registration, its credential and the scope to ask for. */
export const TokenProviderOptionsSchema = z
  .object(tokenProviderShape)
  .strict()
  .superRefine(requireOneCredential);
/** Token provider options as written (defaults optional). */
export type TokenProviderOptions = z.input<typeof TokenProviderOptionsSchema>;
/** Token provider options after validation, defaults applied. */
export type ResolvedTokenProviderOptions = z.output<typeof TokenProviderOptionsSchema>;

/** Bearer tokens for one app registration and one scope, cached and refreshed by msal. */
export interface TokenProvider {
  /** The scope tokens are issued for. */
  readonly scope: string;
  /** A valid access token: from msal's cache, or a fresh one (msal refreshes 5 minutes before expiry). */
  getToken(): Promise<string>;
  /**
   * Forces the next {@link getToken} to fetch a fresh token (after the resource answered 401).
   * Pass the rejected token: when another caller already replaced it, nothing is forced again.
   */
  invalidate(rejectedToken?: string): void;
  /** Token requests that went to the network (cache hits are not counted). */
  stats(): { tokenRequests: number };
  /**
   * A provider for another resource with the same sign-in (the Partner Center webhook API has its
   * own audience, `https://api.partnercenter.microsoft.com`). Optional: without it, callers create a
   * provider for that scope from the same settings.
   */
  forScope?(scope: string): TokenProvider;
}

/** Extra knobs for tests and tools; production code passes nothing. */
export interface TokenProviderDeps {
  /** Passed to msal as `system` (network client, logger). */
  msalSystem?: Configuration["system"];
}

/** Host of the https "virtual" authority used when the token endpoint is overridden (dynamics.md §6.2). */
const VIRTUAL_AUTHORITY_HOST = "login.cosell.invalid";

/** msal `auth` settings: the real authority, or a virtual one whose metadata points at `tokenEndpoint`. */
export function msalAuthority(
  o: Pick<ResolvedTokenProviderOptions, "tenantId" | "authorityHost" | "tokenEndpoint">,
): Pick<Configuration["auth"], "authority" | "knownAuthorities" | "authorityMetadata"> {
  const host = requireSecureUrl("authorityHost", o.authorityHost);
  let tokenEndpoint = o.tokenEndpoint;
  if (!tokenEndpoint && host.protocol === "http:")
    tokenEndpoint = `${host.origin}/${encodeURIComponent(o.tenantId)}/oauth2/v2.0/token`;
  if (!tokenEndpoint) return { authority: `${host.origin}/${encodeURIComponent(o.tenantId)}` };
  requireSecureUrl("tokenEndpoint", tokenEndpoint);
  // msal refuses http authorities (authority_uri_insecure) and would run instance discovery for an
  // unknown host. An https authority that msal never contacts, declared known and given its metadata,
  // makes the token POST the only request, straight to `tokenEndpoint`.
  const virtual = `https://${VIRTUAL_AUTHORITY_HOST}/${encodeURIComponent(o.tenantId)}`;
  return {
    authority: virtual,
    knownAuthorities: [VIRTUAL_AUTHORITY_HOST],
    authorityMetadata: JSON.stringify({
      token_endpoint: tokenEndpoint,
      authorization_endpoint: `${virtual}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${virtual}/oauth2/v2.0/logout`,
      issuer: `${virtual}/v2.0`,
      jwks_uri: `${virtual}/discovery/v2.0/keys`,
    }),
  };
}

/** Parses and checks token provider options; a bad value is a {@link ConfigError} naming the key. */
export function resolveTokenProviderOptions(
  options: TokenProviderOptions,
  keyPrefix = "",
): ResolvedTokenProviderOptions {
  const parsed = TokenProviderOptionsSchema.safeParse(options);
  if (!parsed.success) throw configErrorFromZod(parsed.error, options, keyPrefix);
  const o = parsed.data;
  if (o.certificate) {
    try {
      createPrivateKey(o.certificate.privateKeyPem);
    } catch (e) {
      const key = [keyPrefix, "certificate.privateKeyPem"].filter(Boolean).join(".");
      throw new ConfigError(
        "CONFIG_INVALID",
        `${key}: (hidden) — not a readable PEM private key (${errorMessage(e)}). Give the unencrypted PKCS#8 or PKCS#1 PEM of the certificate's key.`,
        { key },
      );
    }
  }
  return o;
}

/**
 * Creates a token provider for one app registration and one scope, backed by a single msal
 * `ConfidentialClientApplication` (its in-memory cache serves repeated calls and refreshes tokens
 * 5 minutes before they expire). Reusable for any Entra ID protected resource: pass that resource's
 * `.default` scope. Errors are core errors: {@link AuthError} (`AUTH_*`) when Entra ID refuses the
 * credentials, {@link TransientError} when it cannot be reached, {@link ConfigError} for bad options.
 */
export function createTokenProvider(
  options: TokenProviderOptions,
  deps: TokenProviderDeps = {},
): TokenProvider {
  const o = resolveTokenProviderOptions(options);
  const cca = new ConfidentialClientApplication({
    auth: {
      clientId: o.clientId,
      ...msalAuthority(o),
      ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}),
      ...(o.certificate
        ? {
            clientCertificate: {
              privateKey: o.certificate.privateKeyPem,
              thumbprintSha256: o.certificate.thumbprintSha256,
              ...(o.certificate.x5c ? { x5c: o.certificate.x5c } : {}),
            },
          }
        : {}),
    },
    ...(deps.msalSystem ? { system: deps.msalSystem } : {}),
  });

  let inflight: Promise<AuthenticationResult> | undefined;
  let forceRefresh = false;
  let current: string | undefined;
  let tokenRequests = 0;

  const acquire = async (): Promise<AuthenticationResult> => {
    const skipCache = forceRefresh;
    forceRefresh = false;
    try {
      const r = await cca.acquireTokenByClientCredential({ scopes: [o.scope], skipCache });
      if (!r?.accessToken)
        throw new AuthError("AUTH_NO_TOKEN", `Entra ID returned no access token for ${o.scope}.`, {
          details: { clientId: o.clientId, tenantId: o.tenantId },
        });
      if (!r.fromCache) tokenRequests++;
      return r;
    } catch (e) {
      if (skipCache) forceRefresh = true; // the refresh did not happen: still owed
      throw authErrorFrom(e, o);
    }
  };

  const provider: TokenProvider = {
    scope: o.scope,
    async getToken() {
      // One token request at a time: concurrent callers share it instead of each hitting Entra ID.
      inflight ??= acquire().finally(() => {
        inflight = undefined;
      });
      const r = await inflight;
      current = r.accessToken;
      return r.accessToken;
    },
    invalidate(rejectedToken?: string) {
      if (rejectedToken === undefined || rejectedToken === current) forceRefresh = true;
    },
    stats: () => ({ tokenRequests }),
    forScope: (scope) => (scope === o.scope ? provider : createTokenProvider({ ...options, scope }, deps)),
  };
  return provider;
}

/** What to tell the admin for the Entra ID (AADSTS) errors people actually hit. */
function adviceFor(
  aadsts: string | undefined,
  oauthError: string,
  o: ResolvedTokenProviderOptions,
): { code: string; message: string } {
  const app = `app ${o.clientId} in tenant ${o.tenantId}`;
  const credential = o.certificate ? "certificate" : "client secret";
  switch (aadsts) {
    case "7000215":
    case "7000222":
    case "7000216":
      return {
        code: "AUTH_INVALID_CLIENT",
        message: `Entra ID refused the client secret of ${app} (wrong or expired, AADSTS${aadsts}). Create a new secret under the app registration's "Certificates & secrets", copy its Value (not its ID) and update the clientSecret setting.`,
      };
    case "700027":
    case "700024":
    case "7000274":
    case "700023":
      return {
        code: "AUTH_INVALID_CLIENT",
        message: `Entra ID refused the certificate of ${app} (AADSTS${aadsts}). Upload the public certificate whose SHA-256 thumbprint is ${o.certificate?.thumbprintSha256 ?? "configured"} to the app registration ("Certificates & secrets"), or fix certificate.thumbprintSha256/privateKeyPem so they belong to that certificate.`,
      };
    case "700016":
      return {
        code: "AUTH_UNKNOWN_CLIENT",
        message: `Entra ID does not know ${app} (AADSTS700016). Check clientId and tenantId; for a multi-tenant app, an administrator of tenant ${o.tenantId} must first consent to it.`,
      };
    case "90002":
    case "900023":
      return {
        code: "AUTH_UNKNOWN_TENANT",
        message: `Entra ID does not know tenant ${o.tenantId} (AADSTS${aadsts}). Set tenantId to the partner's directory (tenant) id.`,
      };
    case "65001":
    case "7000112":
      return {
        code: "AUTH_CONSENT_REQUIRED",
        message: `${app} has no admin consent for ${o.scope} (AADSTS${aadsts}). An administrator must grant admin consent to the app's API permissions (Entra admin center → App registrations → API permissions → Grant admin consent).`,
      };
    case "500011":
    case "70011":
    case "28002":
      return {
        code: "AUTH_INVALID_SCOPE",
        message: `Entra ID cannot issue a token for ${o.scope} to ${app} (AADSTS${aadsts}). Add the resource's API permission to the app registration, grant admin consent, and check the scope setting ends with "/.default".`,
      };
  }
  switch (oauthError) {
    case "invalid_client":
      return {
        code: "AUTH_INVALID_CLIENT",
        message: `Entra ID refused the ${credential} of ${app}. Check the ${credential} configured for this app registration.`,
      };
    case "unauthorized_client":
      return {
        code: "AUTH_UNKNOWN_CLIENT",
        message: `Entra ID does not let ${app} use the client-credentials flow. Check clientId/tenantId and that the app is consented in this tenant.`,
      };
    case "invalid_scope":
      return {
        code: "AUTH_INVALID_SCOPE",
        message: `Entra ID refused the scope ${o.scope} for ${app}. Add the API permission, grant admin consent and use the resource's "/.default" scope.`,
      };
    case "consent_required":
    case "interaction_required":
      return {
        code: "AUTH_CONSENT_REQUIRED",
        message: `${app} needs admin consent for ${o.scope}. An administrator must grant admin consent to the app's API permissions.`,
      };
  }
  return {
    code: "AUTH_FAILED",
    message: `Entra ID refused to issue a token for ${o.scope} to ${app} (${oauthError || "no error code"}${aadsts ? `, AADSTS${aadsts}` : ""}). Check the app registration's credentials and API permissions.`,
  };
}

/**
 * The msal failures that mean the same for the app's own token and for a user's sign-in: settings
 * msal cannot use (`ConfigError` `AUTH_CONFIG_INVALID`, naming the settings in `check`) and a token
 * endpoint it cannot reach (retryable `TransientError` `AUTH_ENDPOINT_UNREACHABLE`). `undefined` for
 * any other error. `details` go into the error with msal's error code.
 */
export function msalSetupError(
  e: unknown,
  clientId: string,
  details: Record<string, unknown>,
  check: string,
): ConfigError | TransientError | undefined {
  if (e instanceof ClientConfigurationError)
    return new ConfigError(
      "AUTH_CONFIG_INVALID",
      `The Entra ID settings of app ${clientId} are not usable: ${e.errorMessage || e.errorCode}. Check ${check}.`,
      { ...details, msalError: e.errorCode },
    );
  if (e instanceof MsalAuthError && /network|timeout/i.test(e.errorCode))
    return new TransientError(
      "AUTH_ENDPOINT_UNREACHABLE",
      `Entra ID's token endpoint could not be reached (${e.errorCode}). Check the network and the authorityHost/tokenEndpoint settings; cosell retries later.`,
      { retryable: true, details: { ...details, msalError: e.errorCode } },
    );
  return undefined;
}

/**
 * Maps what msal throws into core errors. Only msal's own fields are used (error code, AADSTS number,
 * HTTP status, correlation id): never the request, so the secret cannot leak into a message.
 */
export function authErrorFrom(e: unknown, o: ResolvedTokenProviderOptions): Error {
  if (e instanceof AuthError || e instanceof TransientError || e instanceof ConfigError) return e;
  const base = { tenantId: o.tenantId, clientId: o.clientId, scope: o.scope };
  if (e instanceof ServerError) {
    const aadsts = /AADSTS(\d+)/.exec(e.errorMessage ?? "")?.[1];
    const status = e.status;
    const details = {
      ...base,
      oauthError: e.errorCode || undefined,
      aadsts: aadsts ? `AADSTS${aadsts}` : undefined,
      status,
      correlationId: e.correlationId || undefined,
    };
    if (status === 429)
      return new ThrottledError(
        `Entra ID is throttling token requests for app ${o.clientId}; try again later.`,
        undefined,
        { status, details },
      );
    // 5xx, or msal's own throttle cache answering for a recent 429/5xx (no error code, no status).
    if ((status !== undefined && status >= 500) || (!e.errorCode && status === undefined))
      return new TransientError(
        "AUTH_ENDPOINT_UNAVAILABLE",
        `Entra ID could not issue a token right now (${status ?? "throttled by msal after an earlier failure"}); cosell retries later.`,
        { status, retryable: true, details },
      );
    const { code, message } = adviceFor(aadsts, e.errorCode, o);
    return new AuthError(code, message, { status, retryable: false, details });
  }
  const setup = msalSetupError(
    e,
    o.clientId,
    base,
    "tenantId, authorityHost, tokenEndpoint and the credential",
  );
  if (setup) return setup;
  if (e instanceof MsalAuthError)
    return new AuthError(
      "AUTH_FAILED",
      `No token for ${o.scope} (msal: ${e.errorCode}). Check the app registration's settings.`,
      { details: { ...base, msalError: e.errorCode } },
    );
  return new AuthError("AUTH_FAILED", `No token for ${o.scope}: ${errorMessage(e)}.`, { details: base });
}
