import type { Value } from "../schema/types.js";

/** One stored record: canonical field names to values. Never mutated; writes replace the row. */
export type Row = Readonly<Record<string, Value>>;

/** One committed write: the row before (undefined: inserted) and after (undefined: hard-deleted). */
export interface RowChange {
  type: string;
  before: Row | undefined;
  after: Row | undefined;
}

interface Index {
  caseSensitive: boolean;
  entries: Map<string, Set<string>>;
}

interface Table {
  rows: Map<string, Row>;
  indexes: Map<string, Index>;
  /** Ids of the rows in the Recycle Bin (IsDeleted), which the indexes leave out: queryAll adds them. */
  deleted: Set<string>;
}

function indexKey(v: Value, caseSensitive: boolean): string | undefined {
  if (v === null || typeof v === "boolean") return undefined;
  const s = String(v);
  return caseSensitive ? s : s.toLowerCase();
}

/**
 * Rows per object in insertion order, with secondary indexes on lookup and external-id fields
 * (so upserts and child lookups stay fast with 100k opportunities) and an undo log for
 * all-or-none requests. Indexes cover live rows only: deleted rows (IsDeleted) are kept in the
 * table for queryAll / getDeleted but never match an upsert or a unique check.
 */
export class RecordStore {
  private readonly tables = new Map<string, Table>();
  private undoLog: Array<() => void> | undefined;
  private readonly savepoints: number[] = [];
  /** Row changes inside an open savepoint, handed to `onCommit` only when the outermost one commits. */
  private pending: RowChange[] = [];
  private readonly pendingMarks: number[] = [];
  /**
   * Receives every committed row change, in commit order (Change Data Capture publishes only
   * committed transactions: a rolled-back all-or-none request publishes nothing).
   */
  onCommit: ((changes: RowChange[]) => void) | undefined;

  private table(type: string): Table {
    let t = this.tables.get(type);
    if (!t) {
      t = { rows: new Map(), indexes: new Map(), deleted: new Set() };
      this.tables.set(type, t);
    }
    return t;
  }

  get(type: string, id: string): Row | undefined {
    return this.tables.get(type)?.rows.get(id);
  }

  rows(type: string): IterableIterator<Row> {
    return this.table(type).rows.values();
  }

  size(type: string): number {
    return this.tables.get(type)?.rows.size ?? 0;
  }

  types(): string[] {
    return [...this.tables.keys()];
  }

  /** Inserts or replaces a row (keyed by its `Id`). */
  put(type: string, row: Row): void {
    const t = this.table(type);
    const id = row.Id as string;
    const before = t.rows.get(id);
    this.unindex(t, before);
    t.rows.set(id, row);
    this.index(t, row);
    this.changed({ type, before, after: row });
    this.undoLog?.push(() => {
      const tb = this.table(type);
      this.unindex(tb, tb.rows.get(id));
      if (before) {
        tb.rows.set(id, before);
        this.index(tb, before);
      } else tb.rows.delete(id);
    });
  }

  /** Removes a row for good (hard delete, e.g. a permission set assignment). */
  remove(type: string, id: string): void {
    const t = this.table(type);
    const before = t.rows.get(id);
    if (!before) return;
    this.unindex(t, before);
    t.rows.delete(id);
    this.changed({ type, before, after: undefined });
    this.undoLog?.push(() => {
      const tb = this.table(type);
      tb.rows.set(id, before);
      this.index(tb, before);
    });
  }

  /** Indexes `field` of `type` (idempotent). */
  addIndex(type: string, field: string, caseSensitive = false): void {
    const t = this.table(type);
    const existing = t.indexes.get(field);
    if (existing && existing.caseSensitive === caseSensitive) return;
    const idx: Index = { caseSensitive, entries: new Map() };
    t.indexes.set(field, idx);
    for (const row of t.rows.values()) this.indexOne(idx, field, row);
  }

  dropIndex(type: string, field: string): void {
    this.table(type).indexes.delete(field);
  }

  hasIndex(type: string, field: string): boolean {
    return this.table(type).indexes.has(field);
  }

  /** Ids of the deleted rows (IsDeleted) of `type`: what a queryAll adds to an index lookup. */
  deletedIds(type: string): string[] {
    return [...(this.tables.get(type)?.deleted ?? [])];
  }

  /** Ids of live rows whose indexed `field` equals `value` (`undefined` when not indexed). */
  lookup(type: string, field: string, value: Value): string[] | undefined {
    const idx = this.table(type).indexes.get(field);
    if (!idx) return undefined;
    const k = indexKey(value, idx.caseSensitive);
    if (k === undefined) return [];
    return [...(idx.entries.get(k) ?? [])];
  }

  /**
   * Opens a savepoint: `rollback()` undoes every write since the matching `begin()`, `commit()`
   * keeps them (and hands them to an enclosing savepoint, so composite requests can nest collections).
   */
  begin(): void {
    this.undoLog ??= [];
    this.savepoints.push(this.undoLog.length);
    this.pendingMarks.push(this.pending.length);
  }

  commit(): void {
    this.savepoints.pop();
    this.pendingMarks.pop();
    if (this.savepoints.length === 0) {
      this.undoLog = undefined;
      const done = this.pending;
      this.pending = [];
      if (done.length) this.onCommit?.(done);
    }
  }

  rollback(): void {
    this.pending.length = this.pendingMarks.pop() ?? 0;
    const log = this.undoLog ?? [];
    const mark = this.savepoints.pop() ?? 0;
    // Undo entries push nothing while replaying: detach the log first.
    this.undoLog = undefined;
    for (let i = log.length - 1; i >= mark; i--) log[i]!();
    log.length = mark;
    this.undoLog = this.savepoints.length ? log : undefined;
  }

  /** Drops every row and index (used when importing a saved state). */
  clear(): void {
    this.tables.clear();
  }

  private changed(change: RowChange): void {
    // Undo entries replayed by a rollback are not changes anyone committed.
    if (this.savepoints.length) {
      if (this.undoLog) this.pending.push(change);
    } else this.onCommit?.([change]);
  }

  private index(t: Table, row: Row | undefined): void {
    if (!row) return;
    if (row.IsDeleted === true) {
      t.deleted.add(row.Id as string);
      return;
    }
    for (const [field, idx] of t.indexes) this.indexOne(idx, field, row);
  }

  private indexOne(idx: Index, field: string, row: Row): void {
    if (row.IsDeleted === true) return;
    const k = indexKey(row[field] ?? null, idx.caseSensitive);
    if (k === undefined) return;
    let set = idx.entries.get(k);
    if (!set) {
      set = new Set();
      idx.entries.set(k, set);
    }
    set.add(row.Id as string);
  }

  private unindex(t: Table, row: Row | undefined): void {
    if (!row) return;
    t.deleted.delete(row.Id as string);
    for (const [field, idx] of t.indexes) {
      const k = indexKey(row[field] ?? null, idx.caseSensitive);
      if (k === undefined) continue;
      const set = idx.entries.get(k);
      set?.delete(row.Id as string);
      if (set?.size === 0) idx.entries.delete(k);
    }
  }
}
