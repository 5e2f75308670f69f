/** A worker's periodic "run every tenant's cycle" round, started by {@link startCycleEnqueuer}. */
export interface CycleEnqueuer {
  /** The first round, started at once: it rejects when an enqueue fails (the worker does not start). */
  readonly first: Promise<void>;
  /**
   * No round starts after this, the running one stops before its next tenant, and the promise
   * resolves once it has: the queue can then be closed under no one's feet.
   */
  stop(): Promise<void>;
}

/**
 * Enqueues a cycle for every tenant now and then every `intervalMs`. A round enqueues the tenants
 * one after the other; when it takes longer than the interval the next tick is skipped rather than
 * started next to it (two rounds would only enqueue the same keyed jobs twice over). A failed later
 * round goes to `onError` and the next tick tries again.
 */
export function startCycleEnqueuer(options: {
  tenants: () => readonly string[];
  enqueue: (tenant: string) => Promise<void>;
  intervalMs: number;
  onError: (error: unknown) => void;
}): CycleEnqueuer {
  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  const round = async () => {
    for (const tenant of options.tenants()) {
      if (stopped) return;
      await options.enqueue(tenant);
    }
  };
  // A round is `running` until it settles; `tick` starts none meanwhile, so the one it clears is its own.
  const start = () => {
    const r = round();
    running = r
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        running = undefined;
      });
    return r;
  };
  const tick = () => {
    if (stopped || running) return;
    start().catch((e) => {
      if (!stopped) options.onError(e);
    });
  };
  // The timer starts once the first round has gone through: a worker that cannot enqueue does not start.
  const first = start().then(() => {
    if (!stopped) timer = setInterval(tick, options.intervalMs);
  });
  return {
    first,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
