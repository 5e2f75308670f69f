import { strFromU8, unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDynamicsAdapter, parseDynamicsConfig } from "../src/index.js";
import { SELLER_ROLE_NAME } from "../src/seller-role.js";
import { type DynamicsSandbox, dataverseWebApi, sandboxConfig, startDynamicsSandbox } from "./helpers.js";

/**
 * Moving the connector between environments: after `cosell setup` on a bare environment, the
 * unmanaged solution's export (what `pac solution export` or the maker portal downloads) lists every
 * component setup made: the tables, choices, columns, keys, relationships, form, views and role.
 */

let sb: DynamicsSandbox;
let api: ReturnType<typeof dataverseWebApi>;
let solutionName: string;

beforeAll(async () => {
  sb = await startDynamicsSandbox();
  api = dataverseWebApi(sb);
  solutionName = parseDynamicsConfig(sandboxConfig(sb)).solutionUniqueName;
  await createDynamicsAdapter(sandboxConfig(sb), { now: () => sb.clock.now() }).setup();
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
