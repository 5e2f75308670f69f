import type { SyncTarget } from "./targeted.js";

/** What happened to an event handed to {@link TargetedSyncQueue.enqueue}. */
export type EnqueueOutcome =
  /** A new job. */
  | "queued"
  /** Joined a job for the same deal that has not started yet (or will run again after the one running). */
  | "coalesced"
  /** The queue is full: the event is counted and left to the next reconciliation. */
  | "dropped";

/** Counters of a queue since it was created. */
export interface QueueStats {
  queued: number;
  coalesced: number;
  dropped: number;
  processed: number;
  failed: number;
}

/**
 * The targeted-sync job queue `cosell serve` feeds with events. The in-process implementation below
 * keeps jobs in memory (lost on a crash: the reconciliation poll catches up); a database-backed queue
 * implements the same contract so several workers can share the work.
 */
export interface TargetedSyncQueue {
  /** Adds a job for the deal `target` belongs to. Never throws for a full queue: it drops and counts. */
  enqueue(target: SyncTarget): Promise<EnqueueOutcome>;
  /** Starts handing jobs to `handler` (once). A handler failure is counted and reported, not retried. */
  process(handler: (target: SyncTarget) => Promise<void>): void;
  /** Jobs waiting (not running). */
  depth(): number;
  stats(): QueueStats;
  /** Stops starting jobs and waits for the running ones; waiting jobs are dropped (the poll catches up). */
  close(): Promise<void>;
}

/** Settings of {@link InProcessSyncQueue}. */
export interface InProcessSyncQueueOptions {
  /** Jobs waiting at most; more are dropped. Default 10,000. */
  capacity?: number;
  /**
   * A job waits this long after its first event before it starts, so a burst of events for one deal
   * (a seller saving three times, our own write's echo) becomes one sync. Default 250 ms.
   */
  coalesceMs?: number;
  /** Jobs run at once. Default 1 (the state store serialises writes anyway). */
  concurrency?: number;
  /** The coalescing key of a target; default `side:id`. `cosell serve` keys by deal (link id). */
  keyOf?: (target: SyncTarget) => string;
  /** Handler failures. */
  onError?: (error: unknown, target: SyncTarget) => void;
  /** Clock for due times (tests). */
  now?: () => number;
}

interface Job {
  target: SyncTarget;
  due: number;
}

/** {@link TargetedSyncQueue} in this process's memory, bounded and coalescing. */
export class InProcessSyncQueue implements TargetedSyncQueue {
  private readonly waiting = new Map<string, Job>();
  private readonly running = new Map<string, Promise<void>>();
  /** Deals that got an event while their job was running: they run once more afterwards. */
  private readonly again = new Map<string, SyncTarget>();
  private readonly counters: QueueStats = { queued: 0, coalesced: 0, dropped: 0, processed: 0, failed: 0 };
  private handler: ((target: SyncTarget) => Promise<void>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly capacity: number;
  private readonly coalesceMs: number;
  private readonly concurrency: number;
  private readonly keyOf: (target: SyncTarget) => string;
  private readonly now: () => number;

  constructor(private readonly options: InProcessSyncQueueOptions = {}) {
    this.capacity = options.capacity ?? 10_000;
    this.coalesceMs = options.coalesceMs ?? 250;
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.keyOf = options.keyOf ?? ((t) => `${t.side}:${t.id}`);
    this.now = options.now ?? Date.now;
  }

  async enqueue(target: SyncTarget): Promise<EnqueueOutcome> {
    if (this.closed) return this.count("dropped");
    const key = this.keyOf(target);
    if (this.waiting.has(key)) return this.count("coalesced");
    if (this.running.has(key)) {
      if (this.again.has(key)) return this.count("coalesced");
      if (this.waiting.size + this.again.size >= this.capacity) return this.count("dropped");
      this.again.set(key, target);
      return this.count("coalesced");
    }
    if (this.waiting.size + this.again.size >= this.capacity) return this.count("dropped");
    this.waiting.set(key, { target, due: this.now() + this.coalesceMs });
    this.schedule();
    return this.count("queued");
  }

  process(handler: (target: SyncTarget) => Promise<void>): void {
    if (this.handler) throw new Error("The queue already has a handler.");
    this.handler = handler;
    this.schedule();
  }

  depth(): number {
    return this.waiting.size + this.again.size;
  }

  stats(): QueueStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.clear();
    this.again.clear();
    await Promise.allSettled([...this.running.values()]);
  }

  private count(outcome: EnqueueOutcome): EnqueueOutcome {
    this.counters[outcome]++;
    return outcome;
  }

  /** Starts every due job there is room for, then sleeps until the next one is due. */
  private schedule(): void {
    if (this.closed || !this.handler) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const t = this.now();
    let nextDue = Number.POSITIVE_INFINITY;
    for (const [key, job] of this.waiting) {
      if (this.running.size >= this.concurrency) break;
      // Jobs of one deal never run side by side; this one waits for the running one.
      if (this.running.has(key)) continue;
      if (job.due > t) {
        nextDue = Math.min(nextDue, job.due);
        continue;
      }
      this.waiting.delete(key);
      this.start(key, job.target);
    }
    if (this.running.size < this.concurrency && Number.isFinite(nextDue)) {
      this.timer = setTimeout(() => this.schedule(), Math.max(0, nextDue - this.now()));
      this.timer.unref?.();
    }
  }

  private start(key: string, target: SyncTarget): void {
    const handler = this.handler!;
    const run = (async () => {
      try {
        await handler(target);
        this.counters.processed++;
      } catch (e) {
        this.counters.failed++;
        this.options.onError?.(e, target);
      }
    })().finally(() => {
      this.running.delete(key);
      const next = this.again.get(key);
      if (next && !this.closed) {
        this.again.delete(key);
        // Runs at once: its coalescing window passed while the previous job ran.
        this.waiting.set(key, { target: next, due: this.now() });
      }
      this.schedule();
    });
    this.running.set(key, run);
  }
}
