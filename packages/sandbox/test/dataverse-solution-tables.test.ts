import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DataverseHarness, entityId, type Rows, startDataverse } from "./dataverse/harness.js";

/**
 * Custom tables and relationships through the metadata API, associate/disassociate with `$ref`,
 * `$expand` of the new N:N, lookups of a new 1:N, subgrids on forms, and snapshots keeping them.
 */

let h: DataverseHarness;
beforeAll(async () => {
  h = await startDataverse();
  h.server.control.installCosellSetup();
});
afterAll(() => h.close());

const SOLUTION = { "MSCRM.SolutionUniqueName": "cosell" };
const label = (text: string) => ({
  "@odata.type": "Microsoft.Dynamics.CRM.Label",
  LocalizedLabels: [
    { "@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", Label: text, LanguageCode: 1033 },
  ],
});
const primaryName = {
  "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
  SchemaName: "cosell_Name",
  MaxLength: 100,
  IsPrimaryName: true,
  RequiredLevel: { Value: "ApplicationRequired" },
  DisplayName: label("Name"),
};
const table = (schema: string, attributes: unknown[] = [primaryName]) => ({
  "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
  SchemaName: schema,
  EntitySetName: `${schema}s`,
  DisplayName: label(schema),
  DisplayCollectionName: label(`${schema}s`),
  OwnershipType: "OrganizationOwned",
  HasActivities: false,
  HasNotes: false,
  Attributes: attributes,
});
const manyToMany = {
  "@odata.type": "Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata",
  SchemaName: "cosell_opportunity_widget",
  Entity1LogicalName: "opportunity",
  Entity2LogicalName: "cosell_widget",
  IntersectEntityName: "cosell_opportunity_widget",
};
const oneToMany = {
  "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
  SchemaName: "cosell_opportunity_part",
  ReferencedEntity: "opportunity",
  ReferencedAttribute: "opportunityid",
  ReferencingEntity: "cosell_part",
  ReferencingEntityNavigationPropertyName: "cosell_OpportunityId",
  Lookup: {
    "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
    SchemaName: "cosell_OpportunityId",
    DisplayName: label("Opportunity"),
  },
};
const errorOf = async (res: Response) => ((await res.json()) as { error: { message: string } }).error.message;

describe("custom tables", () => {
  it("refuses a table without exactly one primary name column, and one that exists", async () => {
    const none = await h.call("POST", "EntityDefinitions", {
      body: table("cosell_widget", []),
      headers: SOLUTION,
    });
    expect(none.status).toBe(400);
    expect(await errorOf(none)).toMatch(/IsPrimaryName/);
    const made = await h.call("POST", "EntityDefinitions", {
      body: table("cosell_widget"),
      headers: SOLUTION,
    });
    expect(made.status).toBe(204);
    const again = await h.call("POST", "EntityDefinitions", {
      body: table("cosell_widget"),
      headers: SOLUTION,
    });
    expect(again.status).toBe(400);
    const def = await h.getJson<{ PrimaryNameAttribute: string; EntitySetName: string }>(
      "EntityDefinitions(LogicalName='cosell_widget')",
    );
    expect(def.body).toMatchObject({ PrimaryNameAttribute: "cosell_name", EntitySetName: "cosell_widgets" });
    const components = h.server.control.all("solutioncomponents").filter((x) => x.componenttype === 1);
    expect(components).toHaveLength(1);
  });

  it("rows of the new table are written and read; an alternate key on it upserts", async () => {
    await h.call("POST", "EntityDefinitions(LogicalName='cosell_widget')/Attributes", {
      headers: SOLUTION,
      body: {
        ...primaryName,
        IsPrimaryName: undefined,
        SchemaName: "cosell_Code",
        DisplayName: label("Code"),
      },
    });
    await h.call("POST", "EntityDefinitions(LogicalName='cosell_widget')/Keys", {
      headers: SOLUTION,
      body: { SchemaName: "cosell_CodeKey", DisplayName: label("Code key"), KeyAttributes: ["cosell_code"] },
    });
    h.server.control.activateKeys();
    const put = await h.call("PATCH", "cosell_widgets(cosell_code='W-1')", {
      body: { cosell_name: "Widget one" },
    });
    expect(put.status).toBe(204);
    // A key value from the URL is checked against its column like a body value.
    const long = await h.call("PATCH", `cosell_widgets(cosell_code='${"w".repeat(101)}')`, {
      body: { cosell_name: "Long" },
    });
    expect(long.status).toBe(400);
    expect(await errorOf(long)).toMatch(/exceeded the maximum allowed length of '100'/);
    const list = await h.getJson<Rows>("cosell_widgets?$select=cosell_name,cosell_code");
    expect(list.body.value).toEqual([
      expect.objectContaining({ cosell_name: "Widget one", cosell_code: "W-1" }),
    ]);
  });
});

describe("relationships", () => {
  let opp = "";
  let widget = "";

  it("a many-to-many relationship: associate, $expand, disassociate; a second one with the same name is refused", async () => {
    const made = await h.call("POST", "RelationshipDefinitions", { body: manyToMany, headers: SOLUTION });
    expect(made.status).toBe(204);
    expect((await h.call("POST", "RelationshipDefinitions", { body: manyToMany })).status).toBe(400);
    opp = entityId(await h.call("POST", "opportunities", { body: { name: "Deal" } }));
    widget = String(
      (await h.getJson<Rows>("cosell_widgets?$select=cosell_widgetid")).body.value[0]!.cosell_widgetid,
    );
    const ref = await h.call("POST", `opportunities(${opp})/cosell_opportunity_widget/$ref`, {
      body: { "@odata.id": `${h.api}cosell_widgets(${widget})` },
    });
    expect(ref.status).toBe(204);
    // The same pair again is a duplicate, as in Dataverse.
    const twice = await h.call("POST", `opportunities(${opp})/cosell_opportunity_widget/$ref`, {
      body: { "@odata.id": `${h.api}cosell_widgets(${widget})` },
    });
    expect(twice.status).toBeGreaterThanOrEqual(400);
    expect(await errorOf(twice)).toMatch(/already exists/);
    const expanded = await h.getJson<{ cosell_opportunity_widget: { cosell_name: string }[] }>(
      `opportunities(${opp})?$select=name&$expand=cosell_opportunity_widget($select=cosell_name)`,
    );
    expect(expanded.body.cosell_opportunity_widget.map((w) => w.cosell_name)).toEqual(["Widget one"]);
    const gone = await h.call("DELETE", `opportunities(${opp})/cosell_opportunity_widget(${widget})/$ref`);
    expect(gone.status).toBe(204);
    const after = await h.getJson<{ cosell_opportunity_widget: unknown[] }>(
      `opportunities(${opp})?$select=name&$expand=cosell_opportunity_widget($select=cosell_name)`,
    );
    expect(after.body.cosell_opportunity_widget).toEqual([]);
  });

  it("RelationshipDefinitions gives each relationship its MetadataId, the id it has as a solution component", async () => {
    const listed = await h.getJson<{ value: { SchemaName: string; MetadataId: string }[] }>(
      "RelationshipDefinitions",
    );
    const rel = listed.body.value.find((r) => r.SchemaName === "cosell_opportunity_widget")!;
    expect(rel.MetadataId).toMatch(/^[0-9a-f-]{36}$/);
    const one = await h.getJson<{ MetadataId: string }>(
      "RelationshipDefinitions(SchemaName='cosell_opportunity_widget')",
    );
    expect(one.body.MetadataId).toBe(rel.MetadataId);
    const components = await h.getJson<Rows>(
      `solutioncomponents?$select=objectid&$filter=${encodeURIComponent("componenttype eq 10")}`,
    );
    expect(components.body.value.map((c) => c.objectid)).toContain(rel.MetadataId);
  });

  it("RemoveSolutionComponent takes a table or relationship out of the solution; AddSolutionComponent puts it back by MetadataId", async () => {
    const table = (
      await h.getJson<{ MetadataId: string }>(
        "EntityDefinitions(LogicalName='cosell_widget')?$select=MetadataId",
      )
    ).body.MetadataId;
    const rel = (
      await h.getJson<{ MetadataId: string }>(
        "RelationshipDefinitions(SchemaName='cosell_opportunity_widget')",
      )
    ).body.MetadataId;
    const members = async (type: number) =>
      (
        await h.getJson<Rows>(
          `solutioncomponents?$select=objectid&$filter=${encodeURIComponent(`componenttype eq ${type}`)}`,
        )
      ).body.value.map((c) => c.objectid);
    for (const [id, type] of [
      [table, 1],
      [rel, 10],
    ] as const) {
      expect(await members(type)).toContain(id);
      const removed = await h.call("POST", "RemoveSolutionComponent", {
        body: {
          SolutionComponent: {
            "@odata.type": "Microsoft.Dynamics.CRM.solutioncomponent",
            solutioncomponentid: id,
          },
          ComponentType: type,
          SolutionUniqueName: "cosell",
        },
      });
      expect(removed.status).toBe(200);
      expect(((await removed.json()) as { id: string }).id).toMatch(/^[0-9a-f-]{36}$/);
      expect(await members(type)).not.toContain(id);
      // Still in the environment: only the membership went.
      expect(
        (await h.call("GET", "EntityDefinitions(LogicalName='cosell_widget')?$select=MetadataId")).status,
      ).toBe(200);
      const again = await h.call("POST", "RemoveSolutionComponent", {
        body: {
          SolutionComponent: { solutioncomponentid: id },
          ComponentType: type,
          SolutionUniqueName: "cosell",
        },
      });
      expect(again.status).toBe(404);
      const added = await h.call("POST", "AddSolutionComponent", {
        body: {
          ComponentId: id,
          ComponentType: type,
          SolutionUniqueName: "cosell",
          AddRequiredComponents: false,
        },
      });
      expect(added.status).toBe(204);
      expect(await members(type)).toContain(id);
    }
    const unknown = await h.call("POST", "AddSolutionComponent", {
      body: {
        ComponentId: "00000000-0000-0000-0000-0000000000aa",
        ComponentType: 1,
        SolutionUniqueName: "cosell",
        AddRequiredComponents: false,
      },
    });
    expect(unknown.status).toBe(404);
    expect(
      (
        await h.call("POST", "RemoveSolutionComponent", {
          body: { ComponentType: 1, SolutionUniqueName: "cosell" },
        })
      ).status,
    ).toBe(400);
  });

  it("relating and unrelating rows leave the opportunity as it was: no new modifiedon, nothing in its delta", async () => {
    // Microsoft Learn describes a many-to-many association as a row of the intersect table
    // ("Associate and disassociate table rows using the SDK for .NET"; DisassociateRequest deletes
    // the intersect rows) and says nothing of the related rows' modifiedon or version. The sandbox
    // takes the strict reading, so cosell cannot come to rely on the other one.
    h.server.control.setChangeTracking("opportunity", true);
    let link: string | undefined;
    let url: string | undefined = "opportunities?$select=name";
    type Page = Rows & { "@odata.deltaLink"?: string; "@odata.nextLink"?: string };
    while (url) {
      const page: { body: Page } = await h.getJson<Page>(url, { Prefer: "odata.track-changes" });
      link = page.body["@odata.deltaLink"] ?? link;
      url = page.body["@odata.nextLink"];
    }
    const before = h.server.control.get("opportunities", opp)!;
    h.clock.advance(60_000);
    const ref = await h.call("POST", `opportunities(${opp})/cosell_opportunity_widget/$ref`, {
      body: { "@odata.id": `${h.api}cosell_widgets(${widget})` },
    });
    expect(ref.status).toBe(204);
    expect(
      (await h.call("DELETE", `opportunities(${opp})/cosell_opportunity_widget(${widget})/$ref`)).status,
    ).toBe(204);
    const after = h.server.control.get("opportunities", opp)!;
    expect(after.modifiedon).toBe(before.modifiedon);
    expect(after.versionnumber).toBe(before.versionnumber);
    const delta = await h.getJson<Rows>(link!);
    expect(delta.body.value).toEqual([]);
  });

  it("a one-to-many relationship adds the lookup: rows bind to an opportunity and filter by it", async () => {
    await h.call("POST", "EntityDefinitions", { body: table("cosell_part"), headers: SOLUTION });
    expect(
      (await h.call("POST", "RelationshipDefinitions", { body: oneToMany, headers: SOLUTION })).status,
    ).toBe(204);
    const row = await h.call("POST", "cosell_parts", {
      body: { cosell_name: "Part", "cosell_OpportunityId@odata.bind": `/opportunities(${opp})` },
    });
    expect(row.status).toBe(204);
    const found = await h.getJson<Rows>(`cosell_parts?$filter=_cosell_opportunityid_value eq ${opp}`);
    expect(found.body.value).toHaveLength(1);
    const read = await h.getJson<{ Entity1LogicalName?: string; ReferencingAttribute: string }>(
      "RelationshipDefinitions(SchemaName='cosell_opportunity_part')",
    );
    expect(read.body.ReferencingAttribute).toBe("cosell_opportunityid");
  });

  it("a form's subgrid must name a relationship that links the form's table to its target", async () => {
    const form = h.server.control
      .all("systemforms")
      .find((f) => f.objecttypecode === "opportunity" && f.type === 2)!;
    const subgrid = (rel: string, target: string) =>
      String(form.formxml).replace(
        "</tabs>",
        `<tab name="grids" id="{11111111-2222-4333-8444-555555555555}"><labels /><columns><column width="100%"><sections><section name="g" id="{11111111-2222-4333-8444-666666666666}"><labels /><rows><row><cell id="{11111111-2222-4333-8444-777777777777}"><labels />` +
          `<control id="grid1" classid="{E7A81278-8635-4D9E-8D4D-59480B391C5B}"><parameters><TargetEntityType>${target}</TargetEntityType><RelationshipName>${rel}</RelationshipName></parameters></control>` +
          "</cell></row></rows></section></sections></column></columns></tab></tabs>",
      );
    const missing = await h.call("PATCH", `systemforms(${form.formid})`, {
      body: { formxml: subgrid("cosell_nosuch", "cosell_widget") },
    });
    expect(missing.status).toBe(400);
    expect(await errorOf(missing)).toMatch(/no relationship named 'cosell_nosuch'/);
    const wrongTarget = await h.call("PATCH", `systemforms(${form.formid})`, {
      body: { formxml: subgrid("cosell_opportunity_widget", "cosell_part") },
    });
    expect(wrongTarget.status).toBe(400);
    const ok = await h.call("PATCH", `systemforms(${form.formid})`, {
      body: { formxml: subgrid("cosell_opportunity_widget", "cosell_widget") },
    });
    expect(ok.status).toBe(204);
  });

  it("a snapshot keeps the custom tables, their rows and the relationships", async () => {
    const state = h.server.control.exportState();
    h.server.control.importState(state);
    const expanded = await h.getJson<{ cosell_opportunity_widget: unknown[] }>(
      `opportunities(${opp})?$select=name&$expand=cosell_opportunity_widget($select=cosell_name)`,
    );
    expect(expanded.res.status).toBe(200);
    const parts = await h.getJson<Rows>(`cosell_parts?$filter=_cosell_opportunityid_value eq ${opp}`);
    expect(parts.body.value).toHaveLength(1);
    expect((await h.call("POST", "RelationshipDefinitions", { body: manyToMany })).status).toBe(400);
  });
});
