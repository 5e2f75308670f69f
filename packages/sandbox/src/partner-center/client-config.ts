import type { PartnerCenterClientConfigInput } from "@cosell/core";
import type { PartnerCenterCredentials } from "./system.js";

/**
 * Core's Partner Center client settings for the sandbox's test credentials. One place, so the demo,
 * the benchmarks and the tests connect the same way.
 *
 * - `"user"` (default): signed in as the sandbox's Referral Admin user, through the token cache the
 *   sandbox filled at start with the device-code login (`auth.kind: user`), as in production.
 * - `"secret"` / `"certificate"`: app-only client credentials (`auth.kind: app`). The emulated
 *   referral routes refuse app-only tokens unless `sandbox.partnerCenter.allowAppOnlyTokens(true)`.
 */
export function partnerCenterClientConfig(
  c: PartnerCenterCredentials,
  auth: "user" | "secret" | "certificate" = "user",
): PartnerCenterClientConfigInput {
  return {
    tenantId: c.tenantId,
    clientId: c.clientId,
    authorityHost: c.authorityHost,
    tokenEndpoint: c.tokenEndpoint,
    scope: c.scope,
    apiBaseUrl: c.apiBaseUrl,
    webhookRegistrationUrl: c.webhookRegistrationUrl,
    webhookScope: c.webhookScope,
    auth:
      auth === "user"
        ? { kind: "user", tokenCache: c.tokenCachePath }
        : auth === "secret"
          ? { kind: "app", clientSecret: c.clientSecret }
          : {
              kind: "app",
              certificate: {
                privateKeyPem: c.certificate.privateKeyPem,
                thumbprintSha256: c.certificate.thumbprintSha256,
              },
            },
  };
}
