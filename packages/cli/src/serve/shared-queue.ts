import type { EnqueueOutcome, JobQueue, QueueStats, SyncTarget, TargetedSyncQueue } from "@cosell/core";

/** Settings of {@link SharedTargetQueue}. */
export interface SharedTargetQueueOptions {
  /** Where the jobs go (the PostgreSQL deployment's shared queue). */
  jobs: JobQueue & { close(): Promise<void> };
  tenant: string;
  /** The deal a target belongs to (`dealKey`): the job key its events merge on. */
  dealOf: (target: SyncTarget) => string;
  /** A job waits this long, so a burst of events for one deal becomes one sync. */
  coalesceMs: number;
}

/**
 * The {@link TargetedSyncQueue} `cosell serve --tenant` uses: each event becomes a targeted-sync job
 * in the shared PostgreSQL queue, keyed per deal, and `cosell worker` processes run it. Nothing runs
 * here, so `process` keeps no handler and `depth` is 0 (the jobs wait in the database).
 */
export class SharedTargetQueue implements TargetedSyncQueue {
  private readonly counters: QueueStats = { queued: 0, coalesced: 0, dropped: 0, processed: 0, failed: 0 };
  private closed = false;

  constructor(private readonly o: SharedTargetQueueOptions) {}

  async enqueue(target: SyncTarget): Promise<EnqueueOutcome> {
    if (this.closed) {
      this.counters.dropped++;
      return "dropped";
    }
    // A merge with a waiting job happens in the database, which does not say so: counted as queued.
    await this.o.jobs.enqueue(
      { kind: "target", tenant: this.o.tenant, target, deal: this.o.dealOf(target) },
      { delayMs: this.o.coalesceMs },
    );
    this.counters.queued++;
    return "queued";
  }

  process(): void {
    // The workers run the jobs.
  }

  depth(): number {
    return 0;
  }

  stats(): QueueStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.o.jobs.close();
  }
}
