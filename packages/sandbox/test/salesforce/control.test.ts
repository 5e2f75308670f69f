import jsforce from "jsforce";
import { afterEach, describe, expect, it } from "vitest";
import { RecordError, SalesforceStateError } from "../../src/salesforce/index.js";
import { clientCredentials, rejection, startOrg, type TestOrg, VERSION } from "./harness.js";

let orgs: TestOrg[] = [];
afterEach(async () => {
  await Promise.all(orgs.map((o) => o.close()));
  orgs = [];
});
async function org(options: Parameters<typeof startOrg>[0] = {}) {
  const o = await startOrg(options);
  orgs.push(o);
  return o;
}

describe("seed data", () => {
  it("is deterministic and realistic", async () => {
    const a = await org();
    const b = await org();
    const snapshot = (o: TestOrg) =>
      o.server.control.query(
        "SELECT Id, Name, StageName, Amount, Account.Name, Owner.Email FROM Opportunity ORDER BY Id",
      ).records;
    expect(snapshot(a)).toEqual(snapshot(b));
    const c = a.server.control;
    expect(c.all("Account")).toHaveLength(8);
    expect(c.all("Contact")).toHaveLength(12);
    expect(c.all("User")).toHaveLength(5);
    expect(c.all("Campaign")).toHaveLength(3);
    expect(c.all("Opportunity")).toHaveLength(20);
    expect(new Set(c.all("Account").map((r) => r.BillingCountry))).toEqual(
      new Set(["United States", "US", "United Kingdom", "Germany", "Canada", "JP", "France", "AU"]),
    );
    expect(c.query("SELECT COUNT() FROM OpportunityContactRole WHERE IsPrimary = true").totalSize).toBe(20);
    expect(c.query("SELECT COUNT() FROM OpportunityTeamMember").totalSize).toBe(10);
    expect(c.all("User").every((u) => /@/.test(String(u.Email)))).toBe(true);
    expect(new Set(c.all("Opportunity").map((o) => o.StageName)).size).toBeGreaterThan(8);
    for (const [type, prefix] of [
      ["Account", "001"],
      ["Contact", "003"],
      ["Opportunity", "006"],
      ["OpportunityContactRole", "00K"],
      ["OpportunityTeamMember", "00q"],
      ["OpportunityStage", "01J"],
      ["Campaign", "701"],
      ["User", "005"],
    ] as const)
      expect(c.all(type).every((r) => String(r.Id).startsWith(prefix) && String(r.Id).length === 18)).toBe(
        true,
      );
  });

  it("can be switched off: only the integration user and the stages exist", async () => {
    const o = await org({ seed: false });
    expect(o.server.control.all("Opportunity")).toEqual([]);
    expect(o.server.control.all("User").map((u) => u.Username)).toEqual([
      o.server.control.connectedApp.username,
    ]);
    expect(o.server.control.all("OpportunityStage").length).toBe(o.server.control.stages().length);
  });

  it("bulk-creates many valid opportunities with seedOpportunities", async () => {
    const o = await org({ seed: false });
    const c = o.server.control;
    const acct = c.insert("Account", { Name: "Bulk Co" });
    const ids = c.seedOpportunities(10_000, { fields: (i) => ({ NextStep: `step ${i}` }) });
    expect(ids).toHaveLength(10_000);
    expect(new Set(ids).size).toBe(10_000);
    const sample = c.get("Opportunity", ids[1234]!)!;
    const stage = c.stages().find((s) => s.apiName === sample.StageName)!;
    expect(sample).toMatchObject({
      AccountId: acct,
      NextStep: "step 1234",
      IsClosed: stage.isClosed,
      IsWon: stage.isWon,
      Probability: stage.defaultProbability,
    });
    expect(c.query("SELECT COUNT() FROM Opportunity WHERE IsClosed = true").totalSize).toBe(
      c.all("Opportunity").filter((r) => r.IsClosed === true).length,
    );
    // The same seed gives the same values.
    const again = (await org({ seed: false })).server.control;
    again.insert("Account", { Name: "Bulk Co" });
    again.seedOpportunities(10_000);
    expect(again.all("Opportunity")[1234]!.StageName).toBe(sample.StageName);
  });
});

describe("control writes", () => {
  it("validates like the API and throws RecordError with a code", async () => {
    const o = await org();
    const err = (() => {
      try {
        o.server.control.insert("Opportunity", { Name: "x" });
      } catch (e) {
        return e;
      }
    })() as RecordError;
    expect(err).toBeInstanceOf(RecordError);
    expect(err.code).toBe("REQUIRED_FIELD_MISSING");
    expect(err.fields).toEqual(["StageName", "CloseDate"]);
  });

  it("acts as a user edit: bumps SystemModstamp, bypasses field-level security, does not count API usage", async () => {
    const o = await org();
    const c = o.server.control;
    c.upsertMetadata("CustomField", [
      { fullName: "Opportunity.Hidden__c", label: "Hidden", type: "Text", length: 10 },
    ]);
    const id = c.all("Opportunity")[0]!.Id as string;
    o.clock.advance(61_000);
    c.update("Opportunity", id, { Hidden__c: "secret" });
    expect(c.get("Opportunity", id)).toMatchObject({
      Hidden__c: "secret",
      SystemModstamp: "2025-03-10T09:01:01.000+0000",
    });
    expect(c.apiUsage().used).toBe(0);
  });
});

describe("state export / import", () => {
  it("resumes an org with data, custom fields, permission sets and refresh tokens", async () => {
    const first = await org({ connectedApp: { refreshTokenRotation: false } });
    const c1 = first.server.control;
    c1.upsertMetadata("CustomField", [
      { fullName: "Opportunity.Ref__c", label: "Ref", type: "Text", length: 20, externalId: true },
    ]);
    c1.upsertMetadata("PermissionSet", [
      {
        fullName: "Sync",
        label: "Sync",
        fieldPermissions: [{ field: "Opportunity.Ref__c", readable: true, editable: true }],
      },
    ]);
    c1.assignPermissionSet("Sync");
    const conn1 = await clientCredentials(first);
    const up = await conn1
      .sobject("Opportunity")
      .upsert({ Ref__c: "R-1", Name: "Saved", StageName: "Prospecting", CloseDate: "2025-05-05" }, "Ref__c");
    const deletedId = c1.all("Opportunity")[0]!.Id as string;
    c1.delete("Opportunity", deletedId);
    const refreshToken = c1.issueRefreshToken();
    const state = JSON.parse(JSON.stringify(c1.exportState()));

    const second = await org({ seed: false });
    second.server.control.importState(state);
    const app = second.server.control.connectedApp;
    const conn2 = new jsforce.Connection({
      version: VERSION,
      instanceUrl: second.url,
      accessToken: "00D000000000000!stale",
      refreshToken,
      oauth2: { clientId: app.clientId, clientSecret: app.clientSecret, loginUrl: second.url },
    });
    const res = await conn2.query<{ Id: string; Ref__c: string }>(
      "SELECT Id, Ref__c FROM Opportunity WHERE Ref__c = 'R-1'",
    );
    expect(res.records.map((r) => r.Id)).toEqual([(up as { id: string }).id]);
    const gone = await conn2.query(`SELECT Id FROM Opportunity WHERE Id = '${deletedId}'`, { scanAll: true });
    expect(gone.totalSize).toBe(1);
    // New ids continue after the saved counters.
    const next = second.server.control.insert("Opportunity", {
      Name: "After",
      StageName: "Prospecting",
      CloseDate: "2025-05-05",
    });
    expect(first.server.control.get("Opportunity", next)).toBeUndefined();
    expect(next > (up as { id: string }).id).toBe(true);
  });

  it("refuses a state of another org or another format", async () => {
    const o = await org({ seed: false });
    const state = o.server.control.exportState();
    const other = await org({ seed: false, orgId: "00D8d000009zzzz" });
    expect(() => other.server.control.importState(state)).toThrow(SalesforceStateError);
    expect(() => o.server.control.importState({ ...state, format: "nope" } as never)).toThrow(
      /Not a saved Salesforce sandbox state/,
    );
  });
});

describe("API versions", () => {
  it("serves any version from the floor and 404s older ones", async () => {
    const o = await org({ apiVersionFloor: "40.0", seed: false });
    const versions = (await (await fetch(`${o.url}/services/data`)).json()) as {
      version: string;
      label: string;
    }[];
    expect(versions[0]).toEqual({ label: expect.any(String), url: "/services/data/v40.0", version: "40.0" });
    expect(versions.find((v) => v.version === "62.0")!.label).toBe("Winter '25");
    const old = new jsforce.Connection({
      version: "39.0",
      loginUrl: o.url,
      oauth2: {
        clientId: o.server.control.connectedApp.clientId,
        clientSecret: o.server.control.connectedApp.clientSecret,
        loginUrl: o.url,
      },
    });
    await old.authorize({ grant_type: "client_credentials" });
    const err = await rejection(old.query("SELECT Id FROM User"));
    expect(err.errorCode).toBe("NOT_FOUND");
    const v45 = await clientCredentials(o, { version: "45.0" });
    expect((await v45.query("SELECT Id FROM User")).totalSize).toBe(1);
  });
});
