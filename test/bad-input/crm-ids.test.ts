import { type CrmAdapter, dealToReferral, MemoryStateStore, RemoteApiError, runCycle } from "@cosell/core";
import { completeDeal, createMemoryAdapter, sampleDeal } from "@cosell/core/testing";
import { createDynamicsAdapter, dynamicsSandboxConfig } from "@cosell/dynamics";
import { createSalesforceAdapter, salesforceSandboxConfig } from "@cosell/salesforce";
import { type Sandbox, startSandbox } from "@cosell/sandbox";
import { partnerCenterSide } from "@cosell/sandbox/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { world } from "./fixtures.js";

/**
 * A referral's `externalReferenceId` is free text anyone with Partner Center access can set. The
 * engine hands it to the CRM adapter as the id of the opportunity to adopt. Each value below is not an
 * opportunity id of that CRM: the referral carrying it is marked `CRM_ID_INVALID`, nothing is created
 * or read for it, and the good inbound referral next to it still reaches the CRM, on the real adapters
 * over the sandbox's HTTP servers.
 */
const SALESFORCE_POISON: [string, string][] = [
  ["free text (invalid ID field every cycle)", "CRM-1234"],
  ["a quote that would end the SOQL string", "006' OR Name != '"],
  ["an Account id (prefix 001)", "001000000000001AAA"],
  ["16 characters", "0060000000000012"],
];
const DYNAMICS_POISON: [string, string][] = [
  ["free text", "CRM-1234"],
  ["a filter that breaks the query (400 every cycle)", "x) or ("],
  [
    "a filter that matches every opportunity",
    "00000000-0000-0000-0000-000000000000 or opportunityid ne null",
  ],
  ["a GUID in braces with a trailing query option", "{00000000-0000-0000-0000-000000000001}&$top=1"],
];

type Sb = Sandbox<"partnerCenter" | "salesforce" | "dataverse">;
let sb: Sb;
let salesforce: CrmAdapter;
let dynamics: CrmAdapter;

beforeAll(async () => {
  sb = await startSandbox({ systems: ["partnerCenter", "salesforce", "dataverse"], freezeClock: true });
  salesforce = createSalesforceAdapter(salesforceSandboxConfig(sb.credentials.salesforce), {
    now: () => sb.clock.now(),
  });
  await salesforce.setup();
  dynamics = createDynamicsAdapter(
    dynamicsSandboxConfig(sb.credentials.dataverse, { changeTracking: "off" }),
    { now: () => sb.clock.now() },
  );
  await dynamics.setup();
  sb.dataverse.activateKeys();
}, 60_000);
afterAll(async () => {
  await sb?.stop();
});

/** Opportunities in the CRM that carry this referral id. */
function opportunitiesFor(crm: "salesforce" | "dynamics", referralId: string): number {
  if (crm === "salesforce")
    return sb.salesforce.query(`SELECT Id FROM Opportunity WHERE Cosell_Referral_Id__c = '${referralId}'`)
      .records.length;
  return sb.dataverse.all("opportunities").filter((o) => o.cosell_referralid === referralId).length;
}

describe.each([
  ["salesforce", SALESFORCE_POISON],
  ["dynamics", DYNAMICS_POISON],
] as const)("bad input: a referral naming a CRM id that is not one (%s)", (crm, cases) => {
  it.each(cases)("%s", async (_name, poison) => {
    const adapter = crm === "salesforce" ? salesforce : dynamics;
    const { partnerCenter } = partnerCenterSide(sb);
    const store = new MemoryStateStore();
    const bad = sb.partnerCenter.sendInboundReferral({ name: "Poisoned", externalReferenceId: poison });
    const good = sb.partnerCenter.sendInboundReferral({ name: "Good inbound" });

    const { summary } = await runCycle({ adapter, partnerCenter, store, now: () => sb.clock.now() });

    // The poisoned referral is marked with the named code, saying what to fix.
    const marked = summary.errors.filter((e) => e.key === `referral:${bad.id}`);
    expect(marked).toEqual([expect.objectContaining({ code: "CRM_ID_INVALID" })]);
    expect(marked[0]!.message).toContain("externalReferenceId");
    expect(store.listRecordErrors()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: `referral:${bad.id}`, code: "CRM_ID_INVALID" }),
      ]),
    );
    // Nothing was created or linked for it; the good referral reached the CRM.
    expect(opportunitiesFor(crm, bad.id)).toBe(0);
    expect(store.getLinkByReferralId(bad.id)).toBeUndefined();
    expect(opportunitiesFor(crm, good.id)).toBe(1);
    // Referrals poisoned by the earlier cases (one sandbox for all) are marked the same way; nothing
    // else failed.
    for (const e of summary.errors) expect(e).toMatchObject({ code: "CRM_ID_INVALID" });
  });
});

describe("bad input: a CRM that refuses the read of one named id", () => {
  it("marks only the referral naming it; the batch's other referrals are adopted", async () => {
    const w = world();
    const existing = w.crm.createOpportunity(sampleDeal({ name: "Already in the CRM" }), { optedIn: false });
    // Referrals made in Partner Center's own UI, each naming a CRM id.
    const made = (name: string, crmId: string) =>
      w.pc.createReferral(dealToReferral(completeDeal(sampleDeal({ name }), w.clock.now())), { crmId });
    const named = await made("Names a real record", existing);
    const poisoned = await made("Poisoned", "REFUSED-1");
    const inner = createMemoryAdapter(w.crm);
    // A CRM that rejects the whole query when one id in it is malformed (no checkCrmId to ask first).
    const adapter: CrmAdapter = {
      ...inner,
      async read(ids) {
        if (ids.includes("REFUSED-1"))
          throw new RemoteApiError("CRM_REJECTED", "The CRM refused the query: malformed id REFUSED-1.");
        return inner.read(ids);
      },
    };

    const { summary } = await runCycle({ adapter, partnerCenter: w.pc, store: w.store, now: w.clock.now });

    expect(summary.errors).toEqual([
      expect.objectContaining({ key: `referral:${poisoned.id}`, code: "CRM_REJECTED" }),
    ]);
    expect(w.store.getLinkByReferralId(named.id)?.crmId).toBe(existing);
    expect(w.crm.all().filter((o) => o.referralId === poisoned.id)).toEqual([]);
  });
});
