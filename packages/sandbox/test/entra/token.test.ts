import { generateKeyPairSync, randomUUID } from "node:crypto";
import { exportPKCS8, importPKCS8, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createEntraServer,
  EntraDirectory,
  FaultInjector,
  listen,
  publicKeyThumbprintSha256,
  RequestLog,
  type RunningServer,
  SandboxClock,
  TokenRegistry,
} from "../../src/index.js";

const TENANT = randomUUID();
const CLIENT = randomUUID();
const SECRET = "abc8Q~sandbox-test-secret-value-0123456789";
const RESOURCE = "https://api.partner.microsoft.com";

const clock = new SandboxClock();
const tokens = new TokenRegistry(clock);
const directory = new EntraDirectory();
const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
const thumbprint = publicKeyThumbprintSha256(publicKey);
directory.register({
  tenantId: TENANT,
  clientId: CLIENT,
  clientSecrets: [SECRET],
  certificates: [
    {
      thumbprintSha256: thumbprint,
      publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    },
  ],
  allowedResources: [RESOURCE],
});

let server: RunningServer;
let tokenUrl: string;

beforeAll(async () => {
  server = await listen(createEntraServer({ directory, tokens, clock }), {
    clock,
    log: new RequestLog(),
    faults: new FaultInjector(),
  });
  tokenUrl = `${server.url}/${TENANT}/oauth2/v2.0/token`;
});
afterAll(() => server.close());

async function post(form: Record<string, string>, url = tokenUrl, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const base = { grant_type: "client_credentials", client_id: CLIENT, scope: `${RESOURCE}/.default` };

async function assertion(
  opts: {
    key?: Awaited<ReturnType<typeof importPKCS8>>;
    x5t?: string;
    aud?: string;
    iss?: string;
    exp?: number;
    nbf?: number;
  } = {},
) {
  const key =
    opts.key ?? (await importPKCS8(privateKey.export({ type: "pkcs8", format: "pem" }).toString(), "PS256"));
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({
      alg: "PS256",
      typ: "JWT",
      "x5t#S256": opts.x5t ?? Buffer.from(thumbprint, "hex").toString("base64url"),
    })
    .setAudience(opts.aud ?? tokenUrl)
    .setIssuer(opts.iss ?? CLIENT)
    .setSubject(opts.iss ?? CLIENT)
    .setNotBefore(opts.nbf ?? now)
    .setIssuedAt(now)
    .setExpirationTime(opts.exp ?? now + 600)
    .sign(key);
}

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

function expectEntraError(body: Record<string, unknown>, error: string, code: number) {
  expect(body.error).toBe(error);
  expect(body.error_codes).toEqual([code]);
  expect(String(body.error_description)).toMatch(
    new RegExp(`^AADSTS${code}: .+ Trace ID: .+ Correlation ID: .+ Timestamp: `),
  );
  for (const k of ["timestamp", "trace_id", "correlation_id"]) expect(typeof body[k]).toBe("string");
}

describe("Entra ID token endpoint: client secret", () => {
  it("issues a bearer token whose audience is the scope's resource", async () => {
    const r = await post({ ...base, client_secret: SECRET });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599 });
    const token = String(r.body.access_token);
    expect(tokens.verify(token, RESOURCE)?.clientId).toBe(CLIENT);
    expect(tokens.verify(token, "https://graph.microsoft.com")).toBeUndefined();
  });

  it("accepts the secret by HTTP Basic (client_secret_basic)", async () => {
    const basic = Buffer.from(`${CLIENT}:${encodeURIComponent(SECRET)}`).toString("base64");
    const r = await post({ grant_type: "client_credentials", scope: base.scope }, tokenUrl, {
      authorization: `Basic ${basic}`,
    });
    expect(r.status).toBe(200);
  });

  it("wrong secret → 401 invalid_client AADSTS7000215, echoing the client-request-id", async () => {
    const r = await post({ ...base, client_secret: "wrong" }, `${tokenUrl}?client-request-id=req-42`);
    expect(r.status).toBe(401);
    expectEntraError(r.body, "invalid_client", 7000215);
    expect(r.body.correlation_id).toBe("req-42");
  });

  it("unknown client → 400 unauthorized_client AADSTS700016", async () => {
    const r = await post({ ...base, client_id: randomUUID(), client_secret: SECRET });
    expect(r.status).toBe(400);
    expectEntraError(r.body, "unauthorized_client", 700016);
  });

  it("unknown tenant → 400 invalid_request AADSTS90002", async () => {
    const r = await post(
      { ...base, client_secret: SECRET },
      `${server.url}/${randomUUID()}/oauth2/v2.0/token`,
    );
    expect(r.status).toBe(400);
    expectEntraError(r.body, "invalid_request", 90002);
  });

  it("a scope without /.default → 400 invalid_scope AADSTS1002012", async () => {
    const r = await post({ ...base, client_secret: SECRET, scope: `${RESOURCE}/user_impersonation` });
    expect(r.status).toBe(400);
    expectEntraError(r.body, "invalid_scope", 1002012);
  });

  it("a resource the app may not use → 400 invalid_scope AADSTS70011", async () => {
    const r = await post({ ...base, client_secret: SECRET, scope: "https://graph.microsoft.com/.default" });
    expect(r.status).toBe(400);
    expectEntraError(r.body, "invalid_scope", 70011);
  });

  it("no credential → 401 invalid_client AADSTS7000218; other grants → unsupported_grant_type", async () => {
    const none = await post(base);
    expect(none.status).toBe(401);
    expectEntraError(none.body, "invalid_client", 7000218);
    const grant = await post({ ...base, grant_type: "password", client_secret: SECRET });
    expect(grant.status).toBe(400);
    expectEntraError(grant.body, "unsupported_grant_type", 70003);
  });
});

describe("Entra ID token endpoint: certificate (client assertion)", () => {
  it("issues a token for a PS256 assertion signed by the registered key", async () => {
    const r = await post({ ...base, client_assertion_type: JWT_BEARER, client_assertion: await assertion() });
    expect(r.status).toBe(200);
    expect(tokens.verify(String(r.body.access_token), RESOURCE)).toBeDefined();
  });

  it("accepts the same assertion twice (msal reuses its JWT until it expires)", async () => {
    const jwt = await assertion();
    expect((await post({ ...base, client_assertion_type: JWT_BEARER, client_assertion: jwt })).status).toBe(
      200,
    );
    expect((await post({ ...base, client_assertion_type: JWT_BEARER, client_assertion: jwt })).status).toBe(
      200,
    );
  });

  it.each([
    [
      "signed by another key",
      async () => assertion({ key: await importPKCS8(await exportPKCS8(other.privateKey), "PS256") }),
    ],
    ["an unregistered thumbprint", () => assertion({ x5t: Buffer.alloc(32, 7).toString("base64url") })],
    ["the wrong audience", () => assertion({ aud: "https://login.microsoftonline.com/x/oauth2/v2.0/token" })],
    ["iss/sub not the client id", () => assertion({ iss: randomUUID() })],
  ])("refuses an assertion with %s → 401 invalid_client AADSTS700027", async (_name, make) => {
    const r = await post({ ...base, client_assertion_type: JWT_BEARER, client_assertion: await make() });
    expect(r.status).toBe(401);
    expectEntraError(r.body, "invalid_client", 700027);
  });

  it("refuses an expired assertion → 401 AADSTS700024 (checked against real time)", async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const r = await post({
      ...base,
      client_assertion_type: JWT_BEARER,
      client_assertion: await assertion({ nbf: past - 600, exp: past }),
    });
    expect(r.status).toBe(401);
    expectEntraError(r.body, "invalid_client", 700024);
  });

  it("refuses a wrong client_assertion_type", async () => {
    const r = await post({
      ...base,
      client_assertion_type: "urn:other",
      client_assertion: await assertion(),
    });
    expect(r.status).toBe(401);
    expectEntraError(r.body, "invalid_client", 700027);
  });
});

describe("Entra ID discovery", () => {
  it("serves the tenant's OpenID configuration with the http token endpoint", async () => {
    const res = await fetch(`${server.url}/${TENANT}/v2.0/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token_endpoint).toBe(tokenUrl);
    expect(body.issuer).toBe(`${server.url}/${TENANT}/v2.0`);
    expect(body.token_endpoint_auth_methods_supported).toContain("private_key_jwt");
  });

  it("answers 400 AADSTS90002 for an unknown tenant's configuration", async () => {
    const res = await fetch(`${server.url}/${randomUUID()}/v2.0/.well-known/openid-configuration`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_codes: number[] }).error_codes).toEqual([90002]);
  });
});
