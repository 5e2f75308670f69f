/**
 * The emulator's data: rows per table, the organization-wide row version counter, the log of
 * deletes that change tracking reports, many-to-many links and alternate-key indexes. Writes are
 * journaled while a transaction is open so a failed change set (or a failed multi-row action) can
 * be rolled back exactly.
 */

/** A stored reference to another row. */
export interface LookupRef {
  id: string;
  table: string;
}

/** A stored column value. Dates are ISO text (`YYYY-MM-DD` for date-only columns). */
export type Stored = string | number | boolean | null | LookupRef;

/** One row: column logical name → value. Rows are never mutated in place (the journal keeps old ones). */
export type Row = Readonly<Record<string, Stored>>;

/** A delete as change tracking reports it. */
export interface DeletedEntry {
  table: string;
  id: string;
  /** Row version assigned to the delete, so deltas can order it after the changes before it. */
  version: number;
}

type Undo =
  | { k: "row"; table: string; id: string; prev: Row | undefined }
  | { k: "version"; prev: number }
  | { k: "deleted"; prevLength: number }
  | { k: "link"; relationship: string; a: string; b: string; added: boolean };

/** What {@link DataStore.export} returns: plain JSON. */
export interface StoreSnapshot {
  version: number;
  rows: Record<string, Row[]>;
  deleted: DeletedEntry[];
  links: Record<string, [string, string][]>;
}

/** Whether a stored value is a reference to another row. */
export function isLookupRef(v: Stored | undefined): v is LookupRef {
  return typeof v === "object" && v !== null;
}

/** The value a key index compares: case-insensitive text, ids for lookups. */
function keyPart(v: Stored | undefined): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (isLookupRef(v)) return v.id.toLowerCase();
  return typeof v === "string" ? v.toLowerCase() : String(v);
}

interface KeyIndex {
  columns: string[];
  map: Map<string, string>;
}

/** A row created, updated or deleted (what server-side event handlers are told about). */
export interface RowChange {
  table: string;
  id: string;
  /** The row before (`undefined`: created). */
  prev: Row | undefined;
  /** The row after (`undefined`: deleted). */
  next: Row | undefined;
}

/** Rows, versions, deletes, links and key indexes of one environment (see the module comment). */
export class DataStore {
  private readonly observers: ((change: RowChange) => void)[] = [];
  /** Changes inside an open transaction, told to observers only once it commits. */
  private pending: RowChange[] = [];
  private readonly pendingMarks: number[] = [];
  private readonly rows = new Map<string, Map<string, Row>>();
  private version: number;
  private readonly deleted: DeletedEntry[] = [];
  /** relationship → "a|b" pairs, stored in both directions. */
  private readonly links = new Map<string, Map<string, Set<string>>>();
  /** table → key logical name → index. */
  private readonly keyIndexes = new Map<string, Map<string, KeyIndex>>();
  private journal: Undo[] | undefined;
  private readonly savepoints: number[] = [];

  constructor(startVersion = 1_000_000) {
    this.version = startVersion;
  }

  /** The last row version handed out. */
  currentVersion(): number {
    return this.version;
  }

  /** Hands out the next row version (Dataverse's org-wide, ever-increasing `versionnumber`). */
  nextVersion(): number {
    this.journal?.push({ k: "version", prev: this.version });
    this.version += 1;
    return this.version;
  }

  private tableRows(table: string): Map<string, Row> {
    let m = this.rows.get(table);
    if (!m) {
      m = new Map();
      this.rows.set(table, m);
    }
    return m;
  }

  get(table: string, id: string): Row | undefined {
    return this.rows.get(table)?.get(id.toLowerCase());
  }

  all(table: string): IterableIterator<Row> {
    return this.tableRows(table).values();
  }

  count(table: string): number {
    return this.rows.get(table)?.size ?? 0;
  }

  /** Inserts or replaces a row. */
  put(table: string, id: string, row: Row): void {
    const key = id.toLowerCase();
    const prev = this.tableRows(table).get(key);
    this.journal?.push({ k: "row", table, id: key, prev });
    this.setRow(table, key, row, prev);
    this.emit({ table, id: key, prev, next: row });
  }

  /**
   * Calls `fn` after every committed row change (a change inside a transaction only once the
   * outermost transaction commits; several changes of one row in it become one). Returns the undo.
   */
  observe(fn: (change: RowChange) => void): () => void {
    this.observers.push(fn);
    return () => {
      const i = this.observers.indexOf(fn);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  private emit(change: RowChange): void {
    if (!this.observers.length) return;
    if (this.journal) this.pending.push(change);
    else for (const o of this.observers) o(change);
  }

  private flush(): void {
    const merged = new Map<string, RowChange>();
    for (const c of this.pending) {
      const k = `${c.table}|${c.id}`;
      const first = merged.get(k);
      merged.set(k, first ? { ...c, prev: first.prev } : c);
    }
    this.pending = [];
    for (const c of merged.values()) {
      if (!c.prev && !c.next) continue; // created and deleted in one transaction
      for (const o of this.observers) o(c);
    }
  }

  /** Removes a row and logs the delete with a new row version. */
  remove(table: string, id: string): void {
    const key = id.toLowerCase();
    const prev = this.tableRows(table).get(key);
    if (!prev) return;
    this.journal?.push({ k: "row", table, id: key, prev });
    this.setRow(table, key, undefined, prev);
    this.emit({ table, id: key, prev, next: undefined });
    this.journal?.push({ k: "deleted", prevLength: this.deleted.length });
    this.deleted.push({ table, id: key, version: this.nextVersion() });
    for (const [relationship, pairs] of this.links) {
      for (const other of [...(pairs.get(key) ?? [])]) this.unlink(relationship, key, other);
    }
  }

  /** Deletes logged for `table` with a version in (`after`, `upTo`], oldest first. */
  deletesBetween(table: string, after: number, upTo: number): DeletedEntry[] {
    return this.deleted.filter((d) => d.table === table && d.version > after && d.version <= upTo);
  }

  private setRow(table: string, id: string, row: Row | undefined, prev: Row | undefined): void {
    const rows = this.tableRows(table);
    const indexes = this.keyIndexes.get(table);
    if (indexes && prev) {
      for (const idx of indexes.values()) {
        const k = this.indexKey(idx.columns, prev);
        if (k !== undefined && idx.map.get(k) === id) idx.map.delete(k);
      }
    }
    if (row) rows.set(id, row);
    else rows.delete(id);
    if (indexes && row) {
      for (const idx of indexes.values()) {
        const k = this.indexKey(idx.columns, row);
        if (k !== undefined) idx.map.set(k, id);
      }
    }
  }

  private indexKey(columns: string[], row: Row | Record<string, Stored>): string | undefined {
    const parts: string[] = [];
    for (const c of columns) {
      const p = keyPart(row[c]);
      // Like Dataverse's filtered unique indexes, rows with an empty key column are not indexed.
      if (p === undefined) return undefined;
      parts.push(p);
    }
    return JSON.stringify(parts);
  }

  /**
   * Builds a unique index for an alternate key. Returns false (and builds nothing) when existing rows
   * already share key values, which is how a Dataverse key index ends up `Failed`.
   */
  buildKeyIndex(table: string, keyName: string, columns: string[]): boolean {
    const map = new Map<string, string>();
    for (const [id, row] of this.tableRows(table)) {
      const k = this.indexKey(columns, row);
      if (k === undefined) continue;
      if (map.has(k)) return false;
      map.set(k, id);
    }
    let byTable = this.keyIndexes.get(table);
    if (!byTable) {
      byTable = new Map();
      this.keyIndexes.set(table, byTable);
    }
    byTable.set(keyName, { columns, map });
    return true;
  }

  dropKeyIndex(table: string, keyName: string): void {
    this.keyIndexes.get(table)?.delete(keyName);
  }

  /** The id of the row whose key columns equal `values`, using the key's index. */
  findByKey(table: string, keyName: string, values: Record<string, Stored>): string | undefined {
    const idx = this.keyIndexes.get(table)?.get(keyName);
    if (!idx) return undefined;
    const k = this.indexKey(idx.columns, values);
    return k === undefined ? undefined : idx.map.get(k);
  }

  /** Active key indexes of `table` whose values in `row` are already taken by another row. */
  keyConflicts(table: string, id: string, row: Row): string[] {
    const out: string[] = [];
    for (const [name, idx] of this.keyIndexes.get(table) ?? []) {
      const k = this.indexKey(idx.columns, row);
      const owner = k === undefined ? undefined : idx.map.get(k);
      if (owner !== undefined && owner !== id.toLowerCase()) out.push(name);
    }
    return out;
  }

  link(relationship: string, a: string, b: string): void {
    const [x, y] = [a.toLowerCase(), b.toLowerCase()];
    if (this.linked(relationship, x).includes(y)) return;
    this.journal?.push({ k: "link", relationship, a: x, b: y, added: true });
    this.setLink(relationship, x, y, true);
  }

  unlink(relationship: string, a: string, b: string): void {
    const [x, y] = [a.toLowerCase(), b.toLowerCase()];
    if (!this.linked(relationship, x).includes(y)) return;
    this.journal?.push({ k: "link", relationship, a: x, b: y, added: false });
    this.setLink(relationship, x, y, false);
  }

  linked(relationship: string, id: string): string[] {
    return [...(this.links.get(relationship)?.get(id.toLowerCase()) ?? [])];
  }

  private setLink(relationship: string, a: string, b: string, add: boolean): void {
    let pairs = this.links.get(relationship);
    if (!pairs) {
      pairs = new Map();
      this.links.set(relationship, pairs);
    }
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      let set = pairs.get(from);
      if (!set) {
        set = new Set();
        pairs.set(from, set);
      }
      if (add) set.add(to);
      else set.delete(to);
    }
  }

  /** Opens a (possibly nested) transaction: everything until the matching commit/rollback is undoable. */
  begin(): void {
    this.journal ??= [];
    this.savepoints.push(this.journal.length);
    this.pendingMarks.push(this.pending.length);
  }

  /** Keeps the changes since the matching {@link begin}. */
  commit(): void {
    this.savepoints.pop();
    this.pendingMarks.pop();
    if (this.savepoints.length === 0) {
      this.journal = undefined;
      this.flush();
    }
  }

  /** Undoes every change since the matching {@link begin}. */
  rollback(): void {
    const mark = this.savepoints.pop() ?? 0;
    this.pending.length = this.pendingMarks.pop() ?? 0;
    const journal = this.journal ?? [];
    while (journal.length > mark) {
      const u = journal.pop()!;
      if (u.k === "row") this.setRow(u.table, u.id, u.prev, this.tableRows(u.table).get(u.id));
      else if (u.k === "version") this.version = u.prev;
      else if (u.k === "deleted") this.deleted.length = u.prevLength;
      else this.setLink(u.relationship, u.a, u.b, !u.added);
    }
    if (this.savepoints.length === 0) this.journal = undefined;
  }

  /** Runs `fn` in a transaction: rolled back when it throws. */
  transaction<T>(fn: () => T): T {
    this.begin();
    try {
      const out = fn();
      this.commit();
      return out;
    } catch (e) {
      this.rollback();
      throw e;
    }
  }

  export(): StoreSnapshot {
    const rows: Record<string, Row[]> = {};
    for (const [t, m] of this.rows) rows[t] = [...m.values()];
    const links: Record<string, [string, string][]> = {};
    for (const [rel, pairs] of this.links) {
      const seen: [string, string][] = [];
      for (const [a, set] of pairs) for (const b of set) if (a < b) seen.push([a, b]);
      links[rel] = seen;
    }
    return { version: this.version, rows, deleted: [...this.deleted], links };
  }

  /** Replaces everything with `snapshot`; key indexes are rebuilt by the caller. */
  import(snapshot: StoreSnapshot, primaryIds: Record<string, string>): void {
    this.rows.clear();
    this.links.clear();
    this.keyIndexes.clear();
    this.deleted.length = 0;
    this.version = snapshot.version;
    for (const [t, list] of Object.entries(snapshot.rows)) {
      const pk = primaryIds[t];
      if (!pk) continue;
      const m = this.tableRows(t);
      for (const r of list) m.set(String(r[pk]).toLowerCase(), r);
    }
    this.deleted.push(...snapshot.deleted);
    for (const [rel, pairs] of Object.entries(snapshot.links))
      for (const [a, b] of pairs) this.setLink(rel, a, b, true);
  }
}
