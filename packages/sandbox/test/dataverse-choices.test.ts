import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DataverseHarness, entityId, type Rows, startDataverse } from "./dataverse/harness.js";

/**
 * Global choices (`GlobalOptionSetDefinitions`), choice columns bound to them, security roles with
 * privileges (`privileges`, `AddPrivilegesRole`), their solution components, and PATCH of a table
 * definition refused as the real service refuses it.
 */

let h: DataverseHarness;
beforeAll(async () => {
  h = await startDataverse({ cosellSetup: true });
});
afterAll(() => h.close());

const SOLUTION = { "MSCRM.SolutionUniqueName": "cosell" };
const ATTRS = "EntityDefinitions(LogicalName='opportunity')/Attributes";
const BASE = 18342 * 10000;

const label = (text: string) => ({
  "@odata.type": "Microsoft.Dynamics.CRM.Label",
  LocalizedLabels: [
    { "@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", Label: text, LanguageCode: 1033 },
  ],
});

const colors = {
  "@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata",
  Name: "cosell_colors",
  DisplayName: label("Colors"),
  IsGlobal: true,
  OptionSetType: "Picklist",
  Options: [
    { Value: BASE, Label: label("Red") },
    { Value: BASE + 1, Label: label("Green") },
  ],
};

const picklist = (schemaName: string, extra: Record<string, unknown>) => ({
  "@odata.type": "Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
  AttributeType: "Picklist",
  AttributeTypeName: { Value: "PicklistType" },
  SchemaName: schemaName,
  RequiredLevel: { Value: "None" },
  DisplayName: label(schemaName),
  ...extra,
});

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

async function componentIds(type: number): Promise<string[]> {
  const { body } = await h.getJson<Rows>(`solutioncomponents?$select=objectid,componenttype`);
  return body.value.filter((c) => c.componenttype === type).map((c) => String(c.objectid));
}

describe("global choices", () => {
  let setId: string;

  it("creates one in the solution, reads it by id and by Name, and refuses a second of the same name", async () => {
    const res = await h.call("POST", "GlobalOptionSetDefinitions", { body: colors, headers: SOLUTION });
    expect(res.status).toBe(204);
    setId = entityId(res);
    const byName = await h.getJson<{ MetadataId: string; Options: { Value: number }[] }>(
      "GlobalOptionSetDefinitions(Name='cosell_colors')",
    );
    expect(byName.body.MetadataId).toBe(setId);
    expect(byName.body.Options.map((o) => o.Value)).toEqual([BASE, BASE + 1]);
    expect((await h.getJson(`GlobalOptionSetDefinitions(${setId})`)).res.status).toBe(200);
    expect(await componentIds(9)).toContain(setId);
    const twice = await h.call("POST", "GlobalOptionSetDefinitions", { body: colors });
    expect(twice.status).toBe(400);
    expect((await errorOf(twice)).message).toContain("already exists");
    expect((await h.call("GET", "GlobalOptionSetDefinitions(Name='cosell_nothing')")).status).toBe(404);
  });

  it("a snapshot keeps them", async () => {
    const state = JSON.parse(JSON.stringify(h.server.control.exportState()));
    const copy = await startDataverse();
    try {
      copy.server.control.importState(state);
      const { res, body } = await copy.getJson<{ MetadataId: string }>(
        "GlobalOptionSetDefinitions(Name='cosell_colors')",
      );
      expect(res.status).toBe(200);
      expect(body.MetadataId).toBe(setId);
    } finally {
      await copy.close();
    }
  });

  it("refuses options without explicit integer values, and a set that is not global", async () => {
    const noValue = await h.call("POST", "GlobalOptionSetDefinitions", {
      body: { ...colors, Name: "cosell_novalue", Options: [{ Label: label("Red") }] },
    });
    expect(noValue.status).toBe(400);
    const local = await h.call("POST", "GlobalOptionSetDefinitions", {
      body: { ...colors, Name: "cosell_local", IsGlobal: false },
    });
    expect(local.status).toBe(400);
  });

  it("a choice column bound to it takes its options; a value outside them is refused with Dataverse's message", async () => {
    const res = await h.call("POST", ATTRS, {
      body: picklist("cosell_Color", {
        "GlobalOptionSet@odata.bind": `/GlobalOptionSetDefinitions(${setId})`,
      }),
      headers: SOLUTION,
    });
    expect(res.status).toBe(204);
    const bad = await h.call("POST", "opportunities", { body: { name: "x", cosell_color: 5 } });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toContain(
      `The value 5 of 'cosell_color' on record of type 'opportunity' is outside the valid range. Accepted Values: ${BASE},${BASE + 1}`,
    );
    const good = await h.call("POST", "opportunities", { body: { name: "y", cosell_color: BASE + 1 } });
    expect(good.status).toBe(204);
  });

  it("a bind naming no global choice is refused", async () => {
    const res = await h.call("POST", ATTRS, {
      body: picklist("cosell_Shade", {
        "GlobalOptionSet@odata.bind": "/GlobalOptionSetDefinitions(00000000-0000-0000-0000-000000000001)",
      }),
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain("names no global option set");
  });
});

describe("table definitions", () => {
  it("are updated with PUT; PATCH is refused with 405", async () => {
    const path = "EntityDefinitions(LogicalName='opportunity')";
    const patch = await h.call("PATCH", path, { body: { ChangeTrackingEnabled: true } });
    expect(patch.status).toBe(405);
    const put = await h.call("PUT", path, {
      body: { "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata", ChangeTrackingEnabled: true },
    });
    expect(put.status).toBe(204);
  });
});

describe("security roles and privileges", () => {
  let roleId: string;
  const privilege = async (name: string) =>
    (
      await h.getJson<Rows>(
        `privileges?$select=privilegeid,name&$filter=${encodeURIComponent(`name eq '${name}'`)}`,
      )
    ).body.value[0]?.privilegeid as string | undefined;

  it("lists a privilege per table and right, named prv<Right><SchemaName>", async () => {
    expect(await privilege("prvReadOpportunity")).toBeDefined();
    expect(await privilege("prvWriteAccount")).toBeDefined();
    expect(await privilege("prvReadNothing")).toBeUndefined();
    expect((await h.call("POST", "privileges", { body: { name: "prvReadNothing" } })).status).toBe(405);
  });

  it("AddPrivilegesRole gives a role privileges, once; a bad depth or privilege is refused", async () => {
    const who = await h.getJson<{ BusinessUnitId: string }>("WhoAmI");
    const created = await h.call("POST", "roles", {
      body: {
        name: "Co-sell Seller",
        "businessunitid@odata.bind": `/businessunits(${who.body.BusinessUnitId})`,
      },
    });
    expect(created.status).toBe(204);
    roleId = entityId(created);
    const read = (await privilege("prvReadOpportunity"))!;
    const add = (body: unknown) =>
      h.call("POST", `roles(${roleId})/Microsoft.Dynamics.CRM.AddPrivilegesRole`, { body });
    const grant = {
      Privileges: [{ PrivilegeId: read, BusinessUnitId: who.body.BusinessUnitId, Depth: "Global" }],
    };
    expect((await add(grant)).status).toBe(204);
    expect((await add(grant)).status).toBe(204);
    const held = await h.getJson<Rows>(`roles(${roleId})/roleprivileges_association?$select=name`);
    expect(held.body.value.map((p) => p.name)).toEqual(["prvReadOpportunity"]);
    expect((await add({ Privileges: [{ PrivilegeId: read, Depth: "Everywhere" }] })).status).toBe(400);
    const unknown = await add({
      Privileges: [{ PrivilegeId: "00000000-0000-0000-0000-000000000002", Depth: "Basic" }],
    });
    expect(unknown.status).toBe(404);
    expect((await add({})).status).toBe(400);
  });

  it("a role joins a solution with AddSolutionComponent (type 20)", async () => {
    const res = await h.call("POST", "AddSolutionComponent", {
      body: {
        ComponentId: roleId,
        ComponentType: 20,
        SolutionUniqueName: "cosell",
        AddRequiredComponents: false,
      },
    });
    expect(res.status).toBe(204);
    expect(await componentIds(20)).toContain(roleId);
  });

  it("RemovePrivilegeRole takes one away", async () => {
    const read = (await privilege("prvReadOpportunity"))!;
    const res = await h.call("POST", `roles(${roleId})/Microsoft.Dynamics.CRM.RemovePrivilegeRole`, {
      body: { PrivilegeId: read },
    });
    expect(res.status).toBe(204);
    const held = await h.getJson<Rows>(`roles(${roleId})/roleprivileges_association?$select=name`);
    expect(held.body.value).toEqual([]);
  });
});
