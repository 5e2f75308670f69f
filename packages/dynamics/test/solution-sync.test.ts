import { MemoryStateStore } from "@cosell/core";
import { completeDeal, sampleDeal } from "@cosell/core/testing";
import { partnerCenterSide } from "@cosell/sandbox/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { columnsFor, createDynamicsAdapter, type DynamicsAdapter } from "../src/index.js";
import {
  BatchFaults,
  cycleOnce,
  type DynamicsSandbox,
  dataverseDriver,
  sandboxConfig,
  startDynamicsSandbox,
} from "./helpers.js";
import { relatedSolutions, relateSolutions, teamRows } from "./solution-driver.js";

/**
 * Solutions as related catalog rows and Microsoft's team as rows, through the engine against the
 * Dataverse and Partner Center emulators (real HTTP).
 */

const c = columnsFor("cosell");
let sb: DynamicsSandbox;
let adapter: DynamicsAdapter;
let side: ReturnType<typeof partnerCenterSide>;
const store = new MemoryStateStore();

const cycle = async () => {
  const summary = await cycleOnce(sb, adapter, side.partnerCenter, store);
  expect(summary.errors).toEqual([]);
  return summary;
};
const opportunityOf = (referralId: string) =>
  sb.dataverse.all("opportunities").find((r) => r[c.referralId] === referralId)!;
const pcSolutionIds = (referralId: string) =>
  (sb.partnerCenter.get(referralId)!.details?.requirements?.solutions ?? []).map((s) => s.id).sort();

beforeAll(async () => {
  sb = await startDynamicsSandbox();
  adapter = createDynamicsAdapter(sandboxConfig(sb), { now: () => sb.clock.now(), sleep: async () => {} });
  side = partnerCenterSide(sb);
  await adapter.setup();
  sb.dataverse.activateKeys();
});
afterAll(async () => {
  await adapter?.close();
  await sb?.stop();
});

describe("solutions as related catalog rows", () => {
  let referralId = "";
  let crmId = "";
  let ownReferral = "";

  it("a referral's solutions appear as rows related to its opportunity and as catalog entries", async () => {
    referralId = sb.partnerCenter.sendInboundReferral().id;
    const sent = pcSolutionIds(referralId);
    expect(sent.length).toBeGreaterThan(0);
    await cycle();
    const opp = opportunityOf(referralId);
    expect(
      relatedSolutions(sb.dataverse, String(opp.opportunityid))
        .map((s) => s.id)
        .sort(),
    ).toEqual(sent);
    const catalog = await adapter.solutionCatalog!.list();
    for (const id of sent) expect(catalog.find((e) => e.id === id)?.active).toBe(true);
    // The memo column is no longer written.
    expect(opp[c.solutions] ?? null).toBeNull();
    // Read back, the relations say what Partner Center says: nothing to write.
    const again = await cycle();
    expect(again.apiCalls.crm.writes).toBe(0);
  });

  it("a seller relates a catalog solution; with the opportunity's next change it reaches Partner Center", async () => {
    const crm = dataverseDriver(sb, new BatchFaults());
    crmId = await crm.createOpportunity(sampleDeal({ name: "Field service rollout" }), { optedIn: true });
    await cycle();
    ownReferral = sb.partnerCenter.all().find((r) => r.externalReferenceId === crmId)!.id;
    const extra = { id: "sol-contoso-insights", name: "Contoso Insights", kind: "own" } as const;
    await adapter.solutionCatalog!.upsert([{ ...extra, active: true }]);
    relateSolutions(sb.dataverse, crmId, [...relatedSolutions(sb.dataverse, crmId), extra]);
    // Relating a row does not change the opportunity (Dataverse keeps its modifiedon): the seller's
    // next save of the opportunity carries it.
    sb.dataverse.update("opportunities", crmId, { description: "Customer wants insights on top." });
    await cycle();
    expect(pcSolutionIds(ownReferral)).toContain(extra.id);
    expect((await cycle()).apiCalls.crm.writes).toBe(0);
  });

  it("a solution the seller unrelates leaves the referral; its catalog entry stays", async () => {
    const kept = relatedSolutions(sb.dataverse, crmId).filter((s) => s.id === "sol-contoso-insights");
    relateSolutions(sb.dataverse, crmId, kept);
    sb.dataverse.update("opportunities", crmId, { description: "Only insights now." });
    await cycle();
    expect(pcSolutionIds(ownReferral)).toEqual(["sol-contoso-insights"]);
    const catalog = await adapter.solutionCatalog!.list();
    expect(catalog.map((e) => e.id)).toContain("sol-field-service");
  });
});

describe("a solution the catalog refuses", () => {
  it("fails that record's write with Dataverse's reason and the fix; the record is not created half", async () => {
    const deal = completeDeal(
      sampleDeal({
        name: "Odd solution id",
        direction: "inbound",
        stage: "received",
        solutions: [{ id: "x".repeat(150), name: "Too long an id", kind: "own" }],
      }),
      sb.clock.now(),
    );
    const [res] = await adapter.apply([
      {
        op: "create",
        referralId: "ref-odd-solution",
        deal,
        status: { state: "synced", lastError: null, referralId: "ref-odd-solution", coSellStage: "received" },
      },
    ]);
    expect(res).toMatchObject({ ok: false, error: { code: "DATAVERSE_CATALOG_WRITE_FAILED" } });
    expect(res!.ok === false && res!.error.message).toMatch(/cosell solutions import/);
    expect(sb.dataverse.all("opportunities").some((r) => r[c.referralId] === "ref-odd-solution")).toBe(false);
  });
});

describe("Microsoft's team as rows", () => {
  it("after Microsoft engages, its people are rows related to the opportunity; nothing more is written", async () => {
    const crm = dataverseDriver(sb, new BatchFaults());
    const crmId = await crm.createOpportunity(
      sampleDeal({
        name: "Landing zone",
        invitation: {
          microsoftHelpRequested: true,
          helpNotes: "An Azure architect.",
          helpType: "CustomerTechnicalArchitecture",
        },
      }),
      { optedIn: true },
    );
    await cycle();
    const referral = sb.partnerCenter.all().find((r) => r.externalReferenceId === crmId)!;
    expect(teamRows(sb.dataverse, crmId)).toEqual([]);
    sb.partnerCenter.engage(referral.id);
    await cycle();
    const team = teamRows(sb.dataverse, crmId);
    expect(team.length).toBeGreaterThan(0);
    expect(team.every((m) => m.email.includes("@"))).toBe(true);
    expect((await cycle()).apiCalls.crm.writes).toBe(0);
  });
});

describe("memo data from an earlier release", () => {
  it("setup moves the JSON in the solutions memo into related rows, once", async () => {
    const legacy = [{ id: "sol-legacy-1", name: "Legacy Accelerator", kind: "thirdParty" }];
    const row = sb.dataverse.insert("opportunities", {
      name: "Old deal",
      [c.solutions]: JSON.stringify(legacy),
    });
    const id = String(row.opportunityid);
    const first = await adapter.setup();
    expect(first.created.some((x) => x.startsWith(`Solutions in ${c.solutions} moved to rows`))).toBe(true);
    expect(relatedSolutions(sb.dataverse, id)).toEqual(legacy);
    const second = await adapter.setup();
    expect(second.created).toEqual([]);
    expect(second.unchanged).toContain(`Solutions in ${c.solutions}: all related as rows`);
  });
});
