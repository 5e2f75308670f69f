import { afterEach, describe, expect, it } from "vitest";
import { PostgresStateStore } from "../src/index.js";
import { mergeAdjacentDeletes } from "../src/merge-deletes.js";
import { databaseUrl, dropSchema, uniqueSchema } from "./database.js";

const del = (key: string) => ({ sql: "DELETE FROM record_errors WHERE key = $1", params: [key] });
const ledgerDel = (id: string, hash: string) => ({
  sql: "DELETE FROM ledger WHERE side = $1 AND record_id = $2 AND field = $3 AND value_hash = $4",
  params: ["crm", id, "stage", hash],
});
const insert = { sql: "INSERT INTO audit (kind) VALUES ($1)", params: ["x"] };

describe("mergeAdjacentDeletes", () => {
  it("merges neighbouring deletes of one shape into one keyed list, and keeps every other write in place", () => {
    const out = mergeAdjacentDeletes([
      del("a"),
      del("b"),
      insert,
      ledgerDel("1", "h1"),
      ledgerDel("2", "h2"),
      del("c"),
    ]);
    expect(out).toEqual([
      { sql: "DELETE FROM record_errors WHERE key IN ($1, $2)", params: ["a", "b"] },
      insert,
      {
        sql: "DELETE FROM ledger WHERE (side, record_id, field, value_hash) IN (($1, $2, $3, $4), ($5, $6, $7, $8))",
        params: ["crm", "1", "stage", "h1", "crm", "2", "stage", "h2"],
      },
      del("c"),
    ]);
  });

  it("leaves alone a delete with a refusal to map, placeholders out of order, or other SQL", () => {
    const refused = { ...del("a"), refused: () => new Error("x") };
    const odd = { sql: "DELETE FROM t WHERE a = $2 AND b = $1", params: [1, 2] };
    const ranged = { sql: "DELETE FROM ledger WHERE written_at < $1", params: ["t"] };
    const writes = [refused, del("b"), odd, odd, ranged, ranged];
    expect(mergeAdjacentDeletes(writes)).toEqual(writes);
  });

  it("merges at most 100 deletes into one statement", () => {
    const out = mergeAdjacentDeletes(Array.from({ length: 250 }, (_, i) => del(`k${i}`)));
    expect(out.map((w) => w.params.length)).toEqual([100, 100, 50]);
  });
});

describe("PostgresStateStore: merged deletes in a transaction", () => {
  const schemas: string[] = [];
  afterEach(async () => {
    for (const s of schemas.splice(0)) await dropSchema(s);
  });

  it("forget exactly the entries and errors named, and nothing that a later write in the same transaction adds", () => {
    const schema = uniqueSchema("merge");
    schemas.push(schema);
    const store = PostgresStateStore.open({ url: databaseUrl(), schema });
    try {
      const at = new Date(0).toISOString();
      store.transaction(() => {
        for (const id of ["r1", "r2", "r3"])
          store.addLedger([
            { side: "crm", recordId: id, field: "stage", valueHash: "old", writtenAt: at },
            { side: "crm", recordId: id, field: "stage", valueHash: "new", writtenAt: at },
          ]);
        for (const key of ["crm:1", "crm:2", "crm:3"])
          store.setRecordError({ key, code: "E", message: "m", at });
      });
      store.transaction(() => {
        store.consumeLedger("crm", "r1", "stage", "old");
        store.consumeLedger("crm", "r2", "stage", "old");
        store.clearRecordError("crm:1");
        store.clearRecordError("crm:2");
        // Deleted, then written again, in this order: the write must survive.
        store.setRecordError({ key: "crm:2", code: "E2", message: "again", at });
      });
      const left = store
        .listLedgerOfRecords("crm", ["r1", "r2", "r3"])
        .map((e) => `${e.recordId}:${e.valueHash}`);
      expect(left.sort()).toEqual(["r1:new", "r2:new", "r3:new", "r3:old"]);
      expect(
        store
          .listRecordErrors()
          .map((e) => `${e.key}:${e.code}`)
          .sort(),
      ).toEqual(["crm:2:E2", "crm:3:E"]);
    } finally {
      store.close();
    }
  });
});
