import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importPKCS8, SignJWT } from "jose";
import jsforce from "jsforce";
import { afterEach, describe, expect, it } from "vitest";
import { JWT_BEARER_GRANT } from "../src/salesforce/index.js";
import { type SalesforceCredentials, salesforceSystem } from "../src/salesforce/system.js";
import { type Sandbox, startSandbox } from "../src/sandbox.js";

const running: Sandbox<"salesforce">[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function start(options: Parameters<typeof startSandbox<"salesforce">>[0] = {}) {
  const s = await startSandbox({ systems: ["salesforce"], ...options });
  running.push(s);
  return s;
}

async function jwtConnection(c: SalesforceCredentials, now: Date): Promise<jsforce.Connection> {
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: "RS256" })
    .setIssuer(c.clientId)
    .setSubject(c.username)
    .setAudience(c.loginUrl)
    .setExpirationTime(Math.floor(now.getTime() / 1000) + 180)
    .sign(await importPKCS8(c.jwtPrivateKeyPem, "RS256"));
  const conn = new jsforce.Connection({ version: c.apiVersion, loginUrl: c.loginUrl });
  await conn.authorize({ grant_type: JWT_BEARER_GRANT, assertion });
  return conn;
}

describe("salesforceSystem in startSandbox", () => {
  it("starts the org with credentials that work for JWT bearer and client credentials", async () => {
    const s = await start();
    const c = s.credentials.salesforce;
    expect(c).toMatchObject({
      loginUrl: s.urls.salesforce,
      instanceUrl: s.urls.salesforce,
      username: "integration@cosell.sandbox",
      orgId: s.salesforce.orgId,
    });
    const jwt = await jwtConnection(c, s.clock.now());
    const opps = await jwt.query<{ Id: string }>("SELECT Id FROM Opportunity");
    expect(opps.totalSize).toBe(20);

    const cc = new jsforce.Connection({
      version: c.apiVersion,
      oauth2: { clientId: c.clientId, clientSecret: c.clientSecret, loginUrl: c.loginUrl },
    });
    await cc.authorize({ grant_type: "client_credentials" });
    expect(cc.instanceUrl).toBe(c.instanceUrl);
    expect(s.log.count({ server: "salesforce", endpoint: "POST /services/oauth2/token" })).toBe(2);
    expect(s.secrets()).toEqual(expect.arrayContaining([c.clientSecret, c.jwtPrivateKeyPem]));
  });

  it("uses basePort + 3", async () => {
    const probe = await start();
    const probed = Number(new URL(probe.urls.control).port);
    await probe.stop();
    running.length = 0;
    // Other test files listen on random ports at the same time and can hold one of ours: another base
    // then, so the test checks the offset rather than the luck of the draw.
    let s: Sandbox<"salesforce"> | undefined;
    let base = 0;
    for (let attempt = 1; !s; attempt++) {
      base = probed + 100 * attempt;
      try {
        s = await start({ basePort: base });
      } catch (e) {
        if (attempt >= 10 || (e as { code?: string }).code !== "PORT_IN_USE") throw e;
      }
    }
    expect(Number(new URL(s.urls.salesforce).port)).toBe(base + salesforceSystem.portOffset);
    expect(salesforceSystem.portOffset).toBe(3);
  });

  it("mounts control routes: create, edit, query, fail-next, expire sessions, refresh tokens, usage", async () => {
    const s = await start();
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${s.urls.control}${path}`, {
        method,
        headers: { "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return {
        status: res.status,
        body: (await res.json().catch(() => undefined)) as Record<string, unknown>,
      };
    };
    const created = await call("POST", "/salesforce/sobjects/Account", { Name: "Control Co" });
    expect(created.status).toBe(200);
    const id = created.body.id as string;
    expect((await call("PUT", `/salesforce/sobjects/Account/${id}`, { BillingCountry: "FR" })).status).toBe(
      200,
    );
    expect((await call("GET", `/salesforce/sobjects/Account/${id}`)).body.BillingCountry).toBe("FR");
    // `?as=` makes it a seller's edit, stamped with the seller's id (a change event's commitUser).
    const seller = s.salesforce.query("SELECT Id FROM User WHERE Username = 'avery.chen@cosell.sandbox'")
      .records[0]!.Id;
    expect(
      (await call("PUT", `/salesforce/sobjects/Account/${id}?as=avery.chen@cosell.sandbox`, { Phone: "1" }))
        .status,
    ).toBe(200);
    expect((await call("GET", `/salesforce/sobjects/Account/${id}`)).body.LastModifiedById).toBe(seller);
    const q = await call("POST", "/salesforce/query", {
      soql: `SELECT Name FROM Account WHERE Id = '${id}'`,
    });
    expect(q.body.totalSize).toBe(1);
    const bad = await call("POST", "/salesforce/sobjects/Account", {});
    expect(bad).toMatchObject({ status: 400, body: { error: { code: "REQUIRED_FIELD_MISSING" } } });
    expect((await call("POST", "/salesforce/seed-opportunities", { count: 5 })).body.count).toBe(5);
    expect(
      (
        await call("POST", "/salesforce/fail-next", {
          statusCode: "UNABLE_TO_LOCK_ROW",
          message: "locked",
          type: "Opportunity",
        })
      ).status,
    ).toBe(200);
    const rt = await call("POST", "/salesforce/refresh-tokens", {});
    expect(String(rt.body.refreshToken)).toMatch(/^5Aep861/);
    expect((await call("POST", "/salesforce/api-usage", { used: 42 })).body).toMatchObject({ used: 42 });
    await jwtConnection(s.credentials.salesforce, s.clock.now());
    expect((await call("POST", "/salesforce/expire-sessions")).body.expired).toBeGreaterThanOrEqual(1);
    expect((await call("DELETE", `/salesforce/sobjects/Account/${id}`)).status).toBe(200);
    expect((await call("GET", `/salesforce/sobjects/Account/${id}`)).status).toBe(200); // tombstone
    const state = (await (await fetch(`${s.urls.control}/state`)).json()) as {
      salesforce: { opportunities: number };
    };
    expect(state.salesforce.opportunities).toBe(25);
  });

  it("snapshot and restore keep the org, its custom fields and the JWT key", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cosell-sf-"));
    dirs.push(dir);
    const file = join(dir, "snapshot.json");
    const first = await start({ snapshotFile: file });
    const id = first.salesforce.insert("Account", { Name: "Kept Ltd" });
    first.salesforce.upsertMetadata("CustomField", [
      { fullName: "Opportunity.Kept__c", label: "Kept", type: "Checkbox", defaultValue: "false" },
    ]);
    const key = first.credentials.salesforce.jwtPrivateKeyPem;
    await first.stop();
    running.length = 0;

    const second = await start({ snapshotFile: file });
    expect(second.credentials.salesforce.jwtPrivateKeyPem).toBe(key);
    expect(second.salesforce.get("Account", id)?.Name).toBe("Kept Ltd");
    expect(second.salesforce.query("SELECT Kept__c FROM Opportunity LIMIT 1").totalSize).toBe(1);
    await jwtConnection(second.credentials.salesforce, second.clock.now());
  });

  it("rejects a malformed snapshot part", () => {
    expect(() => salesforceSystem.parseSnapshot({ state: {} })).toThrow();
  });
});
