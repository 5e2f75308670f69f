import { describe, expect, it } from "vitest";
import {
  type CallStats,
  planCycle,
  referralToDeal,
  runCycle,
  StepTimeoutError,
  SyncRulesSchema,
} from "../../src/index.js";
import { MemoryStateStore } from "../../src/sync/store-memory.js";
import { sampleDeal } from "../../src/testing/index.js";
import { storeSnapshot, world } from "./harness.js";

const delta = (a: CallStats, b: CallStats): CallStats => ({
  total: a.total - b.total,
  reads: a.reads - b.reads,
  writes: a.writes - b.writes,
});

describe("runCycle: the summary", () => {
  it("counts steps per kind, errors, and API calls per side (matching what each side counted)", async () => {
    const w = world();
    const a = w.crm.createOpportunity(sampleDeal({ name: "A" }), { optedIn: true });
    w.crm.createOpportunity(sampleDeal({ name: "B" }), { optedIn: true });
    const bad = w.crm.createOpportunity(sampleDeal({ name: "C", team: [] }), { optedIn: true });
    w.crm.createOpportunity(sampleDeal({ name: "D" }), { optedIn: false });
    w.pc.sendInbound({ name: "E" });
    const crm0 = w.adapter.stats();
    const pc0 = w.pc.stats();

    const { summary, plan } = await runCycle(w.deps());

    expect(summary.dryRun).toBe(false);
    expect(summary.mode).toBe("incremental");
    expect(summary.steps).toEqual({ create: 3, invalid: 1 });
    expect(plan.steps.filter((s) => s.kind === "create").map((s) => s.kind === "create" && s.side)).toEqual([
      "partnerCenter",
      "partnerCenter",
      "crm",
    ]);
    expect(summary.errors).toEqual([expect.objectContaining({ key: `crm:${bad}`, code: "TEAM_REQUIRED" })]);
    expect(summary.apiCalls.crm).toEqual(delta(w.adapter.stats(), crm0));
    expect(summary.apiCalls.partnerCenter).toEqual(delta(w.pc.stats(), pc0));
    // Two referrals created, each with one call (their intents were recorded just now, so no look-up
    // by CRM id), plus one list page.
    expect(summary.apiCalls.partnerCenter).toEqual({ total: 3, reads: 1, writes: 2 });
    // One change page, one CRM batch for the three status writes, one for the inbound create.
    expect(summary.apiCalls.crm).toEqual({ total: 3, reads: 1, writes: 2 });
    expect(w.store.listCycles(1)[0]).toEqual(summary);

    w.crm.update(a, { notes: "edited" });
    w.clock.advance(1000);
    const second = (await runCycle(w.deps())).summary;
    expect(second.steps).toMatchObject({ update: 1 });
    expect(second.apiCalls.partnerCenter.writes).toBe(1);
  });

  it("records the echoes it suppressed", async () => {
    const w = world();
    const id = w.crm.createOpportunity(sampleDeal(), { optedIn: true });
    await runCycle(w.deps());
    const ref = w.pc.all()[0]!;
    w.pc.editNotes(ref.id, "From Microsoft");
    w.clock.advance(1000);
    await runCycle(w.deps());
    expect(w.crm.get(id)?.deal.notes).toBe("From Microsoft");
    // The CRM now reports the notes we wrote: the ledger recognises them.
    w.clock.advance(1000);
    const { summary } = await runCycle(w.deps());
    expect(summary.suppressedEchoes).toBeGreaterThan(0);
    expect(summary.apiCalls.crm.writes + summary.apiCalls.partnerCenter.writes).toBe(0);
  });

  it("a seller's edit back to a value cosell once wrote is still synced (the echo was consumed when it came back)", async () => {
    const w = world();
    const id = w.crm.createOpportunity(sampleDeal(), { optedIn: true });
    await runCycle(w.deps());
    const ref = w.pc.all()[0]!;
    const cycle = async () => {
      w.clock.advance(1000);
      return (await runCycle(w.deps())).summary;
    };
    w.pc.editNotes(ref.id, "B");
    await cycle(); // cosell writes B to the CRM
    await cycle(); // B comes back through the CRM's change feed: our echo
    w.crm.update(id, { notes: "C" });
    await cycle();
    expect(w.pc.get(ref.id)?.details?.notes).toBe("C");
    w.crm.update(id, { notes: "B" }); // the seller reverts
    await cycle();
    expect(w.pc.get(ref.id)?.details?.notes).toBe("B");
  });

  it("a stale ledger entry (our write, overwritten by the seller before we saw it) does not swallow a later edit", async () => {
    const w = world();
    const id = w.crm.createOpportunity(sampleDeal(), { optedIn: true });
    await runCycle(w.deps());
    const ref = w.pc.all()[0]!;
    const cycle = async (ms = 1000) => {
      w.clock.advance(ms);
      return (await runCycle(w.deps())).summary;
    };
    w.pc.editNotes(ref.id, "bravo");
    await cycle(); // cosell writes bravo to the CRM…
    w.crm.update(id, { notes: "alpha" }); // …and the seller overwrites it before the echo is read
    await cycle();
    expect(w.pc.get(ref.id)?.details?.notes).toBe("alpha");
    w.crm.update(id, { notes: "bravo" });
    await cycle(10 * 60_000); // past the re-read overlap: only the CRM's change feed brings the edit
    expect(w.pc.get(ref.id)?.details?.notes).toBe("bravo");
  });

  it("two CRM writes of one field cut off by crashes (the first landed, the second did not): the first is still our echo, Microsoft's newer edit wins", async () => {
    const w = world();
    const id = w.crm.createOpportunity(sampleDeal({ notes: "original" }), { optedIn: true });
    await runCycle(w.deps());
    const ref = w.pc.all()[0]!;
    const apply = w.adapter.apply.bind(w.adapter);
    const dies = (landsFirst: boolean) => ({
      ...w.adapter,
      apply: async (writes: Parameters<typeof apply>[0]) => {
        // The process is killed during the CRM write: with or without the write having landed.
        if (landsFirst) await apply(writes);
        throw new Error("killed");
      },
    });

    w.pc.editNotes(ref.id, "Microsoft note 1");
    w.clock.advance(1000);
    await expect(runCycle(w.deps({ adapter: dies(true) }))).rejects.toThrow("killed");
    expect(w.crm.get(id)?.deal.notes).toBe("Microsoft note 1");

    w.pc.editNotes(ref.id, "Microsoft note 2");
    w.clock.advance(1000);
    await expect(runCycle(w.deps({ adapter: dies(false) }))).rejects.toThrow("killed");
    expect(w.crm.get(id)?.deal.notes).toBe("Microsoft note 1");

    // The CRM shows the first write, not a seller's edit: under crm-wins it must not overwrite note 2.
    w.clock.advance(1000);
    const { summary } = await runCycle(w.deps());
    expect(summary.errors).toEqual([]);
    expect(w.pc.get(ref.id)?.details?.notes).toBe("Microsoft note 2");
    expect(w.crm.get(id)?.deal.notes).toBe("Microsoft note 2");
  });

  it("a refused write forgets only its own value: an earlier write of the field still awaiting its echo stays recognised", async () => {
    const w = world();
    const id = w.crm.createOpportunity(sampleDeal({ notes: "original" }), { optedIn: true });
    await runCycle(w.deps());
    const ref = w.pc.all()[0]!;
    const apply = w.adapter.apply.bind(w.adapter);

    w.pc.editNotes(ref.id, "Microsoft note 1");
    w.clock.advance(1000);
    const landsThenDies = {
      ...w.adapter,
      apply: async (writes: Parameters<typeof apply>[0]) => {
        await apply(writes);
        throw new Error("killed");
      },
    };
    await expect(runCycle(w.deps({ adapter: landsThenDies }))).rejects.toThrow("killed");

    w.pc.editNotes(ref.id, "Microsoft note 2");
    w.clock.advance(1000);
    const refuses = {
      ...w.adapter,
      apply: async (writes: Parameters<typeof apply>[0]) =>
        writes.map((wr) => ({
          ok: false as const,
          ...(wr.op === "create" ? {} : { crmId: wr.crmId }),
          error: { code: "HTTP_503", message: "Service unavailable", retryable: true },
        })),
    };
    await runCycle(w.deps({ adapter: refuses }));
    expect(w.crm.get(id)?.deal.notes).toBe("Microsoft note 1");

    w.clock.advance(1000);
    await runCycle(w.deps());
    expect(w.pc.get(ref.id)?.details?.notes).toBe("Microsoft note 2");
    expect(w.crm.get(id)?.deal.notes).toBe("Microsoft note 2");
  });

  it("a record already won or lost when it is opted in: the referral is created accepted, then closed", async () => {
    const w = world();
    const won = w.crm.createOpportunity(sampleDeal({ name: "Won" }), { optedIn: false });
    const lost = w.crm.createOpportunity(sampleDeal({ name: "Lost" }), { optedIn: false });
    w.crm.setStage(won, "won");
    w.crm.setStage(lost, "lost", "Went with a competitor");
    w.crm.setOptIn(won, true);
    w.crm.setOptIn(lost, true);
    const { summary } = await runCycle(w.deps());
    expect(summary.errors).toEqual([]);
    const stageOf = (id: string) => {
      const r = w.pc.all().find((x) => x.externalReferenceId === id)!;
      return [r.substatus, r.statusReason ?? undefined];
    };
    expect(stageOf(won)).toEqual(["Won", undefined]);
    expect(stageOf(lost)).toEqual(["Lost", "Went with a competitor"]);
  });

  it("a crash thrown from a checkpoint stops the cycle instead of being recorded as a record error", async () => {
    const w = world();
    w.crm.createOpportunity(sampleDeal(), { optedIn: true });
    const crash = new Error("power cut");
    await expect(
      runCycle(
        w.deps({
          checkpoint: (name) => {
            if (name === "create-referral") throw crash;
          },
        }),
      ),
    ).rejects.toBe(crash);
    expect(w.store.listRecordErrors()).toEqual([]);
    expect(w.pc.all()).toEqual([]);
  });
});

describe("runCycle: lifecycle bookkeeping", () => {
  it("edits on a received referral wait in the outbox; the accept carries them and empties it", async () => {
    const w = world();
    const ref = w.pc.sendInbound({ name: "Inbound" });
    await runCycle(w.deps());
    const opp = w.crm.all().find((o) => o.referralId === ref.id)!;
    const link = () => w.store.getLinkByReferralId(ref.id)!;

    w.crm.update(opp.crmId, { notes: "Seller's first notes", closeDate: "2026-11-30" });
    w.clock.advance(1000);
    const deferred = await runCycle(w.deps());
    expect(deferred.summary.steps.defer).toBe(1);
    expect(deferred.summary.apiCalls.partnerCenter.writes).toBe(0);
    expect(w.store.listOutbox(link().linkId)).toEqual([
      expect.objectContaining({ side: "partnerCenter", fields: ["closeDate", "notes", "crmId"] }),
    ]);
    expect(w.crm.get(opp.crmId)?.status).toMatchObject({
      state: "deferred",
      lastError: expect.stringContaining("once the referral is accepted"),
    });
    expect(w.pc.get(ref.id)?.details?.notes).not.toBe("Seller's first notes");

    w.crm.setStage(opp.crmId, "accepted");
    w.clock.advance(1000);
    await runCycle(w.deps());
    const accepted = referralToDeal(w.pc.get(ref.id)!);
    expect(accepted).toMatchObject({
      stage: "accepted",
      notes: "Seller's first notes",
      closeDate: "2026-11-30",
      crmId: opp.crmId,
    });
    expect(w.store.listOutbox(link().linkId)).toEqual([]);
    expect(w.crm.get(opp.crmId)?.status).toMatchObject({ state: "synced", lastError: null });
  });

  it("a lost state store: pairs are re-linked by the ids each side carries, without duplicates, and go quiet", async () => {
    const w = world();
    const ids = ["A", "B"].map((name) => w.crm.createOpportunity(sampleDeal({ name }), { optedIn: true }));
    const inbound = w.pc.sendInbound({ name: "Inbound" });
    await runCycle(w.deps());
    w.store = new MemoryStateStore(); // the state file was deleted

    for (let i = 0; i < 3; i++) {
      w.clock.advance(1000);
      const { summary } = await runCycle(w.deps());
      expect(summary.errors).toEqual([]);
      if (i > 0)
        expect(summary.apiCalls.crm.writes + summary.apiCalls.partnerCenter.writes, `cycle ${i}`).toBe(0);
    }
    expect(w.pc.all()).toHaveLength(3);
    expect(w.crm.all()).toHaveLength(3);
    for (const id of ids) expect(w.store.getLinkByCrmId(id)).toMatchObject({ state: "linked" });
    expect(w.store.getLinkByReferralId(inbound.id)).toMatchObject({ state: "linked" });
  });

  it("a referral changed between read and write (412): re-read, re-plan, nothing of Microsoft's lost", async () => {
    const w = world();
    const id = w.crm.createOpportunity(sampleDeal(), { optedIn: true });
    await runCycle(w.deps());
    const ref = w.pc.all()[0]!;
    w.crm.update(id, { value: { amount: 99_000, currency: "USD" } });
    w.clock.advance(1000);
    let raced = false;
    const { summary } = await runCycle(
      w.deps({
        checkpoint: (name) => {
          // Microsoft edits the notes after cosell read the referral, before it writes.
          if (name === "partner-center-update" && !raced) {
            raced = true;
            w.pc.editNotes(ref.id, "Microsoft, meanwhile");
          }
        },
      }),
    );
    expect(raced).toBe(true);
    expect(summary.errors).toEqual([]);
    const after = referralToDeal(w.pc.get(ref.id)!);
    expect(after.value?.amount).toBe(99_000);
    expect(after.notes).toBe("Microsoft, meanwhile");
    expect(w.crm.get(id)?.deal.notes).toBe("Microsoft, meanwhile");
  });
});

describe("planCycle: a dry run", () => {
  it("reads both sides, returns the plan, and writes nothing: store, CRM and Partner Center unchanged", async () => {
    const w = world();
    const a = w.crm.createOpportunity(sampleDeal({ name: "Linked" }), { optedIn: true });
    await runCycle(w.deps());
    w.clock.advance(60_000);
    // Pending work on both sides: an edit each way, a new opt-in, an inbound referral, a stage move.
    w.crm.update(a, { notes: "Seller edit" });
    w.pc.editNotes(w.pc.all()[0]!.id, "Microsoft edit");
    w.crm.createOpportunity(sampleDeal({ name: "New" }), { optedIn: true });
    w.pc.sendInbound({ name: "Inbound" });
    w.clock.advance(1000);

    const store0 = storeSnapshot(w.store);
    const crm0 = structuredClone(w.crm.all());
    const pc0 = structuredClone(w.pc.all());
    const crmStats = w.adapter.stats();
    const pcStats = w.pc.stats();

    const { summary, plan } = await planCycle(w.deps());
    const reconcile = await planCycle(w.deps(), { mode: "reconcile" });
    expect(reconcile.summary.apiCalls.crm.writes + reconcile.summary.apiCalls.partnerCenter.writes).toBe(0);

    expect(summary.dryRun).toBe(true);
    expect(plan.steps.map((s) => s.kind).sort()).toEqual(["create", "create", "update"]);
    expect(summary.apiCalls.crm.writes).toBe(0);
    expect(summary.apiCalls.partnerCenter.writes).toBe(0);
    expect(delta(w.adapter.stats(), crmStats).writes).toBe(0);
    expect(delta(w.pc.stats(), pcStats).writes).toBe(0);
    expect(storeSnapshot(w.store)).toEqual(store0);
    expect(w.crm.all()).toEqual(crm0);
    expect(w.pc.all()).toEqual(pc0);

    // The real cycle does what the plan said.
    const real = await runCycle(w.deps());
    expect(real.plan.steps.map((s) => s.kind).sort()).toEqual(plan.steps.map((s) => s.kind).sort());
  });
});

describe("runCycle: a record deleted in the CRM", () => {
  it("stays deleted when its referral changes later: nothing is written to the CRM for it", async () => {
    const w = world();
    const id = w.crm.createOpportunity(sampleDeal(), { optedIn: true });
    await runCycle(w.deps());
    const ref = w.pc.all()[0]!;
    w.crm.delete(id);
    w.clock.advance(1000);
    await runCycle(w.deps());
    expect(w.store.getLinkByCrmId(id)?.state).toBe("crmDeleted");

    w.pc.editNotes(ref.id, "Microsoft still edits it");
    w.clock.advance(1000);
    const crm0 = w.adapter.stats();
    const { summary } = await runCycle(w.deps());
    expect(w.adapter.stats().writes - crm0.writes).toBe(0);
    expect(summary.errors).toEqual([]);
    expect(w.crm.get(id)).toBeUndefined();
    expect(w.store.getLinkByCrmId(id)?.state).toBe("crmDeleted");
  });
});

describe("runCycle: a deleted record reported by its id alone", () => {
  it("keeps the link's last deal (not a blank one) and marks the link deleted", async () => {
    const w = world();
    const id = w.crm.createOpportunity(sampleDeal({ name: "Kept name" }), { optedIn: true });
    await runCycle(w.deps());
    const before = w.store.getLinkByCrmId(id)!;
    // A change feed that reports a delete with the id alone, as Dataverse's `$deletedEntity` does.
    const adapter = w.adapter;
    const idOnly = {
      ...adapter,
      async *changes(cursor: string | undefined, options: { overlapMs: number }) {
        for await (const page of adapter.changes(cursor, options))
          yield {
            ...page,
            records: page.records.map((r) => (r.crmId === id ? { ...r, deal: { ...r.deal, name: "" } } : r)),
          };
      },
    };
    w.crm.delete(id);
    w.clock.advance(1000);
    const { summary } = await runCycle(w.deps({ adapter: idOnly }));
    expect(summary.errors).toEqual([]);
    const after = w.store.getLinkByCrmId(id)!;
    expect(after.state).toBe("crmDeleted");
    expect(after.crm?.name).toBe("Kept name");
    expect(after.crm).toEqual(before.crm);
  });
});

describe("runCycle: an aborted signal", () => {
  it("finishes the batch in flight, leaves the rest (and the cursors) for the next cycle, and never duplicates", async () => {
    const w = world({ adapter: { batchSize: 2 } });
    const ids = [1, 2, 3, 4, 5].map((n) =>
      w.crm.createOpportunity(sampleDeal({ name: `Deal ${n}` }), { optedIn: true }),
    );
    const stop = new AbortController();
    const first = await runCycle(
      w.deps({
        signal: stop.signal,
        checkpoint: (name) => {
          if (name === "after-create-referral") stop.abort();
        },
      }),
    );
    expect(first.summary.interrupted).toBe(true);
    expect(w.pc.all()).toHaveLength(2);
    expect(w.store.getCursor("crm")).toBeUndefined();
    expect(w.store.getCursor("partnerCenter")).toBeUndefined();

    w.clock.advance(1000);
    const second = await runCycle(w.deps());
    expect(second.summary.interrupted).toBeUndefined();
    expect(second.summary.errors).toEqual([]);
    expect(w.pc.all()).toHaveLength(5);
    for (const id of ids) expect(w.pc.all().filter((r) => r.externalReferenceId === id)).toHaveLength(1);
  });
});

describe("runCycle: a deal shared already lost but without a reason", () => {
  it("gets its referral and reports REASON_REQUIRED in the same cycle; the next cycle writes nothing", async () => {
    const w = world();
    const id = w.crm.createOpportunity(sampleDeal({ stage: "lost", closeReason: undefined }), {
      optedIn: true,
    });
    const { summary } = await runCycle(w.deps());
    expect(w.pc.all()).toHaveLength(1);
    expect(summary.errors).toEqual([expect.objectContaining({ code: "REASON_REQUIRED" })]);
    expect(w.crm.get(id)?.status).toMatchObject({ state: "error" });

    w.clock.advance(1000);
    const crm0 = w.adapter.stats();
    const pc0 = w.pc.stats();
    await runCycle(w.deps());
    expect(w.adapter.stats().writes - crm0.writes + (w.pc.stats().writes - pc0.writes)).toBe(0);
  });
});

describe("runCycle: a referral listed without an eTag", () => {
  it("is re-read before it is written: never an unconditional If-Match: *", async () => {
    const w = world();
    const id = w.crm.createOpportunity(sampleDeal(), { optedIn: true });
    await runCycle(w.deps());
    const ref = w.pc.all()[0]!;
    const etags: string[] = [];
    const pc = Object.create(w.pc) as typeof w.pc;
    pc.listReferrals = async function* (filter) {
      for await (const page of w.pc.listReferrals(filter))
        yield page.map(({ eTag: _e, ...r }) => r as typeof r);
    };
    pc.updateReferral = (refId, body, eTag) => {
      etags.push(eTag);
      return w.pc.updateReferral(refId, body, eTag);
    };
    w.pc.editNotes(ref.id, "Microsoft's edit");
    w.crm.update(id, { name: "Renamed in the CRM" });
    w.clock.advance(1000);
    const { summary } = await runCycle(w.deps({ partnerCenter: pc }));
    expect(summary.errors).toEqual([]);
    expect(etags.length).toBeGreaterThan(0);
    expect(etags).not.toContain("*");
    expect(w.pc.get(ref.id)?.name).toBe("Renamed in the CRM");
    expect(w.pc.get(ref.id)?.details?.notes).toBe("Microsoft's edit");
  });
});

describe("runCycle: the step deadline (sync.stepTimeoutMs)", () => {
  it("ends a step whose CRM never answers with SYNC_STEP_TIMEOUT (retryable) and leaves cursors unmoved", async () => {
    const w = world({ rules: { stepTimeoutMs: 50 } });
    w.crm.createOpportunity(sampleDeal({ name: "A" }), { optedIn: true });
    await runCycle(w.deps());
    const before = storeSnapshot(w.store);
    w.crm.createOpportunity(sampleDeal({ name: "B" }), { optedIn: true });
    w.clock.advance(1000);
    // The CRM stops answering: every read hangs forever.
    const hung = Object.create(w.adapter) as typeof w.adapter;
    hung.changes = () => ({
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => {}) }),
    });
    const err = await runCycle(w.deps({ adapter: hung })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepTimeoutError);
    expect(err).toMatchObject({ code: "SYNC_STEP_TIMEOUT", retryable: true });
    expect((storeSnapshot(w.store) as { cursors: unknown }).cursors).toEqual(
      (before as { cursors: unknown }).cursors,
    );
  });

  it("refuses a step deadline that is not a positive whole number, saying the default", () => {
    expect(() => SyncRulesSchema.parse({ stepTimeoutMs: 0 })).toThrow(/default is 600000/);
    expect(SyncRulesSchema.parse({}).stepTimeoutMs).toBe(600_000);
  });
});
