import { z } from "zod";
import {
  CertificateCredentialSchema,
  createTokenProvider,
  requireOneCredential,
  resolveTokenProviderOptions,
  type TokenProvider,
  type TokenProviderDeps,
} from "./auth.js";
import { MIN_TOKEN_CACHE_KEY_LENGTH } from "./token-cache.js";
import { createUserTokenProvider, type UserTokenProvider } from "./user-auth.js";

/** Default token cache file name (the CLI resolves it next to the config file). */
export const DEFAULT_TOKEN_CACHE_FILE = "cosell-token-cache.json";

/**
 * `auth.kind: user` (the default): a Partner Center user signed in once with `cosell login`
 * (device code); the Referrals API documents App+User access only.
 */
export const UserAuthSchema = z
  .object({
    kind: z.literal("user"),
    /** msal's token cache file (0600). Relative paths are resolved by the caller (the CLI: next to the config). */
    tokenCache: z.string().min(1).default(DEFAULT_TOKEN_CACHE_FILE),
    /** Optional key that encrypts the token cache (AES-256-GCM); give it as an env:/file: reference. */
    tokenCacheKey: z
      .string()
      .min(
        MIN_TOKEN_CACHE_KEY_LENGTH,
        `give at least ${MIN_TOKEN_CACHE_KEY_LENGTH} characters, e.g. \`openssl rand -base64 32\``,
      )
      .optional(),
  })
  .strict();

/**
 * `auth.kind: app`: app-only client credentials. Microsoft documents that the Referrals API does not
 * accept app-only tokens; kept only as an explicit opt-in (other Partner Center APIs, proxies).
 */
export const AppAuthSchema = z
  .object({
    kind: z.literal("app"),
    /** Client secret; give this or `certificate`. */
    clientSecret: z.string().min(1).optional(),
    certificate: CertificateCredentialSchema.optional(),
  })
  .strict()
  .superRefine(requireOneCredential);

/** How cosell gets Partner Center tokens. */
export const PartnerCenterAuthSchema = z.discriminatedUnion("kind", [UserAuthSchema, AppAuthSchema]);
/** A parsed {@link PartnerCenterAuthSchema}. */
export type PartnerCenterAuth = z.infer<typeof PartnerCenterAuthSchema>;

/** The Entra ID settings both kinds share. */
export interface PartnerCenterIdentity {
  tenantId: string;
  clientId: string;
  authorityHost: string;
  tokenEndpoint?: string | undefined;
  scope: string;
  auth: PartnerCenterAuth;
}

/** The token provider `config.auth` asks for: the signed-in user's (default) or the app's own. */
export function createPartnerCenterTokens(
  config: PartnerCenterIdentity,
  deps: TokenProviderDeps = {},
): TokenProvider | UserTokenProvider {
  const { auth } = config;
  if (auth.kind === "app") {
    const options = {
      tenantId: config.tenantId,
      clientId: config.clientId,
      clientSecret: auth.clientSecret,
      certificate: auth.certificate,
      authorityHost: config.authorityHost,
      tokenEndpoint: config.tokenEndpoint,
      scope: config.scope,
    };
    // Checked here first so that a bad key is named where it is written (`auth.certificate…`).
    resolveTokenProviderOptions(options, "auth");
    return createTokenProvider(options, deps);
  }
  return createUserTokenProvider(
    {
      tenantId: config.tenantId,
      clientId: config.clientId,
      authorityHost: config.authorityHost,
      ...(config.tokenEndpoint ? { tokenEndpoint: config.tokenEndpoint } : {}),
      scope: config.scope,
      tokenCache: auth.tokenCache,
      ...(auth.tokenCacheKey ? { tokenCacheKey: auth.tokenCacheKey } : {}),
    },
    deps,
  );
}

/** True for the signed-in user's provider. */
export function isUserTokenProvider(t: TokenProvider): t is UserTokenProvider {
  return (t as Partial<UserTokenProvider>).kind === "user";
}
