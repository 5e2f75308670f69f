import type { CoSellDeal, Stage } from "../domain/deal.js";
import type { SyncStatus } from "../sync/types.js";
import { completeDeal } from "./deals.js";

/** One opportunity held by {@link MemoryCrm}. */
export interface MemoryOpportunity {
  crmId: string;
  /** The opportunity, already in the canonical shape (the in-memory CRM needs no field map). */
  deal: CoSellDeal;
  /** The seller's co-sell sync flag. */
  optedIn: boolean;
  /** Referral id stored on the record by the sync (status write or create). */
  referralId?: string;
  /** The sync status fields cosell wrote back; `undefined` until the first write. */
  status?: SyncStatus;
  /** Last *user* edit (what `newest-wins` compares); status writes leave it alone. */
  modifiedAt: string;
  /** Change sequence of the last change of any kind, user or sync: the change feed's cursor. */
  seq: number;
  /** Bumped on every change, like an etag. */
  version: number;
  deleted: boolean;
}

/** What a seller sees on an opportunity (the shape `CrmDriver.get` returns). */
export interface OpportunityView {
  crmId: string;
  deal: CoSellDeal;
  optedIn: boolean;
  referralId?: string;
  status?: SyncStatus;
}

/** An injected per-record failure, consumed by the next write it matches. */
export interface InjectedFailure {
  code: string;
  message: string;
}

/**
 * A reference CRM held in memory, for fast engine tests and as the model every real adapter is
 * measured against by `runAdapterConformance`. It plays two parts:
 *
 * - a seller at the keyboard (`createOpportunity`, `update`, `setStage`, …): user edits, which move
 *   `modifiedAt` and the change sequence;
 * - the CRM's storage behind {@link createMemoryAdapter}: sync writes, which move the change sequence
 *   (so the engine sees its own writes come back, like in a real CRM) but not `modifiedAt` when they
 *   only touch the status fields.
 *
 * It is a test double. The HTTP emulators of Salesforce and Dataverse live in `@cosell/sandbox`.
 */
export class MemoryCrm {
  private readonly records = new Map<string, MemoryOpportunity>();
  private readonly failures = new Map<string, InjectedFailure[]>();
  private seq = 0;
  private nextId = 1;

  /** @param now the clock stamped on every change (inject the test's clock). */
  constructor(private readonly now: () => Date = () => new Date()) {}

  /** The change sequence of the latest change (0 when nothing happened yet). */
  get sequence(): number {
    return this.seq;
  }

  // ── the seller ────────────────────────────────────────────────────────────────────────────────

  /** A seller creates an opportunity; returns its CRM id. */
  createOpportunity(deal: Partial<CoSellDeal>, options: { optedIn?: boolean } = {}): string {
    const crmId = `006MEM${String(this.nextId++).padStart(9, "0")}`;
    const full = completeDeal({ ...deal, crmId }, this.now());
    this.records.set(crmId, {
      crmId,
      deal: full,
      optedIn: options.optedIn ?? false,
      modifiedAt: this.now().toISOString(),
      seq: ++this.seq,
      version: 1,
      deleted: false,
    });
    return crmId;
  }

  /** A seller edits fields of the opportunity. */
  update(crmId: string, changes: Partial<CoSellDeal>): void {
    this.userEdit(crmId, (r) => {
      r.deal = { ...r.deal, ...structuredClone(changes), crmId };
    });
  }

  /** A seller turns co-sell sync on or off for the record. */
  setOptIn(crmId: string, optedIn: boolean): void {
    this.userEdit(crmId, (r) => {
      r.optedIn = optedIn;
    });
  }

  /** A seller moves the opportunity's stage (a CRM knows "closed lost", with a reason, for decline and loss). */
  setStage(crmId: string, stage: Stage, reason?: string): void {
    this.userEdit(crmId, (r) => {
      r.deal = { ...r.deal, stage, closeReason: reason };
    });
  }

  /** A seller ticks "Would you like Microsoft's help?" and says what help is needed. */
  requestMicrosoftHelp(crmId: string, notes: string): void {
    this.userEdit(crmId, (r) => {
      r.deal = {
        ...r.deal,
        invitation: { ...r.deal.invitation, microsoftHelpRequested: true, helpNotes: notes },
      };
    });
  }

  /** A seller deletes the opportunity (kept as a tombstone so the change feed can report it). */
  delete(crmId: string): void {
    this.userEdit(crmId, (r) => {
      r.deleted = true;
    });
  }

  /** The opportunity as the seller sees it, or `undefined` when it does not exist (or was deleted). */
  get(crmId: string): OpportunityView | undefined {
    const r = this.records.get(crmId);
    return r && !r.deleted ? view(r) : undefined;
  }

  /** Every opportunity that was not deleted, in creation order. */
  all(): OpportunityView[] {
    return [...this.records.values()].filter((r) => !r.deleted).map(view);
  }

  /**
   * Makes the next sync write to `target` (a CRM id, or `"create"` for the next create) fail with
   * `code`, as a validation rule or a locked row would. Each call injects one failure.
   */
  failNextWrite(target: string, code: string, message = `Injected failure ${code} on ${target}.`): void {
    const queue = this.failures.get(target) ?? [];
    queue.push({ code, message });
    this.failures.set(target, queue);
  }

  // ── the storage behind the adapter ────────────────────────────────────────────────────────────

  /** A deep copy of the stored record, tombstones included. */
  record(crmId: string): MemoryOpportunity | undefined {
    const r = this.records.get(crmId);
    return r && structuredClone(r);
  }

  /** Deep copies of every record with a change after `seq`, oldest change first. */
  changedAfter(seq: number): MemoryOpportunity[] {
    return [...this.records.values()]
      .filter((r) => r.seq > seq)
      .sort((a, b) => a.seq - b.seq)
      .map((r) => structuredClone(r));
  }

  /** The live (not deleted) record carrying `referralId`, if any. */
  findByReferralId(referralId: string): MemoryOpportunity | undefined {
    const r = [...this.records.values()].find((x) => !x.deleted && x.referralId === referralId);
    return r && structuredClone(r);
  }

  /** Takes the injected failure waiting for `target`, if any. */
  takeFailure(target: string): InjectedFailure | undefined {
    const queue = this.failures.get(target);
    const f = queue?.shift();
    if (queue && !queue.length) this.failures.delete(target);
    return f;
  }

  /** Stores a record created by the sync (not a user edit, but a change). Returns its CRM id. */
  insertFromSync(fields: { deal: CoSellDeal; referralId: string; status: SyncStatus }): string {
    const crmId = `006MEM${String(this.nextId++).padStart(9, "0")}`;
    this.records.set(crmId, {
      crmId,
      deal: { ...structuredClone(fields.deal), crmId },
      optedIn: true,
      referralId: fields.referralId,
      status: structuredClone(fields.status),
      modifiedAt: this.now().toISOString(),
      seq: ++this.seq,
      version: 1,
      deleted: false,
    });
    return crmId;
  }

  /**
   * Changes a record on behalf of the sync. `fieldsChanged` says whether opportunity fields (not only
   * status fields) were written: a real CRM moves its last-modified date then, but a status-only
   * write is not an edit anyone should see as newer. The change sequence moves either way.
   */
  patchFromSync(crmId: string, mutate: (r: MemoryOpportunity) => void, fieldsChanged: boolean): boolean {
    const r = this.records.get(crmId);
    if (!r || r.deleted) return false;
    mutate(r);
    r.deal.crmId = crmId;
    if (fieldsChanged) r.modifiedAt = this.now().toISOString();
    r.seq = ++this.seq;
    r.version++;
    return true;
  }

  private userEdit(crmId: string, mutate: (r: MemoryOpportunity) => void): void {
    const r = this.records.get(crmId);
    if (!r || r.deleted) throw new Error(`MemoryCrm: no opportunity ${crmId}.`);
    mutate(r);
    r.modifiedAt = this.now().toISOString();
    r.seq = ++this.seq;
    r.version++;
  }
}

function view(r: MemoryOpportunity): OpportunityView {
  return structuredClone({
    crmId: r.crmId,
    deal: r.deal,
    optedIn: r.optedIn,
    ...(r.referralId !== undefined ? { referralId: r.referralId } : {}),
    ...(r.status !== undefined ? { status: r.status } : {}),
  });
}
