import { randomUUID } from "node:crypto";
import type { SandboxResponse } from "../kit/index.js";

/**
 * Entra ID's token-endpoint errors, shaped as the real service answers them (dynamics.md §6.1):
 * `{ error, error_description: "AADSTS…: … Trace ID: … Correlation ID: … Timestamp: …", error_codes,
 * timestamp, trace_id, correlation_id, error_uri }`. msal-node turns them into a `ServerError` whose
 * `errorCode` is `error` and whose message carries the AADSTS code.
 */
export interface EntraFailure {
  status: 400 | 401 | 404 | 429 | 500 | 503;
  /** OAuth error: `invalid_client`, `unauthorized_client`, `invalid_scope`, `invalid_request`, … */
  error: string;
  /** The AADSTS number. */
  aadsts: number;
  message: string;
}

/** The failures the sandbox produces, by name, so every place spells the code and text the same way. */
export const ENTRA_FAILURES = {
  unsupportedGrant: (grant: string): EntraFailure => ({
    status: 400,
    error: "unsupported_grant_type",
    aadsts: 70003,
    message: `The app requested an unsupported grant type '${grant}'. The sandbox supports client_credentials, urn:ietf:params:oauth:grant-type:device_code and refresh_token.`,
  }),
  // Device-code poll answers ("Microsoft identity platform and the OAuth 2.0 device authorization
  // grant flow", Expected errors). AADSTS70016 and 70020 are the numbers Entra ID is seen to send;
  // the others are not documented and only there because every sandbox answer carries one.
  authorizationPending: (): EntraFailure => ({
    status: 400,
    error: "authorization_pending",
    aadsts: 70016,
    message: "The provided request has not yet been authorized by the user. The user must input their code.",
  }),
  deviceCodeExpired: (): EntraFailure => ({
    status: 400,
    error: "expired_token",
    aadsts: 70020,
    message:
      "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
  }),
  authorizationDeclined: (): EntraFailure => ({
    status: 400,
    error: "authorization_declined",
    aadsts: 70000,
    message: "The user declined the authorization request.",
  }),
  badVerificationCode: (): EntraFailure => ({
    status: 400,
    error: "bad_verification_code",
    aadsts: 70000,
    message: "The provided value for the input parameter 'device_code' is not valid.",
  }),
  /** RFC 8628 §3.5: polled sooner than `interval` (not in Microsoft's table; msal-node stops on it). */
  slowDown: (interval: number): EntraFailure => ({
    status: 400,
    error: "slow_down",
    aadsts: 70000,
    message: `The client is polling too quickly. Wait at least ${interval} seconds between requests.`,
  }),
  publicClientDisabled: (clientId: string): EntraFailure => ({
    status: 401,
    error: "invalid_client",
    aadsts: 7000218,
    message: `The request body must contain the following parameter: 'client_assertion' or 'client_secret'. (App '${clientId}' does not allow public client flows.)`,
  }),
  refreshTokenExpired: (): EntraFailure => ({
    status: 400,
    error: "invalid_grant",
    aadsts: 700082,
    message:
      "The refresh token has expired due to inactivity. The token was issued long ago and was inactive for 90 days.",
  }),
  refreshTokenRevoked: (): EntraFailure => ({
    status: 400,
    error: "invalid_grant",
    aadsts: 50173,
    message:
      "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
  }),
  refreshTokenUnknown: (): EntraFailure => ({
    status: 400,
    error: "invalid_grant",
    aadsts: 9002313,
    message:
      "Invalid request. Request is malformed or invalid: the refresh token is not one this tenant issued.",
  }),
  missingParameter: (name: string): EntraFailure => ({
    status: 400,
    error: "invalid_request",
    aadsts: 900144,
    message: `The request body must contain the following parameter: '${name}'.`,
  }),
  unknownTenant: (tenant: string): EntraFailure => ({
    status: 400,
    error: "invalid_request",
    aadsts: 90002,
    message: `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
  }),
  unknownClient: (clientId: string, tenant: string): EntraFailure => ({
    status: 400,
    error: "unauthorized_client",
    aadsts: 700016,
    message: `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  }),
  missingCredential: (): EntraFailure => ({
    status: 401,
    error: "invalid_client",
    aadsts: 7000218,
    message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  }),
  wrongSecret: (clientId: string): EntraFailure => ({
    status: 401,
    error: "invalid_client",
    aadsts: 7000215,
    message: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  }),
  badAssertion: (detail: string): EntraFailure => ({
    status: 401,
    error: "invalid_client",
    aadsts: 700027,
    message: `Client assertion failed validation: ${detail}`,
  }),
  assertionOutOfTime: (detail: string): EntraFailure => ({
    status: 401,
    error: "invalid_client",
    aadsts: 700024,
    message: `Client assertion is not within its valid time range. ${detail}`,
  }),
  scopeNotDefault: (scope: string): EntraFailure => ({
    status: 400,
    error: "invalid_scope",
    aadsts: 1002012,
    message: `The provided value for scope '${scope}' is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  }),
  resourceNotAllowed: (scope: string, clientId: string): EntraFailure => ({
    status: 400,
    error: "invalid_scope",
    aadsts: 70011,
    message: `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid: application '${clientId}' has no permission on that resource in this sandbox.`,
  }),
} as const;

/** `2024-05-01 10:00:00Z`: the timestamp format of Entra's error bodies. */
function entraTimestamp(at: Date): string {
  return at
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

/** The HTTP answer for `failure`. */
export function entraErrorResponse(failure: EntraFailure, at: Date, correlationId?: string): SandboxResponse {
  const traceId = randomUUID();
  const correlation = correlationId ?? randomUUID();
  const timestamp = entraTimestamp(at);
  return {
    status: failure.status,
    headers: { "cache-control": "no-store", pragma: "no-cache" },
    body: {
      error: failure.error,
      error_description: `AADSTS${failure.aadsts}: ${failure.message} Trace ID: ${traceId} Correlation ID: ${correlation} Timestamp: ${timestamp}`,
      error_codes: [failure.aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlation,
      error_uri: `https://login.microsoftonline.com/error?code=${failure.aadsts}`,
    },
  };
}
