import type { EnqueueOptions, JobQueue, SyncJob, SyncJobHandler } from "./sync-job.js";
import { retryDelayMs, syncJobKey } from "./sync-job.js";

export interface InProcessJobQueueOptions {
  /** How many tenants run at once. Default 1. */
  concurrency?: number;
  /** Attempts before a job is given up. Default 5. */
  maxAttempts?: number;
  /** The wait before retry `attempt + 1`. Default: 1 s, 2 s, 4 s… up to 5 min. */
  retryDelayMs?: (attempt: number) => number;
  /** Told about every failed attempt (`willRetry` false once a job is given up). */
  onError?: (job: SyncJob, error: unknown, info: { attempt: number; willRetry: boolean }) => void;
}

interface Pending {
  job: SyncJob;
  key: string;
  attempt: number;
}

/**
 * The {@link JobQueue} for one process (the SQLite deployment): the same promises as the shared
 * PostgreSQL queue, kept in memory. Tenants take turns (round robin), each tenant's jobs run one at
 * a time in order, a waiting duplicate is merged, and a failed job is retried after a backoff.
 */
export class InProcessJobQueue implements JobQueue {
  private readonly waiting = new Map<string, Pending[]>();
  /** When each tenant was last served (a counter): the least recently served goes next. */
  private readonly lastServed = new Map<string, number>();
  private served = 0;
  private readonly running = new Set<string>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly abort = new AbortController();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly handler: SyncJobHandler,
    private readonly options: InProcessJobQueueOptions = {},
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  }

  /** `delayMs` is not needed in one process (the in-process event queue coalesces) and is ignored. */
  async enqueue(job: SyncJob, _options?: EnqueueOptions): Promise<void> {
    this.add({ job, key: syncJobKey(job), attempt: 1 });
  }

  /** Resolves once nothing is waiting, running or scheduled for a retry. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops waiting jobs and retries, and aborts the running ones' signal. */
  stop(): void {
    this.abort.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.waiting.clear();
    this.settle();
  }

  private add(p: Pending): void {
    if (this.abort.signal.aborted) return;
    const tenant = p.job.tenant;
    const list = this.waiting.get(tenant) ?? [];
    if (list.some((w) => w.key === p.key)) return;
    list.push(p);
    this.waiting.set(tenant, list);
    this.pump();
  }

  private pump(): void {
    while (this.running.size < this.concurrency) {
      const tenant = this.nextTenant();
      if (tenant === undefined) break;
      // Back of the line: every other tenant with work goes before this one's next job.
      this.lastServed.set(tenant, ++this.served);
      const list = this.waiting.get(tenant)!;
      const next = list.shift()!;
      if (list.length === 0) this.waiting.delete(tenant);
      this.running.add(tenant);
      void this.runOne(next).finally(() => {
        this.running.delete(tenant);
        this.pump();
        this.settle();
      });
    }
  }

  /** The least recently served tenant that has a job waiting and none running. */
  private nextTenant(): string | undefined {
    let best: string | undefined;
    let bestServed = Number.POSITIVE_INFINITY;
    for (const tenant of this.waiting.keys()) {
      if (this.running.has(tenant)) continue;
      const served = this.lastServed.get(tenant) ?? 0;
      if (served < bestServed) {
        best = tenant;
        bestServed = served;
      }
    }
    return best;
  }

  private async runOne(p: Pending): Promise<void> {
    try {
      await this.handler(p.job, { attempt: p.attempt, signal: this.abort.signal });
    } catch (error) {
      const willRetry = p.attempt < this.maxAttempts && !this.abort.signal.aborted;
      this.options.onError?.(p.job, error, { attempt: p.attempt, willRetry });
      if (!willRetry) return;
      const delay = (this.options.retryDelayMs ?? retryDelayMs)(p.attempt);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.add({ ...p, attempt: p.attempt + 1 });
        this.settle();
      }, delay);
      this.timers.add(timer);
    }
  }

  private isIdle(): boolean {
    return this.running.size === 0 && this.waiting.size === 0 && this.timers.size === 0;
  }

  private settle(): void {
    if (!this.isIdle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
