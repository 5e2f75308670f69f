import { expect } from "vitest";
import {
  type CycleSummary,
  isArchived,
  isMicrosoftInvitation,
  type Referral,
  referralToDeal,
  runCycle,
  type Stage,
} from "../../src/index.js";
import { crashAt, type OpportunityView, SimulatedCrash, sampleDeal } from "../../src/testing/index.js";
import { type World, world } from "./harness.js";

/**
 * The model behind the convergence property test: the actions a scenario is made of, the oracle that
 * restates the spec, and a Scenario that plays actions on the real engine and the oracle side by side.
 * Kept apart from the property test so recorded counterexamples replay as plain regression tests.
 */

export const DAY = 86_400_000;
export const CHECKPOINT_NAMES = [
  "link-before-create",
  "create-referral",
  "after-create-referral",
  "crm-create",
  "crm-apply",
  "partner-center-update",
  "partner-center-transition",
] as const;
export const NOTES = ["alpha", "bravo", "charlie"] as const;

export type Action =
  | { t: "create"; optedIn: boolean }
  | { t: "optIn"; i: number }
  | { t: "crmNotes"; i: number; s: string }
  | { t: "crmAmount"; i: number; n: number }
  | { t: "crmStage"; i: number; stage: "accepted" | "won" | "lost" }
  | { t: "help"; i: number }
  | { t: "inbound" }
  | { t: "msNotes"; j: number; s: string }
  | { t: "msEngage"; j: number }
  | { t: "msDecline"; j: number }
  | { t: "advance"; ms: number }
  | { t: "sync" }
  | { t: "crash"; point: (typeof CHECKPOINT_NAMES)[number]; occurrence: number };

// ── the oracle ──────────────────────────────────────────────────────────────────────────────────

/** What the oracle tracks of one side: the synced fields it reasons about. */
interface Side {
  notes?: string;
  amount: number;
  stage: Stage;
  reason?: string;
}

/** One deal as the oracle sees it: the CRM side, the Partner Center side, what both last agreed on. */
interface MPair {
  origin: "crm" | "microsoft";
  /** Known from the start for the seller's records; for inbound ones, learnt from the CRM record. */
  crmId?: string;
  /** Known from the start for inbound referrals; for the seller's records, learnt from Partner Center. */
  referralId?: string;
  optedIn: boolean;
  crm?: Side;
  pc?: Side;
  base?: Side;
  expiresAt?: number;
}

const closedLost = (s: Stage): Stage => (s === "declined" ? "lost" : s);
const sameStage = (a: Side, b: Side) => closedLost(a.stage) === closedLost(b.stage) && a.reason === b.reason;
const exactStage = (a: Side, b: Side) => a.stage === b.stage && a.reason === b.reason;

class Oracle {
  readonly pairs: MPair[] = [];

  /** One sync cycle, as the spec describes it. */
  sync(now: number): void {
    for (const p of this.pairs)
      if (p.pc?.stage === "received" && p.expiresAt !== undefined && now >= p.expiresAt)
        p.pc.stage = "expired";
    const linked = this.pairs.filter((p) => p.crm && p.pc);
    for (const p of this.pairs) {
      if (p.origin === "crm" && p.optedIn && !p.pc) {
        // Shared: the referral starts accepted with the CRM's values, then follows the CRM's stage.
        p.pc = { notes: p.crm!.notes, amount: p.crm!.amount, stage: "accepted" };
        p.base = { ...p.pc };
        this.merge(p);
      } else if (p.origin === "microsoft" && !p.crm && !isArchived({ stage: p.pc!.stage })) {
        p.crm = { ...p.pc! };
        p.base = { ...p.pc! };
      }
    }
    for (const p of linked) this.merge(p);
  }

  private merge(p: MPair): void {
    const crm = p.crm!;
    const pc = p.pc!;
    const base = p.base!;
    const before = pc.stage;
    const archived = isArchived({ stage: before });
    let accepting = false;
    if (!sameStage(crm, pc)) {
      const crmChanged = !sameStage(crm, base);
      if (crmChanged && !archived) {
        const target = crm.stage;
        if (before === "received" && target !== "lost") accepting = true;
        pc.stage = target === "lost" && before === "received" ? "declined" : target;
        pc.reason = target === "lost" ? crm.reason : undefined;
      } else {
        crm.stage = pc.stage;
        crm.reason = pc.reason;
      }
    }
    const editable = !archived && (before === "accepted" || accepting);
    for (const f of ["notes", "amount"] as const) {
      if (crm[f] === pc[f]) {
        Object.assign(base, { [f]: crm[f] });
        continue;
      }
      if (crm[f] !== base[f]) {
        if (editable) {
          Object.assign(pc, { [f]: crm[f] });
          Object.assign(base, { [f]: crm[f] });
        }
      } else if (pc[f] !== base[f]) {
        Object.assign(crm, { [f]: pc[f] });
        Object.assign(base, { [f]: pc[f] });
      }
    }
    if (sameStage(crm, pc)) {
      base.stage = pc.stage;
      base.reason = pc.reason;
    }
  }
}

// ── running one scenario ────────────────────────────────────────────────────────────────────────

const sideOfOpp = (o: OpportunityView): Side => ({
  notes: o.deal.notes,
  amount: o.deal.value?.amount ?? 0,
  stage: o.deal.stage,
  reason: o.deal.closeReason,
});
const sideOfReferral = (r: Referral): Side => {
  const d = referralToDeal(r);
  return { notes: d.notes, amount: d.value?.amount ?? 0, stage: d.stage, reason: d.closeReason };
};

export class Scenario {
  readonly w: World = world({ adapter: { pageSize: 3, batchSize: 4 }, pcPageSize: 3 });
  readonly oracle = new Oracle();
  readonly log: string[] = [];
  private names = 0;

  /** The oracle's pair for a real CRM record (it must know every record the engine made). */
  private pairOfOpp(o: OpportunityView): MPair {
    const p =
      this.oracle.pairs.find((x) => x.crmId === o.crmId) ??
      this.oracle.pairs.find((x) => x.origin === "microsoft" && x.referralId === o.referralId && x.crm);
    if (!p)
      throw new Error(`The CRM holds ${o.crmId} (referral ${o.referralId}), which the oracle never created.`);
    p.crmId ??= o.crmId;
    return p;
  }

  /** The oracle's pair for a real referral. */
  private pairOfReferral(r: Referral): MPair {
    const p =
      this.oracle.pairs.find((x) => x.referralId === r.id) ??
      this.oracle.pairs.find((x) => x.origin === "crm" && x.crmId === r.externalReferenceId && x.pc);
    if (!p)
      throw new Error(
        `Partner Center holds ${r.id} (CRM id ${r.externalReferenceId}), which the oracle never created.`,
      );
    p.referralId ??= r.id;
    return p;
  }

  /** The real CRM record of a pair, if there is one. */
  private oppOf(p: MPair): OpportunityView | undefined {
    if (p.crmId) return this.w.crm.get(p.crmId);
    return this.w.crm.all().find((o) => o.referralId === p.referralId);
  }

  /** The real referral of a pair, if there is one. */
  private referralOf(p: MPair): Referral | undefined {
    if (p.referralId) return this.w.pc.get(p.referralId);
    return this.w.pc.all().find((r) => r.externalReferenceId === p.crmId);
  }

  async run(action: Action): Promise<void> {
    const { w, oracle } = this;
    this.log.push(JSON.stringify(action));
    // Actions pick a deal (the oracle's pairs, in creation order) and act on its side in the real system.
    const n = "i" in action ? action.i : "j" in action ? action.j : undefined;
    const pair = n !== undefined && oracle.pairs.length ? oracle.pairs[n % oracle.pairs.length] : undefined;
    const opp = "i" in action && pair?.crm ? this.oppOf(pair) : undefined;
    const ref = "j" in action && pair?.pc ? this.referralOf(pair) : undefined;
    switch (action.t) {
      case "create": {
        const deal = sampleDeal({ name: `Deal ${++this.names}` });
        const crmId = w.crm.createOpportunity(deal, { optedIn: action.optedIn });
        oracle.pairs.push({
          origin: "crm",
          crmId,
          optedIn: action.optedIn,
          crm: { notes: deal.notes, amount: deal.value!.amount, stage: "accepted" },
        });
        return;
      }
      case "optIn":
        if (!opp) return;
        w.crm.setOptIn(opp.crmId, true);
        this.pairOfOpp(opp).optedIn = true;
        return;
      case "crmNotes":
        if (!opp) return;
        w.crm.update(opp.crmId, { notes: action.s });
        this.pairOfOpp(opp).crm!.notes = action.s;
        return;
      case "crmAmount":
        if (!opp) return;
        w.crm.update(opp.crmId, { value: { amount: action.n, currency: "USD" } });
        this.pairOfOpp(opp).crm!.amount = action.n;
        return;
      case "crmStage": {
        if (!opp) return;
        const reason = action.stage === "lost" ? "Seller: budget cut" : undefined;
        w.crm.setStage(opp.crmId, action.stage, reason);
        Object.assign(this.pairOfOpp(opp).crm!, { stage: action.stage, reason });
        return;
      }
      case "help":
        if (opp) w.crm.requestMicrosoftHelp(opp.crmId, "Need a Microsoft architect.");
        return;
      case "inbound": {
        const r = w.pc.sendInbound({ name: `Inbound ${++this.names}` });
        const d = referralToDeal(r);
        oracle.pairs.push({
          origin: "microsoft",
          referralId: r.id,
          optedIn: true,
          pc: { notes: d.notes, amount: d.value?.amount ?? 0, stage: "received" },
          expiresAt: Date.parse(r.expirationDateTime!),
        });
        return;
      }
      case "msNotes":
        if (!ref || !tryIt(() => w.pc.editNotes(ref.id, action.s))) return;
        this.pairOfReferral(ref).pc!.notes = action.s;
        return;
      case "msEngage":
        if (ref) tryIt(() => w.pc.engage(ref.id));
        return;
      case "msDecline":
        // Microsoft answers on its own, connected referral: the partner's deal keeps its stage and values.
        if (ref) tryIt(() => w.pc.decline(ref.id, "Microsoft: no capacity"));
        return;
      case "advance":
        w.clock.advance(action.ms);
        return;
      case "sync":
        await this.cycle();
        return;
      case "crash": {
        // A cycle that dies at the checkpoint (if it gets there), then the resumed cycle.
        try {
          await runCycle(w.deps({ checkpoint: crashAt(action.point, action.occurrence) }));
        } catch (e) {
          if (!(e instanceof SimulatedCrash)) throw e;
          this.log.push(`  crashed at ${action.point}`);
        }
        // Resumed at once: no time passes, so nothing (an expiry) happens in between.
        await this.cycle();
        return;
      }
    }
  }

  /** One cycle in the engine and in the oracle; then a second passes. */
  async cycle(): Promise<CycleSummary> {
    const now = this.w.clock.now().getTime();
    const { summary } = await runCycle(this.w.deps());
    this.oracle.sync(now);
    this.w.clock.advance(1000);
    return summary;
  }

  /** Compares both systems with the oracle. */
  check(): void {
    const opps = this.w.crm.all();
    // Invitations of Microsoft are connected referrals on a deal's engagement, not deals: never more
    // than one per engagement, and only on a deal that exists.
    const refs = this.w.pc.all().filter((r) => !isMicrosoftInvitation(r));
    const invited = this.w.pc
      .all()
      .filter(isMicrosoftInvitation)
      .map((r) => r.engagementId);
    expect(new Set(invited).size, "one invitation per engagement").toBe(invited.length);
    for (const e of invited)
      expect(
        refs.some((r) => r.engagementId === e),
        `the deal invited on ${e}`,
      ).toBe(true);
    // Every real record is one the oracle expects, and the oracle learns the ids the engine assigned.
    for (const o of opps) this.pairOfOpp(o);
    for (const r of refs) this.pairOfReferral(r);

    for (const p of this.oracle.pairs) {
      const label = `${p.origin} pair crm=${p.crmId} referral=${p.referralId}`;
      const myOpps = opps.filter(
        (o) =>
          (p.crmId ? o.crmId === p.crmId : false) ||
          (p.referralId !== undefined && o.referralId === p.referralId && p.origin === "microsoft"),
      );
      const myRefs = refs.filter(
        (r) =>
          (p.referralId ? r.id === p.referralId : false) ||
          (p.crmId !== undefined && r.externalReferenceId === p.crmId),
      );
      expect(myOpps.length, `${label}: CRM records`).toBe(p.crm ? 1 : 0);
      expect(myRefs.length, `${label}: referrals`).toBe(p.pc ? 1 : 0);
      if (p.origin === "crm") expect(!!p.pc, `${label}: shared iff opted in`).toBe(p.optedIn);
      if (p.crm) expect(sideOfOpp(myOpps[0]!), `${label}: CRM values`).toEqual(p.crm);
      if (p.pc) expect(sideOfReferral(myRefs[0]!), `${label}: Partner Center values`).toEqual(p.pc);
      if (p.crm && p.pc) {
        expect(myOpps[0]!.referralId, `${label}: the CRM record carries its referral id`).toBe(myRefs[0]!.id);
        expect(myOpps[0]!.status?.state, `${label}: sync status`).not.toBe("error");
        if (!isArchived({ stage: p.pc.stage }) && p.pc.stage !== "received")
          expect(
            exactStage(p.crm, p.pc) && p.crm.notes === p.pc.notes && p.crm.amount === p.pc.amount,
            `${label}: both sides agree`,
          ).toBe(true);
      }
    }
  }
}

function tryIt(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

/** Plays a scenario, then two quiet cycles: the second must write nothing and both systems match the oracle. */
export async function playToQuiet(actions: readonly Action[]): Promise<void> {
  const s = new Scenario();
  try {
    for (const a of actions) await s.run(a);
    await s.cycle();
    const quiet = await s.cycle();
    expect(quiet.errors, `errors in the last quiet cycle: ${JSON.stringify(quiet.errors)}`).toEqual([]);
    expect(
      { crm: quiet.apiCalls.crm.writes, partnerCenter: quiet.apiCalls.partnerCenter.writes },
      `writes in the second quiet cycle (steps ${JSON.stringify(quiet.steps)})`,
    ).toEqual({ crm: 0, partnerCenter: 0 });
    s.check();
  } catch (e) {
    throw new Error(`${(e as Error).message}\nactions:\n${s.log.join("\n")}`);
  }
}
