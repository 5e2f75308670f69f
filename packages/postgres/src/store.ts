import {
  ASYNC_TRANSACTION_MESSAGE,
  type AuditEntry,
  type AuditRow,
  auditValues,
  type CycleSummary,
  clampLimit,
  cycleValues,
  duplicateLinkError,
  type LedgerEntry,
  type LedgerRow,
  type Link,
  type LinkRow,
  linkValues,
  type OutboxItem,
  type OutboxRow,
  outboxValues,
  type ParkedConflict,
  type ParkedRow,
  parkedValues,
  type RecordError,
  rowToAudit,
  rowToLedger,
  rowToLink,
  rowToOutbox,
  rowToParked,
  type Side,
  type StateStore,
  type SyncField,
} from "@cosell/core";
import { type AdvisoryLock, BlockingClient, PostgresError } from "./blocking-client.js";
import { mergeAdjacentDeletes, type QueuedWrite } from "./merge-deletes.js";
import { assertSchemaName, migrateSchema } from "./migrations.js";

export interface PostgresStoreOptions {
  /** `postgres://user@host:5432/db` (TLS options as node-postgres reads them, e.g. `?sslmode=require`). */
  url: string;
  /** The tenant's schema; created and migrated on open. */
  schema: string;
  /** Skip migrating on open (the schema must already be current). Default: migrate. */
  migrate?: boolean;
  /** How long to keep reconnecting after the connection drops. Default 30 s. */
  reconnectForMs?: number;
  /** `application_name` in `pg_stat_activity`, so an operator can tell workers apart. */
  applicationName?: string;
}

/**
 * The {@link StateStore} on PostgreSQL: one schema per tenant, the same tables as the SQLite store,
 * one connection per store. Synchronous like the port (see `blocking-client.ts` for how), so the
 * engine runs on it unchanged: each `transaction()` is a PostgreSQL transaction committed before it
 * returns, nested calls are savepoints.
 *
 * Besides the port it offers {@link PostgresStateStore.tryLock}: a session advisory lock, so a second
 * worker can tell that a tenant's cycle is already running elsewhere.
 */
export class PostgresStateStore implements StateStore {
  private readonly db: BlockingClient;
  private depth = 0;
  /** Writes queued inside the open transaction (see `write`). */
  private pending: QueuedWrite<(err: PostgresError) => Error>[] = [];
  /** Advisory locks held: key → shared. */
  private locks = new Map<string, boolean>();
  /** Each commit is a round trip and a flush to disk: a batch's creates share one (see StateStore). */
  readonly writeAheadIntents = "batch";

  private constructor(
    db: BlockingClient,
    readonly schema: string,
  ) {
    this.db = db;
  }

  /**
   * Connects, creates the tenant's schema and brings it to the newest migration. Throws
   * `STATE_STORE_POSTGRES` when the server cannot be reached and `STATE_STORE_TOO_NEW` when a newer
   * cosell migrated the schema.
   */
  static open(options: PostgresStoreOptions): PostgresStateStore {
    assertSchemaName(options.schema);
    const db = new BlockingClient({
      connectionString: options.url,
      schema: options.schema,
      ...(options.reconnectForMs === undefined ? {} : { reconnectForMs: options.reconnectForMs }),
      applicationName: options.applicationName ?? `cosell:${options.schema}`,
    });
    try {
      if (options.migrate !== false) migrateSchema(db, options.schema);
      return new PostgresStateStore(db, options.schema);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /**
   * Runs `fn` in one transaction; a nested call is a savepoint whose throw undoes only its own
   * writes. `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T {
    const level = this.depth;
    const savepoint = `cosell_sp_${level}`;
    if (level === 0) this.db.beginLazily();
    else {
      // A nested call keeps its own scope: what the outer one queued goes first.
      this.flush();
      this.db.query(`SAVEPOINT ${savepoint}`);
    }
    this.depth = level + 1;
    try {
      const result = fn();
      if (isThenable(result)) throw new TypeError(ASYNC_TRANSACTION_MESSAGE);
      // Sent now, so that a refused write throws here, inside its own transaction or savepoint; at the
      // outer level with the COMMIT, in one round trip.
      if (level === 0) this.flush({ commit: true });
      else {
        this.flush();
        this.db.query(`RELEASE SAVEPOINT ${savepoint}`);
      }
      return result;
    } catch (err) {
      // Queued writes of this scope never reached the server: dropping them undoes them.
      this.pending = [];
      try {
        if (level === 0) this.db.rollback();
        else this.db.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
      } catch {
        // The connection is gone: the server has rolled the transaction back already.
      }
      throw err;
    } finally {
      this.depth = level;
    }
  }

  getLink(linkId: string): Link | undefined {
    return rowToLink(this.one<LinkRow>("SELECT * FROM links WHERE link_id = $1", [linkId]));
  }

  getLinkByCrmId(crmId: string): Link | undefined {
    return rowToLink(this.one<LinkRow>("SELECT * FROM links WHERE crm_id = $1", [crmId]));
  }

  findLinks(keys: { crmIds?: readonly string[]; referralIds?: readonly string[] }): Link[] {
    const crmIds = keys.crmIds ?? [];
    const referralIds = keys.referralIds ?? [];
    if (!crmIds.length && !referralIds.length) return [];
    return this.all<LinkRow>(
      // Both unique indexes serve this (a bitmap OR).
      "SELECT * FROM links WHERE crm_id = ANY($1::text[]) OR referral_id = ANY($2::text[]) ORDER BY seq",
      [[...crmIds], [...referralIds]],
    ).map((r) => rowToLink(r)!);
  }

  getLinkByReferralId(referralId: string): Link | undefined {
    return rowToLink(this.one<LinkRow>("SELECT * FROM links WHERE referral_id = $1", [referralId]));
  }

  listLinks(filter: { state?: Link["state"] } = {}): Link[] {
    const rows = filter.state
      ? this.all<LinkRow>("SELECT * FROM links WHERE state = $1 ORDER BY seq", [filter.state])
      : this.all<LinkRow>("SELECT * FROM links ORDER BY seq");
    return rows.map((r) => rowToLink(r)!);
  }

  countLinks(): Partial<Record<Link["state"], number>> {
    const rows = this.all<{ state: Link["state"]; n: string | number }>(
      "SELECT state, count(*) AS n FROM links GROUP BY state",
    );
    // count(*) is a bigint, which node-postgres hands over as a string.
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  /** Inserts or replaces by `linkId`; throws `STATE_LINK_DUPLICATE` if another link has its CRM or referral id. */
  putLink(link: Link): void {
    this.write(
      `INSERT INTO links (link_id, crm_id, referral_id, direction, state, crm_opted_in,
          crm_modified_at, status_hash, baseline, crm, referral, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (link_id) DO UPDATE SET crm_id = excluded.crm_id, referral_id = excluded.referral_id,
          direction = excluded.direction, state = excluded.state,
          crm_opted_in = excluded.crm_opted_in, crm_modified_at = excluded.crm_modified_at,
          status_hash = excluded.status_hash, baseline = excluded.baseline, crm = excluded.crm,
          referral = excluded.referral, created_at = excluded.created_at, updated_at = excluded.updated_at`,
      linkValues(link),
      (err) => {
        if (err.sqlState === "23505") {
          if (err.constraint === "links_crm_id") return duplicateLinkError(link, "crmId");
          if (err.constraint === "links_referral_id") return duplicateLinkError(link, "referralId");
        }
        return err;
      },
    );
  }

  getCursor(side: Side): string | undefined {
    return this.one<{ cursor: string }>("SELECT cursor FROM cursors WHERE side = $1", [side])?.cursor;
  }

  setCursor(side: Side, cursor: string): void {
    this.write(
      "INSERT INTO cursors (side, cursor) VALUES ($1, $2) ON CONFLICT (side) DO UPDATE SET cursor = excluded.cursor",
      [side, cursor],
    );
  }

  getFeedPosition(feed: string): string | undefined {
    return this.one<{ position: string }>("SELECT position FROM feed_positions WHERE feed = $1", [feed])
      ?.position;
  }

  setFeedPosition(feed: string, position: string): void {
    this.write(
      "INSERT INTO feed_positions (feed, position) VALUES ($1, $2) " +
        "ON CONFLICT (feed) DO UPDATE SET position = excluded.position",
      [feed, position],
    );
  }

  /** One entry per distinct value of a field (see the port); one statement for all. */
  addLedger(entries: LedgerEntry[]): void {
    if (entries.length === 0) return;
    // Later entries for the same value win, as with one upsert per entry (ON CONFLICT cannot touch a
    // row twice in one statement).
    const last = new Map<string, LedgerEntry>();
    for (const e of entries) last.set(JSON.stringify([e.side, e.recordId, e.field, e.valueHash]), e);
    const rows = [...last.values()];
    this.write(
      `INSERT INTO ledger (side, record_id, field, value_hash, written_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
       ON CONFLICT (side, record_id, field, value_hash) DO UPDATE SET written_at = excluded.written_at`,
      [
        rows.map((e) => e.side),
        rows.map((e) => e.recordId),
        rows.map((e) => e.field),
        rows.map((e) => e.valueHash),
        rows.map((e) => e.writtenAt),
      ],
    );
  }

  listLedger(side: Side, recordId: string, field: SyncField): LedgerEntry[] {
    return this.all<LedgerRow>(
      "SELECT * FROM ledger WHERE side = $1 AND record_id = $2 AND field = $3 ORDER BY seq",
      [side, recordId, field],
    ).map(rowToLedger);
  }

  listLedgerOfRecord(side: Side, recordId: string): LedgerEntry[] {
    return this.all<LedgerRow>("SELECT * FROM ledger WHERE side = $1 AND record_id = $2 ORDER BY seq", [
      side,
      recordId,
    ]).map(rowToLedger);
  }

  listLedgerOfRecords(side: Side, recordIds: readonly string[]): LedgerEntry[] {
    if (!recordIds.length) return [];
    return this.all<LedgerRow>(
      "SELECT * FROM ledger WHERE side = $1 AND record_id = ANY($2::text[]) ORDER BY seq",
      [side, [...recordIds]],
    ).map(rowToLedger);
  }

  consumeLedger(side: Side, recordId: string, field: SyncField, valueHash?: string): void {
    if (valueHash === undefined)
      this.write("DELETE FROM ledger WHERE side = $1 AND record_id = $2 AND field = $3", [
        side,
        recordId,
        field,
      ]);
    else
      this.write("DELETE FROM ledger WHERE side = $1 AND record_id = $2 AND field = $3 AND value_hash = $4", [
        side,
        recordId,
        field,
        valueHash,
      ]);
  }

  pruneLedger(before: string): number {
    return this.writeCounted("DELETE FROM ledger WHERE written_at < $1", [before]);
  }

  /** Enqueueing an `id` that is already queued replaces that item in place. */
  enqueueOutbox(item: OutboxItem): void {
    this.write(
      `INSERT INTO outbox (id, link_id, side, fields, action, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET link_id = excluded.link_id, side = excluded.side,
         fields = excluded.fields, action = excluded.action, reason = excluded.reason,
         created_at = excluded.created_at`,
      outboxValues(item),
    );
  }

  listOutbox(linkId?: string): OutboxItem[] {
    const rows =
      linkId === undefined
        ? this.all<OutboxRow>("SELECT * FROM outbox ORDER BY seq")
        : this.all<OutboxRow>("SELECT * FROM outbox WHERE link_id = $1 ORDER BY seq", [linkId]);
    return rows.map(rowToOutbox);
  }

  removeOutbox(id: string): void {
    this.write("DELETE FROM outbox WHERE id = $1", [id]);
  }

  clearOutbox(linkId: string): void {
    this.write("DELETE FROM outbox WHERE link_id = $1", [linkId]);
  }

  /** Parking a link that is already parked replaces its conflict. */
  park(conflict: ParkedConflict): void {
    this.write(
      `INSERT INTO parked (link_id, fields, crm, partner_center, detected_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (link_id) DO UPDATE SET fields = excluded.fields, crm = excluded.crm,
         partner_center = excluded.partner_center, detected_at = excluded.detected_at`,
      parkedValues(conflict),
    );
  }

  getParked(linkId: string): ParkedConflict | undefined {
    const r = this.one<ParkedRow>("SELECT * FROM parked WHERE link_id = $1", [linkId]);
    return r && rowToParked(r);
  }

  listParked(): ParkedConflict[] {
    return this.all<ParkedRow>("SELECT * FROM parked ORDER BY seq").map(rowToParked);
  }

  unpark(linkId: string): void {
    this.write("DELETE FROM parked WHERE link_id = $1", [linkId]);
  }

  setRecordError(error: Omit<RecordError, "attempts">): void {
    this.write(
      `INSERT INTO record_errors (key, code, message, at, attempts) VALUES ($1, $2, $3, $4, 1)
       ON CONFLICT (key) DO UPDATE SET code = excluded.code, message = excluded.message, at = excluded.at,
         attempts = record_errors.attempts + 1`,
      [error.key, error.code, error.message, error.at],
    );
  }

  clearRecordError(key: string): void {
    this.write("DELETE FROM record_errors WHERE key = $1", [key]);
  }

  listRecordErrors(): RecordError[] {
    return this.all<RecordError>("SELECT key, code, message, at, attempts FROM record_errors ORDER BY seq");
  }

  appendAudit(entry: AuditEntry): void {
    this.write(
      "INSERT INTO audit (at, link_id, crm_id, referral_id, kind, message) VALUES ($1, $2, $3, $4, $5, $6)",
      auditValues(entry),
    );
  }

  /** The `limit` most recent entries, newest first. */
  listAudit(limit: number): AuditEntry[] {
    return this.all<AuditRow>("SELECT * FROM audit ORDER BY seq DESC LIMIT $1", [clampLimit(limit)]).map(
      rowToAudit,
    );
  }

  /** Recording a `cycleId` again replaces that summary in place. */
  recordCycle(summary: CycleSummary): void {
    this.write(
      `INSERT INTO cycles (cycle_id, started_at, finished_at, mode, dry_run, summary) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (cycle_id) DO UPDATE SET started_at = excluded.started_at,
         finished_at = excluded.finished_at, mode = excluded.mode, dry_run = excluded.dry_run,
         summary = excluded.summary`,
      cycleValues(summary),
    );
  }

  /** The `limit` most recent cycles, newest first. */
  listCycles(limit: number): CycleSummary[] {
    return this.all<{ summary: string }>("SELECT summary FROM cycles ORDER BY seq DESC LIMIT $1", [
      clampLimit(limit),
    ]).map((r) => JSON.parse(r.summary) as CycleSummary);
  }

  /**
   * Takes the session advisory lock named `key` in this tenant if no other connection holds it
   * (`shared`: if none holds it exclusively); `false` otherwise. Held until {@link unlock},
   * {@link close}, or the connection drops: a killed worker's locks are freed by the server, and after
   * a reconnect this store takes its locks again or fails every call with `TENANT_LOCK_LOST`.
   */
  tryLock(key: string, options: { shared?: boolean } = {}): boolean {
    return this.tryLocks([{ key, shared: options.shared === true }]);
  }

  /**
   * Takes all of these locks (as {@link tryLock} each) or none, in one round trip: a batch's deals are
   * locked together, and a lock per round trip was most of a worker's store calls.
   */
  tryLocks(locks: readonly { key: string; shared?: boolean }[]): boolean {
    this.flush();
    const wanted = locks.map((l) => ({ key: l.key, shared: l.shared === true }));
    const after = new Map(this.locks);
    for (const l of wanted) after.set(l.key, l.shared);
    const got = this.db.tryLockMany(
      wanted.map((l) => ({ a: this.schema, b: l.key, shared: l.shared })),
      this.advisoryLocks(after),
    );
    if (got) this.locks = after;
    return got;
  }

  /** Releases a lock taken with {@link tryLock}. */
  unlock(key: string): void {
    this.unlockAll([key]);
  }

  /** Releases locks taken with {@link tryLock} or {@link tryLocks}, in one round trip. */
  unlockAll(keys: readonly string[]): void {
    const released: AdvisoryLock[] = [];
    for (const key of keys) {
      const shared = this.locks.get(key);
      if (shared === undefined) continue;
      this.locks.delete(key);
      released.push({ a: this.schema, b: key, shared });
    }
    if (!released.length) return;
    try {
      this.flush();
      this.db.unlockMany(released, this.advisoryLocks(this.locks));
    } catch {
      // The connection is gone, and the locks with it.
    }
  }

  private advisoryLocks(locks: ReadonlyMap<string, boolean>): AdvisoryLock[] {
    return [...locks].map(([b, shared]) => ({ a: this.schema, b, shared }));
  }

  /** The raw connection, for the job queue and CLI commands in this package. */
  get client(): BlockingClient {
    return this.db;
  }

  /** Closes the connection (and so frees its locks). Closing twice is harmless. */
  close(): void {
    this.db.close();
  }

  private one<R>(sql: string, params: unknown[] = []): R | undefined {
    this.flush();
    return this.db.query<R>(sql, params).rows[0];
  }

  private all<R>(sql: string, params: unknown[] = []): R[] {
    this.flush();
    return this.db.query<R>(sql, params).rows;
  }

  /**
   * A write. Inside a transaction it is queued and sent with the scope's other writes in one round
   * trip (before the next read, or at the commit): every statement is a blocking round trip to the
   * connection's thread, and a batch's commit is made of many small writes. `refused` turns the
   * server's refusal of this statement into the error the port promises, wherever it surfaces.
   */
  private write(sql: string, params: unknown[], refused?: (err: PostgresError) => Error): void {
    if (this.depth > 0) {
      this.pending.push({ sql, params, refused });
      return;
    }
    try {
      this.db.query(sql, params);
    } catch (err) {
      throw err instanceof PostgresError && refused ? refused(err) : err;
    }
  }

  /** A write whose affected row count is needed: sent at once, after anything queued. */
  private writeCounted(sql: string, params: unknown[]): number {
    this.flush();
    return this.db.query(sql, params).rowCount;
  }

  /** Sends the queued writes, in order; a refusal is reported as the refused statement's error. */
  private flush(options: { commit?: boolean } = {}): void {
    if (!this.pending.length && !options.commit) return;
    const batch = mergeAdjacentDeletes(this.pending);
    this.pending = [];
    try {
      this.db.batch(
        batch.map(({ sql, params }) => ({ sql, params })),
        options,
      );
    } catch (err) {
      throw err instanceof PostgresError ? refusal(err, batch) : err;
    }
  }
}

/**
 * The error the port promises for a refused statement of a batch. A batch sent as one query does not
 * say which statement the server refused: the statement is the one whose mapper recognises the
 * refusal (by its constraint) and whose values hold the key the server names in its detail (`Key
 * (referral_id)=(ref-1) already exists.`); without such a detail, the first whose mapper recognises it.
 */
function refusal(
  err: PostgresError,
  batch: readonly { params: unknown[]; refused?: (err: PostgresError) => Error }[],
): Error {
  if (err.index !== undefined) return batch[err.index]?.refused?.(err) ?? err;
  const key = /\)=\((.*)\) already exists/.exec(err.serverDetail ?? "")?.[1];
  let first: Error | undefined;
  for (const { params, refused } of batch) {
    const mapped = refused?.(err);
    if (!mapped || mapped === err) continue;
    if (key === undefined || params.some((p) => p === key)) return mapped;
    first ??= mapped;
  }
  return first ?? err;
}

function isThenable(value: unknown): boolean {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}
