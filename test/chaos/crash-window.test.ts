import { type CrmAdapter, MemoryStateStore, runCycle } from "@cosell/core";
import {
  crashAt,
  createMemoryAdapter,
  ManualClock,
  MemoryCrm,
  MemoryPartnerCenter,
  SimulatedCrash,
  sampleDeal,
  sampleInbound,
} from "@cosell/core/testing";
import { describe, expect, it } from "vitest";

/**
 * The crash windows the chaos run found, each replayed deterministically: a process that dies between
 * a write landing and its cycle committing must never lose an edit nor duplicate a record.
 */

/**
 * An in-memory CRM and Partner Center with a state store, and an adapter whose `apply` lands the
 * writes and then "dies" (throws) the first time after `arm()`.
 */
function rig() {
  const clock = new ManualClock();
  const crm = new MemoryCrm(clock.now);
  const pc = new MemoryPartnerCenter({ now: clock.now });
  const store = new MemoryStateStore();
  const inner = createMemoryAdapter(crm);
  let armed = false;
  const adapter: CrmAdapter = {
    ...inner,
    async apply(writes) {
      const results = await inner.apply(writes);
      if (armed) {
        armed = false;
        throw new Error("SIGKILL after the CRM write landed, before the commit");
      }
      return results;
    },
  };
  return {
    clock,
    crm,
    pc,
    store,
    arm: () => {
      armed = true;
    },
    /** One cycle, optionally crashing at a checkpoint. */
    cycle: (checkpoint?: ReturnType<typeof crashAt>) =>
      runCycle({ adapter, partnerCenter: pc, store, now: clock.now, ...(checkpoint ? { checkpoint } : {}) }),
  };
}

/**
 * Found by the chaos run (Dynamics adapter): the process dies after a CRM write landed but before the
 * cycle committed it to the state store. The next cycle takes our own write for a seller's edit and,
 * under crm-wins, writes it over the newer Partner Center edit: a lost edit.
 */
describe("a crash between a CRM write and its commit does not lose the other side's next edit", () => {
  it("Microsoft's later notes edit survives", async () => {
    const { clock, crm, pc, store, arm, cycle } = rig();
    const id = crm.createOpportunity(sampleDeal({ notes: "N0" }), { optedIn: true });
    await cycle();
    const referralId = store.getLinkByCrmId(id)!.referralId!;

    clock.advance(60_000);
    pc.editNotes(referralId, "N1 from Microsoft");
    arm();
    await expect(cycle()).rejects.toThrow(/SIGKILL/);
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
    const { clock, crm, pc, cycle } = rig();
    const id = crm.createOpportunity(sampleDeal({ notes: "Seller notes" }), { optedIn: true });
    await expect(cycle(crashAt("after-create-referral"))).rejects.toBeInstanceOf(SimulatedCrash);
    const [referral] = pc.all();
    expect(referral?.externalReferenceId).toBe(id);

    clock.advance(60_000);
    pc.editNotes(referral!.id, "Microsoft: customer wants a POC first");
    clock.advance(60_000);
    await cycle();
    await cycle();

    expect(pc.all()).toHaveLength(1);
    expect(pc.get(referral!.id)!.details?.notes).toBe("Microsoft: customer wants a POC first");
    expect(crm.get(id)!.deal.notes).toBe("Microsoft: customer wants a POC first");
  });
});

/** Found by the Salesforce chaos run: the referral create is lost, the seller renames, the create recovers. */
describe("a seller's edit made between a lost referral create and its recovery", () => {
  it("reaches Partner Center (what was sent, not the CRM's later values, is the ancestor)", async () => {
    const { clock, crm, pc, cycle } = rig();
    const id = crm.createOpportunity(sampleDeal({ name: "Chaos deal 1" }), { optedIn: true });
    await expect(cycle(crashAt("after-create-referral"))).rejects.toBeInstanceOf(SimulatedCrash);
    clock.advance(60_000);
    crm.update(id, { name: "Renamed by the seller" });
    clock.advance(60_000);
    await cycle();
    await cycle();

    expect(pc.all()).toHaveLength(1);
    expect(pc.all()[0]?.name).toBe("Renamed by the seller");
    expect(crm.get(id)?.deal.name).toBe("Renamed by the seller");
  });
});

/** Found by the Salesforce chaos run: the status write carrying the new referral id lands, the commit does not. */
describe("a crash after the CRM status write of a new referral", () => {
  it("keeps Microsoft's later edit (the pending link already holds the baseline)", async () => {
    const { clock, crm, pc, arm, cycle } = rig();
    const id = crm.createOpportunity(sampleDeal({ notes: "Seller notes" }), { optedIn: true });
    arm();
    await expect(cycle()).rejects.toThrow(/SIGKILL/);
    const [r] = pc.all();
    clock.advance(60_000);
    pc.editNotes(r!.id, "Microsoft: POC first");
    clock.advance(60_000);
    await cycle();
    await cycle();

    expect(pc.all()).toHaveLength(1);
    expect(pc.get(r!.id)?.details?.notes).toBe("Microsoft: POC first");
    expect(crm.get(id)?.deal.notes).toBe("Microsoft: POC first");
  });
});

/** Found by the chaos run: a cycle recognises our echo, then dies before its commit. */
describe("an echo recognised by a cycle that dies before committing", () => {
  it("is still recognised by the next cycle (the ledger entry is consumed only with the commit)", async () => {
    const { clock, crm, pc, store, arm, cycle } = rig();
    const r = pc.sendInbound(sampleInbound({ notes: "Original" }));
    await cycle();
    const crmId = store.getLinkByReferralId(r.id)!.crmId!;
    clock.advance(60_000);
    pc.editNotes(r.id, "N1");
    arm();
    await expect(cycle()).rejects.toThrow(/SIGKILL/);
    clock.advance(60_000);
    pc.editNotes(r.id, "N2");
    await expect(cycle(crashAt("crm-apply"))).rejects.toBeInstanceOf(SimulatedCrash);
    clock.advance(60_000);
    await cycle();
    await cycle();

    expect(pc.get(r.id)?.details?.notes).toBe("N2");
    expect(crm.get(crmId)?.deal.notes).toBe("N2");
    expect(crm.get(crmId)?.status?.state).toBe("synced");
  });
});

/** Found by the chaos run (memory CRM): the CRM create for an inbound referral lands, its commit does not. */
describe("a crash after the CRM record for an inbound referral was created", () => {
  it("keeps Microsoft's later edit and creates no second record", async () => {
    const { clock, crm, pc, arm, cycle } = rig();
    const r = pc.sendInbound(sampleInbound({ notes: "Wants Dynamics 365 for field service." }));
    arm();
    await expect(cycle()).rejects.toThrow(/SIGKILL/);
    expect(crm.all()).toHaveLength(1);
    clock.advance(60_000);
    pc.editNotes(r.id, "Microsoft note 72");
    clock.advance(60_000);
    await cycle();
    await cycle();

    expect(crm.all()).toHaveLength(1);
    expect(pc.get(r.id)?.details?.notes).toBe("Microsoft note 72");
    expect(crm.all()[0]?.deal.notes).toBe("Microsoft note 72");
  });
});
