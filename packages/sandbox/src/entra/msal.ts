/**
 * The https host of the sandbox's "virtual" authority. msal-node refuses http authorities
 * (`authority_uri_insecure`) and runs instance discovery against login.microsoftonline.com for hosts
 * it does not know; `.invalid` never resolves, so nothing can ever be sent to it by mistake.
 */
export const SANDBOX_AUTHORITY_HOST = "login.sandbox.cosell.invalid";

/** The `auth` settings that point msal-node at the sandbox (spread them into `Configuration.auth`). */
export interface SandboxMsalAuthority {
  /** `https://login.sandbox.cosell.invalid/<tenant>`: never contacted. */
  authority: string;
  knownAuthorities: string[];
  /** JSON metadata whose `token_endpoint` is the sandbox's http token endpoint. */
  authorityMetadata: string;
}

/**
 * msal-node authority options for the sandbox's Entra ID (dynamics.md §6.2): an https authority that
 * msal never contacts, declared known and given its metadata, so the token POST goes straight to
 * `{entraUrl}/{tenantId}/oauth2/v2.0/token` with no instance discovery and no metadata request.
 *
 * ```ts
 * new ConfidentialClientApplication({ auth: { clientId, clientSecret, ...sandboxMsalAuthority(urls.entra, tenantId) } })
 * ```
 */
export function sandboxMsalAuthority(entraUrl: string, tenantId: string): SandboxMsalAuthority {
  const origin = new URL(entraUrl).origin;
  const tenant = encodeURIComponent(tenantId);
  const virtual = `https://${SANDBOX_AUTHORITY_HOST}/${tenant}`;
  return {
    authority: virtual,
    knownAuthorities: [SANDBOX_AUTHORITY_HOST],
    authorityMetadata: JSON.stringify({
      token_endpoint: `${origin}/${tenant}/oauth2/v2.0/token`,
      authorization_endpoint: `${virtual}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${virtual}/oauth2/v2.0/logout`,
      issuer: `${virtual}/v2.0`,
      jwks_uri: `${virtual}/discovery/v2.0/keys`,
    }),
  };
}
