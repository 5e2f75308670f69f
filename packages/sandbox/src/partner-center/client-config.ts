import type { PartnerCenterClientConfigInput } from "@cosell/core";
import type { PartnerCenterCredentials } from "./system.js";

/**
 * Core's Partner Center client settings for the sandbox's test credentials, with the client secret
 * (or the certificate). One place, so the demo, the benchmarks and the tests connect the same way.
 */
export function partnerCenterClientConfig(
  c: PartnerCenterCredentials,
  credential: "secret" | "certificate" = "secret",
): PartnerCenterClientConfigInput {
  return {
    tenantId: c.tenantId,
    clientId: c.clientId,
    authorityHost: c.authorityHost,
    tokenEndpoint: c.tokenEndpoint,
    scope: c.scope,
    apiBaseUrl: c.apiBaseUrl,
    ...(credential === "secret"
      ? { clientSecret: c.clientSecret }
      : {
          certificate: {
            privateKeyPem: c.certificate.privateKeyPem,
            thumbprintSha256: c.certificate.thumbprintSha256,
          },
        }),
  };
}
