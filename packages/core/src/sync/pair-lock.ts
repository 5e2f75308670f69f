import type { Referral } from "../partner-center/referral.js";
import type { DealLock } from "./deal-lock.js";
import type { PairState } from "./planner.js";
import { type ReadDealDeps, readDeal, recordLockKeys } from "./read-deal.js";
import type { CrmRecord, Link } from "./types.js";

/** A pair a cycle is about to plan and write, and whether its records were read in this cycle. */
export interface LockedPairWork {
  pair: PairState;
  fresh: { crm: boolean; referral: boolean };
}

/** The record keys (see `recordLockKeys`) of every pair in a batch. */
export function pairLockKeys(work: readonly LockedPairWork[]): string[] {
  const keys = new Set<string>();
  for (const { pair } of work)
    for (const k of recordLockKeys({
      link: pair.link,
      crmId: pair.crm?.crmId,
      referralId: pair.referral?.id,
    }))
      keys.add(k);
  return [...keys];
}

/**
 * Runs a cycle's batch holding its deals' locks, so a targeted sync on another worker never writes
 * one of them at the same time. The batch was read before the locks were taken: a pair whose link
 * another sync changed in between is read again (both sides, as a targeted sync reads them), so the
 * cycle never plans from, or commits, a link older than the one stored.
 */
export async function withPairLocks<T>(
  lock: DealLock,
  deps: ReadDealDeps,
  work: LockedPairWork[],
  fn: (work: LockedPairWork[]) => Promise<T>,
): Promise<T> {
  return lock.withDeals(pairLockKeys(work), async () => {
    const stored = storedLinks(deps, work);
    const current: LockedPairWork[] = [];
    for (const [i, w] of work.entries()) current.push(isStale(w, stored[i]) ? await reread(deps, w) : w);
    return fn(current);
  });
}

/**
 * The stored link of each pair (as {@link storedLink} finds it), read for the whole batch in one store
 * call: one read per pair was a blocking round trip per deal on PostgreSQL. A link found by neither
 * of its ids (another sync re-keyed it) is read by its own id.
 */
function storedLinks(deps: ReadDealDeps, work: readonly LockedPairWork[]): (Link | undefined)[] {
  const crmIds = new Set<string>();
  const referralIds = new Set<string>();
  for (const { pair } of work) {
    for (const id of [pair.link?.crmId, pair.crm?.crmId]) if (id) crmIds.add(id);
    for (const id of [pair.link?.referralId, pair.referral?.id]) if (id) referralIds.add(id);
  }
  const found = deps.store.findLinks({ crmIds: [...crmIds], referralIds: [...referralIds] });
  const byLinkId = new Map(found.map((l) => [l.linkId, l]));
  const byCrmId = new Map(found.flatMap((l) => (l.crmId ? [[l.crmId, l] as const] : [])));
  const byReferralId = new Map(found.flatMap((l) => (l.referralId ? [[l.referralId, l] as const] : [])));
  return work.map(({ pair }) => {
    if (pair.link) return byLinkId.get(pair.link.linkId) ?? deps.store.getLink(pair.link.linkId);
    return (
      (pair.crm && byCrmId.get(pair.crm.crmId)) ||
      (pair.referral && byReferralId.get(pair.referral.id)) ||
      undefined
    );
  });
}

function storedLink(deps: ReadDealDeps, pair: PairState) {
  const { store } = deps;
  if (pair.link) return store.getLink(pair.link.linkId);
  return (
    (pair.crm && store.getLinkByCrmId(pair.crm.crmId)) ||
    (pair.referral && store.getLinkByReferralId(pair.referral.id)) ||
    undefined
  );
}

function isStale(w: LockedPairWork, stored: Link | undefined): boolean {
  return stored ? stored.updatedAt !== w.pair.link?.updatedAt : w.pair.link !== undefined;
}

async function reread(deps: ReadDealDeps, w: LockedPairWork): Promise<LockedPairWork> {
  const link = storedLink(deps, w.pair);
  const crmId = link?.crmId ?? w.pair.crm?.crmId;
  const referralId = link?.referralId ?? w.pair.referral?.id;
  const records = crmId
    ? await readDeal(deps, { side: "crm", id: crmId })
    : await readDeal(deps, { side: "partnerCenter", id: referralId! });
  const crm: CrmRecord | undefined = records.crm[0];
  const referral: Referral | undefined = records.referrals[0] ?? link?.referral;
  // Both records are gone: the reconciliation records that; this batch plans from what it has.
  if (!crm && !referral) return link ? { ...w, pair: { ...w.pair, link } } : w;
  return {
    pair: {
      key: link?.linkId ?? w.pair.key,
      ...(link ? { link } : {}),
      ...(crm ? { crm } : {}),
      ...(referral ? { referral } : {}),
      parked: !!(link && deps.store.getParked(link.linkId)),
    },
    fresh: { crm: !!crm, referral: !!records.referrals[0] },
  };
}
