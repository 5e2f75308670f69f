import type { Connection } from "jsforce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCredentials, rejection, startOrg, type TestOrg, VERSION } from "./harness.js";

let org: TestOrg;
let conn: Connection;
const ids: Record<string, string> = {};

beforeAll(async () => {
  org = await startOrg();
  conn = await clientCredentials(org);
  const ctl = org.server.control;
  ctl.upsertMetadata("CustomField", [
    { fullName: "Opportunity.Dir__c", label: "Direction", type: "Text", length: 20 },
    { fullName: "Opportunity.Fav__c", label: "Favorite", type: "Checkbox", defaultValue: "false" },
    { fullName: "Opportunity.Due__c", label: "Due", type: "DateTime" },
    {
      fullName: "Opportunity.Notes__c",
      label: "Notes",
      type: "LongTextArea",
      length: 32768,
      visibleLines: 3,
    },
  ]);
  ctl.upsertMetadata("PermissionSet", [
    {
      fullName: "View_Test",
      label: "View Test",
      fieldPermissions: ["Dir__c", "Fav__c", "Due__c", "Notes__c"].map((f) => ({
        field: `Opportunity.${f}`,
        readable: true,
        editable: true,
      })),
    },
  ]);
  ctl.assignPermissionSet("View_Test");
  const acc = ctl.insert("Account", { Name: "Contoso" });
  const base = { StageName: "Prospecting", CloseDate: "2025-09-30", AccountId: acc };
  ids.a = ctl.insert("Opportunity", {
    ...base,
    Name: "LV A",
    Dir__c: "inbound",
    Due__c: "2025-04-01T10:00:00.000+0000",
  });
  ids.b = ctl.insert("Opportunity", { ...base, Name: "LV B", Dir__c: "INBOUND", Fav__c: true });
  ids.c = ctl.insert("Opportunity", { ...base, Name: "LV C", Dir__c: null, Fav__c: true });
});
afterAll(() => org.close());

interface ListViewInfo {
  id: string;
  developerName: string;
  label: string;
  resultsUrl: string;
  describeUrl: string;
}
interface Cell {
  fieldNameOrPath: string;
  value: string | null;
}
/** The union of the three resources' answers (each test reads the parts its resource has). */
interface Body extends ListViewInfo {
  listviews: ListViewInfo[];
  columns: { fieldNameOrPath: string; hidden: boolean }[];
  records: { columns: Cell[] }[];
  size: number;
  done: boolean;
}

async function get(path: string): Promise<{ status: number; json: Body }> {
  const res = await fetch(`${conn.instanceUrl}/services/data/v${VERSION}${path}`, {
    headers: { authorization: `Bearer ${conn.accessToken}` },
  });
  return { status: res.status, json: (await res.json()) as Body };
}

const VIEW = {
  fullName: "Opportunity.LV_Inbound",
  label: "LV Inbound",
  filterScope: "Everything",
  filters: [{ field: "Dir__c", operation: "equals", value: "inbound" }],
  columns: ["OPPORTUNITY.NAME", "ACCOUNT.NAME", "Due__c", "Fav__c"],
};

/** Names of the opportunities a view's results list (its first column). */
async function namesIn(viewId: string): Promise<string[]> {
  const { json } = await get(`/sobjects/Opportunity/listviews/${viewId}/results`);
  return json.records
    .map((r) => String(r.columns.find((c) => c.fieldNameOrPath === "Name")!.value))
    .filter((n) => n.startsWith("LV "));
}

describe("ListView through the Metadata API", () => {
  it("refuses unknown columns and filter fields, bad operations, checkbox values, unused filter lines and long text filters", async () => {
    const failed = async (md: Record<string, unknown>, message: RegExp) => {
      const r = (await conn.metadata.create("ListView", { ...VIEW, ...md } as never)) as unknown as {
        success: boolean;
        errors: { message: string } | { message: string }[];
      };
      expect(r.success, JSON.stringify(md)).toBe(false);
      expect([r.errors].flat()[0]!.message).toMatch(message);
    };
    await failed({ columns: ["OPPORTUNITY.NAME", "Nope__c"] }, /Invalid column Nope__c/);
    // A standard field's API name is not a column name: its column name is OPPORTUNITY.NAME.
    await failed({ columns: ["Name"] }, /Invalid column Name/);
    await failed(
      { filters: [{ field: "Nope__c", operation: "equals", value: "x" }] },
      /invalid field Nope__c/,
    );
    await failed({ filters: [{ field: "Fav__c", operation: "equals", value: "yes" }] }, /checkbox/);
    await failed(
      { filters: [{ field: "Notes__c", operation: "contains", value: "x" }] },
      /cannot be filtered/,
    );
    await failed(
      {
        filters: [...VIEW.filters, { field: "Fav__c", operation: "equals", value: "1" }],
        booleanFilter: "1",
      },
      /filter 2 is not used/,
    );
    await failed({ label: "" }, /Required field is missing: label/);
    // An operation outside the FilterOperation enumeration fails the whole call.
    const fault = await rejection(
      conn.metadata.create("ListView", {
        ...VIEW,
        filters: [{ field: "Dir__c", operation: "is", value: "inbound" }],
      } as never),
    );
    expect(fault.message).toMatch(/'is' is not a valid value for the enum 'FilterOperation'/);
    expect(await conn.metadata.read("ListView", VIEW.fullName)).toMatchObject({});
    expect((await conn.metadata.read("ListView", VIEW.fullName)).fullName).toBeFalsy();
  });

  it("creates, reads, updates and deletes a view; the REST list shows it with its URLs", async () => {
    expect(await conn.metadata.create("ListView", VIEW as never)).toMatchObject({ success: true });
    expect(await conn.metadata.read("ListView", VIEW.fullName)).toMatchObject({
      fullName: VIEW.fullName,
      label: VIEW.label,
      filterScope: "Everything",
      columns: VIEW.columns,
      filters: VIEW.filters,
    });
    expect(await conn.metadata.create("ListView", VIEW as never)).toMatchObject({ success: false });
    const { status, json } = await get("/sobjects/Opportunity/listviews");
    expect(status).toBe(200);
    const listed = json.listviews.find((v) => v.developerName === "LV_Inbound")!;
    expect(listed.id).toMatch(/^00B/);
    expect(listed).toMatchObject({
      label: "LV Inbound",
      resultsUrl: `/services/data/v${VERSION}/sobjects/Opportunity/listviews/${listed.id}/results`,
      describeUrl: `/services/data/v${VERSION}/sobjects/Opportunity/listviews/${listed.id}/describe`,
    });
    ids.view = listed.id;
    expect((await get(`/sobjects/Opportunity/listviews/${listed.id}`)).json).toMatchObject({
      developerName: "LV_Inbound",
    });

    // Text equals is case-insensitive: "INBOUND" is in, a blank direction is not.
    expect((await namesIn(listed.id)).sort()).toEqual(["LV A", "LV B"]);
    await conn.metadata.update("ListView", {
      ...VIEW,
      filters: [...VIEW.filters, { field: "Fav__c", operation: "equals", value: "1" }],
    } as never);
    expect(await namesIn(listed.id)).toEqual(["LV B"]);
    // The update keeps the view's id.
    expect(
      (await get("/sobjects/Opportunity/listviews")).json.listviews.map((v: { id: string }) => v.id),
    ).toContain(listed.id);
  });

  it("evaluates notEqual (blank included), booleanFilter and answers in the documented results shape", async () => {
    await conn.metadata.create("ListView", {
      fullName: "Opportunity.LV_Other",
      label: "LV Other",
      filterScope: "Everything",
      filters: [
        { field: "OPPORTUNITY.NAME", operation: "startsWith", value: "LV " },
        { field: "Dir__c", operation: "notEqual", value: "inbound" },
        { field: "Fav__c", operation: "equals", value: "0" },
      ],
      booleanFilter: "1 AND (2 OR 3)",
      columns: ["OPPORTUNITY.NAME", "ACCOUNT.NAME", "OPPORTUNITY.STAGE_NAME", "Due__c"],
    } as never);
    const id = (await get("/sobjects/Opportunity/listviews")).json.listviews.find(
      (v) => v.developerName === "LV_Other",
    )!.id;
    // C (blank direction) by line 2, A (not a favorite) by line 3; B by neither.
    expect((await namesIn(id)).sort()).toEqual(["LV A", "LV C"]);

    const { json } = await get(`/sobjects/Opportunity/listviews/${ids.view}/results`);
    expect(Object.keys(json).sort()).toEqual([
      "columns",
      "developerName",
      "done",
      "id",
      "label",
      "records",
      "size",
    ]);
    expect(json).toMatchObject({ developerName: "LV_Inbound", done: true, label: "LV Inbound", size: 1 });
    expect(
      json.columns.map((c: { fieldNameOrPath: string; hidden: boolean }) => [c.fieldNameOrPath, c.hidden]),
    ).toEqual([
      ["Name", false],
      ["Account.Name", false],
      ["Due__c", false],
      ["Fav__c", false],
      ["Id", true],
      ["CreatedDate", true],
      ["LastModifiedDate", true],
      ["SystemModstamp", true],
    ]);
    const values = Object.fromEntries(
      json.records[0]!.columns.map((c: { fieldNameOrPath: string; value: unknown }) => [
        c.fieldNameOrPath,
        c.value,
      ]),
    );
    expect(values).toMatchObject({
      Name: "LV B",
      "Account.Name": "Contoso",
      Fav__c: "true",
      Due__c: null,
      Id: ids.b,
    });

    const a = await get(`/sobjects/Opportunity/listviews/${id}/results?limit=1`);
    expect(a.json).toMatchObject({ size: 2, done: false });
    expect(a.json.records).toHaveLength(1);
    // Sorted by the first column (Name): A comes first, with its due date in the results' datetime text.
    const due = a.json.records[0]!.columns.find((c) => c.fieldNameOrPath === "Due__c")!;
    expect(new Date(String(due.value)).toISOString()).toBe("2025-04-01T10:00:00.000Z");
  });

  it("deletes a view: it leaves the list and its results are 404", async () => {
    expect(await conn.metadata.delete("ListView", "Opportunity.LV_Other")).toMatchObject({ success: true });
    const { json } = await get("/sobjects/Opportunity/listviews");
    expect(json.listviews.map((v: { developerName: string }) => v.developerName)).not.toContain("LV_Other");
    expect((await get("/sobjects/Opportunity/listviews/00B000000000000AAA/results")).status).toBe(404);
    // The views survive a state export and import.
    const state = org.server.control.exportState();
    org.server.control.importState(state);
    expect(await namesIn(ids.view!)).toEqual(["LV B"]);
  });
});
