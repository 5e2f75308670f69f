import { afterEach, describe, expect, it } from "vitest";
import { PostgresDealLock, PostgresStateStore } from "../src/index.js";
import { databaseUrl, dropSchema, uniqueSchema } from "./database.js";

describe("PostgresDealLock: per-deal advisory locks across connections", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  function twoWorkers(): [PostgresStateStore, PostgresStateStore] {
    const schema = uniqueSchema("deallock");
    const a = PostgresStateStore.open({ url: databaseUrl(), schema });
    const b = PostgresStateStore.open({ url: databaseUrl(), schema });
    cleanups.push(() => dropSchema(schema));
    cleanups.push(() => a.close());
    cleanups.push(() => b.close());
    return [a, b];
  }

  it("a second connection waits for a held deal, not for other deals", async () => {
    const [a, b] = twoWorkers();
    const lockA = new PostgresDealLock(a);
    const lockB = new PostgresDealLock(b);
    const order: string[] = [];
    let release!: () => void;
    const first = lockA.withDeals(["crm:1", "partnerCenter:R1"], async () => {
      order.push("A holds 1");
      await new Promise<void>((r) => (release = r));
      order.push("A releases 1");
    });
    await lockB.withDeals(["crm:2"], async () => order.push("B ran 2"));
    const second = lockB.withDeals(["partnerCenter:R1"], async () => order.push("B ran 1"));
    // B's wait sleeps between attempts; give it a few rounds, then let A go.
    await new Promise((r) => setTimeout(r, 200));
    expect(order).toEqual(["A holds 1", "B ran 2"]);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(["A holds 1", "B ran 2", "A releases 1", "B ran 1"]);
  });

  it("takes a batch's locks all or none, in one round trip: one deal held elsewhere leaves the others free", () => {
    const [a, b] = twoWorkers();
    expect(a.tryLock("deal:crm:2")).toBe(true);
    expect(b.tryLocks([{ key: "deal:crm:1" }, { key: "deal:crm:2" }, { key: "deal:crm:3" }])).toBe(false);
    // b gave back the two it could take: a takes them, then b has none to release.
    expect(a.tryLocks([{ key: "deal:crm:1" }, { key: "deal:crm:3" }])).toBe(true);
    a.unlockAll(["deal:crm:1", "deal:crm:2", "deal:crm:3"]);
    // Shared locks exclude an exclusive holder, not each other.
    expect(a.tryLocks([{ key: "deals:all", shared: true }, { key: "deal:crm:1" }])).toBe(true);
    expect(b.tryLocks([{ key: "deals:all", shared: true }, { key: "deal:crm:4" }])).toBe(true);
    expect(b.tryLocks([{ key: "deals:all" }])).toBe(false);
    a.unlockAll(["deal:crm:1", "deals:all"]);
    b.unlockAll(["deal:crm:4", "deals:all"]);
    expect(b.tryLocks([{ key: "deals:all" }])).toBe(true);
    expect(a.tryLocks([{ key: "deal:crm:1" }, { key: "deals:all", shared: true }])).toBe(false);
    expect(a.tryLock("deal:crm:1")).toBe(true);
  });

  it("withAll excludes every deal holder; a lock is freed when its holder's connection closes", async () => {
    const [a, b] = twoWorkers();
    let release!: () => void;
    const held = new PostgresDealLock(a).withAll(() => new Promise<void>((r) => (release = r)));
    await expect(
      new PostgresDealLock(b, { waitMs: 50 }).withDeals(["crm:9"], async () => "ran"),
    ).rejects.toMatchObject({ code: "DEAL_BUSY" });
    release();
    await held;
    expect(await new PostgresDealLock(b).withDeals(["crm:9"], async () => "ran")).toBe("ran");

    // A holder whose connection goes (a killed worker) frees its deals.
    void new PostgresDealLock(a).withDeals(["crm:7"], () => new Promise(() => {}));
    await new Promise((r) => setTimeout(r, 20));
    await expect(
      new PostgresDealLock(b, { waitMs: 50 }).withDeals(["crm:7"], async () => "ran"),
    ).rejects.toMatchObject({ code: "DEAL_BUSY" });
    a.close();
    expect(await new PostgresDealLock(b).withDeals(["crm:7"], async () => "ran")).toBe("ran");
  });
});
