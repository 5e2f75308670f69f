import jsforce, { type Connection } from "jsforce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCredentials, rejection, startOrg, type TestOrg, VERSION } from "./harness.js";

let org: TestOrg;
let conn: Connection;
beforeAll(async () => {
  org = await startOrg();
  conn = await clientCredentials(org);
});
afterAll(() => org.close());

const REFERRAL_FIELD = {
  fullName: "Opportunity.MS_Referral_Id__c",
  label: "MS Referral Id",
  type: "Text",
  length: 80,
  externalId: true,
  unique: true,
  caseSensitive: false,
};

describe("CustomField via the Metadata API", () => {
  it("creates a field that then exists but stays hidden until a permission set grants it", async () => {
    const created = await conn.metadata.create("CustomField", REFERRAL_FIELD);
    expect(created).toEqual({ fullName: "Opportunity.MS_Referral_Id__c", success: true, errors: [] });
    expect(org.log.filter({ endpoint: "POST /services/Soap/m/{version}" }).at(-1)!.status).toBe(200);

    const read = await conn.metadata.read("CustomField", "Opportunity.MS_Referral_Id__c");
    expect(read).toMatchObject({
      fullName: "Opportunity.MS_Referral_Id__c",
      label: "MS Referral Id",
      type: "Text",
      length: 80,
      externalId: true,
      unique: true,
      caseSensitive: false,
      required: false,
    });

    // §6: not yet readable or writable by the integration user.
    const q = await rejection(conn.query("SELECT MS_Referral_Id__c FROM Opportunity"));
    expect(q.errorCode).toBe("INVALID_FIELD");
    const w = await rejection(
      conn
        .sobject("Opportunity")
        .create({ Name: "x", StageName: "Prospecting", CloseDate: "2025-05-01", MS_Referral_Id__c: "R1" }),
    );
    expect(w.errorCode).toBe("INVALID_FIELD");
    const d = await conn.sobject("Opportunity").describe();
    expect(d.fields.map((f) => f.name)).not.toContain("MS_Referral_Id__c");
  });

  it("grants it with a PermissionSet (fieldPermissions) assigned through REST", async () => {
    const ps = await conn.metadata.create("PermissionSet", {
      fullName: "Cosell_Integration",
      label: "Cosell Integration",
      description: "Field access for the co-sell connector",
      fieldPermissions: [{ field: "Opportunity.MS_Referral_Id__c", readable: true, editable: true }],
    } as never);
    expect(ps).toEqual({ fullName: "Cosell_Integration", success: true, errors: [] });
    const read = (await conn.metadata.read("PermissionSet", "Cosell_Integration")) as unknown as Record<
      string,
      unknown
    >;
    expect(read).toMatchObject({
      fullName: "Cosell_Integration",
      label: "Cosell Integration",
      description: "Field access for the co-sell connector",
      fieldPermissions: [{ field: "Opportunity.MS_Referral_Id__c", readable: true, editable: true }],
    });

    const { records } = await conn.query<{ Id: string }>(
      "SELECT Id FROM PermissionSet WHERE Name = 'Cosell_Integration'",
    );
    const assignment = await conn.sobject("PermissionSetAssignment").create({
      AssigneeId: org.server.control.integrationUser.id,
      PermissionSetId: records[0]!.Id,
    });
    expect(assignment.id).toMatch(/^0Pa\w{15}$/);
    const again = await rejection(
      conn
        .sobject("PermissionSetAssignment")
        .create({ AssigneeId: org.server.control.integrationUser.id, PermissionSetId: records[0]!.Id }),
    );
    expect(again.errorCode).toBe("DUPLICATE_VALUE");

    const up = await conn.sobject("Opportunity").upsert(
      {
        MS_Referral_Id__c: "b6f5c6c1-7a6e-4f5e-9d2a-3f0d1c2b4a59",
        Name: "From referral",
        StageName: "Co-sell Review",
        CloseDate: "2025-06-01",
      },
      "MS_Referral_Id__c",
    );
    expect(up).toMatchObject({ success: true, created: true });
    const res = await conn.query<{ MS_Referral_Id__c: string }>(
      "SELECT MS_Referral_Id__c FROM Opportunity WHERE MS_Referral_Id__c != null",
    );
    expect(res.records.map((r) => r.MS_Referral_Id__c)).toEqual(["b6f5c6c1-7a6e-4f5e-9d2a-3f0d1c2b4a59"]);
    const d = await conn.sobject("Opportunity").describe();
    expect(d.fields.find((f) => f.name === "MS_Referral_Id__c")).toMatchObject({
      custom: true,
      externalId: true,
      unique: true,
      type: "string",
      length: 80,
      createable: true,
      updateable: true,
    });
  });

  it("makes a read-only grant readable but not writable", async () => {
    await conn.metadata.create("CustomField", {
      fullName: "Opportunity.MS_Status__c",
      label: "MS Status",
      type: "Text",
      length: 40,
    });
    const earlier = { field: "Opportunity.MS_Referral_Id__c", readable: true, editable: true };
    const readOnly = { field: "Opportunity.MS_Status__c", readable: true, editable: false };
    // An update replaces the field permissions: one that lists only the new field revokes the earlier grant.
    await conn.metadata.upsert("PermissionSet", {
      fullName: "Cosell_Integration",
      label: "Cosell Integration",
      fieldPermissions: [readOnly],
    } as never);
    const partial = (await conn.metadata.read("PermissionSet", "Cosell_Integration")) as unknown as {
      fieldPermissions: unknown;
    };
    expect([partial.fieldPermissions].flat()).toEqual([readOnly]);
    expect((await rejection(conn.query("SELECT MS_Referral_Id__c FROM Opportunity"))).errorCode).toBe(
      "INVALID_FIELD",
    );
    // The full list keeps both.
    await conn.metadata.upsert("PermissionSet", {
      fullName: "Cosell_Integration",
      label: "Cosell Integration",
      fieldPermissions: [earlier, readOnly],
    } as never);
    const read = (await conn.metadata.read("PermissionSet", "Cosell_Integration")) as unknown as {
      fieldPermissions: unknown[];
    };
    expect(read.fieldPermissions).toHaveLength(2);
    expect((await conn.query("SELECT MS_Referral_Id__c FROM Opportunity LIMIT 1")).done).toBe(true);
    expect((await conn.query("SELECT MS_Status__c FROM Opportunity LIMIT 1")).done).toBe(true);
    const err = await rejection(
      conn
        .sobject("Opportunity")
        .create({ Name: "x", StageName: "Prospecting", CloseDate: "2025-05-01", MS_Status__c: "New" }),
    );
    expect(err.errorCode).toBe("INVALID_FIELD_FOR_INSERT_UPDATE");
  });

  it("backfills a checkbox default, and supports picklist, datetime, long text, url and number fields", async () => {
    const results = await conn.metadata.create("CustomField", [
      { fullName: "Opportunity.MS_Synced__c", label: "Synced", type: "Checkbox", defaultValue: "false" },
      {
        fullName: "Opportunity.MS_Substatus__c",
        label: "Substatus",
        type: "Picklist",
        valueSet: {
          restricted: true,
          valueSetDefinition: {
            sorted: false,
            value: [
              { fullName: "Pending", default: true, label: "Pending" },
              { fullName: "Accepted", default: false, label: "Accepted" },
            ],
          },
        },
      },
      { fullName: "Opportunity.MS_Last_Sync__c", label: "Last Sync", type: "DateTime" },
      {
        fullName: "Opportunity.MS_Notes__c",
        label: "Notes",
        type: "LongTextArea",
        length: 32768,
        visibleLines: 5,
      },
      { fullName: "Opportunity.MS_Link__c", label: "Link", type: "Url" },
      {
        fullName: "Opportunity.MS_Deal_Value__c",
        label: "Deal Value",
        type: "Number",
        precision: 18,
        scale: 2,
      },
    ] as never);
    expect((results as unknown as { success: boolean }[]).map((r) => r.success)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    const anyOpp = org.server.control.all("Opportunity")[0]!;
    expect(anyOpp.MS_Synced__c).toBe(false);
    const fields = [
      "MS_Synced__c",
      "MS_Substatus__c",
      "MS_Last_Sync__c",
      "MS_Notes__c",
      "MS_Link__c",
      "MS_Deal_Value__c",
    ];
    await conn.metadata.upsert("PermissionSet", {
      fullName: "Cosell_Integration",
      label: "Cosell Integration",
      fieldPermissions: fields.map((f) => ({ field: `Opportunity.${f}`, readable: true, editable: true })),
    } as never);
    const d = await conn.sobject("Opportunity").describe();
    const types = Object.fromEntries(
      d.fields.filter((f) => fields.includes(f.name)).map((f) => [f.name, f.type]),
    );
    expect(types).toEqual({
      MS_Synced__c: "boolean",
      MS_Substatus__c: "picklist",
      MS_Last_Sync__c: "datetime",
      MS_Notes__c: "textarea",
      MS_Link__c: "url",
      MS_Deal_Value__c: "double",
    });
    const bad = await rejection(
      conn.sobject("Opportunity").update({ Id: anyOpp.Id as string, MS_Substatus__c: "Nope" }),
    );
    expect(bad.errorCode).toBe("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    await conn.sobject("Opportunity").update({
      Id: anyOpp.Id as string,
      MS_Substatus__c: "Accepted",
      MS_Last_Sync__c: "2025-03-10T10:00:00+01:00",
      MS_Deal_Value__c: 1234.567,
    });
    expect(org.server.control.get("Opportunity", anyOpp.Id as string)).toMatchObject({
      MS_Substatus__c: "Accepted",
      MS_Last_Sync__c: "2025-03-10T09:00:00.000+0000",
      MS_Deal_Value__c: 1234.57,
    });
  });

  it("reports component errors in the SaveResult and faults for unsupported types", async () => {
    const dup = await conn.metadata.create("CustomField", REFERRAL_FIELD);
    expect(dup).toEqual({
      fullName: "Opportunity.MS_Referral_Id__c",
      success: false,
      errors: [
        {
          // jsforce's schema cast adds the empty extendedErrorDetails list.
          extendedErrorDetails: [],
          fields: ["fullName"],
          message: "There is already a field named MS_Referral_Id__c on Opportunity.",
          statusCode: "DUPLICATE_DEVELOPER_NAME",
        },
      ],
    });
    const noLength = await conn.metadata.create("CustomField", {
      fullName: "Opportunity.NoLen__c",
      label: "x",
      type: "Text",
    });
    expect(noLength).toMatchObject({
      success: false,
      errors: [{ statusCode: "FIELD_INTEGRITY_EXCEPTION", message: "Length: You must enter a value" }],
    });
    const checkbox = await conn.metadata.create("CustomField", {
      fullName: "Opportunity.Flag__c",
      label: "x",
      type: "Checkbox",
    });
    expect(checkbox).toMatchObject({
      success: false,
      errors: [{ message: "Must specify 'defaultValue' for a CustomField of type Checkbox" }],
    });
    const psMissingField = await conn.metadata.create("PermissionSet", {
      fullName: "Broken",
      label: "Broken",
      fieldPermissions: [{ field: "Opportunity.Nope__c", readable: true, editable: false }],
    } as never);
    expect(psMissingField).toMatchObject({
      success: false,
      errors: [{ statusCode: "INVALID_CROSS_REFERENCE_KEY" }],
    });

    const missing = await conn.metadata.read("CustomField", "Opportunity.Missing__c");
    expect((missing as { fullName?: string }).fullName).toBeUndefined();

    const fault = await rejection(conn.metadata.create("ApexClass", { fullName: "Foo" } as never));
    expect(fault.errorCode).toBe("sf:INVALID_TYPE");
    expect(org.log.filter({ endpoint: "POST /services/Soap/m/{version}" }).at(-1)!.status).toBe(500);
  });

  it("upserts with created flags and lists components", async () => {
    const res = (await conn.metadata.upsert("CustomField", [
      { ...REFERRAL_FIELD, label: "Microsoft Referral Id" },
      { fullName: "Account.MS_Tenant_Id__c", label: "Tenant", type: "Text", length: 36 },
    ] as never)) as unknown as { fullName: string; created: boolean; success: boolean }[];
    expect(res.map((r) => [r.fullName, r.created, r.success])).toEqual([
      ["Opportunity.MS_Referral_Id__c", false, true],
      ["Account.MS_Tenant_Id__c", true, true],
    ]);
    expect(
      ((await conn.metadata.read("CustomField", "Opportunity.MS_Referral_Id__c")) as { label?: string })
        .label,
    ).toBe("Microsoft Referral Id");
    const listed = await conn.metadata.list([{ type: "PermissionSet" }]);
    expect((Array.isArray(listed) ? listed : [listed]).map((p) => p.fullName)).toContain(
      "Cosell_Integration",
    );
  });
});

describe("SOAP sessions", () => {
  it("faults with sf:INVALID_SESSION_ID for a bad session", async () => {
    const bad = new jsforce.Connection({
      version: VERSION,
      instanceUrl: org.url,
      accessToken: "00D000000000000!nope",
    });
    const err = await rejection(bad.metadata.read("CustomField", "Opportunity.MS_Referral_Id__c"));
    expect(err.errorCode).toBe("sf:INVALID_SESSION_ID");
    expect(err.message).toBe(
      "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session",
    );
  });

  it("lets jsforce refresh on the SOAP fault and replay the call", async () => {
    const app = org.server.control.connectedApp;
    const rt = org.server.control.issueRefreshToken();
    const c = new jsforce.Connection({
      version: VERSION,
      instanceUrl: org.url,
      accessToken: "00D000000000000!expired",
      refreshToken: rt,
      oauth2: { clientId: app.clientId, clientSecret: app.clientSecret, loginUrl: org.url },
    });
    const read = await c.metadata.read("CustomField", "Opportunity.MS_Referral_Id__c");
    expect((read as { fullName: string }).fullName).toBe("Opportunity.MS_Referral_Id__c");
    const soap = org.log
      .filter({ endpoint: "POST /services/Soap/m/{version}" })
      .slice(-2)
      .map((e) => e.status);
    expect(soap).toEqual([500, 200]);
  });
});
