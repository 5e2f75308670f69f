import { createPublicKey } from "node:crypto";
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from "jose";
import type { EntraApp } from "./directory.js";
import { ENTRA_FAILURES, type EntraFailure } from "./errors.js";

/** The only `client_assertion_type` Entra ID accepts for certificate credentials. */
export const JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** Clock skew tolerated on `nbf`/`exp`, as Entra does (5 minutes). */
const CLOCK_SKEW_SECONDS = 300;

function sameEndpoint(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    const path = (u: URL) => u.pathname.replace(/\/+$/, "").toLowerCase();
    return x.origin.toLowerCase() === y.origin.toLowerCase() && path(x) === path(y);
  } catch {
    return false;
  }
}

/**
 * Checks a certificate client assertion the way Entra ID does: the signing key is found by the
 * header's `x5t#S256` thumbprint among the app's certificates, the signature verifies (PS256, as
 * msal-node 7 signs, or RS256), `aud` is this token endpoint, `iss` = `sub` = the client id, and the
 * assertion is inside its `nbf`–`exp` window.
 *
 * Times are checked against the **real** clock, not the sandbox clock: msal signs with the process's
 * own time, and advancing the sandbox clock by days must not make every certificate login fail.
 * A reused assertion is accepted: msal-node reuses its signed JWT until it expires.
 */
export async function verifyClientAssertion(
  assertion: string,
  app: EntraApp,
  tokenEndpoint: string,
  now: Date = new Date(),
): Promise<EntraFailure | undefined> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    return ENTRA_FAILURES.badAssertion("the client_assertion is not a signed JWT.");
  }
  const x5t = header["x5t#S256"];
  if (typeof x5t !== "string" || !x5t)
    return ENTRA_FAILURES.badAssertion(
      "the assertion's header has no x5t#S256 certificate thumbprint; sign it with a certificate whose SHA-256 thumbprint is registered on the application.",
    );
  const thumbprint = Buffer.from(x5t, "base64url").toString("hex");
  const cert = app.certificates?.find((c) => c.thumbprintSha256 === thumbprint);
  if (!cert)
    return ENTRA_FAILURES.badAssertion(
      `the certificate with identifier used to sign the client assertion is not registered on application '${app.clientId}'. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprint.toUpperCase()}']`,
    );
  try {
    const { payload } = await jwtVerify(assertion, createPublicKey(cert.publicKeyPem), {
      algorithms: ["PS256", "RS256"],
      issuer: app.clientId,
      subject: app.clientId,
      currentDate: now,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ["aud", "exp"],
    });
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud ?? ""];
    if (!audiences.some((a) => sameEndpoint(a, tokenEndpoint)))
      return ENTRA_FAILURES.badAssertion(
        `the assertion's audience (aud) ${JSON.stringify(payload.aud)} is not this token endpoint ${tokenEndpoint}.`,
      );
    return undefined;
  } catch (e) {
    if (e instanceof joseErrors.JWTExpired)
      return ENTRA_FAILURES.assertionOutOfTime(`It expired (exp) before ${now.toISOString()}.`);
    if (e instanceof joseErrors.JWTClaimValidationFailed) {
      if (e.claim === "nbf")
        return ENTRA_FAILURES.assertionOutOfTime(`It is not valid yet (nbf) at ${now.toISOString()}.`);
      return ENTRA_FAILURES.badAssertion(
        `claim "${e.claim}" is invalid (${e.reason}); iss and sub must both be the client id '${app.clientId}'.`,
      );
    }
    if (e instanceof joseErrors.JWSSignatureVerificationFailed)
      return ENTRA_FAILURES.badAssertion("the signature does not verify with the registered certificate.");
    if (e instanceof joseErrors.JOSEAlgNotAllowed)
      return ENTRA_FAILURES.badAssertion(`algorithm "${header.alg}" is not accepted; use PS256 or RS256.`);
    return ENTRA_FAILURES.badAssertion(`the assertion could not be read (${(e as Error).message}).`);
  }
}
