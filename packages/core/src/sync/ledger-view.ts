import type { StateStore } from "./store.js";
import type { LedgerEntry, Side, SyncField } from "./types.js";

/**
 * The engine's window on the write ledger: each record's entries are read from the store once (all
 * fields in one query, or a whole batch's records in one query with `prefetch`) and kept until the
 * view is cleared.
 *
 * A cycle asks "is this value our echo?" for every field of every pair it plans, on both sides; asked
 * of the store field by field, that was the largest single cost of a backfill. Every ledger write the
 * engine makes goes through this view, which applies it to a cached record as the store does, so a
 * cached record never disagrees with what the engine wrote; the engine clears the view with each
 * batch, whose pairs it holds the locks of, so a record's entries are never kept while another
 * worker could change them.
 */
export class LedgerView {
  private readonly records = new Map<string, LedgerEntry[]>();

  constructor(private readonly store: StateStore) {}

  /** Our un-consumed writes of `field` on that record, oldest first. */
  entries(side: Side, recordId: string, field: SyncField): LedgerEntry[] {
    return this.ofRecord(side, recordId).filter((e) => e.field === field);
  }

  /** Whether that value of the field is one we wrote and whose echo has not been consumed. */
  holds(side: Side, recordId: string, field: SyncField, valueHash: string): boolean {
    return this.ofRecord(side, recordId).some((e) => e.field === field && e.valueHash === valueHash);
  }

  /** Every un-consumed write on that record (see {@link StateStore.listLedgerOfRecord}). */
  ofRecord(side: Side, recordId: string): LedgerEntry[] {
    const key = recordKey(side, recordId);
    let entries = this.records.get(key);
    if (!entries) {
      entries = this.store.listLedgerOfRecord(side, recordId);
      this.records.set(key, entries);
    }
    return entries;
  }

  /**
   * Reads the entries of every record named here that is not cached yet, in one store call: a
   * batch's pairs are known before it is planned, and most of their records have no entry at all.
   */
  prefetch(side: Side, recordIds: Iterable<string>): void {
    const missing = [...new Set(recordIds)].filter((id) => !this.records.has(recordKey(side, id)));
    if (!missing.length) return;
    for (const id of missing) this.records.set(recordKey(side, id), []);
    for (const e of this.store.listLedgerOfRecords(side, missing))
      this.records.get(recordKey(side, e.recordId))?.push(e);
  }

  /**
   * Writes the entries, and keeps a cached record in step with what the store now holds (the same
   * rule as every store: a new value is appended, the same value again only refreshes its time), so
   * asking again costs no read.
   */
  add(entries: LedgerEntry[]): void {
    if (!entries.length) return;
    this.store.addLedger(entries);
    for (const e of entries) {
      const cached = this.records.get(recordKey(e.side, e.recordId));
      if (!cached) continue;
      const i = cached.findIndex((c) => c.field === e.field && c.valueHash === e.valueHash);
      if (i >= 0) cached[i] = { ...e };
      else cached.push({ ...e });
    }
  }

  consume(side: Side, recordId: string, field: SyncField, valueHash?: string): void {
    this.store.consumeLedger(side, recordId, field, valueHash);
    const key = recordKey(side, recordId);
    const cached = this.records.get(key);
    if (cached)
      this.records.set(
        key,
        cached.filter((e) => e.field !== field || (valueHash !== undefined && e.valueHash !== valueHash)),
      );
  }

  prune(before: string): void {
    this.store.pruneLedger(before);
    this.records.clear();
  }

  /** Forgets every cached record: the next question reads the store again. */
  clear(): void {
    this.records.clear();
  }
}

function recordKey(side: Side, recordId: string): string {
  return `${side}\u0000${recordId}`;
}
