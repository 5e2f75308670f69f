import { type SyncTarget, targetKey } from "../sync/targeted.js";

/**
 * A unit of sync work for one tenant. `cycle` runs a whole sync cycle; `target` syncs only the deal
 * one record belongs to (`syncTarget`: what `cosell serve` enqueues when a change event arrives).
 */
export type SyncJob =
  | { kind: "cycle"; tenant: string; mode?: "incremental" | "reconcile" }
  | {
      kind: "target";
      tenant: string;
      target: SyncTarget;
      /** The deal's coalescing key (`dealKey`: the link id once linked); default the target's key. */
      deal?: string;
    };

/** What a job runner calls for each job; a throw fails this attempt (it is retried with backoff). */
export type SyncJobHandler = (
  job: SyncJob,
  context: { attempt: number; signal: AbortSignal },
) => Promise<void>;

/**
 * Where work is put. With SQLite it runs in this process ({@link InProcessJobQueue}); with
 * PostgreSQL, `@cosell/postgres` puts it in a shared queue that any number of `cosell worker`
 * processes drain. Both keep the same promises:
 * - a tenant never runs two jobs at once (its jobs run one after another);
 * - a tenant has at most one cycle waiting (a second `cycle` for it is merged with the first);
 * - a failed job is retried with exponential backoff, up to a maximum of attempts;
 * - tenants take turns, so one tenant's backlog never starves the others.
 */
export interface JobQueue {
  enqueue(job: SyncJob, options?: EnqueueOptions): Promise<void>;
}

/** How a job is put in a queue. */
export interface EnqueueOptions {
  /**
   * The job waits this long before it may start, and a job with the same key enqueued meanwhile
   * merges into it (keeping this start time): a burst of events for one deal becomes one sync.
   */
  delayMs?: number;
}

/**
 * The name of the serial queue a tenant's job runs in: its cycles in `cosell:<tenant>`, its targeted
 * syncs in `cosell:<tenant>:events`. So a tenant runs at most one cycle and one targeted sync at
 * once (on any workers): an event is not stuck behind a long cycle, and the per-deal lock
 * (`DealLock`) keeps the two off the same deal.
 */
export function tenantQueueName(tenant: string, kind: SyncJob["kind"] = "cycle"): string {
  return kind === "cycle" ? `cosell:${tenant}` : `cosell:${tenant}:events`;
}

/**
 * The key that merges duplicate waiting jobs: one waiting cycle per tenant (and mode), one waiting
 * targeted sync per deal.
 */
export function syncJobKey(job: SyncJob): string {
  if (job.kind === "cycle") return `cycle:${job.tenant}:${job.mode ?? "incremental"}`;
  return `target:${job.tenant}:${job.deal ?? targetKey(job.target)}`;
}

/** The wait before attempt `attempt + 1`: 2^attempt seconds, at most `maxMs`. */
export function retryDelayMs(attempt: number, maxMs = 5 * 60_000): number {
  return Math.min(maxMs, 1000 * 2 ** Math.max(0, attempt - 1));
}
