import type { Connection } from "jsforce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCredentials, rejection, startOrg, type TestOrg } from "./harness.js";

let org: TestOrg;
let conn: Connection;
beforeAll(async () => {
  org = await startOrg();
  conn = await clientCredentials(org);
  // An external-id field the integration user may use (salesforce.md §6: FLS via a permission set).
  org.server.control.upsertMetadata("CustomField", [
    {
      fullName: "Opportunity.Ext_Key__c",
      label: "Ext Key",
      type: "Text",
      length: 40,
      externalId: true,
      unique: false,
    },
  ]);
  org.server.control.upsertMetadata("PermissionSet", [
    {
      fullName: "Sync_User",
      label: "Sync User",
      fieldPermissions: [{ field: "Opportunity.Ext_Key__c", readable: true, editable: true }],
    },
  ]);
  org.server.control.assignPermissionSet("Sync_User");
});
afterAll(() => org.close());

const opp = (extra: Record<string, unknown> = {}) => ({
  Name: "Crud deal",
  StageName: "Prospecting",
  CloseDate: "2025-09-30",
  Amount: 50000,
  ...extra,
});

describe("single-record CRUD", () => {
  it("creates (201), reads with ?fields=, updates (204) and deletes (204)", async () => {
    const created = await conn.sobject("Opportunity").create(opp());
    const id = created.id!;
    expect(created).toEqual({ id: expect.stringMatching(/^006\w{15}$/), success: true, errors: [] });
    const post = org.log.filter({ endpoint: "POST /sobjects/{type}" }).at(-1)!;
    expect(post.status).toBe(201);

    const read = await conn
      .sobject("Opportunity")
      .retrieve(id, { fields: ["Name", "StageName", "IsClosed"] });
    expect(read).toEqual({
      attributes: { type: "Opportunity", url: `/services/data/v62.0/sobjects/Opportunity/${id}` },
      Name: "Crud deal",
      StageName: "Prospecting",
      IsClosed: false,
    });

    const before = org.server.control.get("Opportunity", id)!;
    org.clock.advance(5000);
    const upd = await conn.sobject("Opportunity").update({ Id: id, StageName: "Closed Won" });
    expect(upd).toEqual({ id: id, success: true, errors: [] });
    expect(org.log.filter({ endpoint: "PATCH /sobjects/{type}/{id}" }).at(-1)!.status).toBe(204);
    const after = org.server.control.get("Opportunity", id)!;
    expect(after).toMatchObject({
      IsClosed: true,
      IsWon: true,
      Probability: 100,
      ForecastCategoryName: "Closed",
    });
    expect(after.SystemModstamp).toBe("2025-03-10T09:00:05.000+0000");
    expect(after.LastModifiedDate).toBe(after.SystemModstamp);
    expect(after.CreatedDate).toBe(before.CreatedDate);

    const del = await conn.sobject("Opportunity").destroy(id);
    expect(del).toEqual({ id: id, success: true, errors: [] });
    const err = await rejection(conn.sobject("Opportunity").retrieve(id));
    expect(err.errorCode).toBe("NOT_FOUND");
    expect(err.message).toBe("The requested resource does not exist");
  });

  it("returns the full record with compound address on GET without fields", async () => {
    const { records } = await conn.query<{ Id: string }>("SELECT Id FROM Account WHERE Name = 'Contoso Ltd'");
    const acc = (await conn.sobject("Account").retrieve(records[0]!.Id)) as unknown as Record<
      string,
      unknown
    >;
    expect(acc.BillingAddress).toEqual({
      street: "4567 Main St",
      city: "Seattle",
      state: "WA",
      postalCode: "98101",
      country: "United States",
      latitude: null,
      longitude: null,
      geocodeAccuracy: null,
    });
    expect(acc).not.toHaveProperty("DunsNumber");
    expect(acc).not.toHaveProperty("CurrencyIsoCode");
  });

  it("derives probability and forecast category from the stage unless the write sets them", async () => {
    const a = { id: (await conn.sobject("Opportunity").create(opp({ StageName: "Co-sell Review" }))).id! };
    expect(org.server.control.get("Opportunity", a.id)).toMatchObject({
      Probability: 20,
      ForecastCategoryName: "Pipeline",
      ForecastCategory: "Pipeline",
      IsClosed: false,
      ExpectedRevenue: 10000,
      FiscalYear: 2025,
      FiscalQuarter: 3,
    });
    await conn.sobject("Opportunity").update({ Id: a.id, Probability: 35 });
    expect(org.server.control.get("Opportunity", a.id)!.Probability).toBe(35);
    await conn.sobject("Opportunity").update({ Id: a.id, StageName: "Closed - Partner Declined" });
    expect(org.server.control.get("Opportunity", a.id)).toMatchObject({
      Probability: 0,
      IsClosed: true,
      IsWon: false,
      ForecastCategoryName: "Omitted",
    });
  });

  it.each([
    [
      "a missing required field",
      { Name: "x", StageName: "Prospecting" },
      "REQUIRED_FIELD_MISSING",
      "Required fields are missing: [CloseDate]",
      ["CloseDate"],
    ],
    [
      "an unknown field",
      opp({ Bogus__c: 1 }),
      "INVALID_FIELD",
      "No such column 'Bogus__c' on sobject of type Opportunity",
      undefined,
    ],
    [
      "a read-only field",
      opp({ IsClosed: true, IsWon: true }),
      "INVALID_FIELD_FOR_INSERT_UPDATE",
      /^Unable to create\/update fields: IsClosed, IsWon\./,
      ["IsClosed", "IsWon"],
    ],
    [
      "a too long name",
      opp({ Name: "n".repeat(121) }),
      "STRING_TOO_LONG",
      /^Name: data value too large: n+ \(max length=120\)$/,
      ["Name"],
    ],
    [
      "a wrongly typed amount",
      opp({ Amount: "lots" }),
      "INVALID_TYPE_ON_FIELD_IN_RECORD",
      "Amount: value not of required type: lots",
      ["Amount"],
    ],
    [
      "a bad date",
      opp({ CloseDate: "30/09/2025" }),
      "INVALID_TYPE_ON_FIELD_IN_RECORD",
      "Close Date: value not of required type: 30/09/2025",
      ["CloseDate"],
    ],
    [
      "an unknown stage",
      opp({ StageName: "Maybe" }),
      "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
      "Stage: bad value for restricted picklist field: Maybe",
      ["StageName"],
    ],
    [
      "a dangling account id",
      opp({ AccountId: "0018d00000ZZZZZAAA" }),
      "INVALID_CROSS_REFERENCE_KEY",
      "invalid cross reference id",
      ["AccountId"],
    ],
    [
      "an id of the wrong object",
      opp({ AccountId: "0068d0000000001AAA" }),
      "FIELD_INTEGRITY_EXCEPTION",
      "Account ID: id value of incorrect type: 0068d0000000001AAA",
      ["AccountId"],
    ],
  ])("rejects %s", async (_label, body, code, message, fields) => {
    const err = await rejection(conn.sobject("Opportunity").create(body));
    expect(err.errorCode).toBe(code);
    if (typeof message === "string") expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
    if (fields) expect((err.data as { fields: string[] }).fields).toEqual(fields);
    expect(org.log.filter({ endpoint: "POST /sobjects/{type}" }).at(-1)!.status).toBe(400);
  });

  it("answers 404 NOT_FOUND for an unknown record on PATCH", async () => {
    const err = await rejection(conn.sobject("Opportunity").update({ Id: "0068d00000ZZZZZAAA", Name: "x" }));
    expect(err.errorCode).toBe("NOT_FOUND");
  });
});

describe("external-id upsert (single record)", () => {
  it("inserts (201 created:true), updates (200 created:false) and reports duplicates (300)", async () => {
    const first = await conn
      .sobject("Opportunity")
      .upsert(opp({ Ext_Key__c: "REF-1", Name: "Upserted" }), "Ext_Key__c");
    expect(first).toEqual({ id: expect.stringMatching(/^006/), success: true, errors: [], created: true });
    expect(org.log.filter({ endpoint: "PATCH /sobjects/{type}/{field}/{value}" }).at(-1)!.status).toBe(201);

    const second = await conn
      .sobject("Opportunity")
      .upsert({ Ext_Key__c: "REF-1", Name: "Upserted again" }, "Ext_Key__c");
    expect(second).toEqual({ id: (first as { id: string }).id, success: true, errors: [], created: false });
    expect(org.log.filter({ endpoint: "PATCH /sobjects/{type}/{field}/{value}" }).at(-1)!.status).toBe(200);
    expect(org.server.control.get("Opportunity", (first as { id: string }).id)!.Name).toBe("Upserted again");

    // Not unique: a second record with the same key makes the key ambiguous.
    org.server.control.insert("Opportunity", opp({ Ext_Key__c: "REF-1", Name: "Twin" }));
    const err = await rejection(
      conn.sobject("Opportunity").upsert({ Ext_Key__c: "REF-1", Name: "?" }, "Ext_Key__c"),
    );
    expect(err.errorCode).toBe("MULTIPLE_CHOICES");
    expect(err.data).toHaveLength(2);
    expect((err.data as string[])[0]).toMatch(/^\/services\/data\/v62\.0\/sobjects\/Opportunity\/006\w{15}$/);
  });

  it("refuses a field that is not an external id", async () => {
    const err = await rejection(conn.sobject("Opportunity").upsert({ Name: "x" }, "Name"));
    expect(err.errorCode).toBe("NOT_FOUND");
    expect(err.message).toBe("Provided external ID field does not exist or is not accessible: Name");
  });
});

describe("describe", () => {
  it("lists StageName picklist values from the org's stages, and child relationships", async () => {
    const d = await conn.sobject("Opportunity").describe();
    expect(d.name).toBe("Opportunity");
    expect(d.keyPrefix).toBe("006");
    const stage = d.fields.find((f) => f.name === "StageName")!;
    expect(stage.type).toBe("picklist");
    expect(stage.nillable).toBe(false);
    expect(stage.picklistValues!.map((p) => p.value)).toEqual(
      org.server.control.stages().map((s) => s.apiName),
    );
    expect(stage.picklistValues![0]).toEqual({
      active: true,
      defaultValue: false,
      label: "Prospecting",
      value: "Prospecting",
    });
    const isClosed = d.fields.find((f) => f.name === "IsClosed")!;
    expect([isClosed.createable, isClosed.updateable]).toEqual([false, false]);
    const account = d.fields.find((f) => f.name === "AccountId")!;
    expect(account).toMatchObject({
      type: "reference",
      referenceTo: ["Account"],
      relationshipName: "Account",
    });
    expect(d.fields.find((f) => f.name === "Ext_Key__c")).toMatchObject({
      custom: true,
      externalId: true,
      type: "string",
      length: 40,
    });
    expect(d.childRelationships).toContainEqual(
      expect.objectContaining({
        childSObject: "OpportunityContactRole",
        field: "OpportunityId",
        relationshipName: "OpportunityContactRoles",
      }),
    );
  });

  it("describes the org's objects globally", async () => {
    const g = await conn.describeGlobal();
    expect(g.maxBatchSize).toBe(200);
    const names = g.sobjects.map((s) => s.name);
    for (const n of [
      "Account",
      "Contact",
      "Opportunity",
      "OpportunityContactRole",
      "OpportunityTeamMember",
      "OpportunityStage",
      "Campaign",
      "User",
      "PermissionSet",
      "PermissionSetAssignment",
    ])
      expect(names).toContain(n);
    expect(g.sobjects.find((s) => s.name === "OpportunityStage")).toMatchObject({
      createable: false,
      queryable: true,
    });
  });
});

describe("replication windows", () => {
  it("reports updated ids and deleted records with minute precision", async () => {
    const c = org.server.control;
    org.clock.advance(60_000);
    const start = new Date(org.clock.now().getTime());
    const id = c.insert("Opportunity", opp({ Name: "Window deal" }));
    const gone = c.insert("Opportunity", opp({ Name: "Gone deal" }));
    org.clock.advance(30_000);
    c.delete("Opportunity", gone);
    // Rows of the current minute are not covered yet.
    const early = await conn
      .sobject("Opportunity")
      .updated(start.toISOString(), new Date(org.clock.now().getTime() + 3600_000).toISOString());
    expect(early.ids).not.toContain(id);
    org.clock.advance(60_000);
    const end = new Date(org.clock.now().getTime() + 3600_000);
    const updated = await conn.sobject("Opportunity").updated(start.toISOString(), end.toISOString());
    expect(updated.ids).toContain(id);
    expect(updated.ids).not.toContain(gone);
    expect(updated.latestDateCovered).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000\+0000$/);
    const deleted = await conn.sobject("Opportunity").deleted(start.toISOString(), end.toISOString());
    expect(deleted.deletedRecords).toEqual([
      { id: gone, deletedDate: c.get("Opportunity", gone)!.SystemModstamp },
    ]);
    expect(deleted.earliestDateAvailable).toMatch(/\+0000$/);
    expect(deleted.latestDateCovered).toBe(updated.latestDateCovered);
  });

  it("refuses getUpdated starting more than 30 days back", async () => {
    const start = new Date(org.clock.now().getTime() - 31 * 86_400_000);
    const err = await rejection(
      conn.sobject("Opportunity").updated(start.toISOString(), org.clock.now().toISOString()),
    );
    expect(err.errorCode).toBe("INVALID_REPLICATION_DATE");
  });
});

describe("limits", () => {
  it("reports usage in Sforce-Limit-Info (conn.limitInfo) and GET limits, and 403s when used up", async () => {
    const limitOrg = await startOrg({ dailyApiLimit: 50, seed: false, accessTokenTtlSeconds: 3 * 86_400 });
    try {
      const c = await clientCredentials(limitOrg);
      await c.query("SELECT Id FROM User");
      expect(c.limitInfo).toEqual({ apiUsage: { used: 1, limit: 50 } });
      const limits = (await c.limits()) as unknown as Record<string, { Max: number; Remaining: number }>;
      expect(limits.DailyApiRequests).toEqual({ Max: 50, Remaining: 48 });
      expect(c.limitInfo.apiUsage).toEqual({ used: 2, limit: 50 });
      const res = await fetch(`${limitOrg.url}/services/data/v62.0/limits`, {
        headers: { authorization: `Bearer ${c.accessToken}` },
      });
      expect(res.headers.get("content-type")).toBe("application/json;charset=UTF-8");
      expect(res.headers.get("sforce-limit-info")).toBe("api-usage=3/50");

      limitOrg.server.control.setApiUsage(50);
      const err = await rejection(c.query("SELECT Id FROM User"));
      expect(err.errorCode).toBe("REQUEST_LIMIT_EXCEEDED");
      expect(err.message).toBe("TotalRequests Limit exceeded.");
      expect(limitOrg.log.filter({ endpoint: "GET /query" }).at(-1)!.status).toBe(403);
      // The rolling 24 h window frees the allocation again.
      limitOrg.clock.advance(24 * 3600_000);
      await c.query("SELECT Id FROM User");
      expect(c.limitInfo.apiUsage).toEqual({ used: 1, limit: 50 });
    } finally {
      await limitOrg.close();
    }
  });
});

describe("multi-currency", () => {
  it("has CurrencyIsoCode only when the org is multi-currency", async () => {
    const err = await rejection(conn.query("SELECT CurrencyIsoCode FROM Opportunity"));
    expect(err.errorCode).toBe("INVALID_FIELD");
    const mc = await startOrg({ multiCurrency: true, seed: false });
    try {
      const c = await clientCredentials(mc);
      const id = (await c.sobject("Opportunity").create(opp({ CurrencyIsoCode: "EUR" }))).id;
      const res = await c.query<{ CurrencyIsoCode: string }>(
        `SELECT CurrencyIsoCode FROM Opportunity WHERE Id = '${id}'`,
      );
      expect(res.records[0]!.CurrencyIsoCode).toBe("EUR");
      const bad = await rejection(c.sobject("Opportunity").create(opp({ CurrencyIsoCode: "XXX" })));
      expect(bad.errorCode).toBe("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
      const d = await c.sobject("Account").describe();
      expect(d.fields.find((f) => f.name === "CurrencyIsoCode")!.picklistValues!.map((p) => p.value)).toEqual(
        ["USD", "EUR", "GBP", "JPY", "AUD", "CAD"],
      );
    } finally {
      await mc.close();
    }
  });
});
