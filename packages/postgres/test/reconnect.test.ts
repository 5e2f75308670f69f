import { fullLink } from "@cosell/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { BlockingClient, PostgresStateStore, TENANT_LOCK, withTenantLock } from "../src/index.js";
import { databaseUrl, dropSchema, uniqueSchema, withClient } from "./database.js";

/**
 * Ends the server side of every connection named `name`, as a server restart would, and waits until
 * those backends are gone: `pg_terminate_backend` only signals them, and a backend still exiting
 * holds its advisory locks (a loaded machine made that window visible).
 */
async function terminate(name: string): Promise<number> {
  return withClient(async (c) => {
    const r = await c.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
      [name],
    );
    for (let i = 0; i < 500; i++) {
      const left = await c.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1", [name]);
      if (!left.rowCount) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return r.rowCount ?? 0;
  });
}

describe("PostgresStateStore when the connection drops", () => {
  const schemas: string[] = [];
  const stores: PostgresStateStore[] = [];
  const open = (schema: string, name: string) => {
    const s = PostgresStateStore.open({
      url: databaseUrl(),
      schema,
      applicationName: name,
      reconnectForMs: 5_000,
    });
    stores.push(s);
    return s;
  };
  const fresh = () => {
    const s = uniqueSchema("reconnect");
    schemas.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of stores.splice(0)) s.close();
    for (const s of schemas.splice(0)) await dropSchema(s);
  });

  it("a connection thread that cannot start fails the first call at once, saying why, and every call after", () => {
    // Without the signal from the stopping thread the call would wait out its whole timeout (here
    // the defaults: over a minute, longer than this test may run) and blame the server.
    const broken = new BlockingClient({
      connectionString: databaseUrl(),
      pgModulePath: "/nonexistent/node-postgres/index.js",
    });
    for (let i = 0; i < 2; i++)
      expect(() => broken.query("SELECT 1")).toThrow(
        /connection thread stopped \(Cannot find module '\/nonexistent\/node-postgres\/index\.js'.*\)\. Restart cosell/s,
      );
    broken.close();
  });

  it("reconnects on the next call and goes on with what was committed", async () => {
    const store = open(fresh(), "cosell-test-a");
    store.putLink(fullLink(1));
    expect(await terminate("cosell-test-a")).toBe(1);
    expect(store.getLink("link-1")).toStrictEqual(fullLink(1));
    store.putLink(fullLink(2));
    expect(store.listLinks()).toHaveLength(2);
  });

  it("fails a transaction whose connection dropped, keeps none of it, and works again after", async () => {
    const store = open(fresh(), "cosell-test-b");
    // Synchronous too, so the termination lands between two statements of the transaction.
    const admin = new BlockingClient({ connectionString: databaseUrl() });
    let terminated = 0;
    try {
      expect(() =>
        store.transaction(() => {
          store.putLink(fullLink(1));
          // A read sends the queued write (and BEGIN with it): the transaction is open on the server.
          expect(store.getLink("link-1")).toBeDefined();
          terminated = admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cosell-test-b'",
          ).rowCount;
          store.putLink(fullLink(2));
        }),
      ).toThrow(/PostgreSQL/);
    } finally {
      admin.close();
    }
    expect(terminated).toBe(1);
    expect(store.listLinks()).toEqual([]);
    store.putLink(fullLink(3));
    expect(store.listLinks().map((l) => l.linkId)).toEqual(["link-3"]);
  });

  it("a transaction that had sent nothing when the connection dropped runs whole on a new one", async () => {
    const store = open(fresh(), "cosell-test-f");
    store.putLink(fullLink(1));
    const admin = new BlockingClient({ connectionString: databaseUrl() });
    try {
      store.transaction(() => {
        // Queued only: BEGIN goes with the first statement, so the server has no transaction to lose.
        store.putLink(fullLink(2));
        admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cosell-test-f'",
        );
        store.putLink(fullLink(3));
      });
    } finally {
      admin.close();
    }
    expect(store.listLinks().map((l) => l.linkId)).toEqual(["link-1", "link-2", "link-3"]);
  });

  it("takes its tenant lock again after a reconnect when no one else took it", async () => {
    const schema = fresh();
    const a = open(schema, "cosell-test-c");
    const b = open(schema, "cosell-test-c2");
    expect(a.tryLock(TENANT_LOCK)).toBe(true);
    expect(b.tryLock(TENANT_LOCK)).toBe(false);
    await terminate("cosell-test-c");
    a.putLink(fullLink(1)); // reconnects, locks again
    expect(b.tryLock(TENANT_LOCK)).toBe(false);
    a.unlock(TENANT_LOCK);
    expect(b.tryLock(TENANT_LOCK)).toBe(true);
  });

  it("takes locks it took together again after a reconnect, and forgets the ones it released", async () => {
    const schema = fresh();
    const a = open(schema, "cosell-test-m");
    const b = open(schema, "cosell-test-m2");
    expect(
      a.tryLocks([{ key: "deals:all", shared: true }, { key: "deal:crm:1" }, { key: "deal:crm:2" }]),
    ).toBe(true);
    a.unlockAll(["deal:crm:2"]);
    await terminate("cosell-test-m");
    a.putLink(fullLink(1)); // reconnects, locks again
    expect(b.tryLock("deal:crm:1")).toBe(false);
    expect(b.tryLock("deals:all")).toBe(false);
    expect(b.tryLocks([{ key: "deals:all", shared: true }, { key: "deal:crm:2" }])).toBe(true);
  });

  it("stops with TENANT_LOCK_LOST when another worker took the tenant while it was away", async () => {
    const schema = fresh();
    const a = open(schema, "cosell-test-d");
    const b = open(schema, "cosell-test-d2");
    await withTenantLock(a, async () => {
      a.putLink(fullLink(1));
      await terminate("cosell-test-d");
      expect(b.tryLock(TENANT_LOCK)).toBe(true);
      expect(() => a.putLink(fullLink(2))).toThrow(expect.objectContaining({ code: "TENANT_LOCK_LOST" }));
    });
    expect(b.listLinks().map((l) => l.linkId)).toEqual(["link-1"]);
    // Once the job let go of its lock, the store works again (without the lock).
    expect(a.getLink("link-1")?.linkId).toBe("link-1");
  });

  it("refuses a second holder of the tenant lock with TENANT_BUSY", async () => {
    const schema = fresh();
    const a = open(schema, "cosell-test-e");
    const b = open(schema, "cosell-test-e2");
    await withTenantLock(a, async () => {
      await expect(withTenantLock(b, async () => 1)).rejects.toMatchObject({ code: "TENANT_BUSY" });
    });
    await expect(withTenantLock(b, async () => 2)).resolves.toBe(2);
  });
});
