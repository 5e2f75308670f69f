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

/** Counts the blocking round trips the store makes to its connection's thread. */
function counted(store: PostgresStateStore) {
  const calls = { query: 0, batch: 0 };
  const client = store.client;
  const query = client.query.bind(client);
  const batch = client.batch.bind(client);
  client.query = ((sql: string, params?: unknown[]) => {
    calls.query++;
    return query(sql, params);
  }) as typeof client.query;
  client.batch = (statements) => {
    calls.batch++;
    batch(statements);
  };
  return calls;
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
    expect(calls).toEqual({ query: 0, batch: 1 });
    expect(store.listLinks().map((l) => l.linkId)).toEqual([
      "link-1",
      "link-2",
      "link-3",
      "link-4",
      "link-5",
    ]);
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
