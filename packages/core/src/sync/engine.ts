import { randomUUID } from "node:crypto";
import pLimit from "p-limit";
import type { CoSellDeal } from "../domain/deal.js";
import { transition } from "../domain/lifecycle.js";
import { ConflictError, errorMessage, NotFoundError, StepTimeoutError } from "../errors.js";
import { isMicrosoftInvitation, withMicrosoftInvitation } from "../partner-center/engagement.js";
import { dealToReferral, referralDirection, referralToDeal } from "../partner-center/mapping.js";
import type { Referral } from "../partner-center/referral.js";
import type { CrmAdapter } from "./adapter.js";
import { fieldHash, fieldMembers, sameField, stableJson } from "./compare.js";
import type { DealLock } from "./deal-lock.js";
import { LedgerView } from "./ledger-view.js";
import { ListedReferrals } from "./listed-referrals.js";
import { PageLinks } from "./page-links.js";
import { withPairLocks } from "./pair-lock.js";
import { type PairState, planPair, type ResolvedRules } from "./planner.js";
import type { PartnerCenterPort } from "./ports.js";
import {
  formatReferralWindow,
  nextReferralWindow,
  parseReferralWindow,
  probeConfirms,
  probeOf,
  type ReferralWindow,
} from "./referral-window.js";
import type { StateStore } from "./store.js";
import {
  type CallStats,
  type CrmRecord,
  type CrmWrite,
  type CycleSummary,
  type EchoSeen,
  KEPT_STEPS,
  type Link,
  PARTNER_CENTER_OWNED_FIELDS,
  type Plan,
  type PlanStep,
  type Side,
  SYNC_FIELDS,
  type SyncField,
  type SyncRules,
  SyncRulesSchema,
  type SyncStatus,
} from "./types.js";

/** How far ahead of our clock a Partner Center timestamp may be and still move the cursor. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** Everything a cycle talks to. */
export interface EngineDeps {
  adapter: CrmAdapter;
  partnerCenter: PartnerCenterPort;
  store: StateStore;
  rules?: Partial<SyncRules>;
  /** Injected clock (tests, sandbox). */
  now?: () => Date;
  /** Link to a referral in the Partner Center UI, written onto the CRM record. */
  referralUrl?: (referralId: string) => string;
  /**
   * Called before each externally visible step with its name. Tests throw from here to simulate a
   * crash at that point; `cosell run` uses it to stop between batches.
   */
  checkpoint?: (name: string, detail: { pairKey: string }) => void;
  /**
   * Aborting it stops the cycle between batches: the batch in flight is finished and recorded, the
   * rest waits for the next cycle (cursors are not advanced past unprocessed records). `cosell run`
   * aborts it on SIGINT/SIGTERM.
   */
  signal?: AbortSignal;
  /**
   * When set, each batch is planned and written holding its deals' locks (workers sharing one
   * PostgreSQL state run targeted syncs next to cycles). Unset: the caller holds what it needs.
   */
  dealLock?: DealLock;
  /** Structured events for logging. */
  onEvent?: (event: {
    kind: string;
    message: string;
    pairKey?: string;
    data?: Record<string, unknown>;
  }) => void;
}

export interface CycleOptions {
  /** `reconcile` re-reads everything on both sides (catches missed changes and deletes). */
  mode?: "incremental" | "reconcile";
  /** Plan only: read both sides, write nothing (not even cursors). */
  dryRun?: boolean;
}

export interface CycleResult {
  summary: CycleSummary;
  plan: Plan;
}

const DEFAULT_REFERRAL_URL = (id: string) =>
  `https://partner.microsoft.com/dashboard/referrals/v2/leads/${id}`;
const LEDGER_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** Resolves per-field direction and policy from the rules and what the adapter can hold. */
export function resolveRules(
  rules: SyncRules,
  adapterDirections: Partial<Record<SyncField, string>>,
): ResolvedRules {
  const directions = {} as ResolvedRules["directions"];
  const policies = {} as ResolvedRules["policies"];
  for (const f of SYNC_FIELDS) {
    const wanted = rules.directions[f] ?? "both";
    const can = (adapterDirections[f] ?? "none") as ResolvedRules["directions"][SyncField];
    const owned = PARTNER_CENTER_OWNED_FIELDS.includes(f) ? "toCrm" : "both";
    directions[f] = narrow(narrow(wanted, can), owned);
    policies[f] = rules.fieldPolicies[f] ?? rules.conflictPolicy;
  }
  return { directions, policies };
}

function narrow(a: ResolvedRules["directions"][SyncField], b: ResolvedRules["directions"][SyncField]) {
  if (a === "none" || b === "none") return "none" as const;
  if (a === "both") return b;
  if (b === "both") return a;
  return a === b ? a : ("none" as const);
}

function diffStats(after: CallStats, before: CallStats): CallStats {
  return {
    total: after.total - before.total,
    reads: after.reads - before.reads,
    writes: after.writes - before.writes,
  };
}

/** Reads both sides and returns the plan without writing anything. */
export async function planCycle(
  deps: EngineDeps,
  options: Omit<CycleOptions, "dryRun"> = {},
): Promise<CycleResult> {
  return runCycle(deps, { ...options, dryRun: true });
}

/** One sync cycle: read changes on both sides, plan, apply, write status back, commit cursors. */
export async function runCycle(deps: EngineDeps, options: CycleOptions = {}): Promise<CycleResult> {
  return withStepDeadline("sync cycle", deps, (d) => new Cycle(d, options).run());
}

/**
 * Runs one step under `rules.stepTimeoutMs`. Past it the step's signal is aborted (so, should the hung
 * call ever return, the step stops at the next batch boundary without moving cursors past what it
 * did not apply) and the caller gets a StepTimeoutError at once, not whenever the call returns.
 */
async function withStepDeadline<T>(
  step: string,
  deps: EngineDeps,
  run: (deps: EngineDeps) => Promise<T>,
): Promise<T> {
  const timeoutMs = SyncRulesSchema.parse(deps.rules ?? {}).stepTimeoutMs;
  const expired = new AbortController();
  const signal = deps.signal ? AbortSignal.any([deps.signal, expired.signal]) : expired.signal;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired.abort();
      reject(new StepTimeoutError(step, timeoutMs));
    }, timeoutMs);
  });
  try {
    return await Promise.race([run({ ...deps, signal }), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The records a targeted sync read fresh for one deal (either list may be empty). */
export interface PairRecords {
  crm: readonly CrmRecord[];
  referrals: readonly Referral[];
}

/**
 * Syncs exactly the deals these records belong to (see `syncTarget` in `targeted.ts`, which reads
 * them and holds the deal's lock).
 */
export async function syncPairs(deps: EngineDeps, records: PairRecords): Promise<CycleResult> {
  return withStepDeadline("targeted sync", deps, (d) => new Cycle(d, {}).runPairs(records));
}

interface PairWork {
  pair: PairState;
  /** Records came from this cycle's change feeds (not snapshots). */
  fresh: { crm: boolean; referral: boolean };
}

class Cycle {
  private readonly now: () => Date;
  private readonly rules: SyncRules;
  private resolved!: ResolvedRules;
  private readonly steps: PlanStep[] = [];
  private omittedSteps = 0;
  private readonly summary: CycleSummary;
  private readonly dryRun: boolean;
  private readonly mode: "incremental" | "reconcile";
  private echoes = 0;
  private stopping = false;
  /** Set once `deps.signal` is seen aborted between batches. */
  private interrupted = false;
  private readonly seen = new Set<string>();
  /** Connected referrals inviting Microsoft read or made this cycle, by engagement id. */
  private readonly invitations = new Map<string, Referral>();
  /** The write ledger, read once per record (see LedgerView); cleared with each batch. */
  private readonly ledger: LedgerView;

  constructor(
    private readonly deps: EngineDeps,
    options: CycleOptions,
  ) {
    this.now = deps.now ?? (() => new Date());
    this.ledger = new LedgerView(deps.store);
    this.rules = SyncRulesSchema.parse(deps.rules ?? {});
    this.dryRun = options.dryRun ?? false;
    this.mode = options.mode ?? "incremental";
    const zero = { total: 0, reads: 0, writes: 0 };
    this.summary = {
      cycleId: randomUUID(),
      startedAt: this.now().toISOString(),
      finishedAt: "",
      mode: this.mode,
      dryRun: this.dryRun,
      steps: {},
      errors: [],
      apiCalls: { crm: zero, partnerCenter: zero },
      suppressedEchoes: 0,
    };
  }

  async run(): Promise<CycleResult> {
    const { adapter, partnerCenter: pc, store } = this.deps;
    const crmBefore = adapter.stats();
    const pcBefore = pc.stats();
    const description = await adapter.describe();
    this.resolved = resolveRules(this.rules, description.capabilities.fieldDirections);
    if (!this.dryRun) this.ledger.prune(new Date(this.now().getTime() - LEDGER_TTL_MS).toISOString());

    // Partner Center changes first (usually few); CRM records pair up with them page by page.
    const window =
      this.mode === "incremental"
        ? parseReferralWindow(store.getCursor("partnerCenter"), this.rules.overlapMs)
        : { stamps: [] };
    const readAt = this.now();
    const unreadable: { id: string; error: { code: string; message: string } }[] = [];
    const { read, probed } = await this.readReferrals(window, unreadable);
    const referrals = new ListedReferrals(await this.foldEngagements(read));
    // Only a believable timestamp moves the window: one in the future would hide every change until then.
    const latestBelievable = readAt.getTime() + CLOCK_SKEW_MS;
    const nextWindow = formatReferralWindow(
      nextReferralWindow(window, {
        probed,
        read,
        readAt,
        overlapMs: this.rules.overlapMs,
        believable: (ms) => ms <= latestBelievable,
      }),
    );
    for (const { id, error } of unreadable) this.recordUnreadable(id, error);

    const crmCursor = this.mode === "incremental" ? store.getCursor("crm") : undefined;
    const batchSize = Math.max(1, description.capabilities.batchSize);
    for await (const page of adapter.changes(crmCursor, { overlapMs: this.rules.overlapMs })) {
      const work: PairWork[] = [];
      const links = new PageLinks(store, page.records);
      for (const rec of page.records) work.push(await this.pairForCrm(rec, referrals, links));
      await this.process(work, batchSize);
      if (this.interrupted) break;
      if (!this.dryRun) store.setCursor("crm", page.cursor);
    }
    if (this.interrupted) return this.finish(crmBefore, pcBefore, undefined);

    // Referrals whose CRM side did not change, and pairs waiting in the outbox.
    const rest = await this.referralPairs(referrals);
    // Unfinished business: queued writes, creates that did not complete, records whose last write failed.
    const retry = new Set<string>(store.listOutbox().map((o) => o.linkId));
    for (const l of store.listLinks({ state: "pending" })) retry.add(l.linkId);
    for (const e of store.listRecordErrors()) {
      const [kind, id] = e.key.split(":", 2) as [string, string];
      const l = kind === "crm" ? store.getLinkByCrmId(id) : store.getLinkByReferralId(id);
      if (l) retry.add(l.linkId);
    }
    // A pair already queued above (its referral changed) must not be queued twice: two contexts for one
    // link in one batch would each commit, the stale one last.
    const queued = new Set(rest.map((w) => w.pair.key));
    for (const linkId of retry) {
      const link = store.getLink(linkId);
      if (link && !this.seen.has(link.linkId) && !queued.has(link.linkId))
        rest.push(this.pairFromLink(link, undefined, link.linkId));
    }
    if (this.mode === "reconcile") rest.push(...(await this.missingPairs()));
    await this.process(
      rest.filter((w) => !this.seen.has(w.pair.key)),
      batchSize,
    );
    return this.finish(crmBefore, pcBefore, this.interrupted ? undefined : nextWindow);
  }

  /**
   * Targeted sync: plans and applies only the pairs of these freshly read records, with the same
   * pairing, plan, write-ahead ledger and per-pair commit as a cycle. No feed is read, no cursor
   * moves, and it is not recorded as a cycle.
   */
  async runPairs(records: PairRecords): Promise<CycleResult> {
    const { adapter, partnerCenter: pc } = this.deps;
    const crmBefore = adapter.stats();
    const pcBefore = pc.stats();
    const description = await adapter.describe();
    this.resolved = resolveRules(this.rules, description.capabilities.fieldDirections);
    const referrals = new ListedReferrals(await this.foldEngagements(records.referrals));
    const work: PairWork[] = [];
    for (const rec of records.crm) work.push(await this.pairForCrm(rec, referrals));
    work.push(...(await this.referralPairs(referrals)));
    await this.process(work, Math.max(1, description.capabilities.batchSize));
    return this.finish(crmBefore, pcBefore, undefined, false);
  }

  /**
   * The deals among `read`: a connected referral inviting Microsoft is not a deal of its own but
   * Microsoft's answer on its engagement's deal. It is kept for that deal's pair; a deal not read with
   * it (only Microsoft's side moved) is read through the engagement, so its answer reaches the CRM.
   */
  private async foldEngagements(read: readonly Referral[]): Promise<Referral[]> {
    const { partnerCenter: pc, store } = this.deps;
    const deals: Referral[] = [];
    const answered: string[] = [];
    for (const r of read) {
      if (!isMicrosoftInvitation(r)) deals.push(r);
      else if (r.engagementId) {
        this.invitations.set(r.engagementId, r);
        answered.push(r.engagementId);
      }
    }
    const listed = new Set(deals.map((d) => d.engagementId));
    for (const engagementId of answered) {
      if (listed.has(engagementId)) continue;
      let related: Referral[];
      try {
        related = await pc.listRelatedReferrals(engagementId);
      } catch (e) {
        if (this.stopping) throw e;
        const code = (e as { code?: string }).code ?? "UNEXPECTED";
        this.summary.errors.push({ key: `engagement:${engagementId}`, code, message: errorMessage(e) });
        continue;
      }
      // The partner's own deal on the engagement: the one linked, else the oldest that is not an invitation.
      const candidates = related
        .filter((r) => !isMicrosoftInvitation(r))
        .sort((a, b) => Date.parse(a.createdDateTime) - Date.parse(b.createdDateTime));
      const deal = candidates.find((r) => store.getLinkByReferralId(r.id)) ?? candidates[0];
      if (deal) {
        deals.push(deal);
        listed.add(engagementId);
      }
    }
    return deals;
  }

  /** The pair with the connected referral of its engagement, when this cycle has it. */
  private withInvitation(pair: PairState): PairState {
    const engagementId = pair.referral?.engagementId;
    const invitation = engagementId ? this.invitations.get(engagementId) : undefined;
    return invitation ? { ...pair, invitation } : pair;
  }

  /** Pairs for referrals whose CRM record was not in this read: by link, or adopted by external id. */
  private async referralPairs(referrals: ListedReferrals): Promise<PairWork[]> {
    const { store } = this.deps;
    const rest: PairWork[] = [];
    const adoptable: Referral[] = [];
    for (const r of referrals.values()) {
      const link = store.getLinkByReferralId(r.id);
      if (!link && r.externalReferenceId) adoptable.push(r);
      else rest.push(this.pairFromLink(link, r, `referral:${r.id}`));
    }
    if (adoptable.length) {
      const found = await this.readNamedRecords(adoptable);
      for (const r of adoptable) {
        if (this.seen.has(`referral:${r.id}`)) continue; // marked: its id is not one of this CRM's
        const crm = found.get(r.externalReferenceId!);
        // The record's link without a referral id: a create whose answer was lost (this is that
        // referral). Paired with it, the create's body is the common ancestor; paired without it, the
        // two would be compared as if for the first time and the CRM would overwrite what Microsoft
        // edited since. Keyed by the link, the pending link's retry below is not queued beside it.
        const pending = crm ? store.getLinkByCrmId(crm.crmId) : undefined;
        if (pending && !pending.referralId)
          rest.push({
            pair: {
              key: pending.linkId,
              link: { ...pending, referralId: r.id },
              crm,
              referral: r,
              parked: !!store.getParked(pending.linkId),
            },
            fresh: { crm: true, referral: true },
          });
        else
          rest.push({
            pair: { key: `referral:${r.id}`, crm, referral: r },
            fresh: { crm: !!crm, referral: true },
          });
      }
    }
    return rest;
  }

  /** Commits the Partner Center cursor (unless interrupted) and records the cycle's summary. */
  private finish(
    crmBefore: CallStats,
    pcBefore: CallStats,
    referralCursor: string | undefined,
    record = true,
  ): CycleResult {
    const { adapter, partnerCenter: pc, store } = this.deps;

    if (!this.dryRun && referralCursor) store.setCursor("partnerCenter", referralCursor);
    this.summary.finishedAt = this.now().toISOString();
    this.summary.suppressedEchoes = this.echoes;
    if (this.interrupted) this.summary.interrupted = true;
    this.summary.apiCalls = {
      crm: diffStats(adapter.stats(), crmBefore),
      partnerCenter: diffStats(pc.stats(), pcBefore),
    };
    if (!this.dryRun && record) store.recordCycle(this.summary);
    return {
      summary: this.summary,
      plan: {
        steps: this.steps,
        echoes: [],
        ...(this.omittedSteps ? { omittedSteps: this.omittedSteps } : {}),
      },
    };
  }

  /**
   * The referrals changed since the window's start (see {@link ReferralWindow}): first a probe of the
   * window's end, one page when nothing moved inside it; otherwise, or without a window, the whole
   * listing from its start. `probed` says the window's known part was confirmed and left out.
   */
  private async readReferrals(
    window: ReferralWindow,
    unreadable: { id: string; error: { code: string; message: string } }[],
  ): Promise<{ read: Referral[]; probed: boolean }> {
    const { partnerCenter: pc, store } = this.deps;
    const { since, skip } = probeOf(window);
    if (skip !== undefined) {
      const sinceMs = since?.getTime() ?? Number.NEGATIVE_INFINITY;
      // A referral the window held (its stored copy is inside it) that comes back with another eTag
      // changed inside the window: the positions the probe relies on moved.
      const heldBefore = (r: Referral) => {
        const prev = store.getLinkByReferralId(r.id)?.referral;
        return !!prev && prev.eTag !== r.eTag && Date.parse(prev.updatedDateTime) >= sinceMs;
      };
      const read: Referral[] = [];
      const invalid: typeof unreadable = [];
      let confirmed: boolean | undefined;
      for await (const page of pc.listReferrals({
        updatedSince: since,
        skip,
        onInvalid: (i) => invalid.push(i),
      })) {
        if (confirmed === undefined) {
          confirmed = probeConfirms(window, page, heldBefore);
          if (confirmed) read.push(...page.slice(1));
        } else if (page.some(heldBefore)) confirmed = false;
        else read.push(...page);
        if (!confirmed) break;
      }
      if (confirmed) {
        unreadable.push(...invalid);
        return { read, probed: true };
      }
    }
    const read: Referral[] = [];
    for await (const page of pc.listReferrals({
      updatedSince: since,
      onInvalid: (invalid) => unreadable.push(invalid),
    }))
      read.push(...page);
    return { read, probed: false };
  }

  /** A listed referral Partner Center sent in a shape cosell cannot read: marked, the rest goes on. */
  private recordUnreadable(id: string, error: { code: string; message: string }): void {
    const key = `referral:${id}`;
    this.summary.errors.push({ key, code: error.code, message: error.message });
    this.seen.add(key);
    if (this.dryRun) return;
    this.deps.store.setRecordError({
      key,
      code: error.code,
      message: error.message,
      at: this.now().toISOString(),
    });
    this.audit(this.deps.store.getLinkByReferralId(id), "error", `${error.code}: ${error.message}`);
  }

  /**
   * The CRM records unlinked referrals name in `externalReferenceId`. That field is free text anyone
   * with Partner Center access can set, so each value is checked against the CRM's id syntax first,
   * and a read that fails for the batch is retried one id at a time: a poisoned referral is marked
   * `CRM_ID_INVALID` (or with its read error) and stops only itself.
   */
  private async readNamedRecords(referrals: readonly Referral[]): Promise<Map<string, CrmRecord>> {
    const { adapter } = this.deps;
    const valid: Referral[] = [];
    for (const r of referrals) {
      const id = r.externalReferenceId!;
      const problem = adapter.checkCrmId?.(id);
      if (problem === undefined) valid.push(r);
      else
        this.recordUnreadable(r.id, {
          code: "CRM_ID_INVALID",
          message: `The referral's externalReferenceId ${JSON.stringify(id.slice(0, 100))} is not a CRM opportunity id: ${problem} Correct or clear it in Partner Center; the referral is skipped until then.`,
        });
    }
    const found = new Map<string, CrmRecord>();
    const ids = [...new Set(valid.map((r) => r.externalReferenceId!))];
    if (!ids.length) return found;
    try {
      for (const c of await adapter.read(ids)) found.set(c.crmId, c);
      return found;
    } catch (e) {
      // An outage fails the cycle as any other read would; a refusal is narrowed to the ids behind it.
      if (this.stopping || (e as { retryable?: boolean }).retryable === true) throw e;
    }
    for (const r of valid) {
      const id = r.externalReferenceId!;
      try {
        for (const c of await adapter.read([id])) found.set(c.crmId, c);
      } catch (e) {
        if (this.stopping || (e as { retryable?: boolean }).retryable === true) throw e;
        this.recordUnreadable(r.id, {
          code: (e as { code?: string }).code ?? "CRM_READ_FAILED",
          message: `Reading the CRM record ${JSON.stringify(id.slice(0, 100))} named by the referral's externalReferenceId failed: ${errorMessage(e)}`,
        });
      }
    }
    return found;
  }

  /** Reconcile: linked pairs whose CRM record or referral no longer exists. */
  private async missingPairs(): Promise<PairWork[]> {
    const { store, adapter, partnerCenter: pc } = this.deps;
    const links = store.listLinks({ state: "linked" }).filter((l) => !this.seen.has(l.linkId));
    const present = new Set(
      (await adapter.read(links.map((l) => l.crmId!).filter(Boolean))).map((r) => r.crmId),
    );
    const out: PairWork[] = [];
    for (const link of links) {
      if (link.crmId && !present.has(link.crmId)) {
        if (!this.dryRun)
          store.putLink({ ...link, state: "crmDeleted", updatedAt: this.now().toISOString() });
        this.audit(link, "crmDeleted", "The CRM record no longer exists; the referral is left as it is.");
        this.seen.add(link.linkId);
        continue;
      }
      if (link.referralId) {
        try {
          await pc.getReferral(link.referralId);
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e;
          if (!this.dryRun)
            store.putLink({ ...link, state: "referralMissing", updatedAt: this.now().toISOString() });
          this.audit(link, "referralMissing", "The referral no longer exists in Partner Center.");
          this.seen.add(link.linkId);
        }
      }
    }
    return out;
  }

  private async pairForCrm(rec: CrmRecord, referrals: ListedReferrals, links?: PageLinks): Promise<PairWork> {
    const { store, partnerCenter: pc } = this.deps;
    let link = links ? links.of(rec) : store.getLinkByCrmId(rec.crmId);
    if (!links && !link && rec.referralId) link = store.getLinkByReferralId(rec.referralId);
    const referralId = link?.referralId ?? rec.referralId;
    let referral: Referral | undefined;
    let fresh = false;
    // Neither side names the other, but a listed referral carries this record's id: a create whose
    // link was lost with the state store (a lost store lists everything). Paired here, adopted below,
    // so the create that follows never needs a look-up by CRM id to stay free of duplicates.
    // A link without a referral id is a create whose answer was lost: the listed referral carrying
    // this record's id is that create's, and pairing it here spares the look-up the create's retry
    // would make (and keeps the create's body, the link's baseline, as the common ancestor).
    const named = !referralId ? referrals.byCrmId(rec.crmId) : undefined;
    if (named) {
      referral = named;
      fresh = true;
      referrals.delete(named.id);
      if (link) link = { ...link, referralId: named.id };
    } else if (referralId) {
      referral = referrals.get(referralId);
      fresh = !!referral;
      referrals.delete(referralId);
      if (!referral) referral = link?.referral;
      if (!referral && !link) {
        try {
          referral = await pc.getReferral(referralId);
          fresh = true;
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e;
        }
      }
    }
    // A deleted record comes with its id alone: its deal is the last one this engine knew.
    const crm = rec.deleted && link?.crm ? { ...rec, deal: link.crm } : rec;
    return {
      pair: {
        key: link?.linkId ?? `crm:${rec.crmId}`,
        link,
        crm,
        referral,
        parked: !!(link && store.getParked(link.linkId)),
      },
      fresh: { crm: true, referral: fresh },
    };
  }

  private pairFromLink(link: Link | undefined, referral: Referral | undefined, key: string): PairWork {
    const crm: CrmRecord | undefined =
      link?.crmId && link.crm
        ? {
            crmId: link.crmId,
            optedIn: link.crmOptedIn ?? true,
            referralId: link.referralId,
            deal: link.crm,
            modifiedAt: link.crmModifiedAt ?? link.updatedAt,
            // A record the CRM reported deleted stays deleted when only its referral changes.
            ...(link.state === "crmDeleted" ? { deleted: true } : {}),
          }
        : undefined;
    return {
      pair: {
        key: link?.linkId ?? key,
        link,
        crm,
        referral: referral ?? link?.referral,
        parked: !!(link && this.deps.store.getParked(link.linkId)),
      },
      fresh: { crm: false, referral: !!referral },
    };
  }

  /**
   * Any un-consumed write of ours with this value, not only the last one: after a crash, a write that
   * landed without its answer can be followed by another of the same field that never landed, and
   * the first one's value read back is still our echo, not a seller's (or Microsoft's) edit.
   */
  private isEcho = (side: "crm" | "partnerCenter", recordId: string, field: SyncField, deal: CoSellDeal) => {
    // Most fields of most records have no entry: no hash to compute then.
    if (!this.ledger.ofRecord(side, recordId).length) return false;
    return this.ledger.holds(side, recordId, field, fieldHash(deal, field));
  };

  /** Plans and applies a group of pairs, then a follow-up pass for pairs whose create just landed. */
  private async process(work: PairWork[], batchSize: number): Promise<void> {
    for (let i = 0; i < work.length; i += batchSize) {
      if (this.deps.signal?.aborted) {
        this.interrupted = true;
        return;
      }
      const batch = async (w: PairWork[]) => {
        const followUp = await this.processBatch(w);
        if (followUp.length) await this.processBatch(followUp);
      };
      const slice = work.slice(i, i + batchSize);
      const { dealLock } = this.deps;
      await (dealLock && !this.dryRun ? withPairLocks(dealLock, this.deps, slice, batch) : batch(slice));
    }
  }

  private async processBatch(work: PairWork[]): Promise<PairWork[]> {
    const { store } = this.deps;
    // Read afresh under this batch's pair locks: another worker may have written since.
    this.ledger.clear();
    this.prefetchLedger(work);
    const crmWrites: { write: CrmWrite; ctx: PairContext }[] = [];
    const contexts: PairContext[] = [];
    const followUp: PairContext[] = [];
    for (const w of work) {
      this.seen.add(w.pair.key);
      if (w.pair.link) this.seen.add(w.pair.link.linkId);
      w.pair = this.withInvitation(w.pair);
      const plan = planPair(w.pair, { now: this.now(), rules: this.resolved, isEcho: this.isEcho });
      // A real cycle keeps the first steps only (see Plan.omittedSteps): its memory stays flat.
      for (const st of plan.steps)
        if (this.dryRun || this.steps.length < KEPT_STEPS) this.steps.push(st);
        else this.omittedSteps++;
      for (const s of plan.steps) this.summary.steps[s.kind] = (this.summary.steps[s.kind] ?? 0) + 1;
      this.echoes += plan.echoes.length;
      if (this.dryRun) continue;
      const ctx = new PairContext(w, plan.steps, this.now());
      // Consumed with the batch's commit, not now: a crash before it must leave the next cycle knowing
      // that the value it reads is our own write.
      ctx.echoes = plan.echoes;
      this.adopt(ctx);
      contexts.push(ctx);
    }
    if (this.dryRun) return [];
    if (store.writeAheadIntents === "batch") this.writeIntentsAhead(contexts);
    await this.applyPartnerCenterOfBatch(contexts);
    for (const ctx of contexts) {
      const crmWrite = this.crmWriteFor(ctx);
      if (crmWrite) crmWrites.push({ write: crmWrite, ctx });
      if (ctx.createdReferral && ctx.crm && !ctx.failed) followUp.push(ctx);
    }

    // CRM writes for the whole batch in one adapter call (the adapter chunks to its own limits).
    if (crmWrites.length) {
      for (const { ctx } of crmWrites) this.checkpoint("crm-apply", ctx);
      // Written ahead: a crash after the CRM write lands but before this batch commits must not make
      // the next cycle take our own write for a seller's edit (it would overwrite a newer change).
      // One store transaction for the whole batch's entries, not one per record.
      store.transaction(() => {
        for (const { write } of crmWrites)
          if (write.op === "update") this.writeAhead("crm", write.crmId, write.fields, write.deal);
      });
      const results = await this.deps.adapter.apply(crmWrites.map((c) => c.write));
      store.transaction(() => {
        results.forEach((r, i) => {
          const { ctx, write } = crmWrites[i]!;
          if (!r.ok && write.op === "update")
            this.dropWriteAhead("crm", write.crmId, write.fields, write.deal);
          if (r.ok && write.op === "update")
            this.supersedeLedger("crm", write.crmId, write.fields, write.deal);
          if (r.ok) ctx.crmApplied(write, r.crmId);
          // A record without a link shows only what its record error says (see crmWriteFor): when the
          // status write itself failed, remember that failure, so the status is written again later.
          else if (!ctx.link && ctx.failed) ctx.failed = { code: r.error.code, message: r.error.message };
          else ctx.fail(r.error.code, r.error.message);
        });
      });
    }
    store.transaction(() => {
      for (const ctx of contexts) this.commit(ctx);
    });
    // A link made in this batch counts as seen: its failure is retried next cycle, not again in this one.
    for (const ctx of contexts) if (ctx.link) this.seen.add(ctx.link.linkId);
    // A referral created for a deal the CRM already moved on (won, lost, invited) needs its next steps now.
    const next: PairWork[] = [];
    // A referral created in this batch was not known when the batch was read: its entries, in one call.
    this.ledger.prefetch(
      "partnerCenter",
      followUp.flatMap((c) => (c.link?.referralId ? [c.link.referralId] : [])),
    );
    for (const ctx of followUp) {
      // The link as this batch just committed it (commit() stored this very object): reading it back
      // would be one more store round trip per new referral (a blocking one on PostgreSQL).
      const link = ctx.link;
      if (!link) continue;
      const pair = this.withInvitation({
        key: link.linkId,
        link,
        crm: ctx.nextPair().crm,
        referral: link.referral,
      });
      const plan = planPair(pair, { now: this.now(), rules: this.resolved, isEcho: this.isEcho });
      // An invalid step (a lost deal without a reason) is reported now, not a cycle later.
      if (plan.steps.some((st) => st.kind === "update" || st.kind === "transition" || st.kind === "invalid"))
        // Not a fresh read: the pair is rebuilt from what this cycle just wrote.
        next.push({ pair, fresh: { crm: false, referral: false } });
    }
    return next;
  }

  /**
   * A throw from the hook stops the cycle (a simulated crash, or `cosell run` stopping): it must not be
   * mistaken for that record's failure, so `stopping` makes every catch rethrow it.
   */
  /**
   * A CRM record and a referral that name each other (the record carries the referral id, or the
   * referral the CRM id) but have no link — the state store was lost, or the referral was made
   * elsewhere — are linked now. Unlinked, the pair had no baseline and no status hash: its status
   * was rewritten every cycle, which put it back in the CRM's change feed, forever.
   */
  private adopt(ctx: PairContext): void {
    if (ctx.link || !ctx.crm || !ctx.referral) return;
    const existing = this.deps.store.getLinkByCrmId(ctx.crm.crmId);
    if (!existing) ctx.ensureLink(referralDirection(ctx.referral));
    // A create that crashed before it recorded the referral id: this is that referral.
    else if (!existing.referralId) ctx.link = { ...existing, referralId: ctx.referral.id };
  }

  /**
   * The store's `writeAheadIntents` is `"batch"`: the link of every create this batch will make (a
   * referral or a CRM opportunity) is committed in one transaction before the first of them is sent,
   * instead of one commit per create. Each create is still preceded by its durable intent; what a
   * crash costs is one look-up by CRM id for each of the batch's referral creates not yet answered.
   */
  private writeIntentsAhead(contexts: readonly PairContext[]): void {
    const { store } = this.deps;
    const creating: PairContext[] = [];
    for (const ctx of contexts) {
      const create = ctx.steps.find((s) => s.kind === "create");
      if (create?.kind !== "create") continue;
      if (create.side === "partnerCenter") {
        ctx.intent = { firstAttempt: !ctx.link };
        this.prepareReferralIntent(ctx, create.deal);
      } else {
        ctx.intent = { firstAttempt: true };
        ctx.ensureLink(create.deal.direction);
      }
      this.checkpoint("link-before-create", ctx);
      creating.push(ctx);
    }
    if (creating.length)
      store.transaction(() => {
        for (const ctx of creating) store.putLink(ctx.link!);
      });
  }

  /** The link a referral create writes ahead: what it sends is its baseline. */
  private prepareReferralIntent(ctx: PairContext, deal: CoSellDeal): void {
    ctx.ensureLink("outbound");
    // What this create sends is written ahead with the link: if the answer is lost and a later
    // cycle's create recovers the referral, this (not that cycle's CRM values) is the ancestor.
    // Without Microsoft invited: the invitation is a step of its own after the create (a connected
    // referral), so until it is made the CRM's request is a change still to send.
    ctx.link!.baseline ??= { ...deal, invitation: { ...deal.invitation, microsoftHelpRequested: false } };
  }

  /** Reads the ledger entries of every record the batch's pairs name, one store call per side. */
  private prefetchLedger(work: readonly PairWork[]): void {
    const crmIds: string[] = [];
    const referralIds: string[] = [];
    for (const { pair } of work) {
      if (pair.crm) crmIds.push(pair.crm.crmId);
      if (pair.link?.crmId) crmIds.push(pair.link.crmId);
      if (pair.referral) referralIds.push(pair.referral.id);
      if (pair.link?.referralId) referralIds.push(pair.link.referralId);
    }
    this.ledger.prefetch("crm", crmIds);
    this.ledger.prefetch("partnerCenter", referralIds);
  }

  /** Ledger entries for a write about to be sent, so its echo is recognised even after a crash. */
  private writeAhead(side: Side, recordId: string, fields: readonly SyncField[], deal: CoSellDeal) {
    if (this.dryRun) return;
    const writtenAt = this.now().toISOString();
    this.ledger.add(
      fields.map((field) => ({ side, recordId, field, valueHash: fieldHash(deal, field), writtenAt })),
    );
  }

  /**
   * The write was refused: its ledger entries would swallow a later edit to the same value. Only this
   * write's values go: an earlier write of the field may have landed, its echo still to come.
   */
  private dropWriteAhead(side: Side, recordId: string, fields: readonly SyncField[], deal: CoSellDeal) {
    for (const field of fields) this.ledger.consume(side, recordId, field, fieldHash(deal, field));
  }

  /**
   * The write was answered: the record now holds these values, so an earlier entry of the same field
   * (a write whose answer was lost, or whose echo was never read back) can only come back as someone
   * else's edit to that value — kept, it would swallow that edit as our echo. Forgotten at once, not
   * with the batch's commit: a crash before the commit must not leave them behind.
   */
  private supersedeLedger(side: Side, recordId: string, fields: readonly SyncField[], deal: CoSellDeal) {
    if (this.dryRun) return;
    for (const field of fields) {
      const current = fieldHash(deal, field);
      for (const e of this.ledger.entries(side, recordId, field))
        if (e.valueHash !== current) this.ledger.consume(side, recordId, field, e.valueHash);
    }
  }

  private checkpoint(name: string, ctx: PairContext): void {
    try {
      this.deps.checkpoint?.(name, { pairKey: ctx.key });
    } catch (e) {
      this.stopping = true;
      throw e;
    }
  }

  /**
   * The batch's Partner Center steps, `partnerCenterConcurrency` pairs at a time; each pair's steps stay
   * in order, and each pair's create is still preceded by its durable intent (see
   * `StateStore.writeAheadIntents` for what a crash then leaves to look up). Pairs start in batch
   * order. When one throws (a simulated crash, a stop), no further pair starts and the throw waits for
   * those in flight: nothing of this batch runs on after the cycle has returned.
   */
  private async applyPartnerCenterOfBatch(contexts: readonly PairContext[]): Promise<void> {
    const limit = pLimit(this.rules.partnerCenterConcurrency);
    let thrown: { error: unknown } | undefined;
    await Promise.all(
      contexts.map((ctx) =>
        limit(async () => {
          if (thrown) return;
          try {
            await this.applyPartnerCenter(ctx);
          } catch (error) {
            thrown ??= { error };
          }
        }),
      ),
    );
    if (thrown) throw thrown.error;
  }

  /** Executes the pair's Partner Center steps in order; a 412 re-reads, re-plans and retries once. */
  private async applyPartnerCenter(ctx: PairContext, retried = false): Promise<void> {
    const { store, partnerCenter: pc } = this.deps;
    for (const step of ctx.steps) {
      // A pair beside one that stopped the cycle takes no further step.
      if (ctx.failed || this.stopping) return;
      try {
        if (step.kind === "create" && step.side === "partnerCenter") {
          // A link that already exists here is an intent an earlier cycle wrote and never finished (a
          // crash may have lost the answer of a create that landed): only then is the referral looked
          // up by CRM id first. A link made now is this create's first attempt.
          const firstAttempt = ctx.intent?.firstAttempt ?? !ctx.link;
          if (!ctx.intent) {
            this.prepareReferralIntent(ctx, step.deal);
            this.checkpoint("link-before-create", ctx);
            store.putLink(ctx.link!); // written before the call: a crash after it resumes by CRM id
          }
          this.checkpoint("create-referral", ctx);
          const { id: _id, ...body } = dealToReferral({ ...step.deal, id: undefined, version: undefined });
          const created = await pc.createReferral(body as Referral, { crmId: ctx.crm!.crmId, firstAttempt });
          // What we sent is the common ancestor of both sides. When the create is a recovery (a crash
          // lost its answer and the look-up by CRM id found it), the referral may have changed since:
          // against this baseline those are Partner Center's edits, not ours to overwrite.
          if (ctx.link?.baseline) ctx.link.baseline = { ...ctx.link.baseline, id: created.id };
          // A first attempt's answer is the referral as we sent it, and the baseline this pair commits
          // holds it (written ahead with the intent, advanced where both sides agree): a ledger entry
          // per field would only repeat the baseline. A recovered create (a crash lost an earlier
          // attempt's answer) keeps them, as the referral found may differ from what is sent now.
          ctx.referralWritten(created, step.deal, SYNC_FIELDS, { remember: !firstAttempt });
          ctx.createdReferral = true;
          this.checkpoint("after-create-referral", ctx);
        } else if (step.kind === "create" && step.side === "crm") {
          if (!ctx.intent) {
            ctx.ensureLink(step.deal.direction);
            this.checkpoint("link-before-create", ctx);
            store.putLink(ctx.link!);
          }
        } else if ((step.kind === "update" && step.side === "partnerCenter") || step.kind === "transition") {
          const base = ctx.referral!;
          // Never an unconditional write ("*"): without the eTag it was read with, the copy is re-read
          // and the pair re-planned, as after a 412, so a newer edit cannot be overwritten.
          if (!base.eTag)
            throw new ConflictError(
              `Referral ${base.id} has no eTag to write with; re-read.`,
              await pc.getReferral(base.id),
            );
          let target: CoSellDeal;
          if (step.kind === "transition") {
            const r = transition(ctx.partnerCenterDeal(base)!, step.action, step.input, this.now());
            if (!r.ok) throw r.error;
            target = r.deal;
          } else target = step.deal;
          this.checkpoint(`partner-center-${step.kind}`, ctx);
          const body = dealToReferral({ ...target, version: base.eTag }, base);
          const written: SyncField[] = step.kind === "update" ? step.fields : ["stage", "invitation"];
          this.writeAhead("partnerCenter", base.id, written, target);
          let updated: Referral;
          try {
            updated = await pc.updateReferral(base.id, body, base.eTag, base);
          } catch (e) {
            this.dropWriteAhead("partnerCenter", base.id, written, target);
            throw e;
          }
          this.supersedeLedger("partnerCenter", base.id, written, target);
          ctx.referralWritten(updated, target, written);
          if (step.kind === "transition" && step.action === "inviteMicrosoft") {
            // The invitation itself: the connected referral on the engagement (idempotent, so a crash
            // between the two writes is finished by the next cycle's same step).
            this.checkpoint("create-invitation", ctx);
            const invitation = await pc.createInvitation(updated, {
              notes: target.invitation.helpNotes ?? "",
              helpType: target.invitation.helpType,
            });
            ctx.invitation = invitation;
            if (invitation.engagementId) this.invitations.set(invitation.engagementId, invitation);
          }
        } else if (step.kind === "defer") {
          ctx.deferred.push(step);
        } else if (step.kind === "conflict") {
          ctx.conflict = step;
        } else if (step.kind === "invalid") {
          ctx.fail(step.issues[0]?.code ?? "INVALID", step.reason, true);
        } else if (step.kind === "skip") {
          ctx.skips.push(step.reason);
        }
      } catch (e) {
        if (this.stopping) throw e;
        if (e instanceof ConflictError && !retried) {
          // Someone changed the referral since we read it: re-read, re-plan this pair, retry once.
          const current = (e.current as Referral | undefined) ?? (await pc.getReferral(ctx.referral!.id));
          ctx.replan(
            current,
            planPair(ctx.nextPair(current), { now: this.now(), rules: this.resolved, isEcho: this.isEcho })
              .steps,
          );
          return this.applyPartnerCenter(ctx, true);
        }
        const code = (e as { code?: string }).code ?? "UNEXPECTED";
        ctx.fail(code, errorMessage(e));
        this.deps.onEvent?.({ kind: "error", message: errorMessage(e), pairKey: ctx.key, data: { code } });
      }
    }
  }

  /** The one CRM write for a pair: field updates and/or create, plus status when it changed. */
  private crmWriteFor(ctx: PairContext): CrmWrite | undefined {
    // A parked pair keeps the conflict status written when it was parked, until someone resolves it.
    // A deleted record has nowhere to hold a status.
    if (ctx.parked || ctx.crm?.deleted) return undefined;
    // A record that never got a link (it fails validation) has no status hash; the record error left
    // by the last cycle tells whether the CRM already shows this failure. Without this check each
    // status write moves the record in the CRM's change feed and the next cycle writes it again.
    if (!ctx.link && ctx.failed && ctx.crm && this.sameErrorAsLastCycle(`crm:${ctx.crm.crmId}`, ctx.failed))
      return undefined;
    const status = this.statusFor(ctx);
    const statusChanged =
      stableJson({ ...status, lastSyncedAt: undefined }) !== ctx.link?.statusHash || ctx.wrote;
    const create = ctx.steps.find((s) => s.kind === "create" && s.side === "crm");
    if (create?.kind === "create" && !ctx.failed) {
      this.checkpoint("crm-create", ctx);
      return { op: "create", referralId: ctx.referral!.id, deal: create.deal, status };
    }
    const planned = ctx.steps.find((s) => s.kind === "update" && s.side === "crm");
    const crmId = ctx.crm?.crmId;
    if (!crmId) return undefined;
    const update = ctx.failed
      ? undefined
      : this.withUnsettled(ctx, this.withPartnerCenterFollowUps(ctx, planned));
    if (update) return { op: "update", crmId, deal: update.deal, fields: update.fields, status };
    if (statusChanged) return { op: "status", crmId, status };
    return undefined;
  }

  /**
   * The CRM update of this pair, plus Partner Center's own fields that this cycle's write to Partner
   * Center just moved (the respond-by date gone with an accept, a registration review after a win).
   * They ride on the status write the Partner Center write causes anyway: left to the next cycle they
   * would be one more CRM write after the pair went quiet.
   */
  private withPartnerCenterFollowUps(
    ctx: PairContext,
    planned: PlanStep | undefined,
  ): { deal: CoSellDeal; fields: SyncField[] } | undefined {
    const update = planned?.kind === "update" ? { deal: planned.deal, fields: planned.fields } : undefined;
    if (!ctx.wrote || !ctx.referral || !ctx.crm) return update;
    const pc = ctx.partnerCenterDeal()!;
    const crm = update?.deal ?? ctx.crm.deal;
    const follow = PARTNER_CENTER_OWNED_FIELDS.filter(
      (f) => this.resolved.directions[f] === "toCrm" && !update?.fields.includes(f) && !sameField(crm, pc, f),
    );
    if (!follow.length) return update;
    const deal: CoSellDeal = { ...crm };
    for (const f of follow) Object.assign(deal, fieldMembers(pc, f));
    // One deep copy of the whole, not one per field (see mergeBaseline).
    return { deal: structuredClone(deal), fields: [...(update?.fields ?? []), ...follow] };
  }

  /**
   * Adds the record's unsettled fields (see {@link CrmRecord.unsettled}) to the CRM write: the
   * record's own value of them, which Partner Center now holds too (the pair did not fail). A field
   * the plan writes anyway is left to the plan.
   */
  private withUnsettled(
    ctx: PairContext,
    update: { deal: CoSellDeal; fields: SyncField[] } | undefined,
  ): { deal: CoSellDeal; fields: SyncField[] } | undefined {
    const crm = ctx.crm;
    const pc = ctx.partnerCenterDeal();
    if (!crm?.unsettled?.length || !pc) return update;
    const deal = update?.deal ?? crm.deal;
    // Only what Partner Center agrees with: a field it holds differently is the plan's to settle.
    const add = crm.unsettled.filter((f) => !update?.fields.includes(f) && sameField(deal, pc, f));
    if (!add.length) return update;
    return { deal, fields: [...(update?.fields ?? []), ...add] };
  }

  private sameErrorAsLastCycle(key: string, failed: { code: string; message: string }): boolean {
    const prev = this.deps.store.listRecordErrors().find((e) => e.key === key);
    return prev?.code === failed.code && prev.message === failed.message;
  }

  private statusFor(ctx: PairContext): SyncStatus {
    const referralId = ctx.referral?.id;
    const stage = ctx.referral ? referralToDeal(ctx.referral).stage : undefined;
    const base = {
      referralId,
      referralUrl: referralId ? (this.deps.referralUrl ?? DEFAULT_REFERRAL_URL)(referralId) : undefined,
      coSellStage: stage,
    };
    if (ctx.failed)
      return { ...base, state: "error", lastError: `${ctx.failed.code}: ${ctx.failed.message}` };
    if (ctx.conflict) return { ...base, state: "conflict", lastError: ctx.conflict.reason };
    if (ctx.crm && !ctx.crm.optedIn) return { ...base, state: "paused", lastError: null };
    // The CRM id waiting for the accept is bookkeeping, not something the seller has to act on.
    const waiting = ctx.deferred.filter((d) => d.fields.some((f) => f !== "crmId"));
    if (waiting.length)
      return { ...base, state: "deferred", lastError: waiting.map((d) => d.reason).join(" ") };
    const lastSyncedAt = ctx.wrote ? this.now().toISOString() : undefined;
    return {
      ...base,
      state: "synced",
      lastError: ctx.skips.length ? ctx.skips.join(" ") : null,
      ...(lastSyncedAt ? { lastSyncedAt } : {}),
    };
  }

  /** Persists what the pair's execution changed: link, baseline, ledger, outbox, errors, audit. */
  private commit(ctx: PairContext): void {
    const { store } = this.deps;
    const now = this.now().toISOString();
    const key = ctx.crm ? `crm:${ctx.crm.crmId}` : `referral:${ctx.referral?.id}`;
    // An echo is consumed once the baseline holds its value. When this pair's write failed, the
    // baseline does not move: consumed, the echo would look like an edit next cycle (and under
    // crm-wins overwrite the other side's newer value), so its entry is kept instead.
    const kept = ctx.failed ? ctx.echoes.filter((e) => !baselineHolds(ctx.link?.baseline, e)) : [];
    const isKept = (side: Side, recordId: string, field: SyncField, valueHash: string) =>
      kept.some(
        (e) => e.side === side && e.recordId === recordId && e.field === field && e.valueHash === valueHash,
      );
    for (const e of ctx.echoes)
      if (!kept.includes(e)) this.ledger.consume(e.side, e.recordId, e.field, e.valueHash);
    if (ctx.failed) {
      store.setRecordError({ key, code: ctx.failed.code, message: ctx.failed.message, at: now });
      this.summary.errors.push({ key, code: ctx.failed.code, message: ctx.failed.message });
      this.audit(ctx.link, "error", `${ctx.failed.code}: ${ctx.failed.message}`, ctx);
    } else {
      // A pair is keyed by its referral until its CRM record exists: a retried inbound create that now
      // succeeds must clear the error it left under the referral key.
      store.clearRecordError(key);
      if (ctx.referral) store.clearRecordError(`referral:${ctx.referral.id}`);
    }
    if (ctx.conflict) {
      const c = ctx.conflict;
      if (ctx.link) {
        store.putLink(ctx.link);
        store.park({
          linkId: ctx.link.linkId,
          fields: c.fields,
          crm: c.crm,
          partnerCenter: c.partnerCenter,
          detectedAt: now,
        });
      }
      this.audit(ctx.link, "conflict", c.reason, ctx);
    }
    const link = ctx.link;
    if (!link) return;
    for (const d of ctx.deferred) {
      const exists = store
        .listOutbox(link.linkId)
        .some((o) => o.side === d.side && stableJson(o.fields) === stableJson(d.fields));
      if (!exists)
        store.enqueueOutbox({
          id: randomUUID(),
          linkId: link.linkId,
          side: d.side,
          fields: d.fields,
          action: d.action,
          reason: d.reason,
          createdAt: now,
        });
    }
    if (!ctx.deferred.length) store.clearOutbox(link.linkId);
    // A side read fresh in this cycle already shows every write we made to it before: an entry it did
    // not echo back was written over by someone, and would swallow a later edit back to the value we
    // once wrote (an undo) as if it were our echo. Dropped before this cycle's writes are remembered.
    const dropUnechoed = (side: Side, recordId: string) => {
      for (const e of this.ledger.ofRecord(side, recordId))
        if (!isKept(side, recordId, e.field, e.valueHash))
          this.ledger.consume(side, recordId, e.field, e.valueHash);
    };
    if (ctx.freshCrmId) dropUnechoed("crm", ctx.freshCrmId);
    if (ctx.freshReferralId) dropUnechoed("partnerCenter", ctx.freshReferralId);
    this.ledger.add(ctx.ledger.map((l) => ({ ...l, writtenAt: now })));
    for (const note of ctx.audits) this.audit(link, note.kind, note.message, ctx);

    const crmAfter = ctx.crmAfter;
    const pcAfter = ctx.partnerCenterDeal();
    if (crmAfter && pcAfter) link.baseline = mergeBaseline(link.baseline, crmAfter, pcAfter);
    else if (pcAfter && !link.baseline) link.baseline = pcAfter;
    if (ctx.crm && crmAfter) {
      link.crm = crmAfter;
      link.crmOptedIn = ctx.crm.optedIn;
      link.crmModifiedAt = ctx.crm.modifiedAt;
    }
    if (ctx.referral) link.referral = ctx.referral;
    if (ctx.statusWritten) link.statusHash = stableJson({ ...ctx.statusWritten, lastSyncedAt: undefined });
    if (link.crmId && link.referralId && link.state === "pending") link.state = "linked";
    // Reported deleted by the change feed: recorded as reconcile would (the referral is left alone).
    if (ctx.crm?.deleted && link.state === "linked") link.state = "crmDeleted";
    link.updatedAt = now;
    store.putLink(link);
  }

  private audit(link: Link | undefined, kind: string, message: string, ctx?: PairContext): void {
    if (this.dryRun) return;
    this.deps.store.appendAudit({
      at: this.now().toISOString(),
      linkId: link?.linkId,
      crmId: link?.crmId ?? ctx?.crm?.crmId,
      referralId: link?.referralId ?? ctx?.referral?.id,
      kind,
      message,
    });
    this.deps.onEvent?.({ kind, message, pairKey: ctx?.key });
  }
}

/** The baseline already holds the echoed value (nothing is lost by forgetting the echo). */
function baselineHolds(baseline: CoSellDeal | undefined, echo: EchoSeen): boolean {
  return !!baseline && fieldHash(baseline, echo.field) === echo.valueHash;
}

/** The new common ancestor: fields both sides now agree on advance; the rest keep their old value. */
function mergeBaseline(old: CoSellDeal | undefined, crm: CoSellDeal, pc: CoSellDeal): CoSellDeal {
  // Shallow while it is put together, one deep copy at the end: a copy per field was the largest
  // single cost of committing a pair.
  const next: CoSellDeal = { ...(old ?? pc) };
  for (const f of SYNC_FIELDS) {
    if (!sameField(crm, pc, f)) continue;
    Object.assign(next, fieldMembers(pc, f));
  }
  // Partner Center's own facts always follow Partner Center.
  next.id = pc.id;
  next.version = pc.version;
  next.updatedAt = pc.updatedAt;
  // Microsoft's answer is remembered here: the partner's referral alone does not carry it.
  next.microsoftAnswer = pc.microsoftAnswer;
  next.microsoftTeam = pc.microsoftTeam;
  return structuredClone(next);
}

/** Mutable bookkeeping for one pair while its plan executes. */
class PairContext {
  readonly key: string;
  link: Link | undefined;
  crm: CrmRecord | undefined;
  referral: Referral | undefined;
  steps: PlanStep[];
  failed: { code: string; message: string } | undefined;
  conflict: Extract<PlanStep, { kind: "conflict" }> | undefined;
  deferred: Extract<PlanStep, { kind: "defer" }>[] = [];
  skips: string[] = [];
  audits: { kind: string; message: string }[] = [];
  ledger: { side: "crm" | "partnerCenter"; recordId: string; field: SyncField; valueHash: string }[] = [];
  createdReferral = false;
  wrote = false;
  /** The create's link, written ahead with the batch's others (see `writeIntentsAhead`). */
  intent: { firstAttempt: boolean } | undefined;
  /** Echoes the plan recognised; their ledger entries are consumed when the pair commits. */
  echoes: EchoSeen[] = [];
  /** The pair was parked (manual policy) before this cycle. */
  readonly parked: boolean;
  /** The records read fresh this cycle (not rebuilt from snapshots), by side. */
  readonly freshCrmId: string | undefined;
  readonly freshReferralId: string | undefined;
  crmAfter: CoSellDeal | undefined;
  statusWritten: SyncStatus | undefined;
  /** The connected referral inviting Microsoft on this pair's engagement, when read or made this cycle. */
  invitation: Referral | undefined;

  constructor(
    work: PairWork,
    steps: PlanStep[],
    private readonly now: Date,
  ) {
    this.key = work.pair.key;
    this.link = work.pair.link ? { ...work.pair.link } : undefined;
    this.crm = work.pair.crm;
    this.referral = work.pair.referral;
    this.invitation = work.pair.invitation;
    this.steps = steps;
    this.parked = work.pair.parked ?? false;
    this.freshCrmId = work.fresh.crm ? work.pair.crm?.crmId : undefined;
    this.freshReferralId = work.fresh.referral ? work.pair.referral?.id : undefined;
    this.crmAfter = this.crm?.deal;
  }

  ensureLink(direction: "inbound" | "outbound"): void {
    if (this.link) return;
    const at = this.now.toISOString();
    this.link = {
      linkId: randomUUID(),
      crmId: this.crm?.crmId,
      referralId: this.referral?.id,
      direction,
      state: "pending",
      createdAt: at,
      updatedAt: at,
    };
  }

  /** `remember: false` writes no ledger entries (see the create in applyPartnerCenter). */
  referralWritten(
    r: Referral,
    deal: CoSellDeal,
    fields: readonly SyncField[] = SYNC_FIELDS,
    { remember = true } = {},
  ): void {
    this.referral = r;
    this.wrote = true;
    if (this.link) this.link.referralId = r.id;
    if (remember)
      for (const field of fields)
        this.ledger.push({ side: "partnerCenter", recordId: r.id, field, valueHash: fieldHash(deal, field) });
    this.audits.push({
      kind: "partnerCenterWrite",
      message: `Wrote ${fields.length === SYNC_FIELDS.length ? "new referral" : fields.join(", ")} to Partner Center.`,
    });
  }

  crmApplied(write: CrmWrite, crmId: string): void {
    this.statusWritten = write.status;
    if (write.op === "status") return;
    this.wrote = true;
    const fields = write.op === "create" ? SYNC_FIELDS : write.fields;
    this.crmAfter = { ...write.deal, crmId };
    if (this.link) this.link.crmId = crmId;
    for (const field of fields)
      this.ledger.push({ side: "crm", recordId: crmId, field, valueHash: fieldHash(write.deal, field) });
    this.audits.push({
      kind: "crmWrite",
      message: `Wrote ${write.op === "create" ? "new opportunity" : write.fields.join(", ")} to the CRM.`,
    });
    if (write.op === "create")
      this.crm = {
        crmId,
        optedIn: true,
        referralId: write.referralId,
        deal: this.crmAfter,
        modifiedAt: this.now.toISOString(),
      };
  }

  fail(code: string, message: string, _invalid = false): void {
    this.failed ??= { code, message };
  }

  replan(current: Referral, steps: PlanStep[]): void {
    this.referral = current;
    this.steps = steps;
  }

  /** The pair as it stands now, to plan again. */
  nextPair(referral?: Referral): PairState {
    const crm = this.crm && this.crmAfter ? { ...this.crm, deal: this.crmAfter } : this.crm;
    const link = this.link ? { ...this.link, referral: referral ?? this.referral } : undefined;
    return { key: this.key, link, crm, referral: referral ?? this.referral, invitation: this.invitation };
  }

  /**
   * The deal as Partner Center holds it: `referral` (default: this pair's) with Microsoft's answer
   * from the connected referral, else as the baseline last knew it.
   */
  partnerCenterDeal(referral = this.referral): CoSellDeal | undefined {
    if (!referral) return undefined;
    return withMicrosoftInvitation(referralToDeal(referral), this.invitation, this.link?.baseline);
  }
}
