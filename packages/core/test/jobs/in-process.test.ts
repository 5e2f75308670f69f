import { describe, expect, it } from "vitest";
import { InProcessJobQueue, type SyncJob, syncJobKey } from "../../src/index.js";

const cycle = (tenant: string): SyncJob => ({ kind: "cycle", tenant });
const target = (tenant: string, id: string): SyncJob => ({
  kind: "target",
  tenant,
  target: { side: "crm", id },
});

/** A handler that records what ran, and lets the test finish each job by hand. */
function recorder() {
  const log: string[] = [];
  const open = new Map<string, () => void>();
  let running = 0;
  let maxRunning = 0;
  const perTenant = new Map<string, number>();
  const handler = (job: SyncJob) => {
    const name = job.kind === "cycle" ? `${job.tenant}:cycle` : `${job.tenant}:${job.target.id}`;
    log.push(`start ${name}`);
    running++;
    maxRunning = Math.max(maxRunning, running);
    perTenant.set(job.tenant, (perTenant.get(job.tenant) ?? 0) + 1);
    if ((perTenant.get(job.tenant) ?? 0) > 1) log.push(`OVERLAP ${job.tenant}`);
    return new Promise<void>((resolve) =>
      open.set(name, () => {
        running--;
        perTenant.set(job.tenant, (perTenant.get(job.tenant) ?? 1) - 1);
        log.push(`end ${name}`);
        resolve();
      }),
    );
  };
  const finish = async (name: string) => {
    await new Promise((r) => setImmediate(r));
    const done = open.get(name);
    if (!done) throw new Error(`${name} is not running; log: ${log.join(", ")}`);
    open.delete(name);
    done();
    await new Promise((r) => setImmediate(r));
  };
  return { log, handler, finish, maxRunning: () => maxRunning };
}

describe("InProcessJobQueue", () => {
  it("never runs two jobs of one tenant at once, and runs them in order", async () => {
    const r = recorder();
    const q = new InProcessJobQueue(r.handler, { concurrency: 4 });
    await q.enqueue(cycle("a"));
    await q.enqueue(target("a", "1"));
    await r.finish("a:cycle");
    await r.finish("a:1");
    await q.idle();
    expect(r.log).toEqual(["start a:cycle", "end a:cycle", "start a:1", "end a:1"]);
  });

  it("merges a waiting duplicate (one waiting cycle per tenant), not a running one", async () => {
    const r = recorder();
    const q = new InProcessJobQueue(r.handler);
    await q.enqueue(cycle("a"));
    await q.enqueue(cycle("a")); // the first is running: this one waits
    await q.enqueue(cycle("a")); // merged with the waiting one
    await r.finish("a:cycle");
    await r.finish("a:cycle");
    await q.idle();
    expect(r.log.filter((l) => l.startsWith("start"))).toHaveLength(2);
  });

  it("lets tenants take turns: a tenant with a backlog does not starve another", async () => {
    const r = recorder();
    const q = new InProcessJobQueue(r.handler, { concurrency: 1 });
    for (const id of ["1", "2", "3"]) await q.enqueue(target("busy", id));
    await q.enqueue(cycle("quiet"));
    await r.finish("busy:1");
    await r.finish("quiet:cycle");
    await r.finish("busy:2");
    await r.finish("busy:3");
    await q.idle();
    expect(r.log.filter((l) => l.startsWith("start"))).toEqual([
      "start busy:1",
      "start quiet:cycle",
      "start busy:2",
      "start busy:3",
    ]);
  });

  it("runs different tenants side by side up to the concurrency", async () => {
    const r = recorder();
    const q = new InProcessJobQueue(r.handler, { concurrency: 2 });
    for (const t of ["a", "b", "c"]) await q.enqueue(cycle(t));
    await new Promise((res) => setImmediate(res));
    expect(r.maxRunning()).toBe(2);
    for (const t of ["a", "b", "c"]) await r.finish(`${t}:cycle`);
    await q.idle();
    expect(r.log.some((l) => l.startsWith("OVERLAP"))).toBe(false);
  });

  it("retries a failing job with growing delays, then gives up and reports it", async () => {
    const attempts: number[] = [];
    const delays: number[] = [];
    const reported: { attempt: number; willRetry: boolean }[] = [];
    const q = new InProcessJobQueue(
      async (_job, { attempt }) => {
        attempts.push(attempt);
        throw new Error("CRM down");
      },
      {
        maxAttempts: 3,
        retryDelayMs: (attempt) => {
          delays.push(attempt);
          return 1;
        },
        onError: (_job, _err, info) => reported.push(info),
      },
    );
    await q.enqueue(cycle("a"));
    await q.idle();
    expect(attempts).toEqual([1, 2, 3]);
    expect(delays).toEqual([1, 2]);
    expect(reported).toEqual([
      { attempt: 1, willRetry: true },
      { attempt: 2, willRetry: true },
      { attempt: 3, willRetry: false },
    ]);
  });

  it("keys jobs by tenant and record", () => {
    expect(syncJobKey(cycle("a"))).toBe("cycle:a:incremental");
    expect(syncJobKey({ kind: "cycle", tenant: "a", mode: "reconcile" })).toBe("cycle:a:reconcile");
    expect(syncJobKey(target("a", "006"))).toBe("target:a:crm:006");
  });
});
