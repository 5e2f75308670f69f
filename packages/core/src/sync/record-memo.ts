/**
 * What an adapter remembers per CRM record between its reads and its writes (an etag, a stage, an
 * account id), with a bound: a long-running `serve` or a 100,000-deal backfill touches every record
 * once, and an unbounded map kept them all for the life of the process.
 *
 * A plain `Map` whose `set` moves the key to the newest position and, past `max` entries, forgets the
 * oldest. Reads do not refresh (an adapter writes a record soon after it read it, and every read sets
 * it again), so this is all an adapter needs; it stays a `Map`, so the adapters' writers take it
 * unchanged. An adapter must treat a missing entry as "not read lately" and read the record again.
 */
export class RecordMemo<V> extends Map<string, V> {
  constructor(readonly max: number) {
    super();
    if (!Number.isInteger(max) || max < 1) throw new RangeError("RecordMemo needs a positive whole max.");
  }

  override set(key: string, value: V): this {
    if (this.has(key)) this.delete(key);
    super.set(key, value);
    if (this.size > this.max) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return this;
  }
}

/** Records an adapter remembers at most: far above one cycle's batch, far below a large org. */
export const RECORD_MEMO_MAX = 10_000;
