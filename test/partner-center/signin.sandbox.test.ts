import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AuthError,
  createPartnerCenterClient,
  createUserTokenProvider,
  type DeviceCodePrompt,
  type Referral,
  SignInRequiredError,
  StorageError,
  type UserTokenProviderOptions,
} from "@cosell/core";
import { partnerCenterClientConfig, SANDBOX_SYNC_USERNAME, startSandbox } from "@cosell/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Delegated sign-in (App+User) against the sandbox's Entra ID: device-code login, the token cache
 * file, silent refresh, and the Partner Center emulator's refusal of app-only tokens.
 */

type Sandbox = Awaited<ReturnType<typeof startSandbox<"partnerCenter">>>;
let sb: Sandbox;
let dir: string;
let n = 0;

beforeAll(async () => {
  // interval 0: msal polls again at once, so a test never waits for Entra ID's 5 s.
  sb = await startSandbox({ systems: ["partnerCenter"], deviceCodeIntervalSeconds: 0, freezeClock: true });
  dir = mkdtempSync(join(tmpdir(), "cosell-signin-"));
});
afterAll(async () => {
  await sb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const MINUTE = 60_000;

function options(extra: Partial<UserTokenProviderOptions> = {}): UserTokenProviderOptions {
  const c = sb.credentials.partnerCenter;
  return {
    tenantId: c.tenantId,
    clientId: c.clientId,
    authorityHost: c.authorityHost,
    scope: c.scope,
    tokenCache: join(dir, `cache-${++n}.json`),
    ...extra,
  };
}

const approveAsSyncUser = (p: DeviceCodePrompt) => {
  sb.signIns.approve(p.userCode, SANDBOX_SYNC_USERNAME);
};

async function firstPage(pages: AsyncIterable<Referral[]>): Promise<Referral[]> {
  for await (const p of pages) return p;
  return [];
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("cosell login: device code", () => {
  it("prints Entra ID's URL and code, waits for approval, keeps the account in a 0600 cache file", async () => {
    const o = options();
    const tokens = createUserTokenProvider(o);
    expect(await tokens.account()).toBeUndefined();
    let prompt: DeviceCodePrompt | undefined;
    const account = await tokens.login({
      onCode: (p) => {
        prompt = p;
        approveAsSyncUser(p);
      },
    });
    expect(prompt).toMatchObject({
      verificationUri: `${sb.urls.entra}/devicelogin`,
      userCode: expect.stringMatching(/^[A-Z0-9]{9}$/),
      expiresInSeconds: 900,
    });
    expect(prompt?.message).toContain(prompt?.userCode);
    expect(account).toMatchObject({
      username: SANDBOX_SYNC_USERNAME,
      tenantId: sb.credentials.partnerCenter.tenantId,
    });
    expect(statSync(o.tokenCache).mode & 0o777).toBe(0o600);
    // Another process (a later `cosell run`) finds the account in the file and calls Partner Center.
    expect(await createUserTokenProvider(o).account()).toMatchObject({ username: SANDBOX_SYNC_USERNAME });
    const pc = createPartnerCenterClient({
      ...partnerCenterClientConfig(sb.credentials.partnerCenter),
      auth: { kind: "user", tokenCache: o.tokenCache },
    });
    expect(Array.isArray(await firstPage(pc.listReferrals({ pageSize: 1 })))).toBe(true);
  });

  it("approved through the control API (what a demo script or a test does instead of a person)", async () => {
    const tokens = createUserTokenProvider(options());
    const account = await tokens.login({
      onCode: (p) => {
        void fetch(`${sb.urls.control}/entra/device-codes/approve`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ userCode: p.userCode }),
        });
      },
    });
    expect(account.username).toBe(SANDBOX_SYNC_USERNAME);
  });

  it("an unapproved code times out with SIGN_IN_TIMED_OUT and says to run cosell login again", async () => {
    const tokens = createUserTokenProvider(options());
    const e = await rejection(
      tokens.login({
        // Nobody approves; 16 minutes pass on the sandbox clock (Entra ID's codes live 15).
        onCode: () => {
          sb.clock.advance(16 * MINUTE);
        },
      }),
    );
    expect(e).toBeInstanceOf(SignInRequiredError);
    expect(e).toMatchObject({ code: "SIGN_IN_TIMED_OUT" });
    expect(e.message).toMatch(/expired/);
    expect(e.message).toContain("cosell login");
    expect(await tokens.account()).toBeUndefined();
  });

  it("a declined code is SIGN_IN_DECLINED", async () => {
    const tokens = createUserTokenProvider(options());
    const e = await rejection(tokens.login({ onCode: (p) => void sb.signIns.decline(p.userCode) }));
    expect(e).toMatchObject({ code: "SIGN_IN_DECLINED" });
  });

  it("the token endpoint answers authorization_pending, then slow_down to a client polling faster than interval", async () => {
    const c = sb.credentials.partnerCenter;
    sb.signIns.intervalSeconds = 5;
    try {
      const dc = await fetch(`${sb.urls.entra}/${c.tenantId}/oauth2/v2.0/devicecode`, {
        method: "POST",
        body: new URLSearchParams({
          client_id: c.clientId,
          scope: `${c.scope} openid profile offline_access`,
        }),
      }).then((r) => r.json() as Promise<{ device_code: string; interval: number; expires_in: number }>);
      expect(dc).toMatchObject({ interval: 5, expires_in: 900 });
      const poll = () =>
        fetch(c.tokenEndpoint, {
          method: "POST",
          body: new URLSearchParams({
            grant_type: "urn:ietf:params:oauth:grant-type:device_code",
            client_id: c.clientId,
            device_code: dc.device_code,
          }),
        }).then(async (r) => ({ status: r.status, ...((await r.json()) as { error: string }) }));
      expect(await poll()).toMatchObject({ status: 400, error: "authorization_pending" });
      expect(await poll()).toMatchObject({ status: 400, error: "slow_down" });
    } finally {
      sb.signIns.intervalSeconds = 0;
    }
  });
});

describe("token cache file", () => {
  it("encrypted with tokenCacheKey: no token in clear, unreadable without the key or with another one", async () => {
    const key = "k".repeat(12) + "0123456789abcdefghijklmnop";
    const o = options({ tokenCacheKey: key });
    await createUserTokenProvider(o).login({ onCode: approveAsSyncUser });
    const text = readFileSync(o.tokenCache, "utf8");
    expect(text).toContain('"cipher":"aes-256-gcm"');
    for (const secret of sb.signIns.allRefreshTokenValues()) expect(text).not.toContain(secret);
    expect(text).not.toContain(SANDBOX_SYNC_USERNAME);
    expect(statSync(o.tokenCache).mode & 0o777).toBe(0o600);

    const noKey = await rejection(createUserTokenProvider({ ...o, tokenCacheKey: undefined }).account());
    expect(noKey).toBeInstanceOf(StorageError);
    expect(noKey).toMatchObject({ code: "TOKEN_CACHE_KEY_REQUIRED" });
    const wrong = await rejection(createUserTokenProvider({ ...o, tokenCacheKey: `${key}x` }).account());
    expect(wrong).toMatchObject({ code: "TOKEN_CACHE_KEY_WRONG" });
    expect(await createUserTokenProvider(o).account()).toMatchObject({ username: SANDBOX_SYNC_USERNAME });
  });

  it("a failed save is a storage error (TOKEN_CACHE_WRITE_FAILED), not a sign-in failure", async () => {
    const tokens = createUserTokenProvider(
      options({ tokenCache: join(dir, "no-such-folder", "cache.json") }),
    );
    const e = await rejection(tokens.login({ onCode: approveAsSyncUser }));
    expect(e).toBeInstanceOf(StorageError);
    expect(e).not.toBeInstanceOf(AuthError);
    expect(e).toMatchObject({ code: "TOKEN_CACHE_WRITE_FAILED" });
    expect(e.message).toMatch(/sign-in itself worked/);
  });
});

describe("silent refresh and its failures", () => {
  it("nobody signed in: SIGN_IN_REQUIRED naming cosell login, before any call to Partner Center", async () => {
    const before = sb.log.count({ server: "partner-center" });
    const pc = createPartnerCenterClient({
      ...partnerCenterClientConfig(sb.credentials.partnerCenter),
      auth: { kind: "user", tokenCache: join(dir, "never-signed-in.json") },
    });
    const e = await rejection(firstPage(pc.listReferrals()));
    expect(e).toBeInstanceOf(SignInRequiredError);
    expect(e).toMatchObject({ code: "SIGN_IN_REQUIRED" });
    expect(e.message).toContain("cosell login");
    expect(sb.log.count({ server: "partner-center" })).toBe(before);
  });

  it("refreshes with the refresh token when the access token expires; a revoked one is SIGN_IN_EXPIRED with the fix", async () => {
    const o = options();
    await createUserTokenProvider(o).login({ onCode: approveAsSyncUser });
    const config = {
      ...partnerCenterClientConfig(sb.credentials.partnerCenter),
      auth: { kind: "user" as const, tokenCache: o.tokenCache },
    };

    // Two hours later the access token is gone: msal redeems the refresh token, nobody signs in.
    sb.clock.advance(120 * MINUTE);
    const pc = createPartnerCenterClient(config);
    await firstPage(pc.listReferrals({ pageSize: 1 }));
    expect(pc.stats().tokenRequests).toBe(1);

    // The user's sessions are revoked (password reset, admin action): the next refresh is refused.
    expect(sb.signIns.revokeSignInSessions(SANDBOX_SYNC_USERNAME)).toBeGreaterThan(0);
    sb.clock.advance(120 * MINUTE);
    const later = createPartnerCenterClient(config);
    const e = await rejection(firstPage(later.listReferrals({ pageSize: 1 })));
    expect(e).toBeInstanceOf(SignInRequiredError);
    expect(e).toMatchObject({ code: "SIGN_IN_EXPIRED" });
    expect(e.message).toContain("cosell login");
  });
});

describe("Partner Center emulator: who may call the Referrals API", () => {
  it("refuses app-only tokens with 403 by default (Microsoft documents App+User only); the switch lets them in", async () => {
    const c = sb.credentials.partnerCenter;
    const token = await fetch(c.tokenEndpoint, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: c.clientId,
        client_secret: c.clientSecret,
        scope: c.scope,
      }),
    }).then((r) => r.json() as Promise<{ access_token: string }>);
    const list = () =>
      fetch(`${c.apiBaseUrl}/engagements/referrals`, {
        headers: { authorization: `Bearer ${token.access_token}` },
      });
    const refused = await list();
    expect(refused.status).toBe(403);
    expect(JSON.stringify(await refused.json())).toMatch(/only user access/);

    const pc = createPartnerCenterClient(partnerCenterClientConfig(c, "secret"));
    const e = await rejection(firstPage(pc.listReferrals()));
    expect(e).toMatchObject({ code: "AUTH_FORBIDDEN", status: 403 });

    sb.partnerCenter.allowAppOnlyTokens(true);
    try {
      expect((await list()).status).toBe(200);
    } finally {
      sb.partnerCenter.allowAppOnlyTokens(false);
    }
  });

  it("a Referral User reads but may not write; a user without a Referrals role gets nothing", async () => {
    const c = sb.credentials.partnerCenter;
    const reader = "reader@partner.sandbox.example";
    const nobody = "nobody@partner.sandbox.example";
    sb.signIns.addUser({ tenantId: c.tenantId, username: reader, roles: ["Referral User"] });
    sb.signIns.addUser({ tenantId: c.tenantId, username: nobody, roles: [] });
    const tokenOf = async (username: string) => {
      const o = options();
      await createUserTokenProvider(o).login({
        onCode: (p) => void sb.signIns.approve(p.userCode, username),
      });
      return createUserTokenProvider(o).getToken();
    };
    const call = (token: string, method = "GET") =>
      fetch(`${c.apiBaseUrl}/engagements/referrals`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(method === "POST" ? { body: "{}" } : {}),
      });
    const readerToken = await tokenOf(reader);
    expect((await call(readerToken)).status).toBe(200);
    const write = await call(readerToken, "POST");
    expect(write.status).toBe(403);
    expect(JSON.stringify(await write.json())).toMatch(/Referral Admin/);
    expect((await call(await tokenOf(nobody))).status).toBe(403);
  });
});
