import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDynamicsAdapter, type DynamicsAdapter } from "../src/index.js";
import {
  type DynamicsSandbox,
  dataverseWebApi,
  sandboxConfig,
  startDynamicsSandbox,
  writesDuring,
} from "./helpers.js";
import { SOLUTION_TABLES as t } from "./solution-driver.js";

let sb: DynamicsSandbox;
let adapter: DynamicsAdapter;

beforeAll(async () => {
  sb = await startDynamicsSandbox();
  adapter = createDynamicsAdapter(sandboxConfig(sb), { now: () => sb.clock.now(), sleep: async () => {} });
});
afterAll(async () => {
  await adapter?.close();
  await sb?.stop();
});

const solutionsCheck = async () =>
  (await adapter.verifySetup()).checks.find((x) => x.name === "solutions table")!;
const formCheck = async () => (await adapter.verifySetup()).checks.find((x) => x.name.includes("form"))!;
const mainForm = () =>
  sb.dataverse
    .all("systemforms")
    .find((f) => f.objecttypecode === "opportunity" && f.name === "Opportunity")!;

describe("setup of the solution catalog and Microsoft's team tables", () => {
  it("on a bare environment doctor names the missing table and relationships, with the fix", async () => {
    const check = await solutionsCheck();
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`table ${t.solution}`);
    expect(check.detail).toContain(`relationship ${t.opportunitySolution}`);
    expect(check.fix).toContain("cosell setup");
  });

  it("creates both tables, their columns, the catalog key and both relationships inside the cosell solution", async () => {
    const api = dataverseWebApi(sb);
    expect((await api.send("GET", `EntityDefinitions(LogicalName='${t.solution}')`)).status).toBe(404);
    const report = await adapter.setup();
    for (const part of [
      `Table ${t.solution}`,
      `Table ${t.team}`,
      `Column ${t.solution}.${t.partnerCenterId}`,
      `Column ${t.team}.${t.email}`,
      `Relationship ${t.opportunitySolution}`,
      `Relationship ${t.opportunityTeam}`,
      `Alternate key ${t.solutionKey}`,
    ])
      expect(report.created.some((x) => x.startsWith(part))).toBe(true);

    const table = await api.get<{
      PrimaryNameAttribute: string;
      EntitySetName: string;
      Keys: { SchemaName: string }[];
    }>(`EntityDefinitions(LogicalName='${t.solution}')?$expand=Keys`);
    expect(table.PrimaryNameAttribute).toBe(t.name);
    expect(table.EntitySetName).toBe(t.solutionSet);
    expect(table.Keys.map((k) => k.SchemaName)).toContain(t.solutionKey);
    const rel = await api.get<{ Entity1LogicalName: string; Entity2LogicalName: string }>(
      `RelationshipDefinitions(SchemaName='${t.opportunitySolution}')`,
    );
    expect([rel.Entity1LogicalName, rel.Entity2LogicalName]).toEqual(["opportunity", t.solution]);

    // Tables (1), relationships (10) and the key (14) are components of the cosell solution.
    const components = sb.dataverse.all("solutioncomponents");
    const types = (type: number) => components.filter((x) => x.componenttype === type).length;
    expect(types(1)).toBe(2);
    expect(types(10)).toBe(2);
    expect(types(14)).toBe(2);
  });

  it("the Co-sell tab holds a subgrid per relationship; doctor is green", async () => {
    const xml = String(mainForm().formxml);
    for (const [rel, target] of [
      [t.opportunitySolution, t.solution],
      [t.opportunityTeam, t.team],
    ])
      expect(xml).toContain(
        `<TargetEntityType>${target}</TargetEntityType><RelationshipName>${rel}</RelationshipName>`,
      );
    expect((await solutionsCheck()).ok).toBe(true);
    expect((await formCheck()).ok).toBe(true);
  });

  it("a subgrid an admin removed is named by doctor and put back by setup", async () => {
    const form = mainForm();
    const without = String(form.formxml).replace(
      /<section name="cosell_cosell_microsoftteam"[\s\S]*?<\/section>/,
      "",
    );
    const api = dataverseWebApi(sb);
    expect((await api.send("PATCH", `systemforms(${form.formid})`, { formxml: without })).status).toBe(204);
    const check = await formCheck();
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(t.opportunityTeam);
    await adapter.setup();
    expect((await formCheck()).ok).toBe(true);
  });

  it("a table and a relationship taken out of the solution are named by doctor and added back by setup", async () => {
    const api = dataverseWebApi(sb);
    const table = (
      await api.get<{ MetadataId: string }>(
        `EntityDefinitions(LogicalName='${t.solution}')?$select=MetadataId`,
      )
    ).MetadataId;
    const rel = (
      await api.get<{ MetadataId: string }>(`RelationshipDefinitions(SchemaName='${t.opportunitySolution}')`)
    ).MetadataId;
    // What "Remove from this solution" in the maker portal does.
    for (const [id, type] of [
      [table, 1],
      [rel, 10],
    ] as const) {
      const res = await api.send("POST", "RemoveSolutionComponent", {
        SolutionComponent: {
          "@odata.type": "Microsoft.Dynamics.CRM.solutioncomponent",
          solutioncomponentid: id,
        },
        ComponentType: type,
        SolutionUniqueName: "cosell",
      });
      expect(res.status).toBe(200);
    }
    const check = await solutionsCheck();
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(
      `Not in solution cosell: table ${t.solution}; relationship ${t.opportunitySolution}`,
    );
    expect(check.fix).toContain("cosell setup");

    const { result, writes } = await writesDuring(sb, () => adapter.setup());
    expect(writes).toEqual(["POST /AddSolutionComponent", "POST /AddSolutionComponent"]);
    expect(result.created).toEqual([
      `Table ${t.solution} added to solution "cosell"`,
      `Relationship ${t.opportunitySolution} added to solution "cosell"`,
    ]);
    expect((await solutionsCheck()).ok).toBe(true);
  });

  it("a second run changes nothing", async () => {
    const again = await adapter.setup();
    expect(again.created).toEqual([]);
    expect(again.unchanged.some((x) => x.startsWith(`Relationship ${t.opportunitySolution}`))).toBe(true);
  });

  it("doctor and setup read each of cosell's table and relationship definitions once", async () => {
    const definitionReads = async (fn: () => Promise<unknown>) => {
      const before = sb.log.entries.length;
      await fn();
      const counts = new Map<string, number>();
      for (const e of sb.log.entries.slice(before)) {
        const m =
          /^\/?(?:api\/data\/v[\d.]+\/)?((?:Entity|Relationship)Definitions\((?:LogicalName|SchemaName)='[^']+'\))/.exec(
            decodeURIComponent(e.url),
          );
        if (e.server === "dataverse" && e.method === "GET" && m?.[1]?.includes("cosell_"))
          counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
      }
      return counts;
    };
    // Both tables and both relationships, once each: missing parts and solution membership come from
    // the same read.
    for (const fn of [() => solutionsCheck(), () => adapter.setup()]) {
      const counts = await definitionReads(fn);
      for (const name of [t.solution, t.team])
        expect(counts.get(`EntityDefinitions(LogicalName='${name}')`)).toBe(1);
      for (const name of [t.opportunitySolution, t.opportunityTeam])
        expect(counts.get(`RelationshipDefinitions(SchemaName='${name}')`)).toBe(1);
    }
  });
});
