import { NotFoundError } from "../errors.js";
import type { Referral } from "../partner-center/referral.js";
import type { CrmAdapter } from "./adapter.js";
import type { PartnerCenterPort } from "./ports.js";
import type { StateStore } from "./store.js";
import type { CrmRecord, Link } from "./types.js";

/** One record an event named: a referral in Partner Center or an opportunity in the CRM. */
export type SyncTarget = { side: "partnerCenter"; id: string } | { side: "crm"; id: string };

/** `partnerCenter:<id>` / `crm:<id>`. */
export function targetKey(target: SyncTarget): string {
  return `${target.side}:${target.id}`;
}

/**
 * The keys a sync of one deal locks: the record key of each side it knows (`crm:<id>`,
 * `partnerCenter:<id>`), taken from the records and from their link. Record ids, not link ids,
 * because a deal has record ids on both sides before it has a link: a sync that links the deal and
 * one that finds it already linked still share a key.
 */
export function recordLockKeys(parts: {
  link?: Link | undefined;
  crmId?: string | undefined;
  referralId?: string | undefined;
}): string[] {
  const keys = new Set<string>();
  for (const id of [parts.crmId, parts.link?.crmId]) if (id) keys.add(`crm:${id}`);
  for (const id of [parts.referralId, parts.link?.referralId]) if (id) keys.add(`partnerCenter:${id}`);
  return [...keys].sort();
}

/** What reading one deal needs. */
export interface ReadDealDeps {
  adapter: CrmAdapter;
  partnerCenter: PartnerCenterPort;
  store: StateStore;
}

async function getReferral(deps: ReadDealDeps, id: string): Promise<Referral | undefined> {
  try {
    return await deps.partnerCenter.getReferral(id);
  } catch (e) {
    // Gone: the reconciliation records a missing referral; nothing to do for it here.
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

/** Both sides of the deal `target` belongs to, as they are now (either list may be empty). */
export async function readDeal(
  deps: ReadDealDeps,
  target: SyncTarget,
): Promise<{ crm: CrmRecord[]; referrals: Referral[] }> {
  const { store, adapter } = deps;
  if (target.side === "partnerCenter") {
    const referral = await getReferral(deps, target.id);
    const link = store.getLinkByReferralId(target.id);
    // The CRM side is read too: planning against the last snapshot could overwrite a seller's edit
    // that its own event has not brought in yet. (An unlinked referral naming a CRM id is adopted by
    // the engine, which reads that record itself.)
    const crm = link?.crmId ? await adapter.read([link.crmId]) : [];
    return { crm, referrals: referral ? [referral] : [] };
  }
  const [record] = await adapter.read([target.id]);
  const link = store.getLinkByCrmId(target.id);
  const crm: CrmRecord[] = [];
  if (record) crm.push(record);
  else if (link?.crm && link.state === "linked")
    // Deleted in the CRM (a delete event): recorded as the change feed would report it.
    crm.push({
      crmId: target.id,
      optedIn: link.crmOptedIn ?? true,
      referralId: link.referralId,
      deal: link.crm,
      modifiedAt: link.crmModifiedAt ?? link.updatedAt,
      deleted: true,
    });
  const referralId = link?.referralId ?? record?.referralId;
  const referral = referralId ? await getReferral(deps, referralId) : undefined;
  return { crm, referrals: referral ? [referral] : [] };
}
