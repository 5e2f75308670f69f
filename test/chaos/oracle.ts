import type { Link, Referral } from "@cosell/core";
import type { OpportunityView } from "@cosell/core/testing";

/**
 * The intended state of the chaos run, kept by the test as it makes each edit, and the check of both
 * sides against it. Ownership keeps the oracle simple: sellers own the name and the value of their
 * deals (edited in the CRM), Microsoft owns the notes (edited in Partner Center), so the last edit of
 * each field is its intended final value whatever the interleaving with the sync.
 */
export class Oracle {
  /** Opted-in CRM deals → intended name and value. */
  readonly outbound = new Map<string, { name: string; amount: number }>();
  /** Inbound referral ids sent by Microsoft. */
  readonly inbound = new Set<string>();
  /** CRM deals never opted in: must never reach Partner Center. */
  readonly private = new Set<string>();
  /** Referral id → the notes Microsoft last wrote. */
  readonly notes = new Map<string, string>();
  /** Referral id → every notes edit Microsoft made, oldest first, stamped (for diagnosing a lost edit). */
  readonly notesHistory = new Map<string, string[]>();
  /** Edits made, by kind. */
  readonly edits: Record<string, number> = {};

  count(kind: string): void {
    this.edits[kind] = (this.edits[kind] ?? 0) + 1;
  }
}

/** What the final check found. Every list must be empty and `duplicates` 0. */
export interface Verdict {
  duplicates: number;
  /** Opted-in deals or inbound referrals with no counterpart on the other side. */
  unlinked: string[];
  /** Fields whose final value differs from the last edit (on either side). */
  lostEdits: string[];
  /** Private deals that reached Partner Center, links that disagree with both sides. */
  other: string[];
}

/** Compares both sides (and the state store's links) with the oracle. */
export function verify(
  oracle: Oracle,
  sides: { crm: OpportunityView[]; referrals: Referral[]; links: Link[] },
): Verdict {
  const v: Verdict = { duplicates: 0, unlinked: [], lostEdits: [], other: [] };
  const byExt = group(sides.referrals, (r) => r.externalReferenceId ?? "");
  const byReferral = group(sides.crm, (o) => o.referralId ?? "");
  const linksByCrm = group(sides.links, (l) => l.crmId ?? "");
  const lost = (what: string, want: unknown, got: unknown) => {
    if (want !== got) v.lostEdits.push(`${what}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  };

  for (const [crmId, want] of oracle.outbound) {
    const refs = byExt.get(crmId) ?? [];
    v.duplicates += Math.max(0, refs.length - 1);
    v.duplicates += Math.max(0, (linksByCrm.get(crmId) ?? []).length - 1);
    const opp = sides.crm.find((o) => o.crmId === crmId);
    const ref = refs[0];
    if (!ref || !opp) {
      v.unlinked.push(`crm ${crmId}`);
      continue;
    }
    if (opp.referralId !== ref.id || opp.status?.state !== "synced")
      v.other.push(`crm ${crmId}: status ${JSON.stringify(opp.status)} but referral ${ref.id}`);
    lost(`${crmId} name in Partner Center`, want.name, ref.name);
    lost(`${crmId} name in the CRM`, want.name, opp.deal.name);
    lost(`${crmId} value in Partner Center`, want.amount, ref.details?.dealValue);
    lost(`${crmId} value in the CRM`, want.amount, opp.deal.value?.amount);
    checkNotes(oracle, ref, opp, lost);
  }
  for (const referralId of oracle.inbound) {
    const opps = byReferral.get(referralId) ?? [];
    v.duplicates += Math.max(0, opps.length - 1);
    const ref = sides.referrals.find((r) => r.id === referralId);
    const opp = opps[0];
    if (!ref || !opp) {
      v.unlinked.push(`referral ${referralId}`);
      continue;
    }
    lost(`${referralId} name in the CRM`, ref.name ?? "", opp.deal.name);
    checkNotes(oracle, ref, opp, lost);
  }
  for (const crmId of oracle.private)
    if (byExt.has(crmId)) v.other.push(`private deal ${crmId} reached Partner Center`);
  const known = new Set([...oracle.outbound.keys()]);
  for (const r of sides.referrals)
    if (r.externalReferenceId && !known.has(r.externalReferenceId) && !oracle.inbound.has(r.id))
      v.other.push(`referral ${r.id} for unknown CRM id ${r.externalReferenceId}`);
  return v;
}

function checkNotes(
  oracle: Oracle,
  ref: Referral,
  opp: OpportunityView,
  lost: (what: string, want: unknown, got: unknown) => void,
): void {
  const want = oracle.notes.get(ref.id);
  if (want !== undefined) lost(`${ref.id} notes in Partner Center`, want, ref.details?.notes);
  lost(`${ref.id} notes in the CRM`, ref.details?.notes ?? undefined, opp.deal.notes);
}

function group<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (!k) continue;
    out.set(k, [...(out.get(k) ?? []), item]);
  }
  return out;
}
