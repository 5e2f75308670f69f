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

/**
 * Where the engine keeps what it must not forget between cycles and across crashes. All methods are
 * synchronous (better-sqlite3 is), and `transaction` makes a group of writes atomic: the executor
 * commits one transaction per applied batch, so a crash leaves either all of a batch's bookkeeping
 * or none of it.
 */
export interface StateStore {
  /** Runs `fn` atomically; nested calls join the outer transaction. */
  transaction<T>(fn: () => T): T;

  /**
   * How the engine commits the link each create writes ahead of its call (so that a crash after the
   * call is resumed by a look-up, never by a second create).
   *
   * - `"each"` (the default): one commit right before each create. After a crash only the creates in
   *   flight (at most the rules' `partnerCenterConcurrency`) are looked up. The memory store's way.
   * - `"batch"`: one commit for all creates of a batch, before the first. A 100-deal backfill batch
   *   commits once instead of 100 times: a network round trip and a disk flush each on PostgreSQL,
   *   and the largest part of a backfill's store work on SQLite. After a crash, each of that batch's
   *   referral creates neither answered nor shown by the next listing costs one look-up by CRM id.
   */
  readonly writeAheadIntents?: "each" | "batch";

  /** Link by id, CRM id or referral id. */
  getLink(linkId: string): Link | undefined;
  getLinkByCrmId(crmId: string): Link | undefined;
  getLinkByReferralId(referralId: string): Link | undefined;
  /**
   * Every link whose CRM id is one of `crmIds` or whose referral id is one of `referralIds`, each
   * once: the engine reads a page's links with it before pairing the page's records (one query
   * instead of several per record, which on a store across the network is one round trip instead of
   * hundreds).
   */
  findLinks(keys: { crmIds?: readonly string[]; referralIds?: readonly string[] }): Link[];
  /**
   * Every link (for reconcile, status and views), oldest first; with `state`, only links in that
   * state (the engine asks for `pending` every cycle, so this must not read every link).
   */
  listLinks(filter?: { state?: Link["state"] }): Link[];
  /**
   * How many links are in each state (states without links are absent): what a status report or a
   * check needs without reading every link and its baseline into memory.
   */
  countLinks(): Partial<Record<Link["state"], number>>;
  /** Inserts or replaces the link with this `linkId`. CRM id and referral id are each unique. */
  putLink(link: Link): void;

  /** The resume point of a side's change feed. */
  getCursor(side: Side): string | undefined;
  setCursor(side: Side, cursor: string): void;

  /**
   * The resume position (a replay id) of a named push feed, such as a Salesforce change-event
   * channel or a webhook stream, so a restarted listener asks only for the events it missed. Feeds
   * are named by their listener (for example `salesforce:/data/OpportunityChangeEvent`); positions
   * are opaque strings.
   */
  getFeedPosition(feed: string): string | undefined;
  setFeedPosition(feed: string, position: string): void;

  /**
   * Remembers writes we made (for echo suppression). Every distinct value written to a field is kept
   * until consumed: a write whose answer was lost may have landed, and a later write of the same field
   * (after a crash) must not make its echo look like someone else's edit. Writing the same value again
   * refreshes its `writtenAt`.
   */
  addLedger(entries: LedgerEntry[]): void;
  /** Our un-consumed writes of `field` on that record, oldest first (empty when none). */
  listLedger(side: Side, recordId: string, field: SyncField): LedgerEntry[];
  /**
   * Every un-consumed write on that record, all fields (oldest first within a field; fields in any
   * order): what the engine reads once per record and side instead of once per field (a cycle asks
   * about every field of every pair).
   */
  listLedgerOfRecord(side: Side, recordId: string): LedgerEntry[];
  /**
   * Every un-consumed write on any of those records of one side, in one read: what the engine asks
   * once per batch, before it plans the batch's pairs (one query instead of one per record and side,
   * which on a store across the network is one round trip instead of hundreds).
   */
  listLedgerOfRecords(side: Side, recordIds: readonly string[]): LedgerEntry[];
  /**
   * Forgets the field's entries once its echo was seen (or the side was read afresh); with
   * `valueHash`, only the entry of that value (a write that was refused).
   */
  consumeLedger(side: Side, recordId: string, field: SyncField, valueHash?: string): void;
  /** Drops entries written before `before` (their echo will never come). */
  pruneLedger(before: string): number;

  enqueueOutbox(item: OutboxItem): void;
  listOutbox(linkId?: string): OutboxItem[];
  removeOutbox(id: string): void;
  /**
   * Removes every queued item of the link (its deferred edits were sent or are moot): one write, with
   * no read first, so a store across the network can send it along with the rest of a commit.
   */
  clearOutbox(linkId: string): void;

  park(conflict: ParkedConflict): void;
  getParked(linkId: string): ParkedConflict | undefined;
  listParked(): ParkedConflict[];
  unpark(linkId: string): void;

  /** Sets (or bumps the attempt count of) a record's error. */
  setRecordError(error: Omit<RecordError, "attempts">): void;
  clearRecordError(key: string): void;
  listRecordErrors(): RecordError[];

  appendAudit(entry: AuditEntry): void;
  listAudit(limit: number): AuditEntry[];

  recordCycle(summary: CycleSummary): void;
  listCycles(limit: number): CycleSummary[];

  close(): void;
}
