import type { Referral } from "@cosell/core";
import {
  type Clause,
  compareKeys,
  encodeSkipToken,
  type ListPage,
  type ListQuery,
  matches,
} from "./query.js";

/**
 * The referrals ordered by (updatedDateTime, id), kept as they are saved, so a list ordered by
 * updatedDateTime — what every incremental read asks for — finds its start by binary search instead of
 * sorting every referral on every page. Other orders go through {@link runListQuery}.
 */
export class UpdatedIndex {
  private readonly keys: [number, string][] = [];
  private readonly indexed = new Map<string, number>();

  /** Records `r` at its current updatedDateTime (moving it if it was indexed before). */
  put(r: Referral): void {
    const ms = Date.parse(r.updatedDateTime);
    const before = this.indexed.get(r.id);
    if (before !== undefined) {
      if (before === ms || (Number.isNaN(before) && Number.isNaN(ms))) return;
      const at = this.position([before, r.id]);
      if (at < this.keys.length && this.keys[at]![1] === r.id) this.keys.splice(at, 1);
    }
    this.indexed.set(r.id, ms);
    // An unreadable stamp never matches a date filter (as in runListQuery): kept out of the order.
    if (Number.isNaN(ms)) return;
    const key: [number, string] = [ms, r.id];
    const at = this.position(key);
    this.keys.splice(at, 0, key);
  }

  clear(): void {
    this.keys.length = 0;
    this.indexed.clear();
  }

  /** First position whose key is ≥ `key`. */
  private position(key: [number, string]): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Runs `q` (ordered by updatedDateTime) over the index; `get` resolves an id. Same answer as
   * runListQuery, which stays the reference for every other order.
   */
  run(q: ListQuery, get: (id: string) => Referral | undefined): ListPage {
    const asc = q.orderBy.dir === "asc";
    // The narrowest range the updatedDateTime clauses allow; the other clauses are checked per item.
    let lo = 0;
    let hi = this.keys.length;
    for (const c of q.clauses) {
      if (c.field !== "updatedDateTime") continue;
      const v = c.value as number;
      if (c.op === "ge" || c.op === "eq") lo = Math.max(lo, this.position([v, ""]));
      if (c.op === "gt") lo = Math.max(lo, this.position([v, "\uffff"]));
      if (c.op === "le" || c.op === "eq") hi = Math.min(hi, this.position([v, "\uffff"]));
      if (c.op === "lt") hi = Math.min(hi, this.position([v, ""]));
    }
    const others: Clause[] = q.clauses;
    const ok = (r: Referral) => others.every((c) => matches(r, c));
    let count = 0;
    const items: Referral[] = [];
    let skip = q.after ? 0 : q.skip;
    let more = false;
    const after = q.after;
    for (let k = 0; k < hi - lo; k++) {
      const key = this.keys[asc ? lo + k : hi - 1 - k]!;
      const r = get(key[1]);
      if (!r || !ok(r)) continue;
      count++;
      if (after && (asc ? 1 : -1) * compareKeys(key, [after.value, after.id]) <= 0) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      if (items.length < q.top) items.push(r);
      else more = true;
    }
    const last = items[items.length - 1];
    return { items, count, skipToken: more && last ? encodeSkipToken(q, last) : undefined };
  }
}
