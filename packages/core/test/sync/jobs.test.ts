import { describe, expect, it, vi } from "vitest";
import { InProcessDealLock, InProcessSyncQueue, type SyncTarget } from "../../src/index.js";

const crm = (id: string): SyncTarget => ({ side: "crm", id });
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("InProcessSyncQueue", () => {
  it("coalesces events for one deal inside the window into one job", async () => {
    // A hand-moved clock: the three events land inside the window however slow the machine is.
    let now = 0;
    const q = new InProcessSyncQueue({ coalesceMs: 20, now: () => now });
    const seen: string[] = [];
    q.process(async (t) => {
      seen.push(t.id);
    });
    expect(await q.enqueue(crm("a"))).toBe("queued");
    expect(await q.enqueue(crm("a"))).toBe("coalesced");
    expect(await q.enqueue(crm("b"))).toBe("queued");
    expect(q.depth()).toBe(2);
    now = 1_000;
    await vi.waitFor(() => expect(seen).toEqual(["a", "b"]));
    expect(q.stats()).toMatchObject({ queued: 2, coalesced: 1, processed: 2, dropped: 0 });
    await q.close();
  });

  it("keys by the given deal key, so events from both sides of a deal coalesce", async () => {
    const q = new InProcessSyncQueue({ coalesceMs: 10, keyOf: () => "deal-1" });
    expect(await q.enqueue(crm("x"))).toBe("queued");
    expect(await q.enqueue({ side: "partnerCenter", id: "r" })).toBe("coalesced");
    await q.close();
  });

  it("drops and counts events beyond its capacity, and never holds more", async () => {
    const q = new InProcessSyncQueue({ capacity: 3, coalesceMs: 1000 });
    const outcomes = [];
    for (let i = 0; i < 10; i++) outcomes.push(await q.enqueue(crm(String(i))));
    expect(outcomes.filter((o) => o === "queued")).toHaveLength(3);
    expect(q.stats().dropped).toBe(7);
    expect(q.depth()).toBe(3);
    await q.close();
  });

  it("an event for a deal whose job is running runs it once more afterwards", async () => {
    const q = new InProcessSyncQueue({ coalesceMs: 0 });
    const gate = deferred();
    const runs: string[] = [];
    q.process(async (t) => {
      runs.push(t.id);
      if (runs.length === 1) await gate.promise;
    });
    await q.enqueue(crm("a"));
    await vi.waitFor(() => expect(runs).toEqual(["a"]));
    expect(await q.enqueue(crm("a"))).toBe("coalesced");
    expect(await q.enqueue(crm("a"))).toBe("coalesced");
    gate.resolve();
    await vi.waitFor(() => expect(runs).toEqual(["a", "a"]));
    await tick(20);
    expect(runs).toEqual(["a", "a"]);
    await q.close();
  });

  it("counts and reports a failing job, then goes on", async () => {
    const errors: string[] = [];
    const q = new InProcessSyncQueue({ coalesceMs: 0, onError: (_e, t) => errors.push(t.id) });
    q.process(async (t) => {
      if (t.id === "bad") throw new Error("boom");
    });
    await q.enqueue(crm("bad"));
    await q.enqueue(crm("good"));
    await vi.waitFor(() => expect(q.stats()).toMatchObject({ failed: 1, processed: 1 }));
    expect(errors).toEqual(["bad"]);
    await q.close();
  });

  it("close waits for the running job and drops the waiting ones", async () => {
    const q = new InProcessSyncQueue({ coalesceMs: 0 });
    const gate = deferred();
    let finished = false;
    q.process(async () => {
      await gate.promise;
      finished = true;
    });
    await q.enqueue(crm("a"));
    await q.enqueue(crm("b"));
    await vi.waitFor(() => expect(q.depth()).toBe(1));
    const closing = q.close();
    gate.resolve();
    await closing;
    expect(finished).toBe(true);
    expect(q.depth()).toBe(0);
    expect(await q.enqueue(crm("c"))).toBe("dropped");
  });
});

describe("InProcessDealLock", () => {
  it("runs different deals side by side, one deal's tasks in order, and a full cycle alone", async () => {
    const lock = new InProcessDealLock();
    const log: string[] = [];
    const gate = deferred();
    const a1 = lock.withDeals(["a"], async () => {
      log.push("a1 start");
      await gate.promise;
      log.push("a1 end");
    });
    const b = lock.withDeals(["b"], async () => {
      log.push("b");
    });
    const a2 = lock.withDeals(["a"], async () => {
      log.push("a2");
    });
    const all = lock.withAll(async () => {
      log.push("all");
    });
    const c = lock.withDeals(["c"], async () => {
      log.push("c");
    });
    await tick(5);
    expect(log).toEqual(["a1 start", "b"]);
    gate.resolve();
    await Promise.all([a1, b, a2, all, c]);
    expect(log).toEqual(["a1 start", "b", "a1 end", "a2", "all", "c"]);
    expect(lock.size).toBe(0);
  });

  it("a failing task releases its lock", async () => {
    const lock = new InProcessDealLock();
    await expect(
      lock.withDeals(["a"], async () => {
        throw new Error("x");
      }),
    ).rejects.toThrow("x");
    expect(await lock.withDeals(["a"], async () => 1)).toBe(1);
  });
});
