import { type CrmAdapter, MemoryStateStore, runCycle } from "@cosell/core";
import {
  crashAt,
  createMemoryAdapter,
  ManualClock,
  MemoryCrm,
  MemoryPartnerCenter,
  SimulatedCrash,
  sampleDeal,
} from "@cosell/core/testing";
import { describe, expect, it } from "vitest";

/**
 * Found by the chaos run (Dynamics adapter): the process dies after a CRM write landed but before the
 * cycle committed it to the state store. The next cycle takes our own write for a seller's edit and,
 * under crm-wins, writes it over the newer Partner Center edit: a lost edit.
 */
describe("a crash between a CRM write and its commit does not lose the other side's next edit", () => {
  it("Microsoft's later notes edit survives", async () => {
    const clock = new ManualClock();
    const crm = new MemoryCrm(clock.now);
    const pc = new MemoryPartnerCenter({ now: clock.now });
    const store = new MemoryStateStore();
    const inner = createMemoryAdapter(crm);
    let dieAfterApply = false;
    const adapter: CrmAdapter = {
      ...inner,
      async apply(writes) {
        const results = await inner.apply(writes);
        if (dieAfterApply) throw new Error("SIGKILL after the CRM write landed, before the commit");
        return results;
      },
    };
    const cycle = () => runCycle({ adapter, partnerCenter: pc, store, now: clock.now });
    const id = crm.createOpportunity(sampleDeal({ notes: "N0" }), { optedIn: true });
    await cycle();
    const referralId = store.getLinkByCrmId(id)!.referralId!;

    clock.advance(60_000);
    pc.editNotes(referralId, "N1 from Microsoft");
    dieAfterApply = true;
    await expect(cycle()).rejects.toThrow(/SIGKILL/);
    dieAfterApply = false;
    expect(crm.get(id)!.deal.notes).toBe("N1 from Microsoft"); // the write landed

    clock.advance(60_000);
    pc.editNotes(referralId, "N2 from Microsoft");
    await cycle();
    await cycle();

    expect(pc.get(referralId)!.details?.notes).toBe("N2 from Microsoft");
    expect(crm.get(id)!.deal.notes).toBe("N2 from Microsoft");
  });
});

/**
 * Found by the chaos run (memory CRM): the process dies after the referral's POST landed, before the
 * link recorded it; Microsoft edits the referral; the next run's idempotent create finds the referral
 * and the engine treats it as its own fresh write, so the CRM's values overwrite Microsoft's edit.
 */
describe("a recovered create keeps what Partner Center changed since the lost create", () => {
  it("Microsoft's notes edit made between the crash and the recovery survives", async () => {
    const clock = new ManualClock();
    const crm = new MemoryCrm(clock.now);
    const pc = new MemoryPartnerCenter({ now: clock.now });
    const store = new MemoryStateStore();
    const adapter = createMemoryAdapter(crm);
    const id = crm.createOpportunity(sampleDeal({ notes: "Seller notes" }), { optedIn: true });
    await expect(
      runCycle({
        adapter,
        partnerCenter: pc,
        store,
        now: clock.now,
        checkpoint: crashAt("after-create-referral"),
      }),
    ).rejects.toBeInstanceOf(SimulatedCrash);
    const [referral] = pc.all();
    expect(referral?.externalReferenceId).toBe(id);

    clock.advance(60_000);
    pc.editNotes(referral!.id, "Microsoft: customer wants a POC first");
    clock.advance(60_000);
    await runCycle({ adapter, partnerCenter: pc, store, now: clock.now });
    await runCycle({ adapter, partnerCenter: pc, store, now: clock.now });

    expect(pc.all()).toHaveLength(1);
    expect(pc.get(referral!.id)!.details?.notes).toBe("Microsoft: customer wants a POC first");
    expect(crm.get(id)!.deal.notes).toBe("Microsoft: customer wants a POC first");
  });
});
