import { afterEach, describe, expect, it } from "vitest";
import { BlockingClient } from "../src/index.js";
import { databaseUrl, dropSchema, uniqueSchema, withClient } from "./database.js";

/**
 * A closed client's connection is kept for the next client of the same server (a worker opens a
 * store per job, and starting a connection's thread costs about 120 ms). What the next client must
 * never see is anything of the session before it.
 */
describe("BlockingClient: a closed client's connection serves the next one", () => {
  const schemas: string[] = [];
  const clients: BlockingClient[] = [];
  // Options of this file's own (idle connections are kept per server and options).
  const open = (schema: string | undefined, applicationName: string) => {
    const c = new BlockingClient({
      connectionString: databaseUrl(),
      ...(schema === undefined ? {} : { schema }),
      applicationName,
      statementTimeoutMs: 31_234,
    });
    clients.push(c);
    return c;
  };
  const fresh = async () => {
    const s = uniqueSchema("reuse");
    schemas.push(s);
    await withClient((c) => c.query(`CREATE SCHEMA "${s}"; CREATE TABLE "${s}".t (v text)`));
    return s;
  };
  const backend = (c: BlockingClient) =>
    c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid").rows[0]!.pid;
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of schemas.splice(0)) await dropSchema(s);
  });

  it("with the new client's schema and name, and without the old one's transaction or locks", async () => {
    const [a, b] = [await fresh(), await fresh()];
    const first = open(a, "cosell-test-reuse-a");
    const pid = backend(first);
    first.query("SELECT pg_advisory_lock(hashtext('reuse'), hashtext($1))", [a]);
    first.begin();
    first.query("INSERT INTO t (v) VALUES ('never committed')");
    first.close();

    const second = open(b, "cosell-test-reuse-b");
    expect(backend(second)).toBe(pid);
    const session = second.query<{ schema: string; name: string }>(
      "SELECT current_schema() AS schema, current_setting('application_name') AS name",
    ).rows[0];
    expect(session).toMatchObject({ schema: b, name: "cosell-test-reuse-b" });
    // Unqualified names are the new schema's: this writes to b.t, and a.t never got the rolled-back row.
    second.query("INSERT INTO t (v) VALUES ('second')");
    const counts = await withClient(async (c) => {
      const inA = await c.query(`SELECT count(*)::int AS n FROM "${a}".t`);
      const inB = await c.query(`SELECT count(*)::int AS n FROM "${b}".t`);
      // The first client's session lock went with its session.
      const lock = await c.query("SELECT pg_try_advisory_lock(hashtext('reuse'), hashtext($1)) AS ok", [a]);
      if (lock.rows[0].ok) await c.query("SELECT pg_advisory_unlock(hashtext('reuse'), hashtext($1))", [a]);
      return { a: inA.rows[0].n, b: inB.rows[0].n, lockFree: lock.rows[0].ok };
    });
    expect(counts).toEqual({ a: 0, b: 1, lockFree: true });
    const seen = await withClient((c) =>
      c.query("SELECT application_name FROM pg_stat_activity WHERE pid = $1", [pid]),
    );
    expect(seen.rows[0]?.application_name).toBe("cosell-test-reuse-b");
  });

  it("a kept connection the server dropped while idle is replaced on the next statement", async () => {
    const [a, b] = [await fresh(), await fresh()];
    const first = open(a, "cosell-test-reuse-c");
    const pid = backend(first);
    first.close();
    await withClient(async (c) => {
      await c.query("SELECT pg_terminate_backend($1)", [pid]);
      for (let i = 0; i < 500; i++) {
        const left = await c.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid]);
        if (!left.rowCount) break;
        await new Promise((r) => setTimeout(r, 10));
      }
    });
    const second = open(b, "cosell-test-reuse-d");
    expect(backend(second)).not.toBe(pid);
    expect(second.query<{ schema: string }>("SELECT current_schema() AS schema").rows[0]?.schema).toBe(b);
  });

  it("keeps no connection of a client without a schema, and none of a closed client answers again", async () => {
    const plain = open(undefined, "cosell-test-reuse-e");
    const pid = backend(plain);
    plain.close();
    expect(() => plain.query("SELECT 1")).toThrow(/closed/);
    const next = open(undefined, "cosell-test-reuse-f");
    expect(backend(next)).not.toBe(pid);
  });
});
