import { describe, expect, it, vi } from "vitest";
import { InProcessDealLock, recordLockKeys, runCycle, syncPairs, syncTarget } from "../../src/index.js";
import { sampleDeal } from "../../src/testing/index.js";
import { world } from "./harness.js";

describe("a cycle with a deal lock: each batch holds its deals' record keys", () => {
  it("a deal another sync changed while the cycle waited for its lock is read again, not overwritten", async () => {
    const w = world();
    const lock = new InProcessDealLock();
    const id = w.crm.createOpportunity(sampleDeal({ notes: "v0" }), { optedIn: true });
    await runCycle(w.deps());
    const link = w.store.getLinkByCrmId(id)!;
    const referralId = link.referralId!;
    w.clock.advance(1000);
    w.crm.update(id, { notes: "seller v1" });

    // Another worker holds the deal: the cycle reads "seller v1", then waits for the lock.
    let release!: () => void;
    const held = lock.withDeals(recordLockKeys({ link }), async () => {
      await new Promise<void>((r) => {
        release = r;
      });
      // Meanwhile the seller edits again and that worker syncs the deal.
      w.clock.advance(1000);
      w.crm.update(id, { notes: "seller v2" });
      await syncPairs(w.deps(), { crm: await w.adapter.read([id]), referrals: [w.pc.get(referralId)!] });
    });
    const cycle = runCycle(w.deps({ dealLock: lock }));
    await vi.waitFor(() => expect(lock.size).toBe(2));
    release();
    await held;
    const { summary } = await cycle;

    expect(summary.errors).toEqual([]);
    expect(w.pc.get(referralId)?.details?.notes).toBe("seller v2");
    expect(w.crm.get(id)?.deal.notes).toBe("seller v2");
  });

  it("a targeted sync and a cycle batch of one deal never run at once; other deals do not wait", async () => {
    const w = world();
    const lock = new InProcessDealLock();
    const a = w.crm.createOpportunity(sampleDeal({ name: "A" }), { optedIn: true });
    const b = w.crm.createOpportunity(sampleDeal({ name: "B" }), { optedIn: true });
    await runCycle(w.deps());
    const linkA = w.store.getLinkByCrmId(a)!;
    let release!: () => void;
    const held = lock.withDeals(
      recordLockKeys({ link: linkA }),
      () => new Promise<void>((r) => (release = r)),
    );
    // B's targeted sync is not blocked by A's holder; A's is.
    w.clock.advance(1000);
    w.crm.update(b, { notes: "B edited" });
    w.crm.update(a, { notes: "A edited" });
    await syncTarget({ ...w.deps(), lock }, { side: "crm", id: b });
    expect(w.pc.get(w.store.getLinkByCrmId(b)!.referralId!)?.details?.notes).toBe("B edited");
    let doneA = false;
    const targetedA = syncTarget(
      { ...w.deps(), lock },
      { side: "partnerCenter", id: linkA.referralId! },
    ).then(() => {
      doneA = true;
    });
    await vi.waitFor(() => expect(lock.size).toBe(2));
    expect(doneA).toBe(false);
    release();
    await Promise.all([held, targetedA]);
    expect(w.pc.get(linkA.referralId!)?.details?.notes).toBe("A edited");
  });
});
