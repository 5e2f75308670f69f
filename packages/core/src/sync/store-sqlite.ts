import { chmodSync, closeSync, existsSync, openSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { ConfigError, CoSellError } from "../errors.js";
import type { StateStore } from "./store.js";
import { clampLimit, duplicateLinkError } from "./store-common.js";
import {
  type AuditRow,
  auditValues,
  cycleValues,
  type LedgerRow,
  type LinkRow,
  linkValues,
  type OutboxRow,
  outboxValues,
  type ParkedRow,
  parkedValues,
  rowToAudit,
  rowToLedger,
  rowToLink,
  rowToOutbox,
  rowToParked,
  sqliteValues,
} from "./store-rows.js";
import { assertCosellDatabase, migrate, nativeModuleProblem, notOurs } from "./store-sqlite-schema.js";
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

/** How long a write waits for another process's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * The embedded {@link StateStore}: one SQLite file in WAL mode (readers never block the writer),
 * `synchronous = NORMAL` (a power cut may lose the last commits but never corrupts the file), one
 * table per concept and JSON columns for the deal snapshots. Lists keep insertion order;
 * `listAudit`/`listCycles` return the newest first. Open it with {@link SqliteStateStore.open}.
 */
export class SqliteStateStore implements StateStore {
  /**
   * A batch's create intents in one commit (see {@link StateStore.writeAheadIntents}): a commit of its
   * own per create was the largest cost left in a backfill's store work. After a crash, each create of
   * that batch neither answered nor shown by the next listing costs one look-up by CRM id, once.
   */
  readonly writeAheadIntents: "each" | "batch" = "batch";
  private readonly db: Database.Database;
  private readonly sql: ReturnType<typeof prepareStatements>;
  private readonly run: Database.Transaction<(fn: () => unknown) => unknown>;

  /** Same as {@link SqliteStateStore.open}. */
  constructor(path: string) {
    this.db = openDatabase(path);
    this.sql = prepareStatements(this.db);
    this.run = this.db.transaction((fn: () => unknown) => fn());
  }

  /**
   * Opens (and creates or upgrades) the state database at `path`; `":memory:"` gives a private,
   * throw-away database. Throws `ConfigError` `STATE_STORE_UNUSABLE` when the folder does not exist or
   * the file is not a cosell state database, and `STATE_STORE_TOO_NEW` when a newer cosell wrote it.
   */
  static open(path: string): SqliteStateStore {
    return new SqliteStateStore(path);
  }

  /**
   * Runs `fn` in one SQLite transaction (taking the write lock up front, so it waits on
   * `busy_timeout` instead of failing half-way). A nested call becomes a savepoint: its throw undoes
   * only its own writes. `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T {
    return this.run.immediate(fn) as T;
  }

  getLink(linkId: string): Link | undefined {
    return rowToLink(this.sql.linkById.get(linkId) as LinkRow | undefined);
  }

  getLinkByCrmId(crmId: string): Link | undefined {
    return rowToLink(this.sql.linkByCrmId.get(crmId) as LinkRow | undefined);
  }

  getLinkByReferralId(referralId: string): Link | undefined {
    return rowToLink(this.sql.linkByReferralId.get(referralId) as LinkRow | undefined);
  }

  findLinks(keys: { crmIds?: readonly string[]; referralIds?: readonly string[] }): Link[] {
    const crmIds = keys.crmIds ?? [];
    const referralIds = keys.referralIds ?? [];
    if (!crmIds.length && !referralIds.length) return [];
    // As JSON arrays: one prepared statement whatever the number of ids.
    return (
      this.sql.findLinks.all({
        crmIds: JSON.stringify(crmIds),
        referralIds: JSON.stringify(referralIds),
      }) as LinkRow[]
    ).map((r) => rowToLink(r)!);
  }

  listLinks(filter: { state?: Link["state"] } = {}): Link[] {
    const rows = filter.state ? this.sql.linksInState.all(filter.state) : this.sql.links.all();
    return (rows as LinkRow[]).map((r) => rowToLink(r)!);
  }

  countLinks(): Partial<Record<Link["state"], number>> {
    const rows = this.sql.linkCounts.all() as { state: Link["state"]; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  /** Inserts or replaces by `linkId`; throws `STATE_LINK_DUPLICATE` if another link has its CRM or referral id. */
  putLink(link: Link): void {
    try {
      this.sql.putLink.run(sqliteValues(linkValues(link)));
    } catch (err) {
      if (isSqliteError(err, "SQLITE_CONSTRAINT_UNIQUE")) {
        const message = (err as Error).message;
        if (message.includes("links.crm_id")) throw duplicateLinkError(link, "crmId");
        if (message.includes("links.referral_id")) throw duplicateLinkError(link, "referralId");
      }
      throw err;
    }
  }

  getCursor(side: Side): string | undefined {
    return (this.sql.cursor.get(side) as { cursor: string } | undefined)?.cursor;
  }

  setCursor(side: Side, cursor: string): void {
    this.sql.setCursor.run(side, cursor);
  }

  getFeedPosition(feed: string): string | undefined {
    return (this.sql.feedPosition.get(feed) as { position: string } | undefined)?.position;
  }

  setFeedPosition(feed: string, position: string): void {
    this.sql.setFeedPosition.run(feed, position);
  }

  /** A second write of the same side, record and field replaces the first. */
  addLedger(entries: LedgerEntry[]): void {
    const add = () => {
      for (const e of entries) this.sql.addLedger.run(e.side, e.recordId, e.field, e.valueHash, e.writtenAt);
    };
    // Inside the caller's transaction the entries are atomic already: a savepoint per call would
    // only cost (the engine adds a pair's entries within its batch's commit).
    if (this.db.inTransaction) add();
    else this.transaction(add);
  }

  listLedger(side: Side, recordId: string, field: SyncField): LedgerEntry[] {
    return (this.sql.listLedger.all(side, recordId, field) as LedgerRow[]).map(rowToLedger);
  }

  listLedgerOfRecord(side: Side, recordId: string): LedgerEntry[] {
    return (this.sql.listLedgerOfRecord.all(side, recordId) as LedgerRow[]).map(rowToLedger);
  }

  listLedgerOfRecords(side: Side, recordIds: readonly string[]): LedgerEntry[] {
    if (!recordIds.length) return [];
    // The ids go in as one JSON array: one prepared statement whatever their number (no limit on
    // bound variables to split around).
    return (this.sql.listLedgerOfRecords.all(side, JSON.stringify(recordIds)) as LedgerRow[]).map(
      rowToLedger,
    );
  }

  consumeLedger(side: Side, recordId: string, field: SyncField, valueHash?: string): void {
    if (valueHash === undefined) this.sql.consumeLedger.run(side, recordId, field);
    else this.sql.consumeLedgerValue.run(side, recordId, field, valueHash);
  }

  pruneLedger(before: string): number {
    return this.sql.pruneLedger.run(before).changes;
  }

  /** Enqueueing an `id` that is already queued replaces that item in place. */
  enqueueOutbox(item: OutboxItem): void {
    this.sql.enqueueOutbox.run(outboxValues(item));
  }

  listOutbox(linkId?: string): OutboxItem[] {
    const rows = (
      linkId === undefined ? this.sql.outbox.all() : this.sql.outboxOfLink.all(linkId)
    ) as OutboxRow[];
    return rows.map(rowToOutbox);
  }

  removeOutbox(id: string): void {
    this.sql.removeOutbox.run(id);
  }

  clearOutbox(linkId: string): void {
    this.sql.clearOutbox.run(linkId);
  }

  /** Parking a link that is already parked replaces its conflict. */
  park(conflict: ParkedConflict): void {
    this.sql.park.run(parkedValues(conflict));
  }

  getParked(linkId: string): ParkedConflict | undefined {
    const row = this.sql.parkedOfLink.get(linkId) as ParkedRow | undefined;
    return row && rowToParked(row);
  }

  listParked(): ParkedConflict[] {
    return (this.sql.parked.all() as ParkedRow[]).map(rowToParked);
  }

  unpark(linkId: string): void {
    this.sql.unpark.run(linkId);
  }

  setRecordError(error: Omit<RecordError, "attempts">): void {
    this.sql.setRecordError.run(error.key, error.code, error.message, error.at);
  }

  clearRecordError(key: string): void {
    this.sql.clearRecordError.run(key);
  }

  listRecordErrors(): RecordError[] {
    return this.sql.recordErrors.all() as RecordError[];
  }

  appendAudit(entry: AuditEntry): void {
    this.sql.appendAudit.run(auditValues(entry));
  }

  /** The `limit` most recent entries, newest first. */
  listAudit(limit: number): AuditEntry[] {
    return (this.sql.audit.all(clampLimit(limit)) as AuditRow[]).map(rowToAudit);
  }

  /** Recording a `cycleId` again replaces that summary in place. */
  recordCycle(summary: CycleSummary): void {
    this.sql.recordCycle.run(sqliteValues(cycleValues(summary)));
  }

  /** The `limit` most recent cycles, newest first. */
  listCycles(limit: number): CycleSummary[] {
    return (this.sql.cycles.all(clampLimit(limit)) as { summary: string }[]).map(
      (r) => JSON.parse(r.summary) as CycleSummary,
    );
  }

  /** Closes the database; the store cannot be used afterwards. Closing twice is harmless. */
  close(): void {
    this.db.close();
  }
}

/**
 * The state holds customer contacts: the database is created owner-only (0600), and a file made by an
 * older cosell is tightened. SQLite creates `-wal` and `-shm` with the database file's permissions;
 * existing ones are tightened too.
 */
function makePrivate(path: string): void {
  try {
    closeSync(openSync(path, "a", 0o600));
    for (const f of [path, `${path}-wal`, `${path}-shm`])
      if (existsSync(f) && (statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600);
  } catch {
    // Not ours to create or change (a read-only copy, another owner): opening reports what matters.
  }
}

/** Opens, identifies, tunes and migrates the database; closes it again if any of that fails. */
function openDatabase(path: string): Database.Database {
  if (path !== ":memory:") {
    assertFolderExists(path);
    makePrivate(path);
  }
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (err) {
    throw nativeModuleProblem(err) ?? notOurs(path, `it cannot be opened: ${(err as Error).message}`, err);
  }
  try {
    // Before anything else, so that even the first read waits for a writer instead of failing.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Identify before the WAL switch, which would rewrite another application's file.
    assertCosellDatabase(db, path);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    migrate(db, path);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof CoSellError) throw err;
    if (isSqliteError(err, "SQLITE_NOTADB") || isSqliteError(err, "SQLITE_CORRUPT"))
      throw notOurs(path, (err as Error).message, err);
    throw err;
  }
}

/** Every statement the store runs, prepared once per connection. */
function prepareStatements(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    linkById: p("SELECT * FROM links WHERE link_id = ?"),
    linkByCrmId: p("SELECT * FROM links WHERE crm_id = ?"),
    linkByReferralId: p("SELECT * FROM links WHERE referral_id = ?"),
    links: p("SELECT * FROM links ORDER BY seq"),
    // Each side through its own unique index (an OR across two IN lists would scan the table).
    findLinks: p(`
      SELECT * FROM links WHERE crm_id IN (SELECT value FROM json_each(@crmIds))
      UNION
      SELECT * FROM links WHERE referral_id IN (SELECT value FROM json_each(@referralIds))
      ORDER BY seq`),
    linksInState: p("SELECT * FROM links WHERE state = ? ORDER BY seq"),
    linkCounts: p("SELECT state, count(*) AS n FROM links GROUP BY state"),
    // An upsert on link_id, not INSERT OR REPLACE: REPLACE would silently delete another link that
    // holds the same CRM or referral id instead of reporting the clash.
    putLink: p(`
      INSERT INTO links (link_id, crm_id, referral_id, direction, state, crm_opted_in,
        crm_modified_at, status_hash, baseline, crm, referral, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (link_id) DO UPDATE SET crm_id = excluded.crm_id, referral_id = excluded.referral_id,
        direction = excluded.direction, state = excluded.state,
        crm_opted_in = excluded.crm_opted_in, crm_modified_at = excluded.crm_modified_at,
        status_hash = excluded.status_hash, baseline = excluded.baseline, crm = excluded.crm,
        referral = excluded.referral, created_at = excluded.created_at, updated_at = excluded.updated_at`),
    cursor: p("SELECT cursor FROM cursors WHERE side = ?"),
    setCursor: p(
      "INSERT INTO cursors (side, cursor) VALUES (?, ?) ON CONFLICT (side) DO UPDATE SET cursor = excluded.cursor",
    ),
    feedPosition: p("SELECT position FROM feed_positions WHERE feed = ?"),
    setFeedPosition: p(
      "INSERT INTO feed_positions (feed, position) VALUES (?, ?) ON CONFLICT (feed) DO UPDATE SET position = excluded.position",
    ),
    addLedger: p(`
      INSERT INTO ledger (side, record_id, field, value_hash, written_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (side, record_id, field, value_hash) DO UPDATE SET written_at = excluded.written_at`),
    listLedger: p("SELECT * FROM ledger WHERE side = ? AND record_id = ? AND field = ? ORDER BY seq"),
    // Served by the (side, record_id, field, value_hash) unique index's prefix.
    listLedgerOfRecord: p("SELECT * FROM ledger WHERE side = ? AND record_id = ? ORDER BY seq"),
    listLedgerOfRecords: p(
      "SELECT * FROM ledger WHERE side = ? AND record_id IN (SELECT value FROM json_each(?)) ORDER BY seq",
    ),
    consumeLedger: p("DELETE FROM ledger WHERE side = ? AND record_id = ? AND field = ?"),
    consumeLedgerValue: p(
      "DELETE FROM ledger WHERE side = ? AND record_id = ? AND field = ? AND value_hash = ?",
    ),
    pruneLedger: p("DELETE FROM ledger WHERE written_at < ?"),
    enqueueOutbox: p(`
      INSERT INTO outbox (id, link_id, side, fields, action, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET link_id = excluded.link_id, side = excluded.side,
        fields = excluded.fields, action = excluded.action, reason = excluded.reason,
        created_at = excluded.created_at`),
    outbox: p("SELECT * FROM outbox ORDER BY seq"),
    outboxOfLink: p("SELECT * FROM outbox WHERE link_id = ? ORDER BY seq"),
    removeOutbox: p("DELETE FROM outbox WHERE id = ?"),
    clearOutbox: p("DELETE FROM outbox WHERE link_id = ?"),
    park: p(`
      INSERT INTO parked (link_id, fields, crm, partner_center, detected_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (link_id) DO UPDATE SET fields = excluded.fields, crm = excluded.crm,
        partner_center = excluded.partner_center, detected_at = excluded.detected_at`),
    parkedOfLink: p("SELECT * FROM parked WHERE link_id = ?"),
    parked: p("SELECT * FROM parked ORDER BY seq"),
    unpark: p("DELETE FROM parked WHERE link_id = ?"),
    setRecordError: p(`
      INSERT INTO record_errors (key, code, message, at, attempts) VALUES (?, ?, ?, ?, 1)
      ON CONFLICT (key) DO UPDATE SET code = excluded.code, message = excluded.message, at = excluded.at,
        attempts = attempts + 1`),
    clearRecordError: p("DELETE FROM record_errors WHERE key = ?"),
    recordErrors: p("SELECT key, code, message, at, attempts FROM record_errors ORDER BY seq"),
    appendAudit: p(
      "INSERT INTO audit (at, link_id, crm_id, referral_id, kind, message) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    audit: p("SELECT * FROM audit ORDER BY seq DESC LIMIT ?"),
    recordCycle: p(`
      INSERT INTO cycles (cycle_id, started_at, finished_at, mode, dry_run, summary) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (cycle_id) DO UPDATE SET started_at = excluded.started_at,
        finished_at = excluded.finished_at, mode = excluded.mode, dry_run = excluded.dry_run,
        summary = excluded.summary`),
    cycles: p("SELECT summary FROM cycles ORDER BY seq DESC LIMIT ?"),
  };
}

function isSqliteError(err: unknown, code: string): boolean {
  return err instanceof Database.SqliteError && err.code === code;
}

/** better-sqlite3's own message ("directory does not exist") does not say which folder or what to do. */
function assertFolderExists(path: string): void {
  const folder = dirname(resolve(path));
  if (existsSync(folder) && statSync(folder).isDirectory()) return;
  throw new ConfigError(
    "STATE_STORE_UNUSABLE",
    `Cannot open the cosell state database "${path}": the folder "${folder}" does not exist. Create the ` +
      "folder, or point cosell at a state file in an existing folder.",
    { path, folder },
  );
}
