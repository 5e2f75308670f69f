import type { StateStore } from "./store.js";
import { ASYNC_TRANSACTION_MESSAGE, clampLimit, duplicateLinkError } from "./store-common.js";
import type {
  AuditEntry,
  CycleSummary,
  LedgerEntry,
  Link,
  OutboxItem,
  ParkedConflict,
  RecordError,
  Side,
  SyncField,
} from "./types.js";

/** Everything the store holds. Stored values are never mutated in place, only replaced. */
interface Tables {
  links: Map<string, Link>;
  cursors: Map<Side, string>;
  feeds: Map<string, string>;
  /** Side, record and field → value hash → entry. */
  ledger: Map<string, Map<string, LedgerEntry>>;
  outbox: Map<string, OutboxItem>;
  parked: Map<string, ParkedConflict>;
  errors: Map<string, RecordError>;
  audit: AuditEntry[];
  cycles: Map<string, CycleSummary>;
}

/**
 * A {@link StateStore} in memory, for tests. It behaves like `SqliteStateStore`: values go in and
 * come out as JSON copies (so a caller mutating a returned link changes nothing until `putLink`),
 * CRM and referral ids are unique, lists keep insertion order (`listAudit`/`listCycles` newest first),
 * and `transaction` really rolls back on a throw, so crash tests see what SQLite would leave behind.
 */
export class MemoryStateStore implements StateStore {
  private t: Tables = {
    links: new Map(),
    cursors: new Map(),
    feeds: new Map(),
    ledger: new Map(),
    outbox: new Map(),
    parked: new Map(),
    errors: new Map(),
    audit: [],
    cycles: new Map(),
  };

  /**
   * Runs `fn`; if it throws, every write it made is undone and the error rethrown. A nested call that
   * throws undoes only its own writes (like a SQLite savepoint); the outer call decides the rest.
   */
  transaction<T>(fn: () => T): T {
    // Values are never mutated in place, so copying the containers is a complete snapshot.
    const before = this.snapshot();
    try {
      const result = fn();
      if (isThenable(result)) throw new TypeError(ASYNC_TRANSACTION_MESSAGE);
      return result;
    } catch (err) {
      this.t = before;
      throw err;
    }
  }

  getLink(linkId: string): Link | undefined {
    return copy(this.t.links.get(linkId));
  }

  getLinkByCrmId(crmId: string): Link | undefined {
    return copy(this.findLink((l) => l.crmId === crmId));
  }

  getLinkByReferralId(referralId: string): Link | undefined {
    return copy(this.findLink((l) => l.referralId === referralId));
  }

  findLinks(keys: { crmIds?: readonly string[]; referralIds?: readonly string[] }): Link[] {
    const crm = new Set(keys.crmIds ?? []);
    const ref = new Set(keys.referralIds ?? []);
    if (!crm.size && !ref.size) return [];
    const out: Link[] = [];
    for (const l of this.t.links.values())
      if (
        (l.crmId !== undefined && crm.has(l.crmId)) ||
        (l.referralId !== undefined && ref.has(l.referralId))
      )
        out.push(copy(l)!);
    return out;
  }

  listLinks(filter: { state?: Link["state"] } = {}): Link[] {
    const all = [...this.t.links.values()];
    return (filter.state ? all.filter((l) => l.state === filter.state) : all).map(copy);
  }

  countLinks(): Partial<Record<Link["state"], number>> {
    const out: Partial<Record<Link["state"], number>> = {};
    for (const l of this.t.links.values()) out[l.state] = (out[l.state] ?? 0) + 1;
    return out;
  }

  /** Inserts or replaces by `linkId`; throws `STATE_LINK_DUPLICATE` if another link has its CRM or referral id. */
  putLink(link: Link): void {
    const other = (key: "crmId" | "referralId") =>
      link[key] !== undefined &&
      this.findLink((l) => l.linkId !== link.linkId && l[key] === link[key]) !== undefined;
    if (other("crmId")) throw duplicateLinkError(link, "crmId");
    if (other("referralId")) throw duplicateLinkError(link, "referralId");
    this.t.links.set(link.linkId, copy(link));
  }

  getCursor(side: Side): string | undefined {
    return this.t.cursors.get(side);
  }

  setCursor(side: Side, cursor: string): void {
    this.t.cursors.set(side, cursor);
  }

  getFeedPosition(feed: string): string | undefined {
    return this.t.feeds.get(feed);
  }

  setFeedPosition(feed: string, position: string): void {
    this.t.feeds.set(feed, position);
  }

  /**
   * One entry per distinct value of a field; the same value again refreshes its time and keeps its
   * place. Inner maps are replaced, never changed in place: a transaction's snapshot copies only the
   * outer map.
   */
  addLedger(entries: LedgerEntry[]): void {
    for (const e of entries) {
      const key = ledgerKey(e.side, e.recordId, e.field);
      const values = new Map(this.t.ledger.get(key));
      values.set(e.valueHash, copy(e));
      this.t.ledger.set(key, values);
    }
  }

  listLedger(side: Side, recordId: string, field: SyncField): LedgerEntry[] {
    return [...(this.t.ledger.get(ledgerKey(side, recordId, field))?.values() ?? [])].map(copy);
  }

  listLedgerOfRecord(side: Side, recordId: string): LedgerEntry[] {
    const out: LedgerEntry[] = [];
    for (const values of this.t.ledger.values())
      for (const e of values.values()) if (e.side === side && e.recordId === recordId) out.push(copy(e));
    return out;
  }

  listLedgerOfRecords(side: Side, recordIds: readonly string[]): LedgerEntry[] {
    const wanted = new Set(recordIds);
    const out: LedgerEntry[] = [];
    for (const values of this.t.ledger.values())
      for (const e of values.values()) if (e.side === side && wanted.has(e.recordId)) out.push(copy(e));
    return out;
  }

  consumeLedger(side: Side, recordId: string, field: SyncField, valueHash?: string): void {
    const key = ledgerKey(side, recordId, field);
    const values = this.t.ledger.get(key);
    if (!values) return;
    if (valueHash === undefined) {
      this.t.ledger.delete(key);
      return;
    }
    const rest = new Map(values);
    rest.delete(valueHash);
    if (rest.size) this.t.ledger.set(key, rest);
    else this.t.ledger.delete(key);
  }

  pruneLedger(before: string): number {
    let removed = 0;
    for (const [key, values] of this.t.ledger) {
      const kept = new Map([...values].filter(([, e]) => e.writtenAt >= before));
      removed += values.size - kept.size;
      if (kept.size === values.size) continue;
      if (kept.size) this.t.ledger.set(key, kept);
      else this.t.ledger.delete(key);
    }
    return removed;
  }

  /** Enqueueing an `id` that is already queued replaces that item in place. */
  enqueueOutbox(item: OutboxItem): void {
    this.t.outbox.set(item.id, copy(item));
  }

  listOutbox(linkId?: string): OutboxItem[] {
    return [...this.t.outbox.values()].filter((o) => linkId === undefined || o.linkId === linkId).map(copy);
  }

  removeOutbox(id: string): void {
    this.t.outbox.delete(id);
  }

  clearOutbox(linkId: string): void {
    for (const [id, o] of this.t.outbox) if (o.linkId === linkId) this.t.outbox.delete(id);
  }

  /** Parking a link that is already parked replaces its conflict. */
  park(conflict: ParkedConflict): void {
    this.t.parked.set(conflict.linkId, copy(conflict));
  }

  getParked(linkId: string): ParkedConflict | undefined {
    return copy(this.t.parked.get(linkId));
  }

  listParked(): ParkedConflict[] {
    return [...this.t.parked.values()].map(copy);
  }

  unpark(linkId: string): void {
    this.t.parked.delete(linkId);
  }

  setRecordError(error: Omit<RecordError, "attempts">): void {
    const attempts = (this.t.errors.get(error.key)?.attempts ?? 0) + 1;
    const { key, code, message, at } = error;
    this.t.errors.set(key, { key, code, message, at, attempts });
  }

  clearRecordError(key: string): void {
    this.t.errors.delete(key);
  }

  listRecordErrors(): RecordError[] {
    return [...this.t.errors.values()].map(copy);
  }

  appendAudit(entry: AuditEntry): void {
    this.t.audit.push(copy(entry));
  }

  /** The `limit` most recent entries, newest first. */
  listAudit(limit: number): AuditEntry[] {
    return newestFirst(this.t.audit, limit);
  }

  /** Recording a `cycleId` again replaces that summary in place. */
  recordCycle(summary: CycleSummary): void {
    this.t.cycles.set(summary.cycleId, copy(summary));
  }

  /** The `limit` most recent cycles, newest first. */
  listCycles(limit: number): CycleSummary[] {
    return newestFirst([...this.t.cycles.values()], limit);
  }

  /** Nothing to release; the store stays usable. */
  close(): void {}

  private findLink(match: (l: Link) => boolean): Link | undefined {
    for (const l of this.t.links.values()) if (match(l)) return l;
    return undefined;
  }

  private snapshot(): Tables {
    const t = this.t;
    return {
      links: new Map(t.links),
      cursors: new Map(t.cursors),
      feeds: new Map(t.feeds),
      ledger: new Map(t.ledger),
      outbox: new Map(t.outbox),
      parked: new Map(t.parked),
      errors: new Map(t.errors),
      audit: [...t.audit],
      cycles: new Map(t.cycles),
    };
  }
}

function ledgerKey(side: Side, recordId: string, field: SyncField): string {
  return JSON.stringify([side, recordId, field]);
}

function newestFirst<T>(rows: readonly T[], limit: number): T[] {
  const n = clampLimit(limit);
  return n === 0 ? [] : rows.slice(-n).reverse().map(copy);
}

/** A JSON round trip: what SQLite's JSON columns give back (undefined keys dropped, no shared references). */
function copy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function isThenable(value: unknown): boolean {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}
