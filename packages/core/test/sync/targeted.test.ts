import { describe, expect, it, vi } from "vitest";
import { InProcessDealLock, InProcessSyncQueue, runCycle, syncTarget } from "../../src/index.js";
import { sampleDeal } from "../../src/testing/index.js";
import { world } from "./harness.js";

function setup() {
  const w = world();
  const lock = new InProcessDealLock();
  return { w, lock, deps: () => ({ ...w.deps(), lock }) };
}

describe("syncTarget: one deal, read, planned and written alone", () => {
  it("a CRM edit syncs that deal only, moves no cursor and records no cycle", async () => {
    const { w, deps } = setup();
    const a = w.crm.createOpportunity(sampleDeal({ name: "A" }), { optedIn: true });
    const b = w.crm.createOpportunity(sampleDeal({ name: "B" }), { optedIn: true });
    await runCycle(w.deps());
    const cursors = { crm: w.store.getCursor("crm"), pc: w.store.getCursor("partnerCenter") };
    const cycles = w.store.listCycles(100).length;
    w.clock.advance(1000);
    w.crm.update(a, { notes: "edited A" });
    w.crm.update(b, { notes: "edited B" });

    const result = await syncTarget(deps(), { side: "crm", id: a });

    const refA = w.pc.get(w.store.getLinkByCrmId(a)!.referralId!)!;
    const refB = w.pc.get(w.store.getLinkByCrmId(b)!.referralId!)!;
    expect(refA.details?.notes).toBe("edited A");
    expect(refB.details?.notes).not.toBe("edited B");
    expect(result?.summary.steps).toMatchObject({ update: 1 });
    expect({ crm: w.store.getCursor("crm"), pc: w.store.getCursor("partnerCenter") }).toEqual(cursors);
    expect(w.store.listCycles(100)).toHaveLength(cycles);
    // The next cycle still sees B's edit, and A's write only as its own echo.
    w.clock.advance(1000);
    const next = await runCycle(w.deps());
    expect(w.pc.get(refB.id)?.details?.notes).toBe("edited B");
    expect(next.summary.apiCalls.partnerCenter.writes).toBe(1);
  });

  it("a referral event creates the CRM opportunity; the same event again writes nothing", async () => {
    const { w, deps } = setup();
    const ref = w.pc.sendInbound({ name: "From Microsoft" });

    await syncTarget(deps(), { side: "partnerCenter", id: ref.id });
    const link = w.store.getLinkByReferralId(ref.id);
    expect(link?.state).toBe("linked");
    expect(w.crm.get(link!.crmId!)?.deal.name).toBe("From Microsoft");

    const crm0 = w.adapter.stats();
    const pc0 = w.pc.stats();
    const again = await syncTarget(deps(), { side: "partnerCenter", id: ref.id });
    expect(again?.summary.apiCalls.crm.writes).toBe(0);
    expect(w.adapter.stats().writes - crm0.writes).toBe(0);
    expect(w.pc.stats().writes - pc0.writes).toBe(0);
    expect(w.crm.all()).toHaveLength(1);
  });

  it("a Partner Center edit reaches the CRM record, read fresh on both sides", async () => {
    const { w, deps } = setup();
    const id = w.crm.createOpportunity(sampleDeal(), { optedIn: true });
    await runCycle(w.deps());
    const referralId = w.store.getLinkByCrmId(id)!.referralId!;
    w.clock.advance(1000);
    w.pc.editNotes(referralId, "From Microsoft");

    await syncTarget(deps(), { side: "partnerCenter", id: referralId });
    expect(w.crm.get(id)?.deal.notes).toBe("From Microsoft");
  });

  it("a newly opted-in opportunity gets its referral", async () => {
    const { w, deps } = setup();
    const id = w.crm.createOpportunity(sampleDeal({ name: "New" }), { optedIn: true });
    await syncTarget(deps(), { side: "crm", id });
    const link = w.store.getLinkByCrmId(id);
    expect(link?.referralId).toBeDefined();
    expect(w.pc.get(link!.referralId!)?.name).toBe("New");
  });

  it("a deleted opportunity is recorded as deleted; the referral is left alone", async () => {
    const { w, deps } = setup();
    const id = w.crm.createOpportunity(sampleDeal(), { optedIn: true });
    await runCycle(w.deps());
    const referralId = w.store.getLinkByCrmId(id)!.referralId!;
    const before = w.pc.get(referralId);
    w.crm.delete(id);
    await syncTarget(deps(), { side: "crm", id });
    expect(w.store.getLinkByCrmId(id)?.state).toBe("crmDeleted");
    expect(w.pc.get(referralId)).toEqual(before);
  });

  it("an event for records that exist on neither side syncs nothing", async () => {
    const { w, deps } = setup();
    expect(await syncTarget(deps(), { side: "crm", id: "nope" })).toBeUndefined();
    expect(await syncTarget(deps(), { side: "partnerCenter", id: "nope" })).toBeUndefined();
    expect(w.store.listLinks()).toEqual([]);
  });

  it("waits for a full cycle holding every deal's lock", async () => {
    const { w, lock, deps } = setup();
    const id = w.crm.createOpportunity(sampleDeal(), { optedIn: true });
    const order: string[] = [];
    let release!: () => void;
    const cycle = lock.withAll(async () => {
      order.push("cycle start");
      await new Promise<void>((r) => {
        release = r;
      });
      order.push("cycle end");
    });
    const targeted = syncTarget(deps(), { side: "crm", id }).then(() => order.push("targeted"));
    // The targeted sync reads nothing until the cycle is done.
    const calls = w.adapter.stats().total;
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(["cycle start"]);
    expect(w.adapter.stats().total).toBe(calls);
    release();
    await Promise.all([cycle, targeted]);
    expect(order).toEqual(["cycle start", "cycle end", "targeted"]);
  });
});

describe("a burst of events bigger than the queue", () => {
  it("10,000 events: the queue never holds more than its capacity, drops are counted, and the next cycle syncs every change", async () => {
    const { w, deps } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 300; i++)
      ids.push(w.crm.createOpportunity(sampleDeal({ name: `D${i}` }), { optedIn: true }));
    await runCycle(w.deps());
    w.clock.advance(1000);
    for (const [i, id] of ids.entries()) w.crm.update(id, { notes: `burst ${i}` });

    const queue = new InProcessSyncQueue({ capacity: 100, coalesceMs: 0 });
    let maxDepth = 0;
    const outcomes = { queued: 0, coalesced: 0, dropped: 0 };
    for (let e = 0; e < 10_000; e++) {
      // Several events per deal, as a real burst of saves and our own echoes would send.
      const outcome = await queue.enqueue({ side: "crm", id: ids[e % ids.length]! });
      outcomes[outcome]++;
      maxDepth = Math.max(maxDepth, queue.depth());
    }
    expect(maxDepth).toBeLessThanOrEqual(100);
    expect(outcomes.dropped).toBeGreaterThan(0);
    expect(queue.stats().dropped).toBe(outcomes.dropped);
    queue.process(async (t) => {
      await syncTarget(deps(), t);
    });
    await vi.waitFor(() => expect(queue.depth()).toBe(0));
    await queue.close();
    const synced = ids.filter((id) =>
      w.pc.get(w.store.getLinkByCrmId(id)!.referralId!)?.details?.notes?.startsWith("burst"),
    );
    // The queue held at most 100 deals, so most edits wait for the reconciliation: nothing is lost.
    expect(synced.length).toBeLessThan(ids.length);
    w.clock.advance(1000);
    await runCycle(w.deps());
    for (const [i, id] of ids.entries())
      expect(w.pc.get(w.store.getLinkByCrmId(id)!.referralId!)?.details?.notes).toBe(`burst ${i}`);
  });
});
