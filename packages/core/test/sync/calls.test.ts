import { describe, expect, it } from "vitest";
import { referralToDeal, runCycle } from "../../src/index.js";
import { MemoryStateStore } from "../../src/sync/store-memory.js";
import { crashAt, MemoryPartnerCenter, SimulatedCrash, sampleDeal } from "../../src/testing/index.js";
import { world } from "./harness.js";

/** What each side was asked, per cycle: the figures the bench measures, asserted as counts. */

describe("one call per new referral", () => {
  it("creates each referral with one POST and no look-up by CRM id", async () => {
    const w = world();
    const ids = Array.from({ length: 5 }, (_, i) =>
      w.crm.createOpportunity(sampleDeal({ name: `Deal ${i}` }), { optedIn: true }),
    );

    const { summary } = await runCycle(w.deps());

    expect(summary.errors).toEqual([]);
    // One (empty) list page, then one write per deal: nothing else.
    expect(summary.apiCalls.partnerCenter).toEqual({ total: 1 + ids.length, reads: 1, writes: ids.length });
    expect(
      w.pc
        .all()
        .map((r) => r.externalReferenceId)
        .sort(),
    ).toEqual([...ids].sort());
  });

  it("a new referral leaves no ledger entries (its baseline holds what was sent), and the next cycle writes nothing", async () => {
    const w = world();
    Array.from({ length: 5 }, (_, i) =>
      w.crm.createOpportunity(sampleDeal({ name: `Deal ${i}` }), { optedIn: true }),
    );
    await runCycle(w.deps());
    const referralIds = w.pc.all().map((r) => r.id);
    expect(referralIds).toHaveLength(5);
    expect(w.store.listLedgerOfRecords("partnerCenter", referralIds)).toEqual([]);

    w.clock.advance(1000);
    const { summary } = await runCycle(w.deps());
    expect(summary.errors).toEqual([]);
    expect(summary.apiCalls.partnerCenter.writes).toBe(0);
    expect(summary.apiCalls.crm.writes).toBe(0);
    for (const l of w.store.listLinks()) expect(l.state).toBe("linked");
  });

  it("finds the create a crash left unanswered among the listed referrals, and duplicates nothing", async () => {
    // One write at a time: the crash comes after the first POST, before the others are sent.
    const w = world({ rules: { partnerCenterConcurrency: 1 } });
    const ids = Array.from({ length: 3 }, (_, i) =>
      w.crm.createOpportunity(sampleDeal({ name: `Deal ${i}` }), { optedIn: true }),
    );
    // The first POST lands, then the process dies before the answer is recorded.
    await expect(runCycle(w.deps({ checkpoint: crashAt("after-create-referral") }))).rejects.toBeInstanceOf(
      SimulatedCrash,
    );
    expect(w.pc.all()).toHaveLength(1);
    const unfinished = w.store.listLinks({ state: "pending" });
    expect(unfinished).toHaveLength(1);
    expect(unfinished[0]!.referralId).toBeUndefined();

    w.clock.advance(1000);
    const { summary } = await runCycle(w.deps());

    expect(summary.errors).toEqual([]);
    // One list page and no look-up: the listed referral carrying the unfinished intent's CRM id is its
    // create's (paired by that id); the two others are first attempts.
    expect(summary.apiCalls.partnerCenter).toEqual({ total: 3, reads: 1, writes: 2 });
    for (const id of ids) expect(w.pc.all().filter((r) => r.externalReferenceId === id)).toHaveLength(1);
    expect(w.store.listLinks({ state: "linked" })).toHaveLength(3);
  });

  it("a lost state store pairs listed referrals by CRM id instead of creating them again", async () => {
    const w = world();
    const ids = Array.from({ length: 3 }, (_, i) =>
      w.crm.createOpportunity(sampleDeal({ name: `Deal ${i}` }), { optedIn: true }),
    );
    // The referrals land, the CRM never learns their ids (the process dies before the status write).
    await expect(runCycle(w.deps({ checkpoint: crashAt("crm-apply") }))).rejects.toBeInstanceOf(
      SimulatedCrash,
    );
    expect(w.pc.all()).toHaveLength(3);
    for (const id of ids) expect(w.crm.get(id)!.referralId).toBeUndefined();

    w.store = new MemoryStateStore();
    w.clock.advance(1000);
    const { summary } = await runCycle(w.deps());

    expect(summary.errors).toEqual([]);
    expect(summary.apiCalls.partnerCenter.writes).toBe(0);
    for (const id of ids) {
      const mine = w.pc.all().filter((r) => r.externalReferenceId === id);
      expect(mine).toHaveLength(1);
      expect(w.store.getLinkByCrmId(id)).toMatchObject({ state: "linked", referralId: mine[0]!.id });
      expect(w.crm.get(id)!.referralId).toBe(mine[0]!.id);
    }
  });
});

describe("idle means idle on Partner Center", () => {
  /** A world whose Partner Center can stamp a change `lagMs` in the past: a commit that lands late. */
  function lateWorld() {
    const w = world();
    let lagMs = 0;
    w.pc = new MemoryPartnerCenter({ now: () => new Date(w.clock.now().getTime() - lagMs) });
    return {
      w,
      late: <T>(ms: number, f: () => T): T => {
        lagMs = ms;
        try {
          return f();
        } finally {
          lagMs = 0;
        }
      },
    };
  }

  async function backfill(w: ReturnType<typeof world>, n: number): Promise<string[]> {
    const ids = Array.from({ length: n }, (_, i) =>
      w.crm.createOpportunity(sampleDeal({ name: `Deal ${i}` }), { optedIn: true }),
    );
    expect((await runCycle(w.deps())).summary.errors).toEqual([]);
    return ids;
  }

  it("an idle cycle after a 1,000-referral burst makes exactly one list call, now and later", async () => {
    const w = world();
    await backfill(w, 1000);
    w.clock.advance(1000);
    // The first cycle after the burst reads it once (10 pages) and writes nothing.
    const first = (await runCycle(w.deps())).summary;
    expect(first.apiCalls.partnerCenter).toEqual({ total: 10, reads: 10, writes: 0 });

    for (const step of [1000, 1000, 3 * 60_000, 60_000]) {
      w.clock.advance(step);
      const { summary } = await runCycle(w.deps());
      expect(summary.apiCalls.partnerCenter, `idle after ${step} ms`).toEqual({
        total: 1,
        reads: 1,
        writes: 0,
      });
      expect(summary.apiCalls.crm.writes).toBe(0);
    }
  });

  // Found by test/scale: with the cycle's own writes counted into the window, an edit Microsoft made
  // to a referral of the window while the cycle was writing another one sorted before that write and
  // kept every position the probe checks, so it was never read.
  it("Microsoft's edit to a referral of the window while the cycle writes another is read next cycle", async () => {
    const w = world();
    const ids = await backfill(w, 3);
    const [a, b, c] = ids.map((id) => w.pc.all().find((r) => r.externalReferenceId === id)!);
    w.clock.advance(1000);
    // The next cycle reads the whole window (a, b and c): Microsoft changed c, a seller changed a.
    w.pc.editNotes(c!.id, "Microsoft's notes on c");
    w.crm.update(ids[0]!, { value: { amount: 77_000, currency: "USD" } });
    let edited = false;
    const { summary } = await runCycle(
      w.deps({
        checkpoint: (name) => {
          // Just before the write to a's referral, Microsoft edits b's.
          if (name !== "partner-center-update" || edited) return;
          edited = true;
          w.clock.advance(10);
          w.pc.editNotes(b!.id, "Microsoft's notes during our write");
          w.clock.advance(10);
        },
      }),
    );
    expect(edited).toBe(true);
    expect(summary.errors).toEqual([]);
    expect(referralToDeal(w.pc.get(a!.id)!).value?.amount).toBe(77_000);
    w.clock.advance(1000);
    await runCycle(w.deps());
    expect(w.crm.get(ids[1]!)?.deal.notes).toBe("Microsoft's notes during our write");
  });

  it("a change committed late inside the window is still read, then idle is one call again", async () => {
    const { w, late } = lateWorld();
    await backfill(w, 300);
    w.clock.advance(1000);
    await runCycle(w.deps()); // reads the burst (3 pages)
    w.clock.advance(1000);
    expect((await runCycle(w.deps())).summary.apiCalls.partnerCenter.reads).toBe(1);

    // Microsoft's referral is stamped 30 s ago (before referrals already read) but commits only now.
    w.clock.advance(1000);
    const inbound = late(30_000, () => w.pc.sendInbound({ name: "Late inbound" }));
    const { summary } = await runCycle(w.deps());
    // The probe sees the window's positions moved and reads the window again: 1 + 4 pages.
    expect(summary.apiCalls.partnerCenter.reads).toBe(5);
    expect(w.crm.all().filter((o) => o.referralId === inbound.id)).toHaveLength(1);

    w.clock.advance(1000);
    expect((await runCycle(w.deps())).summary.apiCalls.partnerCenter.reads).toBe(1);
  });

  it("an edit to a referral inside the window is read and applied", async () => {
    const { w, late } = lateWorld();
    const ids = await backfill(w, 150);
    w.clock.advance(1000);
    await runCycle(w.deps());
    w.clock.advance(1000);
    await runCycle(w.deps());

    // Stamped before the newest referral already read (late), so it does not land after the window's end.
    w.clock.advance(1000);
    const referralId = w.store.getLinkByCrmId(ids[10]!)!.referralId!;
    late(2500, () => w.pc.editNotes(referralId, "Microsoft's late note"));
    await runCycle(w.deps());
    expect(w.crm.get(ids[10]!)!.deal.notes).toBe("Microsoft's late note");

    // Once the window has settled (an idle cycle more than the overlap later), an edit to another
    // referral of the burst costs the one probe page.
    w.clock.advance(3 * 60_000);
    expect((await runCycle(w.deps())).summary.apiCalls.partnerCenter.reads).toBe(1);
    w.clock.advance(1000);
    const other = w.store.getLinkByCrmId(ids[20]!)!.referralId!;
    w.pc.editNotes(other, "Microsoft's next note");
    const { summary } = await runCycle(w.deps());
    expect(summary.apiCalls.partnerCenter).toEqual({ total: 1, reads: 1, writes: 0 });
    expect(w.crm.get(ids[20]!)!.deal.notes).toBe("Microsoft's next note");
  });
});
