import { randomBytes } from "node:crypto";
import { PostgresJobQueue } from "@cosell/postgres";
import pg from "pg";
import { afterEach, describe, expect, inject, it } from "vitest";
import { SharedTargetQueue } from "../src/serve/shared-queue.js";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseError: string;
  }
}

const url = () => {
  const error = inject("databaseError");
  if (error) throw new Error(error);
  return inject("databaseUrl");
};

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url() });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

describe("cosell serve --tenant: events become targeted-sync jobs in the shared PostgreSQL queue", () => {
  const schemas: string[] = [];
  afterEach(async () => {
    for (const s of schemas.splice(0)) await query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  });

  it("keys jobs per deal (events of one deal merge, from either side), delays them, and queues them per tenant", async () => {
    const schema = `jobs_serve_${process.pid}_${randomBytes(3).toString("hex")}`;
    schemas.push(schema);
    const jobs = await PostgresJobQueue.connect({ url: url(), schema });
    // The link: crm 006A and referral R1 are one deal.
    const dealOf = (t: { side: string; id: string }) =>
      t.id === "006A" || t.id === "R1" ? "link-1" : `${t.side}:${t.id}`;
    const queue = new SharedTargetQueue({ jobs, tenant: "acme", dealOf, coalesceMs: 60_000 });
    expect(await queue.enqueue({ side: "crm", id: "006A" })).toBe("queued");
    await queue.enqueue({ side: "partnerCenter", id: "R1" });
    await queue.enqueue({ side: "crm", id: "006A" });
    await queue.enqueue({ side: "crm", id: "006B" });
    const rows = await query<{ key: string; queue_name: string; future: boolean; payload: unknown }>(
      `SELECT key, (SELECT queue_name FROM "${schema}"._private_job_queues q WHERE q.id = j.job_queue_id),
              run_at > now() + interval '30 seconds' AS future, payload
         FROM "${schema}"._private_jobs j ORDER BY key`,
    );
    expect(rows.map((r) => r.key)).toEqual(["target:acme:crm:006B", "target:acme:link-1"]);
    expect(rows.every((r) => r.queue_name === "cosell:acme:events" && r.future)).toBe(true);
    // Whichever event's payload the merge keeps, the worker reads the deal fresh on both sides.
    expect(rows[1]?.payload).toMatchObject({ kind: "target", tenant: "acme", deal: "link-1" });
    expect(queue.stats()).toMatchObject({ queued: 4, dropped: 0 });
    await queue.close();
    expect(await queue.enqueue({ side: "crm", id: "006C" })).toBe("dropped");
  });
});
