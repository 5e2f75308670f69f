/** A write queued inside a transaction (see the store's `write`), `R` how its refusal is mapped. */
export interface QueuedWrite<R> {
  sql: string;
  params: unknown[];
  refused?: R | undefined;
}

/** `DELETE FROM t WHERE a = $1 AND b = $2 …`, its placeholders numbered in order from 1. */
const KEYED_DELETE = /^DELETE FROM (\w+) WHERE (\w+ = \$\d+(?: AND \w+ = \$\d+)*)$/;
/** Deletes merged into one statement at most (its list stays quick to plan). */
const MAX_MERGED = 100;

/**
 * Merges runs of the same keyed delete, next to each other in the queue, into one
 * `DELETE … WHERE (a, b) IN (($1, $2), ($3, $4), …)`: a batch's commit forgets ledger entries, record
 * errors and outbox rows a few at a time per deal (about 8 deletes per deal, each planned on its own
 * by the server). Only neighbours are merged, so the order of every other write is kept, and deleting
 * rows by a list of keys leaves the same rows as deleting them one key at a time. Other writes pass
 * unchanged; a merged delete has no refusal to map (a delete refuses nothing here: no foreign keys).
 */
export function mergeAdjacentDeletes<R>(writes: readonly QueuedWrite<R>[]): QueuedWrite<R>[] {
  const out: QueuedWrite<R>[] = [];
  for (let i = 0; i < writes.length; ) {
    const first = writes[i]!;
    const shape = keyedDelete(first);
    let j = i + 1;
    if (shape && !first.refused)
      while (j < writes.length && j - i < MAX_MERGED && writes[j]!.sql === first.sql && !writes[j]!.refused)
        j++;
    if (!shape || j - i === 1) {
      out.push(first);
      i++;
      continue;
    }
    const run = writes.slice(i, j);
    const k = shape.columns.length;
    const tuples = run.map((_, r) => {
      const ps = shape.columns.map((_c, c) => `$${r * k + c + 1}`);
      return k === 1 ? ps[0] : `(${ps.join(", ")})`;
    });
    const target = k === 1 ? shape.columns[0] : `(${shape.columns.join(", ")})`;
    out.push({
      sql: `DELETE FROM ${shape.table} WHERE ${target} IN (${tuples.join(", ")})`,
      params: run.flatMap((w) => w.params),
    });
    i = j;
  }
  return out;
}

function keyedDelete(write: QueuedWrite<unknown>): { table: string; columns: string[] } | undefined {
  const m = KEYED_DELETE.exec(write.sql);
  if (!m) return undefined;
  const conditions = m[2]!.split(" AND ").map((c) => c.split(" = "));
  // Placeholders $1…$k in order, one value each: then a run's values line up tuple by tuple.
  if (conditions.some(([, p], n) => p !== `$${n + 1}`) || write.params.length !== conditions.length)
    return undefined;
  return { table: m[1]!, columns: conditions.map(([c]) => c!) };
}
