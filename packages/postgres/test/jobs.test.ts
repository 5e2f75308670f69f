import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { SyncJob } from "@cosell/core";
import { afterEach, describe, expect, it } from "vitest";
import { PostgresJobQueue, type RunningWorker, startWorker } from "../src/index.js";
import { databaseUrl, dropSchema, uniqueSchema, withClient } from "./database.js";

const cycle = (tenant: string): SyncJob => ({ kind: "cycle", tenant });
const target = (tenant: string, id: string): SyncJob => ({
  kind: "target",
  tenant,
  target: { side: "crm", id },
});

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function jobCount(schema: string): Promise<number> {
  return withClient(async (c) =>
    Number((await c.query(`SELECT count(*) AS n FROM "${schema}"._private_jobs`)).rows[0].n),
  );
}

describe("PostgreSQL job queue (graphile-worker)", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function queue(): Promise<{ schema: string; q: PostgresJobQueue }> {
    const schema = uniqueSchema("jobs");
    const q = await PostgresJobQueue.connect({ url: databaseUrl(), schema, maxAttempts: 3 });
    cleanups.push(() => dropSchema(schema));
    cleanups.push(() => q.close());
    return { schema, q };
  }
  async function worker(schema: string, handler: Parameters<typeof startWorker>[0]["handler"], extra = {}) {
    const w = await startWorker({
      url: databaseUrl(),
      schema,
      handler,
      concurrency: 2,
      pollIntervalMs: 100,
      ...extra,
    });
    cleanups.push(() => w.stop());
    return w;
  }

  it("merges cycles waiting for the same tenant into one job", async () => {
    const { schema, q } = await queue();
    for (let i = 0; i < 5; i++) await q.enqueue(cycle("a"));
    await q.enqueue(cycle("b"));
    await q.enqueue(target("a", "006A"));
    await q.enqueue(target("a", "006A"));
    expect(await jobCount(schema)).toBe(3);
  });

  it("two workers share the work and never run two cycles, or two targeted syncs, of a tenant at once", async () => {
    const { schema, q } = await queue();
    const done: string[] = [];
    const running = new Map<string, number>();
    const overlaps: string[] = [];
    const handler = async (job: SyncJob) => {
      // A tenant's cycles and its targeted syncs are two serial queues (see tenantQueueName).
      const queue = `${job.tenant}:${job.kind}`;
      const n = (running.get(queue) ?? 0) + 1;
      running.set(queue, n);
      if (n > 1) overlaps.push(queue);
      await new Promise((r) => setTimeout(r, 20));
      running.set(queue, n - 1);
      done.push(job.kind === "cycle" ? `${job.tenant}:cycle` : `${job.tenant}:${job.target.id}`);
    };
    for (const t of ["a", "b", "c"]) {
      await q.enqueue(cycle(t));
      for (const id of ["1", "2", "3"]) await q.enqueue(target(t, id));
    }
    await worker(schema, handler);
    await worker(schema, handler);
    await until("12 jobs", () => done.length === 12);
    expect(overlaps).toEqual([]);
    expect(new Set(done).size).toBe(12);
    // Each tenant's targeted syncs ran in the order they were enqueued.
    for (const t of ["a", "b", "c"])
      expect(done.filter((d) => d.startsWith(`${t}:`) && d !== `${t}:cycle`)).toEqual([
        `${t}:1`,
        `${t}:2`,
        `${t}:3`,
      ]);
  });

  it("retries a failed job with backoff, then gives it up after maxAttempts", async () => {
    const { schema, q } = await queue();
    const attempts: number[] = [];
    const failures: string[] = [];
    await worker(
      schema,
      async (_job, { attempt }) => {
        attempts.push(attempt);
        throw new Error(`CRM down (attempt ${attempt})`);
      },
      { onEvent: (e: { kind: string; message: string }) => failures.push(e.message) },
    );
    await q.enqueue(cycle("a"));
    // graphile-worker waits about e^attempt seconds between attempts: 2.7 s, then 7.4 s.
    await until("three attempts", () => attempts.length === 3, 40_000);
    expect(attempts).toEqual([1, 2, 3]);
    expect(failures).toHaveLength(3);
    const row = await withClient(
      async (c) =>
        (await c.query(`SELECT attempts, max_attempts, last_error FROM "${schema}"._private_jobs`)).rows[0],
    );
    expect(row).toMatchObject({
      attempts: 3,
      max_attempts: 3,
      last_error: expect.stringContaining("CRM down"),
    });
  }, 60_000);

  it("a job held by a SIGKILLed worker is freed and run by another worker", async () => {
    const { schema, q } = await queue();
    await q.enqueue(cycle("tenant-1"));
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL("./fixtures/hanging-worker.mjs", import.meta.url))],
      {
        env: { ...process.env, COSELL_TEST_WORKER: JSON.stringify({ url: databaseUrl(), schema }) },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const events: { event: string; attempt?: number }[] = [];
    createInterface({ input: child.stdout! }).on("line", (l) => events.push(JSON.parse(l)));
    const exited = new Promise((r) => child.on("exit", r));
    cleanups.push(async () => {
      child.kill("SIGKILL");
      await exited;
    });
    await until("the child to take the job", () => events.some((e) => e.event === "started"));
    child.kill("SIGKILL");
    await exited;

    const ran: number[] = [];
    const w: RunningWorker = await worker(schema, async (_job, { attempt }) => void ran.push(attempt), {
      reapAfterMs: 0,
      reapIntervalMs: 60_000,
    });
    // Until the reaper runs, the job stays locked by the dead worker.
    await until(
      "the dead worker's job to be freed",
      async () => (await w.reap()).length > 0 || ran.length > 0,
    );
    await until("the job to run again", () => ran.length === 1);
    expect(ran).toEqual([2]);
    expect(await jobCount(schema)).toBe(0);
  });

  it("does not free the jobs of a worker that is alive", async () => {
    const { schema, q } = await queue();
    let release: (() => void) | undefined;
    const started = new Promise<void>((resolve) => {
      void worker(schema, () => {
        resolve();
        return new Promise<void>((r) => (release = r));
      });
    });
    await q.enqueue(cycle("a"));
    await started;
    const other = await worker(schema, async () => {}, { reapAfterMs: 0, reapIntervalMs: 60_000 });
    expect(await other.reap()).toEqual([]);
    release?.();
  });
});
