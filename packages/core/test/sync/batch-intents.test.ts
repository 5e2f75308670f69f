import { describe, expect, it } from "vitest";
import { runCycle, type StateStore } from "../../src/index.js";
import { MemoryStateStore } from "../../src/sync/store-memory.js";
import { crashAt, SimulatedCrash, sampleDeal } from "../../src/testing/index.js";
import { world } from "./harness.js";

/**
 * A store whose commits are costly (PostgreSQL) asks for a batch's create intents in one commit
 * (`writeAheadIntents: "batch"`): every create is still preceded by its durable link, and a crash is
 * still resumed without a duplicate, at the price of a look-up for each create the crash left unsent.
 */
class BatchIntentStore extends MemoryStateStore {
  readonly writeAheadIntents: "each" | "batch" = "batch";
  /** Commits made: transactions, and writes outside one (each its own commit). */
  commits = 0;
  private depth = 0;
  override transaction<T>(fn: () => T): T {
    if (this.depth === 0) this.commits++;
    this.depth++;
    try {
      return super.transaction(fn);
    } finally {
      this.depth--;
    }
  }
  override putLink(link: Parameters<StateStore["putLink"]>[0]): void {
    if (this.depth === 0) this.commits++;
    super.putLink(link);
  }
}

describe("a batch's create intents in one commit", () => {
  it("writes every create's link before the first create, in one commit", async () => {
    const store = new BatchIntentStore();
    const w = world({ store });
    const ids = Array.from({ length: 5 }, (_, i) =>
      w.crm.createOpportunity(sampleDeal({ name: `Deal ${i}` }), { optedIn: true }),
    );
    const inbound = [w.pc.sendInbound({ name: "Inbound 1" }), w.pc.sendInbound({ name: "Inbound 2" })];
    let beforeIntents = 0;
    const at: Record<string, { pending: number; commits: number }> = {};

    const { summary } = await runCycle(
      w.deps({
        checkpoint: (name) => {
          // The last checkpoint before the intents' commit, then the first create after it.
          if (name === "link-before-create") beforeIntents = store.commits;
          if ((name === "create-referral" || name === "crm-create") && !at[name])
            at[name] = {
              pending: store.listLinks({ state: "pending" }).length,
              commits: store.commits - beforeIntents,
            };
        },
      }),
    );

    expect(summary.errors).toEqual([]);
    // Inbound referrals and CRM records go in batches of their own. The five referral creates are all
    // written ahead by the time the first is sent, in one commit; so are the two CRM creates.
    expect(at["create-referral"]).toEqual({ pending: ids.length, commits: 1 });
    expect(at["crm-create"]?.commits).toBe(1);
    expect(at["crm-create"]?.pending).toBeGreaterThanOrEqual(inbound.length);
    // One list page and one POST per deal: the batch's intents are first attempts, not look-ups.
    expect(summary.apiCalls.partnerCenter).toEqual({ total: 1 + ids.length, reads: 1, writes: ids.length });
    for (const id of ids)
      expect(store.getLinkByCrmId(id)).toMatchObject({
        state: "linked",
        referralId: w.pc.all().find((r) => r.externalReferenceId === id)!.id,
      });
    for (const r of inbound) expect(store.getLinkByReferralId(r.id)).toMatchObject({ state: "linked" });
    expect(w.crm.all().filter((o) => inbound.some((r) => r.id === o.referralId))).toHaveLength(2);
  });

  it("after a crash, looks up the creates the crash left unsent and duplicates nothing", async () => {
    const store = new BatchIntentStore();
    // One write at a time: the crash comes after the first POST, before the others are sent.
    const w = world({ store, rules: { partnerCenterConcurrency: 1 } });
    const ids = Array.from({ length: 3 }, (_, i) =>
      w.crm.createOpportunity(sampleDeal({ name: `Deal ${i}` }), { optedIn: true }),
    );
    // The first POST lands, then the process dies before its answer is recorded.
    await expect(runCycle(w.deps({ checkpoint: crashAt("after-create-referral") }))).rejects.toBeInstanceOf(
      SimulatedCrash,
    );
    expect(w.pc.all()).toHaveLength(1);
    // All three intents were committed together; none has a referral id.
    const unfinished = store.listLinks({ state: "pending" });
    expect(unfinished).toHaveLength(3);
    expect(unfinished.every((l) => !l.referralId)).toBe(true);

    w.clock.advance(1000);
    const { summary } = await runCycle(w.deps());

    expect(summary.errors).toEqual([]);
    // One list page (which pairs the landed create by its CRM id), then for each of the two unsent
    // intents a look-up by CRM id that finds nothing and a POST.
    expect(summary.apiCalls.partnerCenter).toEqual({ total: 5, reads: 3, writes: 2 });
    for (const id of ids) expect(w.pc.all().filter((r) => r.externalReferenceId === id)).toHaveLength(1);
    expect(store.listLinks({ state: "linked" })).toHaveLength(3);
  });

  it("a store without the setting commits each create's link on its own, right before it", async () => {
    const store = new (class extends BatchIntentStore {
      override readonly writeAheadIntents = "each";
    })();
    const w = world({ store });
    for (let i = 0; i < 3; i++) w.crm.createOpportunity(sampleDeal({ name: `Deal ${i}` }), { optedIn: true });
    const pendingAtCreates: number[] = [];

    await runCycle(
      w.deps({
        checkpoint: (name) => {
          if (name === "create-referral") pendingAtCreates.push(store.listLinks({ state: "pending" }).length);
        },
      }),
    );

    expect(pendingAtCreates).toEqual([1, 2, 3]);
  });
});
