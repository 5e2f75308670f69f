import { MemoryStateStore, referralToDeal, runCycle } from "@cosell/core";
import { isRead, type Sandbox, startSandbox } from "@cosell/sandbox";
import { partnerCenterSide } from "@cosell/sandbox/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxAdapter } from "./harness.js";

const COUNT = 500;
let sb: Sandbox<"partnerCenter" | "salesforce">;

beforeAll(async () => {
  sb = await startSandbox({ systems: ["partnerCenter", "salesforce"] });
});
afterAll(async () => {
  await sb?.stop();
});

/** Salesforce requests since `from` in the sandbox log, by endpoint, and the writes among them. */
function salesforceCalls(from: number) {
  const entries = sb.log.entries.slice(from).filter((e) => e.server === "salesforce");
  const byEndpoint: Record<string, number> = {};
  for (const e of entries) byEndpoint[e.endpoint] = (byEndpoint[e.endpoint] ?? 0) + 1;
  const writes = entries.filter((e) => !isRead(e) && !e.endpoint.includes("oauth2"));
  return { total: entries.length, writes: writes.length, byEndpoint };
}

describe("issue 5 done-when: 500 opted-in opportunities against the sandbox org", () => {
  it("setup from a bare org, one cycle creates 500 referrals with CRM and campaign ids in ≤ 3 status writes, then a quiet cycle", async () => {
    const sf = sb.salesforce;
    const adapter = sandboxAdapter(sb);
    const side = partnerCenterSide(sb);
    const store = new MemoryStateStore();
    const deps = { adapter, partnerCenter: side.partnerCenter, store, now: () => side.clock.now() };

    // Setup from a bare org: the co-sell fields do not exist yet.
    expect((await adapter.verifySetup()).ok).toBe(false);
    let mark = sb.log.entries.length;
    const setup = await adapter.setup();
    const setupCalls = salesforceCalls(mark);
    expect(setup.created.length).toBeGreaterThanOrEqual(14);
    expect((await adapter.verifySetup()).ok).toBe(true);
    const again = await adapter.setup();
    expect(again.created).toEqual([]);

    // 500 opportunities, opted in by sellers, each with a campaign and a team member.
    const [campaign] = sf.query("SELECT Id FROM Campaign LIMIT 1").records;
    const seller = sf.query("SELECT Id FROM User WHERE Username = 'avery.chen@cosell.sandbox'").records[0]!;
    const ids = sf.seedOpportunities(COUNT, {
      stages: ["Qualification"],
      fields: () => ({
        Cosell_Sync__c: true,
        CampaignId: String(campaign!.Id),
        Cosell_Solutions__c: "sol-migrate | Azure Migration Factory | own",
      }),
    });
    for (const id of ids)
      sf.insert("OpportunityTeamMember", {
        OpportunityId: id,
        UserId: String(seller.Id),
        TeamMemberRole: "Sales Rep",
      });
    side.clock.advance(1000);

    mark = sb.log.entries.length;
    const first = await runCycle(deps);
    side.clock.advance(1000);
    const firstCalls = salesforceCalls(mark);

    expect(first.summary.errors).toEqual([]);
    const referrals = await side.microsoft.all();
    expect(referrals).toHaveLength(COUNT);
    const byCrmId = new Map(referrals.map((r) => [r.externalReferenceId, r]));
    for (const id of ids) {
      const r = byCrmId.get(id);
      expect(r, id).toBeDefined();
      expect(referralToDeal(r!).campaignId).toBe(campaign!.Id);
    }
    expect(firstCalls.writes).toBeLessThanOrEqual(3);
    expect(firstCalls.byEndpoint["PATCH /composite/sobjects"]).toBe(3);
    const synced = sf.query("SELECT Id FROM Opportunity WHERE Cosell_Sync_Status__c = 'synced'").totalSize;
    expect(synced).toBe(COUNT);

    mark = sb.log.entries.length;
    const second = await runCycle(deps);
    const secondCalls = salesforceCalls(mark);
    expect(second.summary.errors).toEqual([]);
    expect(secondCalls.writes).toBe(0);
    expect(second.summary.apiCalls.partnerCenter.writes).toBe(0);

    // Idle, past the overlap window: the first page, the related-list queries and getDeleted go in one
    // composite call; only the query for removed deal solutions (a sixth query) is a call of its own.
    side.clock.advance(3 * 60_000);
    mark = sb.log.entries.length;
    const idle = await runCycle(deps);
    const idleCalls = salesforceCalls(mark);
    expect(idle.summary.errors).toEqual([]);
    expect(idleCalls.writes).toBe(0);
    expect(idleCalls.byEndpoint).toEqual({ "POST /composite": 1, "GET /queryAll": 1 });

    console.log(
      JSON.stringify(
        {
          setup: setupCalls,
          firstCycle: { salesforce: firstCalls, adapterStats: first.summary.apiCalls },
          secondCycle: { salesforce: secondCalls, adapterStats: second.summary.apiCalls },
        },
        null,
        2,
      ),
    );
  }, 120_000);
});
