import { describe, expect, it } from "vitest";
import { LedgerView } from "../../src/sync/ledger-view.js";
import type { StateStore } from "../../src/sync/store.js";
import { MemoryStateStore } from "../../src/sync/store-memory.js";
import { SqliteStateStore } from "../../src/sync/store-sqlite.js";
import type { LedgerEntry, Side, SyncField } from "../../src/sync/types.js";

const SIDES: Side[] = ["crm", "partnerCenter"];
const RECORDS = ["r1", "r2", "r3"];
const FIELDS: SyncField[] = ["notes", "value", "stage"];
const HASHES = ["h1", "h2", "h3"];

/** A small deterministic generator, so a failure names the seed that shows it. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const key = (e: LedgerEntry) => `${e.field}|${e.valueHash}|${e.writtenAt}`;
/** Order within a field matters (oldest first); fields may come in any order. */
const canonical = (es: LedgerEntry[]) => FIELDS.flatMap((f) => es.filter((e) => e.field === f).map(key));

describe.each([
  ["memory", () => new MemoryStateStore() as StateStore],
  ["SQLite", () => SqliteStateStore.open(":memory:") as StateStore],
])("LedgerView on the %s store", (_name, open) => {
  it("answers what the store holds after any sequence of writes, reading each record once", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const store = open();
      let reads = 0;
      const counting: StateStore = Object.create(store, {
        listLedgerOfRecord: {
          value: (s: Side, id: string) => {
            reads++;
            return store.listLedgerOfRecord(s, id);
          },
        },
        listLedgerOfRecords: {
          value: (s: Side, ids: readonly string[]) => {
            reads++;
            return store.listLedgerOfRecords(s, ids);
          },
        },
      });
      const view = new LedgerView(counting);
      const r = rng(seed);
      // Some entries exist before the view is made (an earlier cycle's writes).
      store.addLedger([{ side: "crm", recordId: "r1", field: "notes", valueHash: "h0", writtenAt: "t0" }]);
      view.prefetch("crm", RECORDS);
      view.prefetch("partnerCenter", RECORDS);
      const readsAfterPrefetch = reads;
      for (let step = 0; step < 60; step++) {
        const side = pick(r, SIDES);
        const recordId = pick(r, RECORDS);
        const field = pick(r, FIELDS);
        const op = r();
        if (op < 0.5)
          view.add([{ side, recordId, field, valueHash: pick(r, HASHES), writtenAt: `t${step}` }]);
        else if (op < 0.75) view.consume(side, recordId, field, pick(r, HASHES));
        else view.consume(side, recordId, field);
        for (const s of SIDES)
          for (const id of RECORDS)
            expect(canonical(view.ofRecord(s, id)), `seed ${seed}, step ${step}, ${s} ${id}`).toEqual(
              canonical(store.listLedgerOfRecord(s, id)),
            );
      }
      expect(reads, `seed ${seed}: no read after the prefetch`).toBe(readsAfterPrefetch);
    }
  });

  it("a prefetch reads only the records it does not hold yet, in one call", () => {
    const store = open();
    store.addLedger([{ side: "crm", recordId: "a", field: "notes", valueHash: "x", writtenAt: "t" }]);
    const calls: string[][] = [];
    const counting: StateStore = Object.create(store, {
      listLedgerOfRecords: {
        value: (s: Side, ids: readonly string[]) => {
          calls.push([...ids]);
          return store.listLedgerOfRecords(s, ids);
        },
      },
    });
    const view = new LedgerView(counting);
    view.prefetch("crm", ["a", "b", "a"]);
    view.prefetch("crm", ["a", "b", "c"]);
    expect(calls).toEqual([["a", "b"], ["c"]]);
    expect(view.ofRecord("crm", "a").map((e) => e.valueHash)).toEqual(["x"]);
    expect(view.ofRecord("crm", "b")).toEqual([]);
  });
});
