import { strFromU8, unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { columnsFor, createDynamicsAdapter, parseDynamicsConfig } from "../src/index.js";
import { SELLER_ROLE_NAME } from "../src/seller-role.js";
import { cosellViews } from "../src/views.js";
import {
  type DynamicsSandbox,
  dataverseWebApi,
  sandboxConfig,
  startDynamicsSandbox,
  writesDuring,
} from "./helpers.js";

/**
 * Moving the connector between environments: after `cosell setup` on a bare environment, the
 * unmanaged solution's export (what `pac solution export` or the maker portal downloads) lists every
 * component setup made: the tables, choices, columns, keys, relationships, form, views and role.
 */

let sb: DynamicsSandbox;
let api: ReturnType<typeof dataverseWebApi>;
let solutionName: string;
let formName: string;
let writesOfSecondRun: string[] = [];

beforeAll(async () => {
  sb = await startDynamicsSandbox();
  api = dataverseWebApi(sb);
  const cfg = parseDynamicsConfig(sandboxConfig(sb));
  solutionName = cfg.solutionUniqueName;
  formName = cfg.form;
  const adapter = createDynamicsAdapter(sandboxConfig(sb), { now: () => sb.clock.now() });
  await adapter.setup();
  sb.dataverse.activateKeys(); // Dataverse builds key indexes in the background
  // The second run, on the environment the first one set up.
  writesOfSecondRun = (await writesDuring(sb, () => adapter.setup())).writes;
});
afterAll(() => sb?.stop());

async function exported(): Promise<string> {
  const res = await api.send("POST", "ExportSolution", { SolutionName: solutionName, Managed: false });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { ExportSolutionFile: string };
  const files = unzipSync(Buffer.from(body.ExportSolutionFile, "base64"));
  expect(Object.keys(files).sort()).toEqual(["[Content_Types].xml", "customizations.xml", "solution.xml"]);
  return strFromU8(files["solution.xml"]!);
}

describe("the cosell solution's export", () => {
  it("lists one root component per component setup put in the solution", async () => {
    const xml = await exported();
    const roots = [...xml.matchAll(/<RootComponent type="(\d+)" (?:schemaName="([^"]+)"|id="\{([^}]+)\}")/g)];
    const sol = await api.get<{ value: { solutionid: string }[] }>(
      `solutions?$select=solutionid&$filter=${encodeURIComponent(`uniquename eq '${solutionName}'`)}`,
    );
    const members = await api.get<{ value: { objectid: string; componenttype: number }[] }>(
      `solutioncomponents?$select=objectid,componenttype&$filter=${encodeURIComponent(`_solutionid_value eq ${sol.value[0]!.solutionid}`)}`,
    );
    expect(roots.length).toBe(members.value.length);
    const types = new Set(roots.map((r) => Number(r[1])));
    // Tables (1), columns (2), relationships (10), keys (14), choices (9), views (26), forms (60), roles (20).
    for (const t of [1, 2, 9, 10, 14, 20, 26, 60]) expect(types.has(t), `component type ${t}`).toBe(true);
    expect(xml).toMatch(/schemaName="cosell_[Ss]olution"/);
    expect(xml).toContain(`<UniqueName>${solutionName}</UniqueName>`);
    expect(xml).toContain("<Managed>0</Managed>");
  });

  it("holds every cosell part the environment has: columns, tables, choices, keys, relationships, views, form, role", async () => {
    const xml = await exported();
    const byId = (type: number, id: string) => xml.includes(`<RootComponent type="${type}" id="{${id}}"`);
    const missing: string[] = [];
    const want = (ok: boolean, what: string) => {
      if (!ok) missing.push(what);
    };
    const prefix = "cosell_";
    type Named = { MetadataId: string; LogicalName?: string; SchemaName?: string; Name?: string };
    const list = async (path: string) => (await api.get<{ value: Named[] }>(path)).value;

    // Columns setup added to Opportunity, found by the publisher prefix (none of them is built in).
    const columns = (
      await list("EntityDefinitions(LogicalName='opportunity')/Attributes?$select=LogicalName,MetadataId")
    ).filter((a) => a.LogicalName!.startsWith(prefix));
    expect(columns.map((a) => a.LogicalName)).toContain(columnsFor("cosell").response);
    for (const a of columns) want(byId(2, a.MetadataId), `column ${a.LogicalName}`);

    const tables = (await list("EntityDefinitions?$select=LogicalName,SchemaName,MetadataId")).filter((t) =>
      t.LogicalName!.startsWith(prefix),
    );
    expect(tables.length).toBeGreaterThanOrEqual(2);
    for (const t of tables) {
      want(xml.includes(`<RootComponent type="1" schemaName="${t.SchemaName}"`), `table ${t.SchemaName}`);
      for (const k of await list(
        `EntityDefinitions(LogicalName='${t.LogicalName}')/Keys?$select=LogicalName,MetadataId`,
      ))
        want(byId(14, k.MetadataId), `key ${k.LogicalName}`);
    }
    for (const k of await list(
      "EntityDefinitions(LogicalName='opportunity')/Keys?$select=LogicalName,MetadataId",
    ))
      if (k.LogicalName!.startsWith(prefix)) want(byId(14, k.MetadataId), `key ${k.LogicalName}`);

    const choices = (await list("GlobalOptionSetDefinitions")).filter((o) => o.Name!.startsWith(prefix));
    expect(choices.length).toBeGreaterThanOrEqual(3);
    for (const o of choices) want(byId(9, o.MetadataId), `global choice ${o.Name}`);

    const relationships = (await list("RelationshipDefinitions")).filter((r) =>
      r.SchemaName!.startsWith(prefix),
    );
    expect(relationships.length).toBeGreaterThanOrEqual(2);
    for (const r of relationships) want(byId(10, r.MetadataId), `relationship ${r.SchemaName}`);

    const views = await api.get<{ value: { savedqueryid: string; name: string }[] }>(
      `savedqueries?$select=savedqueryid,name&$filter=${encodeURIComponent("returnedtypecode eq 'opportunity'")}`,
    );
    for (const v of cosellViews(columnsFor("cosell"), 18342)) {
      const found = views.value.find((x) => x.name === v.name);
      want(!!found && byId(26, found.savedqueryid), `view ${v.name}`);
    }
    const forms = await api.get<{ value: { formid: string; name: string }[] }>(
      `systemforms?$select=formid,name&$filter=${encodeURIComponent("objecttypecode eq 'opportunity' and type eq 2")}`,
    );
    const form = forms.value.find((f) => f.name === formName);
    want(!!form && byId(60, form.formid), `form ${formName}`);
    expect(missing).toEqual([]);
  });

  it("a second setup run on the same environment writes nothing", () => {
    expect(writesOfSecondRun).toEqual([]);
  });

  it("names the seller role by its id", async () => {
    const role = await api.get<{ value: { roleid: string }[] }>(
      `roles?$select=roleid&$filter=${encodeURIComponent(`name eq '${SELLER_ROLE_NAME}'`)}`,
    );
    expect(await exported()).toContain(`<RootComponent type="20" id="{${role.value[0]!.roleid}}"`);
  });

  it("refuses a request without Managed, and an unknown solution", async () => {
    expect((await api.send("POST", "ExportSolution", { SolutionName: solutionName })).status).toBe(400);
    expect(
      (await api.send("POST", "ExportSolution", { SolutionName: "nowhere", Managed: false })).status,
    ).toBe(404);
  });
});
