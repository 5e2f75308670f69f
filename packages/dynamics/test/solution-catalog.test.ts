import { runSolutionCatalogConformance } from "@cosell/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDynamicsAdapter } from "../src/index.js";
import { type DynamicsSandbox, sandboxConfig, startDynamicsSandbox } from "./helpers.js";
import { SOLUTION_TABLES as t } from "./solution-driver.js";

// One set-up environment for the suite: its ids are prefixed per test, so earlier rows cannot satisfy it.
let sb: DynamicsSandbox;
const adapter = () =>
  createDynamicsAdapter(sandboxConfig(sb), { now: () => sb.clock.now(), sleep: async () => {} });

beforeAll(async () => {
  sb = await startDynamicsSandbox();
  await adapter().setup();
});
afterAll(async () => {
  await sb?.stop();
});

runSolutionCatalogConformance("dynamics (Dataverse sandbox)", async () => ({
  catalog: adapter().solutionCatalog!,
}));

describe("the Dataverse catalog", () => {
  it("refuses an invalid entry in failed and still writes the others", async () => {
    const res = await adapter().solutionCatalog!.upsert([
      { id: "ok-1", name: "Fabrikam Analytics", kind: "thirdParty", active: true },
      { id: "", name: "No id", kind: "own", active: true },
    ]);
    expect(res.created).toEqual(["ok-1"]);
    expect(res.failed).toHaveLength(1);
    const row = sb.dataverse.all(t.solutionSet).find((r) => r[t.partnerCenterId] === "ok-1");
    expect(row?.[t.name]).toBe("Fabrikam Analytics");
  });

  it("writes nothing when nothing changed", async () => {
    const catalog = adapter().solutionCatalog!;
    await catalog.upsert([{ id: "same-1", name: "Same", kind: "microsoft", active: true }]);
    const before = sb.log.entries.length;
    const res = await catalog.upsert([{ id: "same-1", name: "Same", kind: "microsoft", active: true }]);
    expect(res.unchanged).toEqual(["same-1"]);
    const writes = sb.log.entries.slice(before).filter((e) => e.server === "dataverse" && e.method !== "GET");
    expect(writes).toEqual([]);
  });
});
