import { constants, createPublicKey, verify } from "node:crypto";
import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import {
  AuthError,
  ConfigError,
  createPartnerCenterClient,
  createTokenProvider,
  TransientError,
} from "../../src/index.js";
import { CLIENT_ID, LOGIN, makeClient, referral, rsaKeys, SECRET, TENANT, TOKEN_PATH } from "./helpers.js";

afterEach(() => {
  nock.cleanAll();
});

const ok = (token: string) => ({ token_type: "Bearer", expires_in: 3599, access_token: token });
const form = (body: unknown) => Object.fromEntries(new URLSearchParams(String(body)));
const b64json = (part: string) =>
  JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;

describe("token provider (msal ConfidentialClientApplication)", () => {
  it("client secret: one POST to the tenant's token endpoint with the Partner Center scope; then msal's cache", async () => {
    let sent: Record<string, string> = {};
    const login = nock(LOGIN)
      .post(TOKEN_PATH)
      .query((q) => typeof q["client-request-id"] === "string")
      .reply(200, (_uri, body) => {
        sent = form(body);
        return ok("tok-secret");
      });
    const tokens = createTokenProvider({ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET });
    expect(await tokens.getToken()).toBe("tok-secret");
    expect(await tokens.getToken()).toBe("tok-secret");
    expect(login.isDone()).toBe(true);
    expect(sent).toMatchObject({
      client_id: CLIENT_ID,
      client_secret: SECRET,
      grant_type: "client_credentials",
      scope: "https://api.partner.microsoft.com/.default",
    });
    expect(tokens.stats()).toEqual({ tokenRequests: 1 });
  });

  it("certificate: a PS256 client assertion for the token endpoint, signed by the configured key", async () => {
    const keys = rsaKeys();
    let sent: Record<string, string> = {};
    nock(LOGIN)
      .post(TOKEN_PATH)
      .query(true)
      .reply(200, (_uri, body) => {
        sent = form(body);
        return ok("tok-cert");
      });
    const tokens = createTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT_ID,
      certificate: { privateKeyPem: keys.privateKeyPem, thumbprintSha256: keys.thumbprintSha256 },
    });
    expect(await tokens.getToken()).toBe("tok-cert");
    expect(sent.client_secret).toBeUndefined();
    expect(sent.client_assertion_type).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    const [h, p, s] = (sent.client_assertion ?? "").split(".");
    expect(b64json(h!)).toMatchObject({
      alg: "PS256",
      "x5t#S256": Buffer.from(keys.thumbprintSha256, "hex").toString("base64url"),
    });
    expect(b64json(p!)).toMatchObject({ aud: `${LOGIN}${TOKEN_PATH}`, iss: CLIENT_ID, sub: CLIENT_ID });
    const signed = verify(
      "sha256",
      Buffer.from(`${h}.${p}`),
      { key: createPublicKey(keys.publicKeyPem), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      Buffer.from(s!, "base64url"),
    );
    expect(signed).toBe(true);
  });

  it("is reusable for another resource's scope; invalidate() forces a fresh token, concurrent calls share one request", async () => {
    const scopes: string[] = [];
    nock(LOGIN)
      .post(TOKEN_PATH)
      .query(true)
      .times(2)
      .reply(200, (_uri, body) => {
        scopes.push(form(body).scope ?? "");
        return ok(`tok-${scopes.length}`);
      });
    const tokens = createTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT_ID,
      clientSecret: SECRET,
      scope: "https://org.crm.dynamics.com/.default",
    });
    expect(await Promise.all([tokens.getToken(), tokens.getToken(), tokens.getToken()])).toEqual([
      "tok-1",
      "tok-1",
      "tok-1",
    ]);
    tokens.invalidate("some-older-token"); // already replaced: nothing forced
    expect(await tokens.getToken()).toBe("tok-1");
    tokens.invalidate("tok-1");
    expect(await tokens.getToken()).toBe("tok-2");
    expect(scopes).toEqual([
      "https://org.crm.dynamics.com/.default",
      "https://org.crm.dynamics.com/.default",
    ]);
  });

  it("a token endpoint override on loopback is used over plain http (virtual https authority, no discovery)", async () => {
    const local = nock("http://127.0.0.1:48123")
      .post(`/${TENANT}/oauth2/v2.0/token`)
      .query(true)
      .reply(200, ok("tok-local"));
    const tokens = createTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT_ID,
      clientSecret: SECRET,
      tokenEndpoint: `http://127.0.0.1:48123/${TENANT}/oauth2/v2.0/token`,
    });
    expect(await tokens.getToken()).toBe("tok-local");
    expect(local.isDone()).toBe(true);
  });

  it("a loopback http authorityHost implies its token endpoint", async () => {
    nock("http://localhost:48124").post(TOKEN_PATH).query(true).reply(200, ok("tok-derived"));
    const tokens = createTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT_ID,
      clientSecret: SECRET,
      authorityHost: "http://localhost:48124",
    });
    expect(await tokens.getToken()).toBe("tok-derived");
  });

  it("plain http to anything but loopback is refused: TLS required", () => {
    for (const extra of [
      { tokenEndpoint: "http://login.example.com/t/oauth2/v2.0/token" },
      { authorityHost: "http://login.example.com" },
    ]) {
      const err = (() => {
        try {
          createTokenProvider({ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET, ...extra });
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect(err).toMatchObject({ code: "CONFIG_TLS_REQUIRED" });
      expect((err as Error).message).toMatch(/TLS required/);
    }
  });
});

describe("Entra ID refusals become AuthErrors that tell the admin what to fix (never the secret)", () => {
  const refusal = (status: number, error: string, description: string, codes: number[]) =>
    nock(LOGIN).post(TOKEN_PATH).query(true).reply(status, {
      error,
      error_description: description,
      error_codes: codes,
      timestamp: "2026-03-01 12:00:00Z",
      trace_id: "t",
      correlation_id: "c",
    });

  const cases = [
    {
      reply: [401, "invalid_client", "AADSTS7000215: Invalid client secret provided.", [7000215]] as const,
      code: "AUTH_INVALID_CLIENT",
      says: /client secret.*wrong or expired.*Certificates & secrets/,
    },
    {
      reply: [
        400,
        "unauthorized_client",
        "AADSTS700016: Application with identifier 'x' was not found.",
        [700016],
      ] as const,
      code: "AUTH_UNKNOWN_CLIENT",
      says: /Check clientId and tenantId/,
    },
    {
      reply: [
        400,
        "invalid_grant",
        "AADSTS65001: The user or administrator has not consented.",
        [65001],
      ] as const,
      code: "AUTH_CONSENT_REQUIRED",
      says: /admin consent/,
    },
    {
      reply: [
        400,
        "invalid_resource",
        "AADSTS500011: The resource principal was not found.",
        [500011],
      ] as const,
      code: "AUTH_INVALID_SCOPE",
      says: /API permission/,
    },
  ];

  for (const c of cases)
    it(`${c.reply[1]} (${c.reply[2].slice(0, 13)}) → ${c.code}`, async () => {
      refusal(c.reply[0], c.reply[1], c.reply[2], [...c.reply[3]]);
      const { client } = makeClient();
      const err = await client.getReferral("ref-1").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect(err).toMatchObject({
        code: c.code,
        retryable: false,
        details: expect.objectContaining({ tenantId: TENANT }),
      });
      expect((err as Error).message).toMatch(c.says);
      expect(JSON.stringify(err)).not.toContain(SECRET);
      expect((err as Error).message).not.toContain(SECRET);
      expect(client.stats().total).toBe(0); // the API was never called
    });

  it("an unavailable token endpoint is a TransientError (retryable), not an AuthError", async () => {
    nock(LOGIN)
      .post(TOKEN_PATH)
      .query(true)
      .reply(503, { error: "temporarily_unavailable", error_description: "busy" });
    const { client } = makeClient({ retry: { maxAttempts: 2 } });
    const err = await client.getReferral("ref-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: "AUTH_ENDPOINT_UNAVAILABLE", retryable: true });
    expect(client.stats().total).toBe(0);
  });
});

describe("client config", () => {
  const base = { tenantId: TENANT, clientId: CLIENT_ID, auth: { kind: "app", clientSecret: SECRET } };
  const app = (credential: Record<string, unknown>) => ({
    tenantId: TENANT,
    clientId: CLIENT_ID,
    auth: { kind: "app", ...credential },
  });
  const configError = (input: Record<string, unknown>): ConfigError => {
    try {
      createPartnerCenterClient(input as Parameters<typeof createPartnerCenterClient>[0]);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error("expected a ConfigError");
  };

  it("applies the documented defaults", () => {
    const { client } = makeClient();
    expect(client.config).toMatchObject({
      apiBaseUrl: "https://api.partner.microsoft.com/v1.0",
      authorityHost: "https://login.microsoftonline.com",
      scope: "https://api.partner.microsoft.com/.default",
      pageSize: 100,
      retry: { maxAttempts: 6, maxRetryTimeMs: 120_000, baseDelayMs: 500, maxDelayMs: 30_000 },
    });
  });

  it("names the key that is wrong", () => {
    expect(
      configError({ clientId: CLIENT_ID, auth: { kind: "app", clientSecret: SECRET } }).details,
    ).toMatchObject({
      key: "tenantId",
    });
    expect(configError({ ...base, pageSize: 500 }).details).toMatchObject({ key: "pageSize", value: 500 });
    expect(configError({ ...base, retry: { maxAttempts: 0 } }).details).toMatchObject({
      key: "retry.maxAttempts",
    });
    expect(configError({ ...base, pagesize: 10 }).message).toMatch(/pagesize/);
    expect(configError(app({})).details).toMatchObject({ key: "auth.clientSecret" });
    expect(
      configError(
        app({ clientSecret: SECRET, certificate: { privateKeyPem: "x", thumbprintSha256: "a".repeat(64) } }),
      ).details,
    ).toMatchObject({ key: "auth.certificate" });
    expect(
      configError(app({ certificate: { privateKeyPem: "x", thumbprintSha256: "abc" } })).details,
    ).toMatchObject({
      key: "auth.certificate.thumbprintSha256",
    });
    // App credentials where they were before auth.kind existed: refused with the way forward.
    const moved = configError({ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET });
    expect(moved.details).toMatchObject({ key: "clientSecret" });
    expect(moved.message).toMatch(/cosell login/);
    expect(moved.message).not.toContain(SECRET);
  });

  it("never shows a secret or a private key in the message", () => {
    const e1 = configError(app({ clientSecret: 12345 }));
    expect(e1.details).toMatchObject({ key: "auth.clientSecret" });
    expect(e1.message).toContain("(hidden)");
    expect(e1.message).not.toContain("12345");
    const pem = "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----";
    const e2 = configError(app({ certificate: { privateKeyPem: pem, thumbprintSha256: "a".repeat(64) } }));
    expect(e2.details).toMatchObject({ key: "auth.certificate.privateKeyPem" });
    expect(e2.message).not.toContain("not-a-key");
  });

  it("refuses plain http to a non-loopback API", () => {
    const e = configError({ ...base, apiBaseUrl: "http://api.partner.microsoft.com/v1.0" });
    expect(e).toMatchObject({ code: "CONFIG_TLS_REQUIRED", details: { key: "apiBaseUrl" } });
  });

  it("talks to a configured apiBaseUrl (the sandbox's shape)", async () => {
    nock(LOGIN).post(TOKEN_PATH).query(true).reply(200, ok("t"));
    nock("http://127.0.0.1:48125").get("/v1.0/engagements/referrals/ref-1").reply(200, referral());
    const { client } = makeClient({ apiBaseUrl: "http://127.0.0.1:48125/v1.0/" });
    expect((await client.getReferral("ref-1")).id).toBe("ref-1");
  });
});
