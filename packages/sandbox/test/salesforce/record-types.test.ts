import type { Connection } from "jsforce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCredentials, rejection, startOrg, type TestOrg, VERSION } from "./harness.js";

let org: TestOrg;
let conn: Connection;
let partner: string;
let direct: string;
beforeAll(async () => {
  org = await startOrg({ seed: false });
  conn = await clientCredentials(org);
  partner = org.server.control.addOpportunityRecordType({
    developerName: "Partner_Deal",
    label: "Partner Deal",
    salesProcess: "Partner Sales",
    stages: ["Co-sell Review", "Needs Analysis", "Closed Won", "Closed - Partner Declined"],
  });
  direct = org.server.control.addOpportunityRecordType({
    developerName: "Direct_Deal",
    salesProcess: "Direct Sales",
    stages: ["Prospecting", "Negotiation/Review", "Closed Won", "Closed Lost"],
  });
});
afterAll(() => org.close());

type PicklistValues = { values: { value: string; label: string; validFor: unknown[] }[]; url: string };

describe("Opportunity record types with their own sales processes", () => {
  it("describe lists them with Master; the first one added is the default", async () => {
    const d = (await conn.request(`/sobjects/Opportunity/describe`)) as {
      recordTypeInfos: {
        recordTypeId: string;
        developerName: string;
        master: boolean;
        defaultRecordTypeMapping: boolean;
      }[];
    };
    expect(d.recordTypeInfos.map((r) => [r.developerName, r.master, r.defaultRecordTypeMapping])).toEqual([
      ["Partner_Deal", false, true],
      ["Direct_Deal", false, false],
      ["Master", true, false],
    ]);
    expect(d.recordTypeInfos[0]!.recordTypeId).toBe(partner);
    const rows = await conn.query<{ DeveloperName: string; BusinessProcess: { Name: string } }>(
      "SELECT DeveloperName, BusinessProcess.Name FROM RecordType WHERE SobjectType = 'Opportunity' ORDER BY DeveloperName",
    );
    expect(rows.records.map((r) => [r.DeveloperName, r.BusinessProcess.Name])).toEqual([
      ["Direct_Deal", "Direct Sales"],
      ["Partner_Deal", "Partner Sales"],
    ]);
  });

  it("ui-api picklist values are the record type's sales process stages, in its order; Master has every stage", async () => {
    const url = (rt: string) => `/ui-api/object-info/Opportunity/picklist-values/${rt}/StageName`;
    const forDirect = (await conn.request(url(direct))) as PicklistValues;
    expect(forDirect.values.map((v) => v.value)).toEqual([
      "Prospecting",
      "Negotiation/Review",
      "Closed Won",
      "Closed Lost",
    ]);
    expect(forDirect.url).toBe(
      `/services/data/v${VERSION}/ui-api/object-info/Opportunity/picklist-values/${direct}/StageName`,
    );
    const master = (await conn.request(url("012000000000000AAA"))) as PicklistValues;
    expect(master.values.map((v) => v.value)).toEqual(org.server.control.stages().map((s) => s.apiName));
    const missing = await rejection(conn.request(url("012000000000009AAA")));
    expect(missing.errorCode).toBe("NOT_FOUND");
  });

  it("a new opportunity gets the default record type unless it names one", async () => {
    const a = await conn
      .sobject("Opportunity")
      .create({ Name: "A", StageName: "Co-sell Review", CloseDate: "2026-01-01" });
    const b = await conn.sobject("Opportunity").create({
      Name: "B",
      StageName: "Prospecting",
      CloseDate: "2026-01-01",
      RecordTypeId: direct,
    });
    expect(org.server.control.get("Opportunity", (a as { id: string }).id)!.RecordTypeId).toBe(partner);
    expect(org.server.control.get("Opportunity", (b as { id: string }).id)!.RecordTypeId).toBe(direct);
  });

  it("survives export and import of the org state", () => {
    const state = org.server.control.exportState();
    org.server.control.importState(state);
    const id = org.server.control.insert("Opportunity", {
      Name: "C",
      StageName: "Co-sell Review",
      CloseDate: "2026-01-01",
    });
    expect(org.server.control.get("Opportunity", id)!.RecordTypeId).toBe(partner);
  });
});
