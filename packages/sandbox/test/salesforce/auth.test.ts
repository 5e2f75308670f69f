import { generateKeyPairSync } from "node:crypto";
import { importPKCS8, SignJWT } from "jose";
import jsforce from "jsforce";
import { afterEach, describe, expect, it } from "vitest";
import { JWT_BEARER_GRANT } from "../../src/salesforce/index.js";
import { clientCredentials, rejection, startOrg, type TestOrg, VERSION } from "./harness.js";

const TWO_HOURS_AND_A_BIT = 2 * 3600_000 + 1000;

let org: TestOrg | undefined;
afterEach(async () => {
  await org?.close();
  org = undefined;
});

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

interface Claims {
  iss?: string;
  sub?: string;
  aud?: string;
  /** Seconds from the org's clock until the assertion expires. */
  expiresIn?: number;
}

async function assertion(o: TestOrg, privatePem: string, claims: Claims = {}): Promise<string> {
  const app = o.server.control.connectedApp;
  const now = Math.floor(o.clock.now().getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "RS256" })
    .setIssuer(claims.iss ?? app.clientId)
    .setSubject(claims.sub ?? app.username)
    .setAudience(claims.aud ?? "https://login.salesforce.com")
    .setExpirationTime(now + (claims.expiresIn ?? 180))
    .sign(await importPKCS8(privatePem, "RS256"));
}

describe("JWT bearer flow", () => {
  it("exchanges an RS256 assertion signed with the registered key for a session of the integration user", async () => {
    const keys = keyPair();
    org = await startOrg({ connectedApp: { certificatePem: keys.publicPem } });
    const conn = new jsforce.Connection({ version: VERSION, loginUrl: org.url });
    const info = await conn.authorize({
      grant_type: JWT_BEARER_GRANT,
      assertion: await assertion(org, keys.privatePem),
    });

    const user = org.server.control.integrationUser;
    expect(info).toEqual({
      id: user.id,
      organizationId: org.server.control.orgId,
      url: `${org.url}/id/${org.server.control.orgId}/${user.id}`,
    });
    expect(conn.instanceUrl).toBe(org.url);
    expect(conn.refreshToken).toBeUndefined();
    // Opaque, not JWT-shaped (jsforce refuses SOAP calls with JWT-looking tokens).
    expect(conn.accessToken).toMatch(/^00D\w{12}!\S+$/);
    expect(conn.accessToken!.split(".").length).toBeLessThan(3);
    const res = await conn.query<{ Username: string }>(`SELECT Username FROM User WHERE Id = '${user.id}'`);
    expect(res.records[0]!.Username).toBe(user.username);
  });

  it("accepts the org's own origin as audience", async () => {
    const keys = keyPair();
    org = await startOrg({ connectedApp: { certificatePem: keys.publicPem } });
    const conn = new jsforce.Connection({ version: VERSION, loginUrl: org.url });
    await conn.authorize({
      grant_type: JWT_BEARER_GRANT,
      assertion: await assertion(org, keys.privatePem, { aud: org.url }),
    });
    expect(conn.userInfo?.id).toBe(org.server.control.integrationUser.id);
  });

  it("signs with the org-generated key when no certificate was configured", async () => {
    org = await startOrg();
    const conn = new jsforce.Connection({ version: VERSION, loginUrl: org.url });
    const pem = org.server.control.jwtPrivateKeyPem();
    await conn.authorize({ grant_type: JWT_BEARER_GRANT, assertion: await assertion(org, pem) });
    expect(conn.accessToken).toBeTruthy();
  });

  it.each<[string, Claims & { key?: string }, string, string]>([
    ["a foreign key", { key: "other" }, "invalid_grant", "invalid assertion"],
    ["an expired assertion", { expiresIn: -10 }, "invalid_grant", "invalid assertion"],
    ["a wrong audience", { aud: "https://example.com" }, "invalid_grant", "audience is invalid"],
    ["an unknown user", { sub: "nobody@example.com" }, "invalid_grant", "user hasn't approved this consumer"],
    ["another client id", { iss: "someone-else" }, "invalid_client_id", "client identifier invalid"],
  ])("rejects %s with %s", async (_label, claims, name, message) => {
    const keys = keyPair();
    org = await startOrg({ connectedApp: { certificatePem: keys.publicPem } });
    const signer = claims.key ? keyPair().privatePem : keys.privatePem;
    const conn = new jsforce.Connection({ version: VERSION, loginUrl: org.url });
    const err = await rejection(
      conn.authorize({ grant_type: JWT_BEARER_GRANT, assertion: await assertion(org, signer, claims) }),
    );
    expect(err.name).toBe(name);
    expect(err.message).toBe(message);
    expect(org.log.filter({ endpoint: "POST /services/oauth2/token" })[0]!.status).toBe(400);
  });
});

describe("client credentials flow", () => {
  it("returns the documented token response", async () => {
    org = await startOrg();
    const app = org.server.control.connectedApp;
    const res = await fetch(`${org.url}/services/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: app.clientId,
        client_secret: app.clientSecret,
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json;charset=UTF-8");
    const body = (await res.json()) as Record<string, string>;
    const user = org.server.control.integrationUser;
    expect(Object.keys(body).sort()).toEqual([
      "access_token",
      "id",
      "instance_url",
      "issued_at",
      "scope",
      "signature",
      "token_type",
    ]);
    expect(body).toMatchObject({
      instance_url: org.url,
      id: `${org.url}/id/${org.server.control.orgId}/${user.id}`,
      token_type: "Bearer",
      issued_at: String(org.clock.now().getTime()),
    });
    expect(body.signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it("rejects a wrong secret with invalid_client", async () => {
    org = await startOrg();
    const conn = new jsforce.Connection({
      version: VERSION,
      oauth2: {
        clientId: org.server.control.connectedApp.clientId,
        clientSecret: "wrong",
        loginUrl: org.url,
      },
    });
    const err = await rejection(conn.authorize({ grant_type: "client_credentials" }));
    expect(err.name).toBe("invalid_client");
    expect(err.message).toBe("invalid client credentials");
  });

  it("answers an expired session with 401 INVALID_SESSION_ID when nothing can refresh it", async () => {
    org = await startOrg();
    const app = org.server.control.connectedApp;
    const conn = await clientCredentials(org);
    const plain = new jsforce.Connection({
      version: VERSION,
      instanceUrl: org.url,
      accessToken: conn.accessToken!,
    });
    org.clock.advance(TWO_HOURS_AND_A_BIT);
    const err = await rejection(plain.query("SELECT Id FROM Account"));
    expect(err.errorCode).toBe("INVALID_SESSION_ID");
    expect(err.message).toBe("Session expired or invalid");
    // With oauth2 config but no refresh token jsforce reports that instead (salesforce.md §2.3).
    const withClient = new jsforce.Connection({
      version: VERSION,
      instanceUrl: org.url,
      accessToken: conn.accessToken!,
      oauth2: { clientId: app.clientId, clientSecret: app.clientSecret, loginUrl: org.url },
    });
    const err2 = await rejection(withClient.query("SELECT Id FROM Account"));
    expect(err2.message).toBe("Unable to refresh session due to: No refresh token found in the connection");
  });

  it("lets a refreshFn re-run client credentials on 401 and replays the request", async () => {
    org = await startOrg();
    const app = org.server.control.connectedApp;
    const o = org;
    const refreshed: string[] = [];
    const conn = await clientCredentials(org, {
      refreshFn: (
        c: InstanceType<typeof jsforce.Connection>,
        cb: (err: Error | null, token?: string) => void,
      ) => {
        const fresh = new jsforce.Connection({
          version: VERSION,
          oauth2: { clientId: app.clientId, clientSecret: app.clientSecret, loginUrl: o.url },
        });
        fresh.authorize({ grant_type: "client_credentials" }).then(
          () => cb(null, fresh.accessToken!),
          (e: Error) => cb(e),
        );
        void c;
      },
    });
    conn.on("refresh", (token: string) => refreshed.push(token));
    const first = conn.accessToken;
    org.clock.advance(TWO_HOURS_AND_A_BIT);
    const res = await conn.query("SELECT COUNT() FROM Account");
    expect(res.totalSize).toBe(8);
    expect(refreshed).toHaveLength(1);
    expect(refreshed[0]).not.toBe(first);
    const statuses = org.log.filter({ server: "salesforce", endpoint: "GET /query" }).map((e) => e.status);
    expect(statuses).toEqual([401, 200]);
  });
});

describe("refresh token flow", () => {
  function refreshConnection(o: TestOrg, refreshToken: string) {
    const app = o.server.control.connectedApp;
    return new jsforce.Connection({
      version: VERSION,
      instanceUrl: o.url,
      accessToken: "00D000000000000!expired",
      refreshToken,
      oauth2: { clientId: app.clientId, clientSecret: app.clientSecret, loginUrl: o.url },
    });
  }

  it("survives two expiries with rotation when the refresh handler stores the rotated token", async () => {
    org = await startOrg({ connectedApp: { refreshTokenRotation: true } });
    const initial = org.server.control.issueRefreshToken();
    const conn = refreshConnection(org, initial);
    const stored: string[] = [];
    conn.on("refresh", (_token: string, res?: { refresh_token?: string }) => {
      if (res?.refresh_token) {
        conn.refreshToken = res.refresh_token;
        stored.push(res.refresh_token);
      }
    });
    expect((await conn.query("SELECT COUNT() FROM Opportunity")).totalSize).toBe(20);
    org.clock.advance(TWO_HOURS_AND_A_BIT);
    expect((await conn.query("SELECT COUNT() FROM Opportunity")).totalSize).toBe(20);
    expect(stored).toHaveLength(2);
    expect(new Set([initial, ...stored]).size).toBe(3);
    // The used token is dead.
    const app = org.server.control.connectedApp;
    const reuse = await fetch(`${org.url}/services/oauth2/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: initial,
        client_id: app.clientId,
      }),
    });
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toEqual({
      error: "invalid_grant",
      error_description: "expired access/refresh token",
    });
  });

  it("fails the second refresh with invalid_grant when the rotated token is not kept (jsforce's default)", async () => {
    org = await startOrg({ connectedApp: { refreshTokenRotation: true } });
    const conn = refreshConnection(org, org.server.control.issueRefreshToken());
    await conn.query("SELECT Id FROM Account LIMIT 1");
    org.clock.advance(TWO_HOURS_AND_A_BIT);
    const err = await rejection(conn.query("SELECT Id FROM Account LIMIT 1"));
    expect(err.message).toBe("Unable to refresh session due to: expired access/refresh token");
  });

  it("keeps working across expiries without rotation", async () => {
    org = await startOrg();
    const conn = refreshConnection(org, org.server.control.issueRefreshToken());
    let refreshTokenInResponse: unknown = "unset";
    conn.on("refresh", (_t: string, res?: { refresh_token?: string }) => {
      refreshTokenInResponse = res?.refresh_token;
    });
    await conn.query("SELECT Id FROM Account LIMIT 1");
    org.clock.advance(TWO_HOURS_AND_A_BIT);
    await conn.query("SELECT Id FROM Account LIMIT 1");
    expect(refreshTokenInResponse).toBeUndefined();
    expect(org.log.count({ endpoint: "POST /services/oauth2/token", status: 200 })).toBe(2);
  });

  it("exposes the identity URL of the token response", async () => {
    org = await startOrg();
    const conn = await clientCredentials(org);
    const identity = await conn.identity();
    expect(identity).toMatchObject({
      user_id: org.server.control.integrationUser.id,
      organization_id: org.server.control.orgId,
      username: org.server.control.integrationUser.username,
    });
  });
});
