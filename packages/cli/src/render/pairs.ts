import type { Link, StateStore } from "@cosell/core";

/** What a person recognises a deal by: its referral id, its CRM record id and its name. */
export interface PairLabel {
  referralId: string;
  crmId: string;
  name: string;
}

/**
 * Turns the store's internal keys into what a person can look up. The engine keys a failing record
 * and a parked pair by the link id (a UUID nobody has seen), or by `crm:<id>` / `referral:<id>` before
 * a link exists; the link knows the referral id, the CRM id and the deal's name.
 */
export function pairLabeller(store: StateStore): (key: string) => PairLabel {
  const byId = new Map<string, Link>(store.listLinks().map((l) => [l.linkId, l]));
  const byCrm = new Map<string, Link>();
  const byReferral = new Map<string, Link>();
  for (const l of byId.values()) {
    if (l.crmId) byCrm.set(l.crmId, l);
    if (l.referralId) byReferral.set(l.referralId, l);
  }
  const fromLink = (l: Link): PairLabel => ({
    referralId: l.referralId ?? "",
    crmId: l.crmId ?? "",
    name: l.baseline?.name || l.crm?.name || l.referral?.name || "",
  });
  return (key) => {
    const link = byId.get(key);
    if (link) return fromLink(link);
    const [side, ...rest] = key.split(":");
    const id = rest.join(":");
    if (side === "crm" && id) {
      const l = byCrm.get(id);
      return l ? fromLink(l) : { referralId: "", crmId: id, name: "" };
    }
    if (side === "referral" && id) {
      const l = byReferral.get(id);
      return l ? fromLink(l) : { referralId: id, crmId: "", name: "" };
    }
    // An unknown key is still shown whole, never cut to a prefix nobody can search for.
    return { referralId: "", crmId: "", name: key };
  };
}
