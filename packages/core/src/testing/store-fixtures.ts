import { dealToReferral } from "../partner-center/mapping.js";
import type {
  AuditEntry,
  CycleSummary,
  LedgerEntry,
  Link,
  OutboxItem,
  ParkedConflict,
} from "../sync/types.js";
import { completeDeal, sampleDeal } from "./deals.js";

/**
 * Rows for state-store tests: every kind of thing a store keeps, filled the way the engine fills it.
 * Used by {@link runStateStoreConformance} and by store-specific tests.
 */

export const T0 = new Date("2026-03-01T09:00:00.000Z");

/** `T0` plus `minutes`, as the ISO string the engine writes. */
export function at(minutes: number): string {
  return new Date(T0.getTime() + minutes * 60_000).toISOString();
}

/** A linked pair carrying every snapshot a real link has (deal, CRM copy, raw referral). */
export function fullLink(n: number, extra: Partial<Link> = {}): Link {
  const deal = completeDeal({ ...sampleDeal({ name: `Deal ${n}` }), id: `ref-${n}`, crmId: `crm-${n}` }, T0);
  return {
    linkId: `link-${n}`,
    crmId: `crm-${n}`,
    referralId: `ref-${n}`,
    direction: "outbound",
    state: "linked",
    baseline: deal,
    crm: { ...deal, notes: `CRM notes ${n}` },
    crmOptedIn: true,
    crmModifiedAt: at(n),
    referral: { ...dealToReferral(deal), id: `ref-${n}`, eTag: `W/"${n}"`, someFutureField: { kept: true } },
    statusHash: `hash-${n}`,
    createdAt: at(0),
    updatedAt: at(n),
    ...extra,
  };
}

/** A link as first written before a create: no referral yet, no snapshots. */
export function pendingLink(n: number, extra: Partial<Link> = {}): Link {
  return {
    linkId: `link-${n}`,
    crmId: `crm-${n}`,
    direction: "outbound",
    state: "pending",
    createdAt: at(0),
    updatedAt: at(0),
    ...extra,
  };
}

export function ledgerEntry(extra: Partial<LedgerEntry> = {}): LedgerEntry {
  return { side: "crm", recordId: "crm-1", field: "notes", valueHash: "h1", writtenAt: at(1), ...extra };
}

export function outboxItem(id: string, linkId: string, extra: Partial<OutboxItem> = {}): OutboxItem {
  return {
    id,
    linkId,
    side: "partnerCenter",
    fields: ["stage"],
    action: "win",
    reason: "won in the CRM, waiting for the accept",
    createdAt: at(1),
    ...extra,
  };
}

export function conflict(linkId: string, extra: Partial<ParkedConflict> = {}): ParkedConflict {
  return {
    linkId,
    fields: ["notes", "value"],
    crm: { notes: "crm notes", value: { amount: 1, currency: "USD" } },
    partnerCenter: { notes: "pc notes", value: { amount: 2, currency: "EUR" } },
    detectedAt: at(2),
    ...extra,
  };
}

export function auditEntry(n: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return { at: at(n), linkId: `link-${n}`, kind: "update", message: `entry ${n}`, ...extra };
}

export function cycle(n: number, extra: Partial<CycleSummary> = {}): CycleSummary {
  return {
    cycleId: `cycle-${n}`,
    startedAt: at(n),
    finishedAt: at(n + 0.5),
    mode: n % 2 ? "incremental" : "reconcile",
    dryRun: false,
    steps: { create: n, update: 2 * n },
    errors: n === 2 ? [{ key: "crm:1", code: "E", message: "boom" }] : [],
    apiCalls: {
      crm: { total: 3, reads: 2, writes: 1 },
      partnerCenter: { total: 4, reads: 3, writes: 1 },
    },
    suppressedEchoes: n,
    ...extra,
  };
}
