import type { Link } from "@cosell/core";
import { afterEach, describe, expect, it } from "vitest";
import { PostgresStateStore } from "../src/index.js";
import { databaseUrl, dropSchema, uniqueSchema } from "./database.js";

const at = "2026-12-01T00:00:00.000Z";
const link = (n: number, extra: Partial<Link> = {}): Link => ({
  linkId: `link-${n}`,
  crmId: `crm-${n}`,
  referralId: `ref-${n}`,
  direction: "outbound",
  state: "linked",
  createdAt: at,
  updatedAt: at,
  ...extra,
});

/** Counts the blocking round trips the store makes to its connection's thread, by kind. */
function counted(store: PostgresStateStore) {
  const calls = { query: 0, batch: 0, commit: 0 };
  // The one private method every round trip goes through.
  const client = store.client as unknown as { call: (req: { op: string }) => unknown };
  const call = client.call.bind(client);
  client.call = (req) => {
    if (req.op === "query" || req.op === "batch" || req.op === "commit") calls[req.op]++;
    return call(req);
  };
  return calls;
}

/** Whether the store's connection is inside a transaction block on the server. */
function inServerTransaction(store: PostgresStateStore): boolean {
  // now() is the transaction's start time; statement_timestamp() this statement's: equal outside one.
  const row = store.client.query<{ open: boolean }>("SELECT now() <> statement_timestamp() AS open").rows[0];
  return row?.open ?? false;
}

describe("PostgresStateStore: writes inside a transaction", () => {
  let store: PostgresStateStore | undefined;
  afterEach(async () => {
    if (store) {
      store.close();
      await dropSchema(store.schema);
    }
    store = undefined;
  });

  it("go to the server in one round trip at the commit, not one per write", () => {
    store = PostgresStateStore.open({ url: databaseUrl(), schema: uniqueSchema("defer") });
    const calls = counted(store);
    store.transaction(() => {
      for (let i = 1; i <= 5; i++) {
        store!.putLink(link(i));
        store!.clearRecordError(`crm:crm-${i}`);
        store!.clearOutbox(`link-${i}`);
      }
    });
    // The writes and the COMMIT (with BEGIN before them) travel together.
    expect(calls).toEqual({ query: 0, batch: 1, commit: 0 });
    expect(inServerTransaction(store)).toBe(false);
    expect(store.listLinks().map((l) => l.linkId)).toEqual([
      "link-1",
      "link-2",
      "link-3",
      "link-4",
      "link-5",
    ]);
  });

  it("values with quotes, backslashes, dollar signs, arrays and nulls arrive as written", () => {
    store = PostgresStateStore.open({ url: databaseUrl(), schema: uniqueSchema("defer") });
    const odd = "O'Brien \\ $1 $$ ; COMMIT; -- 日本 \u{1F600}";
    store.transaction(() => {
      store!.putLink(link(1, { crmId: odd, baseline: undefined }));
      store!.putLink(link(2, { referralId: undefined }));
      store!.addLedger([{ side: "crm", recordId: odd, field: "name", valueHash: "h'1", writtenAt: at }]);
      store!.addLedger([{ side: "crm", recordId: odd, field: "notes", valueHash: "h\\2", writtenAt: at }]);
    });
    expect(store.getLink("link-1")?.crmId).toBe(odd);
    expect(store.getLinkByCrmId(odd)?.linkId).toBe("link-1");
    expect(store.getLink("link-2")?.referralId).toBeUndefined();
    expect(
      store
        .listLedgerOfRecords("crm", [odd])
        .map((e) => e.valueHash)
        .sort(),
    ).toEqual(["h'1", "h\\2"]);
  });

  it("a transaction that sends nothing sends neither BEGIN nor COMMIT", () => {
    store = PostgresStateStore.open({ url: databaseUrl(), schema: uniqueSchema("defer") });
    const calls = counted(store);
    store.transaction(() => undefined);
    expect(calls).toEqual({ query: 0, batch: 0, commit: 0 });
    expect(inServerTransaction(store)).toBe(false);
  });

  it("a read inside the transaction sees the writes queued before it", () => {
    store = PostgresStateStore.open({ url: databaseUrl(), schema: uniqueSchema("defer") });
    store.transaction(() => {
      store!.putLink(link(1));
      expect(store!.getLink("link-1")?.crmId).toBe("crm-1");
      store!.putLink(link(1, { state: "pending" }));
      expect(store!.countLinks()).toEqual({ pending: 1 });
    });
    expect(store.getLink("link-1")?.state).toBe("pending");
  });

  it("a refused write is reported as its own error and undoes the whole transaction", () => {
    store = PostgresStateStore.open({ url: databaseUrl(), schema: uniqueSchema("defer") });
    store.putLink(link(1));
    expect(() =>
      store!.transaction(() => {
        store!.putLink(link(2));
        store!.clearRecordError("x");
        store!.putLink(link(3, { referralId: "ref-1" }));
        store!.clearRecordError("y");
      }),
    ).toThrow(
      expect.objectContaining({ code: "STATE_LINK_DUPLICATE", message: expect.stringContaining("ref-1") }),
    );
    expect(store.listLinks().map((l) => l.linkId)).toEqual(["link-1"]);
    // The connection is usable afterwards.
    store.putLink(link(4));
    expect(store.getLink("link-4")).toBeDefined();
  });

  it("a nested transaction's refused write is undone alone, and thrown inside it", () => {
    store = PostgresStateStore.open({ url: databaseUrl(), schema: uniqueSchema("defer") });
    store.putLink(link(1));
    store.transaction(() => {
      store!.putLink(link(2));
      expect(() =>
        store!.transaction(() => {
          store!.putLink(link(3));
          store!.putLink(link(4, { crmId: "crm-1" }));
        }),
      ).toThrow(expect.objectContaining({ code: "STATE_LINK_DUPLICATE" }));
      store!.putLink(link(5));
    });
    expect(store.listLinks().map((l) => l.linkId)).toEqual(["link-1", "link-2", "link-5"]);
  });
});
