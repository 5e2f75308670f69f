import type { CoSellDeal } from "../domain/deal.js";
import type { Referral } from "../partner-center/referral.js";
import type {
  AuditEntry,
  CycleSummary,
  LedgerEntry,
  Link,
  OutboxItem,
  ParkedConflict,
  SyncField,
} from "./types.js";

/**
 * The rows of the SQL state stores and how they map to and from the port's objects. The SQLite and
 * PostgreSQL stores have the same tables and columns, so a row means the same in both; only the SQL
 * text (placeholders, dialect) stays with each store. For store implementations only (exported for
 * `@cosell/postgres`).
 *
 * Reading: absent values stay absent (no `undefined` keys), so every store returns objects that
 * compare equal to the memory store's. Writing: the `…Values` functions give a statement's
 * parameters in the column order of its `INSERT`; booleans stay booleans (PostgreSQL's type), and
 * the SQLite store turns them into 0/1 with {@link sqliteValues}.
 */

/** A `links` row. */
export interface LinkRow {
  link_id: string;
  crm_id: string | null;
  referral_id: string | null;
  direction: Link["direction"];
  state: Link["state"];
  /** SQLite has no boolean type and stores 0/1; PostgreSQL returns a boolean. */
  crm_opted_in: boolean | 0 | 1 | null;
  crm_modified_at: string | null;
  status_hash: string | null;
  baseline: string | null;
  crm: string | null;
  referral: string | null;
  created_at: string;
  updated_at: string;
}

/** A `ledger` row. */
export interface LedgerRow {
  side: LedgerEntry["side"];
  record_id: string;
  field: SyncField;
  value_hash: string;
  written_at: string;
}

/** An `outbox` row. */
export interface OutboxRow {
  id: string;
  link_id: string;
  side: OutboxItem["side"];
  fields: string;
  action: string | null;
  reason: string;
  created_at: string;
}

/** A `parked` row. */
export interface ParkedRow {
  link_id: string;
  fields: string;
  crm: string;
  partner_center: string;
  detected_at: string;
}

/** An `audit` row. */
export interface AuditRow {
  at: string;
  link_id: string | null;
  crm_id: string | null;
  referral_id: string | null;
  kind: string;
  message: string;
}

/** A `links` row back into a link; `undefined` (no row) stays `undefined`. */
export function rowToLink(r: LinkRow | undefined): Link | undefined {
  if (!r) return undefined;
  return {
    linkId: r.link_id,
    ...(r.crm_id === null ? {} : { crmId: r.crm_id }),
    ...(r.referral_id === null ? {} : { referralId: r.referral_id }),
    direction: r.direction,
    state: r.state,
    ...(r.baseline === null ? {} : { baseline: JSON.parse(r.baseline) as CoSellDeal }),
    ...(r.crm === null ? {} : { crm: JSON.parse(r.crm) as CoSellDeal }),
    ...(r.crm_opted_in === null ? {} : { crmOptedIn: r.crm_opted_in === true || r.crm_opted_in === 1 }),
    ...(r.crm_modified_at === null ? {} : { crmModifiedAt: r.crm_modified_at }),
    ...(r.referral === null ? {} : { referral: JSON.parse(r.referral) as Referral }),
    ...(r.status_hash === null ? {} : { statusHash: r.status_hash }),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * The parameters of `INSERT INTO links (link_id, crm_id, referral_id, direction, state, crm_opted_in,
 * crm_modified_at, status_hash, baseline, crm, referral, created_at, updated_at)`.
 */
export function linkValues(link: Link): unknown[] {
  return [
    link.linkId,
    link.crmId ?? null,
    link.referralId ?? null,
    link.direction,
    link.state,
    link.crmOptedIn ?? null,
    link.crmModifiedAt ?? null,
    link.statusHash ?? null,
    jsonOrNull(link.baseline),
    jsonOrNull(link.crm),
    jsonOrNull(link.referral),
    link.createdAt,
    link.updatedAt,
  ];
}

/** A `ledger` row back into a ledger entry. */
export function rowToLedger(r: LedgerRow): LedgerEntry {
  return {
    side: r.side,
    recordId: r.record_id,
    field: r.field,
    valueHash: r.value_hash,
    writtenAt: r.written_at,
  };
}

/** An `outbox` row back into an outbox item. */
export function rowToOutbox(r: OutboxRow): OutboxItem {
  return {
    id: r.id,
    linkId: r.link_id,
    side: r.side,
    fields: JSON.parse(r.fields) as SyncField[],
    ...(r.action === null ? {} : { action: r.action as OutboxItem["action"] }),
    reason: r.reason,
    createdAt: r.created_at,
  };
}

/** The parameters of `INSERT INTO outbox (id, link_id, side, fields, action, reason, created_at)`. */
export function outboxValues(item: OutboxItem): unknown[] {
  return [
    item.id,
    item.linkId,
    item.side,
    JSON.stringify(item.fields),
    item.action ?? null,
    item.reason,
    item.createdAt,
  ];
}

/** A `parked` row back into a parked conflict. */
export function rowToParked(r: ParkedRow): ParkedConflict {
  return {
    linkId: r.link_id,
    fields: JSON.parse(r.fields) as SyncField[],
    crm: JSON.parse(r.crm) as ParkedConflict["crm"],
    partnerCenter: JSON.parse(r.partner_center) as ParkedConflict["partnerCenter"],
    detectedAt: r.detected_at,
  };
}

/** The parameters of `INSERT INTO parked (link_id, fields, crm, partner_center, detected_at)`. */
export function parkedValues(conflict: ParkedConflict): unknown[] {
  return [
    conflict.linkId,
    JSON.stringify(conflict.fields),
    JSON.stringify(conflict.crm),
    JSON.stringify(conflict.partnerCenter),
    conflict.detectedAt,
  ];
}

/** An `audit` row back into an audit entry. */
export function rowToAudit(r: AuditRow): AuditEntry {
  return {
    at: r.at,
    ...(r.link_id === null ? {} : { linkId: r.link_id }),
    ...(r.crm_id === null ? {} : { crmId: r.crm_id }),
    ...(r.referral_id === null ? {} : { referralId: r.referral_id }),
    kind: r.kind,
    message: r.message,
  };
}

/** The parameters of `INSERT INTO audit (at, link_id, crm_id, referral_id, kind, message)`. */
export function auditValues(entry: AuditEntry): unknown[] {
  return [
    entry.at,
    entry.linkId ?? null,
    entry.crmId ?? null,
    entry.referralId ?? null,
    entry.kind,
    entry.message,
  ];
}

/** The parameters of `INSERT INTO cycles (cycle_id, started_at, finished_at, mode, dry_run, summary)`. */
export function cycleValues(summary: CycleSummary): unknown[] {
  return [
    summary.cycleId,
    summary.startedAt,
    summary.finishedAt,
    summary.mode,
    summary.dryRun,
    JSON.stringify(summary),
  ];
}

/** better-sqlite3 binds no booleans: SQLite keeps them as 1 and 0. */
export function sqliteValues(values: readonly unknown[]): unknown[] {
  return values.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v));
}

/** A JSON column: an absent value is SQL `NULL`. */
function jsonOrNull(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}
