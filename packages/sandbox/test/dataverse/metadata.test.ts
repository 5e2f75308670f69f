import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COSELL_OPPORTUNITY_ATTRIBUTES, COSELL_REFERRAL_KEY } from "../../src/dataverse/index.js";
import { type DataverseHarness, entityId, type Rows, startDataverse } from "./harness.js";

let h: DataverseHarness;
beforeAll(async () => {
  h = await startDataverse();
});
afterAll(() => h.close());

const ATTRS = "EntityDefinitions(LogicalName='opportunity')/Attributes";
const SOLUTION = { "MSCRM.SolutionUniqueName": "cosellsolution" };

const label = (text: string) => ({
  "@odata.type": "Microsoft.Dynamics.CRM.Label",
  LocalizedLabels: [
    { "@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", Label: text, LanguageCode: 1033 },
  ],
});

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

describe("metadata: publisher, solution, columns, keys, publishing", () => {
  it("creates a publisher and a solution through the Web API and lists them", async () => {
    const pub = await h.call("POST", "publishers", {
      body: {
        uniquename: "cosellpub",
        friendlyname: "cosell",
        customizationprefix: "cosell",
        customizationoptionvalueprefix: 18342,
      },
    });
    expect(pub.status).toBe(204);
    const sol = await h.call("POST", "solutions", {
      body: {
        uniquename: "cosellsolution",
        friendlyname: "cosell",
        version: "1.0.0.0",
        "publisherid@odata.bind": `/publishers(${entityId(pub)})`,
      },
    });
    expect(sol.status).toBe(204);
    const list = await h.getJson<Rows>(
      "solutions?$select=uniquename,_publisherid_value&$filter=uniquename eq 'cosellsolution'",
    );
    expect(list.body.value).toEqual([
      expect.objectContaining({ uniquename: "cosellsolution", _publisherid_value: entityId(pub) }),
    ]);
    const pubs = await h.getJson<Rows>("publishers?$select=customizationprefix");
    expect(pubs.body.value.map((p) => p.customizationprefix).sort()).toEqual(["cosell", "new"]);
  });

  it("refuses unknown columns before they exist", async () => {
    const res = await h.call("GET", "opportunities?$select=name,cosell_referralid");
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({
      code: "0x80060888",
      message:
        "Could not find a property named 'cosell_referralid' on type 'Microsoft.Dynamics.CRM.opportunity'.",
    });
  });

  it("creates String, Memo, Boolean, DateTime, Integer and Picklist columns that describe, query and write", async () => {
    const payloads = [
      {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        SchemaName: "cosell_ReferralId",
        MaxLength: 100,
        FormatName: { Value: "Text" },
        DisplayName: label("Referral Id"),
        RequiredLevel: { Value: "None", CanBeChanged: true },
      },
      {
        "@odata.type": "Microsoft.Dynamics.CRM.MemoAttributeMetadata",
        SchemaName: "cosell_AuditLog",
        MaxLength: 4000,
        DisplayName: label("Audit"),
      },
      {
        "@odata.type": "Microsoft.Dynamics.CRM.BooleanAttributeMetadata",
        SchemaName: "cosell_SyncWithPartnerCenter",
        DefaultValue: false,
        OptionSet: {
          TrueOption: { Value: 1, Label: label("Yes") },
          FalseOption: { Value: 0, Label: label("No") },
        },
        DisplayName: label("Sync with Partner Center"),
      },
      {
        "@odata.type": "Microsoft.Dynamics.CRM.DateTimeAttributeMetadata",
        SchemaName: "cosell_InvitedOn",
        Format: "DateOnly",
        DateTimeBehavior: { Value: "DateOnly" },
        DisplayName: label("Invited"),
      },
      {
        "@odata.type": "Microsoft.Dynamics.CRM.DateTimeAttributeMetadata",
        SchemaName: "cosell_LastSyncOn",
        Format: "DateAndTime",
        DisplayName: label("Last sync"),
      },
      {
        "@odata.type": "Microsoft.Dynamics.CRM.IntegerAttributeMetadata",
        SchemaName: "cosell_SyncAttempts",
        MinValue: 0,
        MaxValue: 100,
        DisplayName: label("Attempts"),
      },
      {
        "@odata.type": "Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        SchemaName: "cosell_SyncStatus",
        DisplayName: label("Sync status"),
        OptionSet: {
          IsGlobal: false,
          OptionSetType: "Picklist",
          Options: [
            { Label: label("Pending") },
            { Label: label("Synced") },
            { Value: 183420009, Label: label("Error") },
          ],
        },
      },
    ];
    for (const payload of payloads) {
      const res = await h.call("POST", ATTRS, { body: payload, headers: SOLUTION });
      expect(res.status, await res.clone().text()).toBe(204);
      expect(res.headers.get("OData-EntityId")).toMatch(
        new RegExp(`/${ATTRS.replace(/[()']/g, "\\$&")}\\([0-9a-f-]{36}\\)$`),
      );
    }

    const described = await h.getJson(`${ATTRS}(LogicalName='cosell_referralid')`);
    expect(described.body).toMatchObject({
      "@odata.type": "#Microsoft.Dynamics.CRM.StringAttributeMetadata",
      LogicalName: "cosell_referralid",
      SchemaName: "cosell_ReferralId",
      AttributeType: "String",
      AttributeTypeName: { Value: "StringType" },
      MaxLength: 100,
      IsCustomAttribute: true,
      DisplayName: { UserLocalizedLabel: { Label: "Referral Id", LanguageCode: 1033 } },
    });
    const date = await h.getJson(
      `${ATTRS}(LogicalName='cosell_invitedon')?$select=LogicalName,AttributeType,Format`,
    );
    expect(date.body).toMatchObject({ AttributeType: "DateTime", Format: "DateOnly" });
    const options = await h.getJson<{
      OptionSet: { Options: { Value: number; Label: { UserLocalizedLabel: { Label: string } } }[] };
    }>(
      `${ATTRS}(LogicalName='cosell_syncstatus')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet`,
    );
    expect(options.body.OptionSet.Options.map((o) => [o.Value, o.Label.UserLocalizedLabel.Label])).toEqual([
      [183420000, "Pending"],
      [183420001, "Synced"],
      [183420009, "Error"],
    ]);
    const custom = await h.getJson<Rows>(`${ATTRS}?$select=LogicalName&$filter=IsCustomAttribute eq true`);
    expect(custom.body.value.map((a) => a.LogicalName).sort()).toEqual(
      payloads.map((p) => p.SchemaName.toLowerCase()).sort(),
    );

    const id = h.server.control.all("opportunities")[0]!.opportunityid as string;
    const write = await h.call("PATCH", `opportunities(${id})`, {
      body: {
        cosell_referralid: "REF-1",
        cosell_auditlog: "ok",
        cosell_syncwithpartnercenter: true,
        cosell_invitedon: "2025-03-01",
        cosell_lastsyncon: "2025-03-03T08:00:00Z",
        cosell_syncattempts: 2,
        cosell_syncstatus: 183420001,
      },
    });
    expect(write.status, await write.clone().text()).toBe(204);
    const read = await h.getJson(
      `opportunities(${id})?$select=cosell_referralid,cosell_syncwithpartnercenter,cosell_invitedon,cosell_syncstatus`,
      {
        Prefer: 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"',
      },
    );
    expect(read.body).toMatchObject({
      cosell_referralid: "REF-1",
      cosell_syncwithpartnercenter: true,
      "cosell_syncwithpartnercenter@OData.Community.Display.V1.FormattedValue": "Yes",
      cosell_invitedon: "2025-03-01",
      cosell_syncstatus: 183420001,
      "cosell_syncstatus@OData.Community.Display.V1.FormattedValue": "Synced",
    });
    const filtered = await h.getJson<Rows>(
      "opportunities?$select=name&$filter=cosell_referralid eq 'ref-1' and cosell_syncwithpartnercenter eq true",
    );
    expect(filtered.body.value.map((r) => r.opportunityid)).toEqual([id]);
    const outOfRange = await h.call("PATCH", `opportunities(${id})`, { body: { cosell_syncattempts: 101 } });
    expect(outOfRange.status).toBe(400);
    const badChoice = await h.call("PATCH", `opportunities(${id})`, { body: { cosell_syncstatus: 1 } });
    expect(badChoice.status).toBe(400);
  });

  it("refuses bad attribute definitions", async () => {
    const dup = await h.call("POST", ATTRS, {
      body: {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        SchemaName: "cosell_ReferralId",
      },
      headers: SOLUTION,
    });
    expect(dup.status).toBe(400);
    const wrongPrefix = await h.call("POST", ATTRS, {
      body: { "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", SchemaName: "new_Thing" },
      headers: SOLUTION,
    });
    expect(wrongPrefix.status).toBe(400);
    expect((await errorOf(wrongPrefix)).message).toMatch(/must start with 'cosell_'/);
    const noSolution = await h.call("POST", ATTRS, {
      body: { "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", SchemaName: "cosell_X" },
      headers: { "MSCRM.SolutionUniqueName": "nope" },
    });
    expect(noSolution.status).toBe(404);
    const noPrefix = await h.call("POST", ATTRS, {
      body: { "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", SchemaName: "Plain" },
    });
    expect(noPrefix.status).toBe(400);
    const lookup = await h.call("POST", ATTRS, {
      body: { "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata", SchemaName: "cosell_Parent" },
      headers: SOLUTION,
    });
    expect(lookup.status).toBe(400);
    const missing = await h.call("GET", `${ATTRS}(LogicalName='cosell_nothing')`);
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).message).toBe(
      "Could not find an attribute with specified name: cosell_nothing.",
    );
  });

  it("updates a column's labels by PUT of its definition; its type and name cannot change, PATCH is refused", async () => {
    const path = `${ATTRS}(LogicalName='cosell_referralid')`;
    const def = {
      "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
      SchemaName: "cosell_ReferralId",
      LogicalName: "cosell_referralid",
      MaxLength: 100,
      DisplayName: label("Referral identifier"),
      Description: label("Partner Center referral id."),
    };
    const put = await h.call("PUT", path, { body: def, headers: { "MSCRM.MergeLabels": "true" } });
    expect(put.status).toBe(204);
    const { body } = await h.getJson<{
      DisplayName: { UserLocalizedLabel: { Label: string } };
      Description: { UserLocalizedLabel: { Label: string } };
    }>(`${path}?$select=DisplayName,Description`);
    expect(body.DisplayName.UserLocalizedLabel.Label).toBe("Referral identifier");
    expect(body.Description.UserLocalizedLabel.Label).toBe("Partner Center referral id.");

    const retype = await h.call("PUT", path, {
      body: { ...def, "@odata.type": "Microsoft.Dynamics.CRM.MemoAttributeMetadata" },
    });
    expect(retype.status).toBe(400);
    expect((await errorOf(retype)).message).toMatch(/type of a column cannot change/);
    const rename = await h.call("PUT", path, { body: { ...def, SchemaName: "cosell_Other" } });
    expect(rename.status).toBe(400);
    const { DisplayName: _, ...unnamed } = def;
    expect((await h.call("PUT", path, { body: unnamed })).status).toBe(400);
    expect((await h.call("PATCH", path, { body: def })).status).toBe(405);
  });

  it("creates an alternate key that is Pending on the next request, then Active, and upserts by it", async () => {
    const created = await h.call("POST", "EntityDefinitions(LogicalName='opportunity')/Keys", {
      body: {
        SchemaName: "cosell_ReferralIdKey",
        DisplayName: label("Referral key"),
        KeyAttributes: ["cosell_referralid"],
      },
      headers: SOLUTION,
    });
    expect(created.status).toBe(204);
    const pending = await h.getJson<Rows>(
      "EntityDefinitions(LogicalName='opportunity')/Keys?$select=LogicalName,KeyAttributes,EntityKeyIndexStatus",
    );
    expect(pending.body.value).toEqual([
      expect.objectContaining({
        LogicalName: "cosell_referralidkey",
        KeyAttributes: ["cosell_referralid"],
        EntityKeyIndexStatus: "Pending",
      }),
    ]);
    const active = await h.getJson(
      "EntityDefinitions(LogicalName='opportunity')/Keys(LogicalName='cosell_referralidkey')",
    );
    expect(active.body.EntityKeyIndexStatus).toBe("Active");

    const before = h.server.control.count("opportunities");
    const up = await h.call("PATCH", "opportunities(cosell_referralid='REF-2')", {
      body: { name: "From Partner Center", estimatedvalue: 5 },
    });
    expect(up.status, await up.clone().text()).toBe(204);
    expect(up.headers.get("OData-EntityId")).toBe(`${h.api}opportunities(cosell_referralid='REF-2')`);
    expect(h.server.control.count("opportunities")).toBe(before + 1);
    const again = await h.call(
      "PATCH",
      "opportunities(cosell_referralid='REF-2')?$select=name,cosell_referralid",
      {
        body: { name: "Updated by key" },
        headers: { Prefer: "return=representation" },
      },
    );
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ name: "Updated by key", cosell_referralid: "REF-2" });
    expect(h.server.control.count("opportunities")).toBe(before + 1);
    const createdRep = await h.call(
      "PATCH",
      "opportunities(cosell_referralid='REF-3')?$select=cosell_referralid",
      {
        body: { name: "Third" },
        headers: { Prefer: "return=representation" },
      },
    );
    expect(createdRep.status).toBe(201);

    const createOnly = await h.call("PATCH", "opportunities(cosell_referralid='REF-2')", {
      body: { name: "x" },
      headers: { "If-None-Match": "*" },
    });
    expect(createOnly.status).toBe(412);
    expect((await errorOf(createOnly)).message).toBe("A record with matching key values already exists.");
    const updateOnly = await h.call("PATCH", "opportunities(cosell_referralid='NOPE')", {
      body: { name: "x" },
      headers: { "If-Match": "*" },
    });
    expect(updateOnly.status).toBe(404);

    const byKey = await h.getJson("opportunities(cosell_referralid='REF-2')?$select=name");
    expect(byKey.body.name).toBe("Updated by key");
    const duplicate = await h.call("POST", "opportunities", {
      body: { name: "dup", cosell_referralid: "ref-2" },
    });
    expect(duplicate.status).toBe(412);

    const invalidKey = await h.call("PATCH", "opportunities(name='x')", { body: { description: "y" } });
    expect(invalidKey.status).toBe(400);
    expect((await errorOf(invalidKey)).message).toBe(
      "The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.opportunity'. Ensure that the names and number of key properties match the declared or alternate key properties for the resource 'Microsoft.Dynamics.CRM.opportunity'.",
    );
  });

  it("reports a key over duplicate values as Failed", async () => {
    const ids = h.server.control
      .all("opportunities")
      .slice(0, 2)
      .map((o) => o.opportunityid as string);
    for (const id of ids) h.server.control.update("opportunities", id, { cosell_auditlog: "same" });
    await h.call("POST", ATTRS, {
      body: {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        SchemaName: "cosell_Dup",
        MaxLength: 10,
      },
      headers: SOLUTION,
    });
    for (const id of ids) h.server.control.update("opportunities", id, { cosell_dup: "same" });
    await h.call("POST", "EntityDefinitions(LogicalName='opportunity')/Keys", {
      body: { SchemaName: "cosell_DupKey", KeyAttributes: ["cosell_dup"] },
      headers: SOLUTION,
    });
    await h.call("GET", "WhoAmI");
    const key = await h.getJson(
      "EntityDefinitions(LogicalName='opportunity')/Keys(LogicalName='cosell_dupkey')",
    );
    expect(key.body.EntityKeyIndexStatus).toBe("Failed");
    const use = await h.call("GET", "opportunities(cosell_dup='same')");
    expect(use.status).toBe(400);
  });

  it("timed key activation: Pending, then InProgress, then Active on the sandbox clock; a test can fail a key", async () => {
    const timed = await startDataverse({
      cosellSetup: true,
      keyActivation: { pendingMs: 10_000, buildMs: 20_000 },
    });
    try {
      await timed.call("POST", ATTRS, {
        body: {
          "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
          SchemaName: "cosell_Timed",
          MaxLength: 10,
        },
      });
      const created = await timed.call("POST", "EntityDefinitions(LogicalName='opportunity')/Keys", {
        body: { SchemaName: "cosell_TimedKey", KeyAttributes: ["cosell_timed"] },
      });
      expect(created.status).toBe(204);
      const status = async () =>
        (
          await timed.getJson(
            "EntityDefinitions(LogicalName='opportunity')/Keys(LogicalName='cosell_timedkey')?$select=EntityKeyIndexStatus",
          )
        ).body.EntityKeyIndexStatus;
      expect(await status()).toBe("Pending");
      timed.clock.advance(9_000);
      expect(await status()).toBe("Pending");
      timed.clock.advance(2_000);
      expect(await status()).toBe("InProgress");
      const early = await timed.call("GET", "opportunities(cosell_timed='x')");
      expect(early.status).toBe(400);
      expect((await errorOf(early)).message).toMatch(/index status is InProgress/);
      timed.clock.advance(20_000);
      expect(await status()).toBe("Active");

      await timed.call("POST", "EntityDefinitions(LogicalName='opportunity')/Keys", {
        body: { SchemaName: "cosell_OtherKey", KeyAttributes: ["cosell_timed", "name"] },
      });
      timed.server.control.failKey("opportunity", "cosell_OtherKey");
      timed.clock.advance(60_000);
      const failed = await timed.getJson(
        "EntityDefinitions(LogicalName='opportunity')/Keys(LogicalName='cosell_otherkey')?$select=EntityKeyIndexStatus",
      );
      expect(failed.body.EntityKeyIndexStatus).toBe("Failed");
    } finally {
      await timed.close();
    }
  });

  it("describes the table for setup checks and publishes", async () => {
    const entity = await h.getJson(
      "EntityDefinitions(LogicalName='opportunity')?$select=ChangeTrackingEnabled,IsOptimisticConcurrencyEnabled",
    );
    expect(entity.body).toEqual({
      "@odata.context": `${h.api}$metadata#EntityDefinitions(ChangeTrackingEnabled,IsOptimisticConcurrencyEnabled)/$entity`,
      ChangeTrackingEnabled: true,
      IsOptimisticConcurrencyEnabled: true,
      MetadataId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const withKeys = await h.getJson<Rows>(
      "EntityDefinitions?$select=LogicalName&$filter=LogicalName eq 'opportunity'&$expand=Keys($select=KeyAttributes)",
    );
    expect((withKeys.body.value[0]!.Keys as unknown[]).length).toBeGreaterThan(0);
    const startswith = await h.call(
      "GET",
      "EntityDefinitions?$select=LogicalName&$filter=startswith(LogicalName,'opp')",
    );
    expect(startswith.status).toBe(501);

    const publish = await h.call("POST", "PublishXml", {
      body: {
        ParameterXml: "<importexportxml><entities><entity>opportunity</entity></entities></importexportxml>",
      },
    });
    expect(publish.status).toBe(204);
    expect((await h.call("POST", "PublishXml", { body: {} })).status).toBe(400);
    expect((await h.call("POST", "PublishAllXml")).status).toBe(204);
    const csdl = await h.call("GET", "$metadata");
    expect(await csdl.text()).toContain(
      '<EntitySet Name="opportunities" EntityType="Microsoft.Dynamics.CRM.opportunity"><Annotation Term="Org.OData.Capabilities.V1.ChangeTracking">',
    );
  });

  it("installCosellSetup creates the assumed columns and an Active referral key", async () => {
    const fresh = await startDataverse({ cosellSetup: true });
    try {
      const attrs = await fresh.getJson<Rows>(
        `${ATTRS}?$select=LogicalName&$filter=IsCustomAttribute eq true`,
      );
      expect(attrs.body.value.map((a) => a.LogicalName).sort()).toEqual(
        COSELL_OPPORTUNITY_ATTRIBUTES.map((a) => a.SchemaName.toLowerCase()).sort(),
      );
      const key = await fresh.getJson(
        `EntityDefinitions(LogicalName='opportunity')/Keys(LogicalName='${COSELL_REFERRAL_KEY.SchemaName.toLowerCase()}')`,
      );
      expect(key.body.EntityKeyIndexStatus).toBe("Active");
      const up = await fresh.call("PATCH", "opportunities(cosell_referralid='abc')", {
        body: { name: "n", cosell_syncwithpartnercenter: true },
      });
      expect(up.status).toBe(204);
    } finally {
      await fresh.close();
    }
  });
});

describe("identity and permissions", () => {
  it("WhoAmI names the application user, whose roles decide what it may do", async () => {
    const who = await h.getJson<{ UserId: string; BusinessUnitId: string; OrganizationId: string }>("WhoAmI");
    expect(who.body["@odata.context" as keyof typeof who.body]).toBe(
      `${h.api}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
    );
    expect(h.server.control.userRoles(who.body.UserId)).toEqual(["System Administrator"]);
    h.server.control.setUserRoles(who.body.UserId, []);
    try {
      const denied = await h.call("GET", "opportunities?$select=name");
      expect(denied.status).toBe(403);
      const err = await errorOf(denied);
      expect(err.code).toBe("0x80040220");
      expect(err.message).toMatch(
        /^Principal user \(Id=.*, type=8, roleCount=0.*is missing prvReadOpportunity privilege/,
      );
      expect((await h.call("GET", "WhoAmI")).status).toBe(200);
    } finally {
      h.server.control.setUserRoles(who.body.UserId, ["System Administrator"]);
    }
  });

  it("refuses apps without an application user when told to", async () => {
    const strict = await startDataverse({ unknownClients: "reject" });
    try {
      const res = await strict.call("GET", "WhoAmI");
      expect(res.status).toBe(403);
      expect((await errorOf(res)).code).toBe("0x80072560");
    } finally {
      await strict.close();
    }
    const withApp = await startDataverse({
      unknownClients: "reject",
      applicationUsers: [
        { clientId: "0c6b3b9e-3f7a-4d0e-9a51-6d7e8f9a0b1c", name: "cosell", roles: ["System Customizer"] },
      ],
    });
    try {
      const who = await withApp.getJson<{ UserId: string }>("WhoAmI");
      const user = await withApp.getJson(`systemusers(${who.body.UserId})?$select=fullname,applicationid`);
      expect(user.body).toMatchObject({
        fullname: "# cosell",
        applicationid: "0c6b3b9e-3f7a-4d0e-9a51-6d7e8f9a0b1c",
      });
    } finally {
      await withApp.close();
    }
  });
});
