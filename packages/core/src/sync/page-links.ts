import type { StateStore } from "./store.js";
import type { CrmRecord, Link } from "./types.js";

/**
 * The links of one page of CRM records, read in one store call before the page's records are paired
 * (instead of a look-up by CRM id, and by referral id, per record). Read when the page is paired and
 * used for that pairing only: nothing writes links between the two.
 */
export class PageLinks {
  private readonly byCrm = new Map<string, Link>();
  private readonly byReferral = new Map<string, Link>();

  constructor(store: Pick<StateStore, "findLinks">, records: readonly CrmRecord[]) {
    const crmIds = records.map((r) => r.crmId);
    const referralIds = records.flatMap((r) => (r.referralId ? [r.referralId] : []));
    for (const l of store.findLinks({ crmIds, referralIds })) {
      if (l.crmId !== undefined) this.byCrm.set(l.crmId, l);
      if (l.referralId !== undefined) this.byReferral.set(l.referralId, l);
    }
  }

  /** The record's link: by its CRM id, else by the referral id it carries. */
  of(rec: Pick<CrmRecord, "crmId" | "referralId">): Link | undefined {
    return this.byCrm.get(rec.crmId) ?? (rec.referralId ? this.byReferral.get(rec.referralId) : undefined);
  }
}
