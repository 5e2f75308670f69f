import { describe, expect, it } from "vitest";
import { runCycle, SyncRulesSchema } from "../../src/index.js";
import { crashAt, SimulatedCrash, sampleDeal } from "../../src/testing/index.js";
import { type World, world } from "./harness.js";

/**
 * A batch's Partner Center writes go out `partnerCenterConcurrency` pairs at a time. Each create keeps
 * its durable intent ahead of it, so a crash with several creates in flight still duplicates nothing.
 */

/** Holds each create for a few milliseconds (a remote call), counting how many are in flight. */
function slowCreates(w: World) {
  const seen = { inFlight: 0, max: 0, sent: 0 };
  const create = w.pc.createReferral.bind(w.pc);
  w.pc.createReferral = async (body, options) => {
    seen.inFlight++;
    seen.sent++;
    seen.max = Math.max(seen.max, seen.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 5));
      return await create(body, options);
    } finally {
      seen.inFlight--;
    }
  };
  return seen;
}

function optedIn(w: World, n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    w.crm.createOpportunity(sampleDeal({ name: `Deal ${i}` }), { optedIn: true }),
  );
}

describe("Partner Center writes in flight together", () => {
  it("sends up to partnerCenterConcurrency creates at once, each deal's once", async () => {
    for (const concurrency of [1, 4]) {
      const w = world({ rules: { partnerCenterConcurrency: concurrency } });
      const ids = optedIn(w, 10);
      const seen = slowCreates(w);

      const { summary } = await runCycle(w.deps());

      expect(summary.errors).toEqual([]);
      expect(seen.max).toBe(concurrency);
      expect(seen.sent).toBe(10);
      for (const id of ids) expect(w.pc.all().filter((r) => r.externalReferenceId === id)).toHaveLength(1);
      expect(w.store.listLinks({ state: "linked" })).toHaveLength(10);
    }
  });

  it("defaults to 4 and refuses what it cannot use, saying what to give", () => {
    expect(SyncRulesSchema.parse({}).partnerCenterConcurrency).toBe(4);
    const zero = SyncRulesSchema.safeParse({ partnerCenterConcurrency: 0 });
    expect(zero.error?.issues[0]?.message).toMatch(/at least 1/);
    const many = SyncRulesSchema.safeParse({ partnerCenterConcurrency: 100 });
    expect(many.error?.issues[0]?.message).toMatch(/at most 16/);
    const half = SyncRulesSchema.safeParse({ partnerCenterConcurrency: 2.5 });
    expect(half.error?.issues[0]?.message).toMatch(/whole number/);
  });

  it("after a crash with creates in flight, pairs each landed create by its CRM id and duplicates nothing", async () => {
    const w = world({ rules: { partnerCenterConcurrency: 3 } });
    const ids = optedIn(w, 3);
    // The first answer comes back, then the process dies: the two other POSTs were already sent.
    await expect(runCycle(w.deps({ checkpoint: crashAt("after-create-referral") }))).rejects.toBeInstanceOf(
      SimulatedCrash,
    );
    expect(w.pc.all()).toHaveLength(3);
    const unfinished = w.store.listLinks({ state: "pending" });
    expect(unfinished).toHaveLength(3);
    expect(unfinished.every((l) => !l.referralId)).toBe(true);

    w.clock.advance(1000);
    const { summary } = await runCycle(w.deps());

    expect(summary.errors).toEqual([]);
    // One list page shows all three; each unfinished intent is paired with its referral by CRM id.
    expect(summary.apiCalls.partnerCenter).toEqual({ total: 1, reads: 1, writes: 0 });
    for (const id of ids) expect(w.pc.all().filter((r) => r.externalReferenceId === id)).toHaveLength(1);
    expect(w.store.listLinks({ state: "linked" })).toHaveLength(3);
  });

  it("a stop starts no further pair, and the cycle returns only once those in flight have answered", async () => {
    const w = world({ rules: { partnerCenterConcurrency: 2 } });
    optedIn(w, 6);
    const seen = slowCreates(w);

    const cycle = runCycle(w.deps({ checkpoint: crashAt("after-create-referral") }));
    await expect(cycle).rejects.toBeInstanceOf(SimulatedCrash);

    // The first answer stopped the cycle while the second create was in flight: it was waited for.
    expect(seen.inFlight).toBe(0);
    expect(seen.sent).toBe(2);
    await new Promise((r) => setTimeout(r, 30));
    expect(seen.sent).toBe(2);
    expect(w.pc.all()).toHaveLength(2);
  });
});
