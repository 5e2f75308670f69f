import type { Stage } from "@cosell/core";
import { isMicrosoftInvitation, MemoryStateStore, referralToDeal } from "@cosell/core";
import { SEED_IDS } from "@cosell/sandbox";
import { partnerCenterSide } from "@cosell/sandbox/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { columnsFor, createDynamicsAdapter, type DynamicsAdapter } from "../src/index.js";
import { coSellStageValue } from "../src/mapping.js";
import { cycleOnce, type DynamicsSandbox, sandboxConfig, startDynamicsSandbox } from "./helpers.js";
import { relateSolutions } from "./solution-driver.js";

const c = columnsFor("cosell");
/** The co-sell stage choice's value of a stage. */
const stageValue = (stage: Stage) => coSellStageValue(stage, 18342);
const N = 500;

let sb: DynamicsSandbox;
let adapter: DynamicsAdapter;
let side: ReturnType<typeof partnerCenterSide>;
const store = new MemoryStateStore();
const ids: string[] = [];
let campaignCode = "";

const cycle = () => cycleOnce(sb, adapter, side.partnerCenter, store);

/** Dataverse requests made while `fn` runs, by endpoint, from the sandbox's request log. */
async function dataverseCalls<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; calls: Record<string, number>; total: number }> {
  const from = sb.log.entries.length;
  const result = await fn();
  const calls: Record<string, number> = {};
  for (const e of sb.log.entries.slice(from).filter((x) => x.server === "dataverse"))
    calls[`${e.method} ${e.endpoint}`] = (calls[`${e.method} ${e.endpoint}`] ?? 0) + 1;
  return { result, calls, total: Object.values(calls).reduce((a, b) => a + b, 0) };
}

beforeAll(async () => {
  sb = await startDynamicsSandbox();
  adapter = createDynamicsAdapter(sandboxConfig(sb), { now: () => sb.clock.now() });
  side = partnerCenterSide(sb);
});
afterAll(async () => {
  await adapter?.close();
  await sb?.stop();
});

describe("issue 6, done when: 500 opportunities through the Dataverse sandbox", () => {
  it("setup from a bare environment creates the columns and key; verifySetup is then green", async () => {
    const before = await adapter.verifySetup();
    expect(before.ok).toBe(false);
    expect(before.checks.find((x) => x.name === "custom columns")?.fix).toContain("cosell setup");
    const report = await adapter.setup();
    expect(report.created.some((x) => x.includes(c.referralId))).toBe(true);
    sb.dataverse.activateKeys(); // Dataverse builds key indexes in the background
    const after = await adapter.verifySetup();
    expect(after.checks.filter((x) => !x.ok)).toEqual([]);
  });

  it("one cycle shares 500 opted-in opportunities: CRM id and campaign id on every referral, write-back in ≤ 5 $batch calls", async () => {
    const dv = sb.dataverse;
    const accounts = dv.all("accounts");
    const users = dv
      .all("systemusers")
      .filter((u) => u.internalemailaddress && !u.applicationid && u.address1_telephone1);
    const campaign = dv.all("campaigns")[0]!;
    campaignCode = String(campaign.codename);
    for (let i = 0; i < N; i++) {
      const account = accounts[i % accounts.length]!;
      const owner = users[i % users.length]!;
      const row = dv.insert(
        "opportunities",
        {
          name: `Load opportunity ${i}`,
          estimatedvalue: 10_000 + i,
          "transactioncurrencyid@odata.bind": `/transactioncurrencies(${SEED_IDS.usd})`,
          estimatedclosedate: "2026-12-31",
          description: `Opportunity ${i} for the load test.`,
          "parentaccountid@odata.bind": `/accounts(${account.accountid})`,
          "customerid_account@odata.bind": `/accounts(${account.accountid})`,
          "campaignid@odata.bind": `/campaigns(${campaign.campaignid})`,
          "parentcontactid@odata.bind": `/contacts(${account._primarycontactid_value})`,
          "ownerid@odata.bind": `/systemusers(${owner.systemuserid})`,
          [c.syncFlag]: true,
          [c.consent]: true,
        },
        { asUserId: String(owner.systemuserid) },
      );
      ids.push(String(row.opportunityid));
      relateSolutions(dv, String(row.opportunityid), [
        { id: "sol-1", name: "Contoso Field Service", kind: "own" },
      ]);
    }

    const { result: summary, calls, total } = await dataverseCalls(cycle);
    const batches = calls["POST $batch"] ?? 0;
    console.log(
      `cycle 1 (500 opted in): Dataverse calls ${total} ${JSON.stringify(calls)}; summary steps ${JSON.stringify(summary.steps)}; adapter stats ${JSON.stringify(summary.apiCalls.crm)}; Partner Center ${JSON.stringify(summary.apiCalls.partnerCenter)}`,
    );
    expect(summary.errors).toEqual([]);
    const referrals = sb.partnerCenter.all();
    expect(referrals).toHaveLength(N);
    const byCrm = new Map(referrals.map((r) => [r.externalReferenceId, r]));
    for (const id of ids) {
      const r = byCrm.get(id);
      expect(r, id).toBeDefined();
      expect(referralToDeal(r!).campaignId).toBe(campaignCode);
    }
    // The status write-back: every opportunity carries its referral id, in ≤ 5 $batch requests.
    expect(summary.apiCalls.crm.writes).toBeLessThanOrEqual(5);
    expect(batches).toBeLessThanOrEqual(5 + 1); // + the one $batch of related-row GETs
    for (const id of ids.slice(0, 20)) {
      const row = dv.get("opportunities", id)!;
      expect(row[c.referralId]).toBe(byCrm.get(id)!.id);
      expect(row.name).toBe(`Load opportunity ${ids.indexOf(id)}`);
    }
  });

  it("a second cycle writes nothing", async () => {
    const { result: summary, calls, total } = await dataverseCalls(cycle);
    console.log(
      `cycle 2 (quiet): Dataverse calls ${total} ${JSON.stringify(calls)}; writes crm ${summary.apiCalls.crm.writes}, Partner Center ${summary.apiCalls.partnerCenter.writes}`,
    );
    expect(summary.errors).toEqual([]);
    expect(summary.apiCalls.crm.writes).toBe(0);
    expect(summary.apiCalls.partnerCenter.writes).toBe(0);
  });

  it("an opportunity won in Dynamics reaches Partner Center as won", async () => {
    const id = ids[0]!;
    sb.dataverse.win(id, { status: 3 });
    const { result: summary, calls, total } = await dataverseCalls(cycle);
    console.log(`cycle 3 (one won): Dataverse calls ${total} ${JSON.stringify(calls)}`);
    expect(summary.errors).toEqual([]);
    const referral = sb.partnerCenter.all().find((r) => r.externalReferenceId === id)!;
    expect({ status: referral.status, substatus: referral.substatus }).toEqual({
      status: "Closed",
      substatus: "Won",
    });
    const row = sb.dataverse.get("opportunities", id)!;
    expect(row.statecode).toBe(1);
    expect(row[c.coSellStatus]).toBe(stageValue("won"));
    expect((await cycle()).apiCalls.crm.writes).toBe(0);
  });

  it("a Microsoft-side decline of the invitation leaves the opportunity open (Microsoft answers on its own referral)", async () => {
    const id = ids[1]!;
    sb.dataverse.update("opportunities", id, {
      [c.helpRequested]: true,
      [c.helpNotes]: "Need an Azure architect.",
    });
    const invited = await cycle();
    expect(invited.errors).toEqual([]);
    const referral = sb.partnerCenter.all().find((r) => r.externalReferenceId === id)!;
    const invitations = sb.partnerCenter
      .all()
      .filter((r) => r.engagementId === referral.engagementId && isMicrosoftInvitation(r));
    expect(invitations.map((r) => r.inviteContext?.notes)).toEqual(["Need an Azure architect."]);
    // The seller sees that Microsoft has not answered yet, on the opportunity.
    expect(sb.dataverse.get("opportunities", id)![c.microsoftAnswer]).toBe(183420000);
    sb.partnerCenter.decline(referral.id, "No Microsoft seller available in this region.");
    const { result: summary, calls, total } = await dataverseCalls(cycle);
    console.log(`cycle 5 (Microsoft declined): Dataverse calls ${total} ${JSON.stringify(calls)}`);
    expect(summary.errors).toEqual([]);
    const row = sb.dataverse.get("opportunities", id)!;
    expect(row.statecode).toBe(0);
    expect(row[c.coSellStatus]).toBe(stageValue("accepted"));
    // ...and then Microsoft's answer: "Declined by Microsoft".
    expect(row[c.microsoftAnswer]).toBe(183420002);
    expect((await cycle()).apiCalls.crm.writes).toBe(0);
  });
});
