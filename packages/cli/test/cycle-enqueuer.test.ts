import { afterEach, describe, expect, it, vi } from "vitest";
import { startCycleEnqueuer } from "../src/postgres/cycle-enqueuer.js";

/** An enqueue that stays unanswered until the test lets it go, like a slow database. */
function gatedEnqueue() {
  const calls: string[] = [];
  const gates: (() => void)[] = [];
  let closed = false;
  const enqueue = (tenant: string) => {
    if (closed) return Promise.reject(new Error("Cannot use a pool after calling end on the pool"));
    calls.push(tenant);
    return new Promise<void>((resolve) => gates.push(resolve));
  };
  const release = () => {
    for (const g of gates.splice(0)) g();
  };
  return { calls, enqueue, release, close: () => (closed = true) };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

afterEach(() => vi.useRealTimers());

describe("startCycleEnqueuer", () => {
  it("enqueues every tenant now, then every interval, and never starts a round next to a running one", async () => {
    vi.useFakeTimers();
    const q = gatedEnqueue();
    const errors: unknown[] = [];
    const e = startCycleEnqueuer({
      tenants: () => ["a", "b"],
      enqueue: q.enqueue,
      intervalMs: 1000,
      onError: (err) => errors.push(err),
    });
    await flush();
    expect(q.calls).toEqual(["a"]);
    q.release();
    await flush();
    q.release();
    await e.first;
    expect(q.calls).toEqual(["a", "b"]);

    await vi.advanceTimersByTimeAsync(1000);
    expect(q.calls).toEqual(["a", "b", "a"]);
    // The round is still waiting on "a": three more ticks start nothing.
    await vi.advanceTimersByTimeAsync(3000);
    expect(q.calls).toEqual(["a", "b", "a"]);
    q.release();
    await flush();
    expect(q.calls).toEqual(["a", "b", "a", "b"]);
    q.release();
    await flush();
    await vi.advanceTimersByTimeAsync(1000);
    expect(q.calls).toEqual(["a", "b", "a", "b", "a"]);
    q.release();
    await flush();
    q.release();
    await e.stop();
    expect(errors).toEqual([]);
  });

  it("stop() waits for the round in flight, which goes no further, so closing the queue after it fails nothing", async () => {
    vi.useFakeTimers();
    const q = gatedEnqueue();
    const errors: unknown[] = [];
    const e = startCycleEnqueuer({
      tenants: () => ["a", "b", "c"],
      enqueue: q.enqueue,
      intervalMs: 1000,
      onError: (err) => errors.push(err),
    });
    for (let i = 0; i < 3; i++) {
      await flush();
      q.release();
    }
    await e.first;
    await vi.advanceTimersByTimeAsync(1000);
    expect(q.calls).toEqual(["a", "b", "c", "a"]);

    let stopped = false;
    const stopping = e.stop().then(() => (stopped = true));
    await flush();
    expect(stopped).toBe(false);
    q.release();
    await stopping;
    // The worker closes its queue now; the round had stopped before "b".
    q.close();
    await vi.advanceTimersByTimeAsync(5000);
    expect(q.calls).toEqual(["a", "b", "c", "a"]);
    expect(errors).toEqual([]);
  });

  it("a failed later round is reported and the next tick tries again; a failed first round rejects and starts no timer", async () => {
    vi.useFakeTimers();
    let fail = false;
    const calls: string[] = [];
    const errors: unknown[] = [];
    const e = startCycleEnqueuer({
      tenants: () => ["a"],
      enqueue: async (t) => {
        calls.push(t);
        if (fail) throw new Error("connection refused");
      },
      intervalMs: 1000,
      onError: (err) => errors.push(err),
    });
    await e.first;
    fail = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(errors).toHaveLength(1);
    fail = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toEqual(["a", "a", "a"]);
    expect(errors).toHaveLength(1);
    await e.stop();

    const bad = startCycleEnqueuer({
      tenants: () => ["a"],
      enqueue: async () => {
        throw new Error("relation does not exist");
      },
      intervalMs: 1000,
      onError: (err) => errors.push(err),
    });
    await expect(bad.first).rejects.toThrow("relation does not exist");
    expect(vi.getTimerCount()).toBe(0);
    await bad.stop();
  });
});
