import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { BlockingClient } from "../src/index.js";
import { databaseUrl } from "./database.js";

const SLOW_PG = fileURLToPath(new URL("./fixtures/slow-pg/index.js", import.meta.url));

/** The thread a client's connection lives on (private: what this file is about). */
const threadOf = (c: BlockingClient) => (c as unknown as { thread: { signal: Int32Array } }).thread;
const stopped = (c: BlockingClient) => Atomics.load(threadOf(c).signal, 1) === 1;

/**
 * Every connection of a process lives on one thread (a thread is about 12 MB; a worker holds the
 * registry's connection and its job's store's), each its own session on the server.
 */
describe("BlockingClient: the process's connections share one thread", () => {
  const clients: BlockingClient[] = [];
  const open = (options: Partial<ConstructorParameters<typeof BlockingClient>[0]> = {}) => {
    const c = new BlockingClient({
      connectionString: databaseUrl(),
      applicationName: "cosell-test-shared",
      ...options,
    });
    clients.push(c);
    return c;
  };
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  it("on one thread, each connection is a session of its own: its backend, transaction and locks", () => {
    const a = open();
    const b = open();
    const pid = (c: BlockingClient) =>
      c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid").rows[0]!.pid;
    expect(threadOf(a)).toBe(threadOf(b));
    expect(pid(a)).not.toBe(pid(b));

    a.begin();
    a.query("SELECT set_config('cosell.shared_test', 'a', true)");
    const seen = (c: BlockingClient) =>
      c.query<{ v: string | null }>("SELECT current_setting('cosell.shared_test', true) AS v").rows[0]!.v;
    expect(seen(a)).toBe("a");
    expect(seen(b) ?? "").toBe("");
    a.rollback();

    const lock = [{ a: "shared-thread-test", b: "deal-1", shared: false }];
    expect(a.tryLockMany(lock, lock)).toBe(true);
    expect(b.tryLockMany(lock, lock)).toBe(false);
    a.unlockMany(lock, []);
    expect(b.tryLockMany(lock, lock)).toBe(true);
    b.unlockMany(lock, []);
  });

  it("ends with the process's last connection, and the next client starts a new one", () => {
    for (const c of clients.splice(0)) c.close();
    const a = open();
    const b = open();
    a.query("SELECT 1");
    const first = threadOf(a);
    a.close();
    expect(stopped(b)).toBe(false);
    b.close();
    expect(Atomics.load(first.signal, 1)).toBe(1);
    const c = open();
    expect(c.query<{ one: number }>("SELECT 1 AS one").rows).toEqual([{ one: 1 }]);
    expect(threadOf(c)).not.toBe(first);
  });

  it("a call that gives up ends the thread: its own client fails from then on, another one outside a transaction opens again on a new thread, one inside its transaction fails", () => {
    // 1 ms timeouts with a stand-in driver whose 'slow' answer takes 12 s: the caller waits the 10 s margin.
    const slow = {
      connectionString: "postgres://nobody@127.0.0.1:1/none",
      statementTimeoutMs: 1,
      reconnectForMs: 1,
      pgModulePath: SLOW_PG,
    };
    const gaveUp = open(slow);
    const idle = open(slow);
    const inTransaction = open(slow);
    expect(idle.query("SELECT 1").rows).toEqual([{ answer: "fast" }]);
    inTransaction.begin();
    expect(threadOf(gaveUp)).toBe(threadOf(idle));

    expect(() => gaveUp.query("SELECT 'slow'")).toThrow(/did not answer within 10 s/);
    expect(() => gaveUp.query("SELECT 2")).toThrow(/connection thread stopped/);
    expect(() => inTransaction.query("SELECT 3")).toThrow(/connection thread stopped/);
    expect(idle.query("SELECT 4").rows).toEqual([{ answer: "fast" }]);
    expect(stopped(idle)).toBe(false);
    expect(threadOf(idle)).not.toBe(threadOf(gaveUp));
  }, 30_000);
});
