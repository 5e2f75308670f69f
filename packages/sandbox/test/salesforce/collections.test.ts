import type { Connection } from "jsforce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCredentials, rejection, startOrg, type TestOrg } from "./harness.js";

let org: TestOrg;
let conn: Connection;
beforeAll(async () => {
  org = await startOrg({ seed: false });
  conn = await clientCredentials(org);
  org.server.control.upsertMetadata("CustomField", [
    {
      fullName: "Opportunity.Ref__c",
      label: "Referral",
      type: "Text",
      length: 64,
      externalId: true,
      unique: true,
    },
  ]);
  org.server.control.upsertMetadata("PermissionSet", [
    {
      fullName: "Sync",
      label: "Sync",
      fieldPermissions: [{ field: "Opportunity.Ref__c", readable: true, editable: true }],
    },
  ]);
  org.server.control.assignPermissionSet("Sync");
});
afterAll(() => org.close());

const deal = (i: number, extra: Record<string, unknown> = {}) => ({
  Name: `Deal ${i}`,
  StageName: "Qualification",
  CloseDate: "2025-12-31",
  Amount: 1000 * i,
  ...extra,
});

const count = (where = "") => org.server.control.query(`SELECT COUNT() FROM Opportunity ${where}`).totalSize;

describe("collections create", () => {
  it("creates 450 records in chunks of 200 with allowRecursive, results in request order", async () => {
    org.log.clear();
    const records = Array.from({ length: 450 }, (_, i) => deal(i, { Ref__c: `C-${i}` }));
    const results = await conn.sobject("Opportunity").create(records, { allowRecursive: true });
    expect(results).toHaveLength(450);
    expect(results.every((r) => r.success && r.errors.length === 0 && /^006/.test(r.id!))).toBe(true);
    expect(org.log.filter({ endpoint: "POST /composite/sobjects" }).map((e) => e.status)).toEqual([
      200, 200, 200,
    ]);
    const second = org.server.control.get("Opportunity", results[1]!.id!)!;
    expect(second.Ref__c).toBe("C-1");
    expect(second.Name).toBe("Deal 1");
  });

  it("rejects more than 200 records in one request with EXCEEDED_ID_LIMIT", async () => {
    const err = await rejection(
      conn.sobject("Opportunity").create(Array.from({ length: 201 }, (_, i) => deal(i))),
    );
    expect(err.errorCode).toBe("EXCEEDED_ID_LIMIT");
    expect(err.message).toBe("record limit reached. cannot submit more than 200 records into this call");
  });

  it("reports one injected per-record failure as success:false and keeps the others", async () => {
    org.server.control.failNext({
      type: "Opportunity",
      statusCode: "UNABLE_TO_LOCK_ROW",
      message: "unable to obtain exclusive access to this record",
    });
    const before = count();
    const results = await conn.sobject("Opportunity").create([deal(1), deal(2), deal(3)]);
    expect(results[0]).toEqual({
      success: false,
      errors: [
        {
          statusCode: "UNABLE_TO_LOCK_ROW",
          message: "unable to obtain exclusive access to this record",
          fields: [],
        },
      ],
    });
    expect(results.slice(1).map((r) => r.success)).toEqual([true, true]);
    expect(count()).toBe(before + 2);
  });

  it("rolls everything back with allOrNone and marks the valid records ALL_OR_NONE_OPERATION_ROLLED_BACK", async () => {
    const before = count();
    const results = await conn
      .sobject("Opportunity")
      .create([deal(1), { Name: "No stage", CloseDate: "2025-01-01" }, deal(3)], {
        allOrNone: true,
      });
    expect(results).toEqual([
      {
        success: false,
        errors: [
          {
            statusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            message:
              "Record rolled back because not all records were valid and the request was using AllOrNone header",
            fields: [],
          },
        ],
      },
      {
        success: false,
        errors: [
          {
            statusCode: "REQUIRED_FIELD_MISSING",
            message: "Required fields are missing: [StageName]",
            fields: ["StageName"],
          },
        ],
      },
      expect.objectContaining({
        success: false,
        errors: [expect.objectContaining({ statusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK" })],
      }),
    ]);
    expect(count()).toBe(before);
  });
});

describe("collections update, upsert, retrieve, delete", () => {
  it("updates records and reports a failing one by id", async () => {
    const ids = org.server.control
      .query("SELECT Id FROM Opportunity WHERE Ref__c IN ('C-10', 'C-11', 'C-12') ORDER BY Ref__c")
      .records.map((r) => r.Id as string);
    org.server.control.failNext({
      id: ids[1]!,
      statusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION",
      message: "Amount must be positive",
      fields: ["Amount"],
    });
    const results = await conn
      .sobject("Opportunity")
      .update(ids.map((Id) => ({ Id, StageName: "Closed Won" })));
    expect(results).toEqual([
      { id: ids[0], success: true, errors: [] },
      {
        id: ids[1],
        success: false,
        errors: [
          {
            statusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            message: "Amount must be positive",
            fields: ["Amount"],
          },
        ],
      },
      { id: ids[2], success: true, errors: [] },
    ]);
    expect(ids.map((id) => org.server.control.get("Opportunity", id)!.IsWon)).toEqual([true, false, true]);
  });

  it("upserts 250 records by external id with allowRecursive: created and updated flags", async () => {
    org.log.clear();
    // C-0…C-99 exist already (updated), N-0…N-149 are new (created).
    const records = [
      ...Array.from({ length: 100 }, (_, i) => ({ Ref__c: `C-${i}`, NextStep: "Upserted" })),
      ...Array.from({ length: 150 }, (_, i) => deal(i, { Ref__c: `N-${i}` })),
    ];
    const results = await conn.sobject("Opportunity").upsert(records, "Ref__c", { allowRecursive: true });
    expect(results).toHaveLength(250);
    expect(results.slice(0, 100).every((r) => r.success && r.created === false)).toBe(true);
    expect(results.slice(100).every((r) => r.success && r.created === true)).toBe(true);
    expect(
      org.log.filter({ endpoint: "PATCH /composite/sobjects/{type}/{field}" }).map((e) => e.status),
    ).toEqual([200, 200]);
    expect(
      org.server.control.query("SELECT COUNT() FROM Opportunity WHERE NextStep = 'Upserted'").totalSize,
    ).toBe(100);
  });

  it("reports a duplicate external id inside one request per record", async () => {
    const results = await conn
      .sobject("Opportunity")
      .upsert(
        [deal(1, { Ref__c: "DUP" }), deal(2, { Ref__c: "dup" }), deal(3, { Ref__c: "UNIQ-1" })],
        "Ref__c",
      );
    // jsforce types per-record errors with errorCode; the API sends statusCode.
    const codes = results.map((r) =>
      r.success ? "ok" : (r.errors[0] as unknown as { statusCode: string }).statusCode,
    );
    expect(codes).toEqual(["DUPLICATE_EXTERNAL_ID", "DUPLICATE_EXTERNAL_ID", "ok"]);
  });

  it("rejects a duplicate value of a unique field", async () => {
    const results = await conn.sobject("Opportunity").create([deal(1, { Ref__c: "C-1" })]);
    expect(results[0]!.success).toBe(false);
    expect(results[0]!.errors[0]).toMatchObject({ statusCode: "DUPLICATE_VALUE", fields: ["Ref__c"] });
    expect((results[0]!.errors[0] as { message: string }).message).toMatch(
      /^duplicate value found: Ref__c duplicates value on record with id: 006\w{15}$/,
    );
  });

  it("retrieves many records with POST composite/sobjects/<T>, null for missing ones", async () => {
    const ids = org.server.control
      .query("SELECT Id FROM Opportunity WHERE Ref__c IN ('C-1', 'C-2') ORDER BY Ref__c")
      .records.map((r) => r.Id as string);
    const missing = "0068d00000ZZZZZAAA";
    const records = await conn
      .sobject("Opportunity")
      .retrieve([ids[0]!, missing, ids[1]!], { fields: ["Name", "Ref__c"] });
    expect(records).toEqual([
      {
        attributes: { type: "Opportunity", url: `/services/data/v62.0/sobjects/Opportunity/${ids[0]}` },
        Name: "Deal 1",
        Ref__c: "C-1",
      },
      null,
      {
        attributes: { type: "Opportunity", url: `/services/data/v62.0/sobjects/Opportunity/${ids[1]}` },
        Name: "Deal 2",
        Ref__c: "C-2",
      },
    ]);
    expect(org.log.filter({ endpoint: "POST /composite/sobjects/{type}" }).at(-1)!.status).toBe(200);
  });

  it("deletes many records, reporting an already deleted one", async () => {
    const ids = org.server.control
      .query("SELECT Id FROM Opportunity WHERE Ref__c IN ('C-3', 'C-4') ORDER BY Ref__c")
      .records.map((r) => r.Id as string);
    org.server.control.delete("Opportunity", ids[1]!);
    const results = await conn.sobject("Opportunity").destroy(ids);
    expect(results).toEqual([
      { id: ids[0], success: true, errors: [] },
      {
        id: ids[1],
        success: false,
        errors: [{ statusCode: "ENTITY_IS_DELETED", message: "entity is deleted", fields: [] }],
      },
    ]);
  });
});

describe("composite", () => {
  it("runs subrequests with references in one API call and rolls back with allOrNone", async () => {
    const used = org.server.control.apiUsage().used;
    const ok = (await conn.requestPost("/composite", {
      allOrNone: true,
      compositeRequest: [
        {
          method: "POST",
          url: "/services/data/v62.0/sobjects/Account",
          referenceId: "acct",
          body: { Name: "Composite Co" },
        },
        {
          method: "POST",
          url: "/services/data/v62.0/sobjects/Opportunity",
          referenceId: "opp",
          body: deal(9, { AccountId: "@{acct.id}" }),
        },
        {
          method: "GET",
          url: "/services/data/v62.0/sobjects/Opportunity/@{opp.id}?fields=AccountId",
          referenceId: "read",
        },
      ],
    })) as {
      compositeResponse: { httpStatusCode: number; referenceId: string; body: Record<string, unknown> }[];
    };
    expect(ok.compositeResponse.map((r) => r.httpStatusCode)).toEqual([201, 201, 200]);
    expect(ok.compositeResponse[2]!.body.AccountId).toBe(ok.compositeResponse[0]!.body.id);
    expect(org.server.control.apiUsage().used).toBe(used + 1);

    const accounts = org.server.control.query("SELECT COUNT() FROM Account").totalSize;
    const failed = (await conn.requestPost("/composite", {
      allOrNone: true,
      compositeRequest: [
        {
          method: "POST",
          url: "/services/data/v62.0/sobjects/Account",
          referenceId: "a",
          body: { Name: "Rolled back" },
        },
        {
          method: "POST",
          url: "/services/data/v62.0/sobjects/Opportunity",
          referenceId: "o",
          body: { Name: "bad" },
        },
      ],
    })) as { compositeResponse: { httpStatusCode: number; body: { errorCode: string }[] }[] };
    expect(failed.compositeResponse.map((r) => [r.httpStatusCode, r.body[0]!.errorCode])).toEqual([
      [400, "PROCESSING_HALTED"],
      [400, "REQUIRED_FIELD_MISSING"],
    ]);
    expect(org.server.control.query("SELECT COUNT() FROM Account").totalSize).toBe(accounts);
  });
});

describe("composite reads", () => {
  const q = (soql: string, ref: string, resource = "query") => ({
    method: "GET",
    url: `/services/data/v62.0/${resource}?q=${encodeURIComponent(soql)}`,
    referenceId: ref,
  });

  it("answers query, queryAll and getDeleted subrequests in one API call", async () => {
    const used = org.server.control.apiUsage().used;
    const end = new Date(Date.now() + 120_000).toISOString().slice(0, 19);
    const start = new Date(Date.now() - 3_600_000).toISOString().slice(0, 19);
    const r = (await conn.requestPost("/composite", {
      allOrNone: false,
      compositeRequest: [
        q("SELECT Id FROM Opportunity LIMIT 2", "live"),
        q("SELECT Id FROM Opportunity WHERE IsDeleted = true", "bin", "queryAll"),
        {
          method: "GET",
          url: `/services/data/v62.0/sobjects/Opportunity/deleted?start=${encodeURIComponent(`${start}+00:00`)}&end=${encodeURIComponent(`${end}+00:00`)}`,
          referenceId: "deleted",
        },
      ],
    })) as {
      compositeResponse: { httpStatusCode: number; referenceId: string; body: Record<string, unknown> }[];
    };
    expect(r.compositeResponse.map((x) => [x.referenceId, x.httpStatusCode])).toEqual([
      ["live", 200],
      ["bin", 200],
      ["deleted", 200],
    ]);
    expect(r.compositeResponse[0]!.body.records).toHaveLength(2);
    expect(r.compositeResponse[2]!.body).toHaveProperty("latestDateCovered");
    expect(org.server.control.apiUsage().used).toBe(used + 1);
  });

  it("refuses more than 5 query subrequests, as Salesforce's limit says", async () => {
    const six = Array.from({ length: 6 }, (_, i) => q("SELECT Id FROM Opportunity LIMIT 1", `q${i}`));
    await expect(
      conn.requestPost("/composite", { allOrNone: false, compositeRequest: six }),
    ).rejects.toMatchObject({ errorCode: "COMPOSITE_REQUEST_LIMIT_EXCEEDED" });
    const five = (await conn.requestPost("/composite", {
      allOrNone: false,
      compositeRequest: six.slice(0, 5),
    })) as { compositeResponse: { httpStatusCode: number }[] };
    expect(five.compositeResponse.map((x) => x.httpStatusCode)).toEqual([200, 200, 200, 200, 200]);
  });
});

describe("injected faults", () => {
  it("answers an injected 429 and 503 with Salesforce's error array", async () => {
    org.faults.script({
      server: "salesforce",
      method: "POST",
      fault: { kind: "throttle", retryAfterSeconds: 2 },
    });
    const throttled = await rejection(conn.sobject("Opportunity").create(deal(1)));
    expect(throttled.errorCode).toBe("REQUEST_LIMIT_EXCEEDED");
    org.faults.script({ server: "salesforce", method: "PATCH", fault: { kind: "serverError", status: 503 } });
    const down = await rejection(
      conn.sobject("Opportunity").update([{ Id: "0068d0000000001AAA", Name: "x" }]),
    );
    expect(down.errorCode).toBe("SERVER_UNAVAILABLE");
    const logged = org.log.filter({ server: "salesforce" }).filter((e) => e.fault);
    expect(logged.map((e) => [e.status, e.fault, e.retryAfter])).toEqual([
      [429, "throttle", 2],
      [503, "serverError", undefined],
    ]);
  });
});
