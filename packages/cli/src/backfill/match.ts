import { type CrmRecord, type Referral, referralToDeal, type StateStore } from "@cosell/core";

/** How a CRM record and a referral were matched, strongest first. */
export type MatchBasis = "stored ids" | "crm id" | "customer name + postal code";

/** A proposed link between an existing CRM record and an existing referral. */
export interface LinkCandidate {
  crmId: string;
  referralId: string;
  basis: MatchBasis;
  /** Certain matches (ids) are linked without asking; name + postal code needs approval. */
  needsApproval: boolean;
  crmName: string;
  referralName: string;
  customer: string;
  direction: "inbound" | "outbound";
}

const norm = (s: string | undefined) =>
  (s ?? "")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/\b(inc|llc|ltd|gmbh|corp|corporation|co|sa|ag|plc)\b\.?/g, "")
    .replace(/[^a-z0-9]+/g, "");

const customerKey = (name: string | undefined, postal: string | undefined) => {
  const n = norm(name);
  const p = norm(postal);
  return n && p ? `${n}|${p}` : undefined;
};

/**
 * Link-before-create matching for a first load: for every CRM record and referral not linked yet,
 * match by the referral id stored on the CRM record, then by the CRM id stored on the referral
 * (externalReferenceId), then by customer name + postal code when exactly one referral fits.
 */
export function findLinkCandidates(
  records: readonly CrmRecord[],
  referrals: readonly Referral[],
  store: Pick<StateStore, "getLinkByCrmId" | "getLinkByReferralId">,
): LinkCandidate[] {
  const free = new Map(referrals.filter((r) => !store.getLinkByReferralId(r.id)).map((r) => [r.id, r]));
  const byExternal = new Map<string, Referral>();
  const byCustomer = new Map<string, Referral[]>();
  for (const r of free.values()) {
    if (r.externalReferenceId && !byExternal.has(r.externalReferenceId))
      byExternal.set(r.externalReferenceId, r);
    const d = referralToDeal(r);
    const k = customerKey(d.customer.name, d.customer.address.postalCode);
    if (k) byCustomer.set(k, [...(byCustomer.get(k) ?? []), r]);
  }
  const out: LinkCandidate[] = [];
  const take = (rec: CrmRecord, r: Referral, basis: MatchBasis) => {
    free.delete(r.id);
    const d = referralToDeal(r);
    out.push({
      crmId: rec.crmId,
      referralId: r.id,
      basis,
      needsApproval: basis === "customer name + postal code",
      crmName: rec.deal.name,
      referralName: d.name,
      customer: d.customer.name,
      direction: d.direction,
    });
  };
  const pending: CrmRecord[] = [];
  for (const rec of records) {
    if (rec.deleted || store.getLinkByCrmId(rec.crmId)) continue;
    const stored = rec.referralId ? free.get(rec.referralId) : undefined;
    if (stored) take(rec, stored, "stored ids");
    else pending.push(rec);
  }
  const pending2: CrmRecord[] = [];
  for (const rec of pending) {
    const r = byExternal.get(rec.crmId);
    if (r && free.has(r.id)) take(rec, r, "crm id");
    else pending2.push(rec);
  }
  for (const rec of pending2) {
    const k = customerKey(rec.deal.customer.name, rec.deal.customer.address.postalCode);
    const fits = k ? (byCustomer.get(k) ?? []).filter((r) => free.has(r.id)) : [];
    if (fits.length === 1) take(rec, fits[0]!, "customer name + postal code");
  }
  return out;
}
