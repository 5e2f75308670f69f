import type { DealLock } from "./deal-lock.js";
import { type CycleResult, type EngineDeps, syncPairs } from "./engine.js";
import { readDeal, recordLockKeys, type SyncTarget, targetKey } from "./read-deal.js";
import type { StateStore } from "./store.js";

export { recordLockKeys, type SyncTarget, targetKey } from "./read-deal.js";

/**
 * The key events for one deal coalesce on (one waiting job per deal): the link id once the deal is
 * linked (so an event from each side of the same deal share it), the record's own key before that.
 */
export function dealKey(store: StateStore, target: SyncTarget): string {
  const link = target.side === "crm" ? store.getLinkByCrmId(target.id) : store.getLinkByReferralId(target.id);
  return link?.linkId ?? targetKey(target);
}

/**
 * The keys a targeted sync locks: the target's record and, once linked, the record on the other
 * side. A cycle locks the same record keys for each pair it writes (see `pair-lock.ts`), so a
 * targeted sync and a cycle of one deal never overlap, linked or not.
 */
export function targetLockKeys(store: StateStore, target: SyncTarget): string[] {
  const link = target.side === "crm" ? store.getLinkByCrmId(target.id) : store.getLinkByReferralId(target.id);
  return recordLockKeys({
    link,
    ...(target.side === "crm" ? { crmId: target.id } : { referralId: target.id }),
  });
}

/** What {@link syncTarget} needs beyond a cycle's dependencies. */
export interface TargetedSyncDeps extends EngineDeps {
  /** Serialises syncs of one deal with each other and with full cycles. */
  lock: DealLock;
}

/**
 * Targeted sync: reads the one deal an event names on both sides (the record, and its counterpart by
 * link or by the id it carries), then plans and writes it exactly as a full cycle would (same planner,
 * write-ahead ledger, per-pair commit), under the deal's lock. Cursors do not move: the next cycle
 * still reads everything changed since, so an event that is lost or fails costs latency, not data.
 * Returns `undefined` when neither record exists (nothing to sync).
 */
export async function syncTarget(
  deps: TargetedSyncDeps,
  target: SyncTarget,
): Promise<CycleResult | undefined> {
  return deps.lock.withDeals(targetLockKeys(deps.store, target), async () => {
    const records = await readDeal(deps, target);
    if (!records.crm.length && !records.referrals.length) return undefined;
    // The deal's keys are held already: the engine must not take them again per batch.
    const { dealLock: _held, ...pairDeps } = deps;
    return syncPairs(pairDeps, records);
  });
}
