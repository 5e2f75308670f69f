import type { Referral } from "../partner-center/referral.js";

/**
 * The referrals a cycle listed and has not paired yet, by id and by the CRM id they carry
 * (externalReferenceId). The oldest referral wins for a CRM id, as links point to the oldest.
 */
export class ListedReferrals {
  private readonly byId = new Map<string, Referral>();
  private readonly byExternalId = new Map<string, Referral>();

  constructor(referrals: Iterable<Referral> = []) {
    for (const r of referrals) this.set(r);
  }

  set(r: Referral): void {
    this.delete(r.id);
    this.byId.set(r.id, r);
    const crmId = r.externalReferenceId;
    if (!crmId) return;
    const held = this.byExternalId.get(crmId);
    if (!held || held.id === r.id || Date.parse(r.createdDateTime) < Date.parse(held.createdDateTime))
      this.byExternalId.set(crmId, r);
  }

  get(id: string): Referral | undefined {
    return this.byId.get(id);
  }

  /** The listed referral carrying `crmId` as its externalReferenceId. */
  byCrmId(crmId: string): Referral | undefined {
    return this.byExternalId.get(crmId);
  }

  delete(id: string): void {
    const r = this.byId.get(id);
    if (!r) return;
    this.byId.delete(id);
    if (r.externalReferenceId && this.byExternalId.get(r.externalReferenceId)?.id === id)
      this.byExternalId.delete(r.externalReferenceId);
  }

  values(): IterableIterator<Referral> {
    return this.byId.values();
  }
}
