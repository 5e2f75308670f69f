import {
  type AccountInfo,
  type AuthenticationResult,
  ClientAuthError,
  type Configuration,
  InteractionRequiredAuthError,
  AuthError as MsalAuthError,
  PublicClientApplication,
  ServerError,
} from "@azure/msal-node";
import {
  AuthError,
  ConfigError,
  CoSellError,
  errorMessage,
  SignInRequiredError,
  ThrottledError,
  TransientError,
} from "../errors.js";
import { msalAuthority, msalSetupError, type TokenProvider, type TokenProviderDeps } from "./auth.js";
import { TokenCacheFile } from "./token-cache.js";

/** What `cosell login` prints: where to go and which code to enter. */
export interface DeviceCodePrompt {
  verificationUri: string;
  userCode: string;
  /** Entra ID's own sentence ("To sign in, use a web browser to open the page … and enter the code …"). */
  message: string;
  /** Seconds until the code expires (Entra ID: 900). */
  expiresInSeconds: number;
}

/** The account a token cache holds. */
export interface SignedInAccount {
  username: string;
  name?: string;
  tenantId: string;
  homeAccountId: string;
}

/** Settings of {@link createUserTokenProvider}. */
export interface UserTokenProviderOptions {
  tenantId: string;
  clientId: string;
  authorityHost: string;
  tokenEndpoint?: string;
  scope: string;
  /** Absolute path of the token cache file. */
  tokenCache: string;
  /** Optional encryption key of the token cache (already resolved from its env:/file: reference). */
  tokenCacheKey?: string;
  /** Config key prefix for messages, e.g. `partnerCenter.auth`. */
  keyPrefix?: string;
}

/** Bearer tokens of the signed-in Partner Center user (App+User), refreshed silently by msal. */
export interface UserTokenProvider extends TokenProvider {
  readonly kind: "user";
  /** The signed-in account, or `undefined` when nobody has signed in yet (reads the cache file). */
  account(): Promise<SignedInAccount | undefined>;
  /**
   * Device-code sign-in: asks Entra ID for a code, calls `onCode` (print it), waits until the user has
   * approved it in a browser, and stores the account and its refresh token in the token cache (any
   * account signed in before is replaced). `SIGN_IN_TIMED_OUT` when the code expires unapproved.
   */
  login(options: {
    onCode: (prompt: DeviceCodePrompt) => void;
    timeoutSeconds?: number;
  }): Promise<SignedInAccount>;
  /** Forgets the signed-in account (removes it from the token cache). Returns whether there was one. */
  logout(): Promise<boolean>;
}

const RENEW_BEFORE_EXPIRY_MS = 5 * 60_000;
const LOGIN =
  "run `cosell login` (as the service user, on this machine) and sign in as a Partner Center user with the Referral Admin role";

function summary(a: AccountInfo): SignedInAccount {
  return {
    username: a.username,
    ...(a.name ? { name: a.name } : {}),
    tenantId: a.tenantId,
    homeAccountId: a.homeAccountId,
  };
}

/**
 * The Partner Center Referrals API documents App+User access only: a token for a user holding
 * Referral Admin, Referral User or Global Admin (the sync account must be a Referral Admin). This
 * provider signs that user in once with the device-code flow (msal-node's `PublicClientApplication`;
 * the app registration must allow public client flows) and keeps msal's token cache in
 * {@link TokenCacheFile} (0600, optionally encrypted). Every later `getToken` is silent
 * (`acquireTokenSilent`): msal uses the cached access token or redeems the refresh token.
 *
 * Errors: {@link SignInRequiredError} (`SIGN_IN_*`) when a human has to sign in again,
 * `StorageError` (`TOKEN_CACHE_*`) for the cache file, `TransientError`/`ThrottledError` when Entra ID
 * is unavailable.
 */
export function createUserTokenProvider(
  o: UserTokenProviderOptions,
  deps: TokenProviderDeps = {},
): UserTokenProvider {
  const prefix = o.keyPrefix ?? "partnerCenter.auth";
  const cache = new TokenCacheFile(o.tokenCache, o.tokenCacheKey, `${prefix}.tokenCacheKey`);
  const msalConfig: Configuration = {
    auth: { clientId: o.clientId, ...msalAuthority(o) },
    cache: { cachePlugin: cache },
    ...(deps.msalSystem ? { system: deps.msalSystem } : {}),
  };
  let pca: PublicClientApplication;
  try {
    pca = new PublicClientApplication(msalConfig);
  } catch (e) {
    throw signInErrorFrom(e, o);
  }

  let inflight: Promise<AuthenticationResult> | undefined;
  let last: AuthenticationResult | undefined;
  let forceRefresh = false;
  let tokenRequests = 0;

  const theAccount = async (): Promise<AccountInfo | undefined> => {
    const accounts = await pca.getTokenCache().getAllAccounts();
    return accounts[0];
  };

  /** Throws a failed cache save as what it is: a storage problem on this machine. */
  const checkSaved = () => {
    const failed = cache.takeSaveError();
    if (failed) throw failed;
  };

  const acquire = async (): Promise<AuthenticationResult> => {
    const force = forceRefresh;
    forceRefresh = false;
    try {
      const account = await theAccount();
      if (!account)
        throw new SignInRequiredError(
          "SIGN_IN_REQUIRED",
          `Nobody is signed in to Partner Center for this config (no account in the token cache ${o.tokenCache}): ${LOGIN}.`,
          { details: { tokenCache: o.tokenCache, tenantId: o.tenantId, clientId: o.clientId } },
        );
      const r = await pca.acquireTokenSilent({ account, scopes: [o.scope], forceRefresh: force });
      if (!r?.accessToken)
        throw new SignInRequiredError(
          "SIGN_IN_FAILED",
          `Entra ID returned no access token for ${o.scope}; ${LOGIN}.`,
          { details: { tenantId: o.tenantId, clientId: o.clientId } },
        );
      if (!r.fromCache) tokenRequests++;
      checkSaved();
      return r;
    } catch (e) {
      if (force) forceRefresh = true;
      throw signInErrorFrom(e, o, "silent");
    }
  };

  const fresh = (r: AuthenticationResult | undefined): r is AuthenticationResult =>
    !!r?.expiresOn && r.expiresOn.getTime() - RENEW_BEFORE_EXPIRY_MS > Date.now();

  const provider: UserTokenProvider = {
    kind: "user",
    scope: o.scope,
    async getToken() {
      // Served from memory while valid: reading (and decrypting) the cache file per API call is waste.
      if (!forceRefresh && fresh(last)) return last.accessToken;
      inflight ??= acquire().finally(() => {
        inflight = undefined;
      });
      last = await inflight;
      return last.accessToken;
    },
    invalidate(rejectedToken?: string) {
      if (rejectedToken === undefined || rejectedToken === last?.accessToken) {
        forceRefresh = true;
        last = undefined;
      }
    },
    stats: () => ({ tokenRequests }),
    async account() {
      try {
        const a = await theAccount();
        return a && summary(a);
      } catch (e) {
        throw signInErrorFrom(e, o);
      }
    },
    async login({ onCode, timeoutSeconds }) {
      let r: AuthenticationResult | null;
      try {
        r = await pca.acquireTokenByDeviceCode({
          scopes: [o.scope],
          ...(timeoutSeconds ? { timeout: timeoutSeconds } : {}),
          deviceCodeCallback: (d) =>
            onCode({
              verificationUri: d.verificationUri,
              userCode: d.userCode,
              message: d.message,
              expiresInSeconds: d.expiresIn,
            }),
        });
      } catch (e) {
        throw signInErrorFrom(e, o, "login");
      }
      checkSaved();
      if (!r?.account)
        throw new SignInRequiredError(
          "SIGN_IN_FAILED",
          "Entra ID finished the sign-in without an account (no id_token). Run `cosell login` again; if it persists, check that the app registration is a public client with the openid/profile permissions.",
          { details: { tenantId: o.tenantId, clientId: o.clientId } },
        );
      // One service account per config: whoever signed in before is forgotten.
      const tc = pca.getTokenCache();
      for (const other of await tc.getAllAccounts())
        if (other.homeAccountId !== r.account.homeAccountId) await tc.removeAccount(other);
      checkSaved();
      last = r;
      tokenRequests++;
      return summary(r.account);
    },
    async logout() {
      const tc = pca.getTokenCache();
      const accounts = await tc.getAllAccounts();
      for (const a of accounts) await tc.removeAccount(a);
      checkSaved();
      last = undefined;
      return accounts.length > 0;
    },
    // Another audience (the webhook API) for the same signed-in user: the refresh token is
    // multi-resource, so the same cache file serves both.
    forScope: (scope) => (scope === o.scope ? provider : createUserTokenProvider({ ...o, scope }, deps)),
  };
  return provider;
}

/** AADSTS codes that mean the saved sign-in is no longer good (expired, revoked, password changed, MFA). */
const SIGN_IN_GONE = new Set([
  "700082",
  "50173",
  "50132",
  "70043",
  "50076",
  "50079",
  "50078",
  "530003",
  "70008",
]);

/**
 * Maps what msal throws during sign-in or a silent refresh into core errors. Only msal's own fields
 * are used (error code, AADSTS number, status): never the request, so no token can leak.
 */
export function signInErrorFrom(
  e: unknown,
  o: Pick<UserTokenProviderOptions, "tenantId" | "clientId" | "scope">,
  phase: "login" | "silent" | "setup" = "setup",
): Error {
  if (e instanceof CoSellError) return e;
  const base = { tenantId: o.tenantId, clientId: o.clientId, scope: o.scope };
  const again = phase === "login" ? "Run `cosell login` again" : `To fix it, ${LOGIN}`;
  if (e instanceof InteractionRequiredAuthError)
    return new SignInRequiredError(
      "SIGN_IN_EXPIRED",
      `The Partner Center sign-in saved for this config is no longer accepted by Entra ID (${e.errorCode}${e.subError ? `/${e.subError}` : ""}): it expired, was revoked or needs a new MFA. ${again}.`,
      { details: { ...base, msalError: e.errorCode } },
    );
  // msal-node reports a device-code poll answer other than authorization_pending as
  // post_request_failed, with the server's `error` as the message.
  if (e instanceof MsalAuthError && e.errorCode === "post_request_failed") {
    const answer = (e.errorMessage ?? "").trim();
    const details = { ...base, oauthError: answer };
    if (answer === "expired_token" || answer === "code_expired") return timedOut(again, details);
    if (answer === "authorization_declined")
      return new SignInRequiredError(
        "SIGN_IN_DECLINED",
        `The sign-in was declined in the browser. ${again} and approve it as the Partner Center user.`,
        { details },
      );
    return new SignInRequiredError(
      "SIGN_IN_FAILED",
      `Entra ID stopped the device-code sign-in (${answer || "no reason given"}). ${again}.`,
      { details },
    );
  }
  if (e instanceof ServerError) {
    const aadsts = /AADSTS(\d+)/.exec(e.errorMessage ?? "")?.[1];
    const status = e.status;
    const code = e.errorCode;
    const details = {
      ...base,
      oauthError: code || undefined,
      aadsts: aadsts ? `AADSTS${aadsts}` : undefined,
      status,
    };
    if (status === 429)
      return new ThrottledError(
        `Entra ID is throttling sign-in requests for app ${o.clientId}; try again later.`,
        undefined,
        {
          status,
          details,
        },
      );
    if ((status !== undefined && status >= 500) || (!code && status === undefined))
      return new TransientError(
        "AUTH_ENDPOINT_UNAVAILABLE",
        `Entra ID could not issue a token right now (${status ?? "throttled by msal after an earlier failure"}); cosell retries later.`,
        { status, retryable: true, details },
      );
    if (code === "invalid_grant" || (aadsts && SIGN_IN_GONE.has(aadsts)))
      return new SignInRequiredError(
        "SIGN_IN_EXPIRED",
        `Entra ID refused the saved Partner Center sign-in (${code}${aadsts ? `, AADSTS${aadsts}` : ""}): the refresh token expired or was revoked. ${again}.`,
        { status, details },
      );
    if (code === "invalid_client" && aadsts === "7000218")
      return new ConfigError(
        "SIGN_IN_PUBLIC_CLIENT_DISABLED",
        `Entra ID refused the device-code sign-in for app ${o.clientId}: the app registration does not allow public client flows (AADSTS7000218). In the Entra admin center → App registrations → Authentication, set "Allow public client flows" to Yes.`,
        details,
      );
    return new AuthError(
      "SIGN_IN_FAILED",
      `Entra ID refused the Partner Center sign-in for app ${o.clientId} in tenant ${o.tenantId} (${code || "no error code"}${aadsts ? `, AADSTS${aadsts}` : ""}). Check tenantId, clientId and the app's Partner Center API permission, then ${phase === "login" ? "run `cosell login` again" : LOGIN}.`,
      { status, details },
    );
  }
  if (e instanceof ClientAuthError && /device_code_expired|user_timeout_reached/.test(e.errorCode))
    return timedOut(again, { ...base, msalError: e.errorCode });
  const setup = msalSetupError(e, o.clientId, base, "tenantId, authorityHost and tokenEndpoint");
  if (setup) return setup;
  if (e instanceof MsalAuthError)
    return new SignInRequiredError(
      "SIGN_IN_FAILED",
      `The Partner Center sign-in failed (msal: ${e.errorCode}). ${again}.`,
      { details: { ...base, msalError: e.errorCode } },
    );
  return new SignInRequiredError(
    "SIGN_IN_FAILED",
    `The Partner Center sign-in failed: ${errorMessage(e)}. ${again}.`,
    {
      details: base,
    },
  );
}

function timedOut(again: string, details: Record<string, unknown>): SignInRequiredError {
  return new SignInRequiredError(
    "SIGN_IN_TIMED_OUT",
    `Nobody approved the sign-in code before it expired (Entra ID gives 15 minutes). ${again}, open the address it prints and enter the code there promptly.`,
    { details },
  );
}
