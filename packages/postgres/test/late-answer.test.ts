import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BlockingClient } from "../src/index.js";

const SLOW_PG = fileURLToPath(new URL("./fixtures/slow-pg/index.js", import.meta.url));

/**
 * A call that gave up waiting leaves its statement running in the connection's thread. Its answer,
 * when it comes, belongs to no one: taken by the next call, it would hand that call another
 * statement's rows (a lock's "ok" read from a batch's empty answer, a link read from an audit row).
 */
describe("an answer that comes after its caller gave up", () => {
  it("is never taken for a later statement's: the connection ends with the timeout", () => {
    // 1 ms timeouts: the caller waits the 10 s margin only.
    const db = new BlockingClient({
      connectionString: "postgres://nobody@127.0.0.1:1/none",
      statementTimeoutMs: 1,
      reconnectForMs: 1,
      pgModulePath: SLOW_PG,
    });
    try {
      expect(db.query("SELECT 1").rows).toEqual([{ answer: "fast" }]);
      expect(() => db.query("SELECT 'slow'")).toThrow(/did not answer within 10 s/);
      // The slow answer arrives 2 s later; the next statement must fail, not return it.
      let outcome: unknown;
      try {
        outcome = db.query("SELECT 2").rows;
      } catch (e) {
        outcome = (e as Error).message;
      }
      expect(outcome).toMatch(/connection thread stopped/);
    } finally {
      db.close();
    }
  }, 30_000);
});
