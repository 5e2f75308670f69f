import {
  AuthError,
  CoSellError,
  type CycleSummary,
  type DealLock,
  type EnqueueOutcome,
  errorMessage,
  InProcessJobQueue,
  retryDelayMs,
  type SyncTarget,
  syncTarget,
  type TargetedSyncQueue,
} from "@cosell/core";
import type { Logger } from "pino";
import { CYCLE_ATTEMPTS, cycle } from "../commands/sync.js";
import type { CosellConfig } from "../config.js";
import type { Runtime } from "../runtime.js";
import type { EventSource, ServeMetrics } from "./metrics.js";

/** One readiness check and, when it fails, why. */
export interface ReadinessCheck {
  name: string;
  ok: boolean;
  reason?: string;
  details?: Record<string, unknown>;
}

/** A push feed (webhook registration, change-event subscription) as readiness sees it. */
export interface FeedState {
  name: string;
  connected: boolean;
  reason?: string;
  /** Figures readiness shows with the check, read when asked (e.g. the last replay id and its age). */
  details?: () => Record<string, unknown>;
}

/** Settings of {@link SyncService}. */
export interface SyncServiceOptions {
  rt: Runtime;
  config: CosellConfig;
  log: Logger;
  metrics: ServeMetrics;
  queue: TargetedSyncQueue;
  lock: DealLock;
  /** Milliseconds between reconciliation cycles. */
  intervalMs: number;
  /**
   * When set (a PostgreSQL deployment), a reconciliation is a cycle job put in the shared queue for
   * the workers, not a cycle run in this process.
   */
  enqueueCycle?: () => Promise<void>;
  now?: () => Date;
}

/** Thrown by a cycle job whose cycle failed (already logged and counted), so the queue retries it. */
class CycleFailed extends Error {}

function isSignInFailure(e: unknown): boolean {
  return e instanceof AuthError || (e instanceof CoSellError && /(^|_)AUTH(_|$)/.test(e.code));
}

/**
 * What `cosell serve` runs besides HTTP: the reconciliation poll (a full incremental cycle every
 * `intervalMs`, holding every deal's lock), the targeted syncs events queue, and the state readiness
 * reports. Events are hints: a dropped or failed one waits for the next cycle.
 */
export class SyncService {
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastSuccessAt: Date | undefined;
  private lastCycleError: string | undefined;
  private signInError: string | undefined;
  private readonly feeds = new Map<string, FeedState>();
  private readonly now: () => Date;
  private stopped = false;
  /** A cycle was asked for while one ran: the loop runs another before it sleeps. */
  private cycleRequested = false;
  /** Runs before each cycle (feed registrations retry here until they succeed). */
  private readonly beforeCycle: (() => Promise<void>)[] = [];
  cycles = 0;
  /**
   * One process, one state file: each reconciliation cycle is a job of the in-process job queue (the
   * job interface a PostgreSQL deployment's workers share), so a failed cycle is retried after 1, 2,
   * 4 and 8 s before it waits for the next interval. Unset when the workers run the cycles.
   */
  private readonly cycleJobs: InProcessJobQueue | undefined;

  constructor(private readonly o: SyncServiceOptions) {
    this.now = o.now ?? (() => new Date());
    o.queue.process((target) => this.runTargeted(target));
    if (!o.enqueueCycle)
      this.cycleJobs = new InProcessJobQueue(
        async () => {
          const summary = await this.runCycle();
          if (!summary && !this.stopped) throw new CycleFailed(this.lastCycleError);
        },
        {
          maxAttempts: CYCLE_ATTEMPTS,
          onError: (_job, _e, { attempt, willRetry }) => {
            if (this.stopped) return;
            if (willRetry) {
              const waitS = retryDelayMs(attempt) / 1000;
              o.log.warn(
                { attempt, retryInSeconds: waitS },
                `retrying the sync cycle in ${waitS} s (attempt ${attempt} of ${CYCLE_ATTEMPTS} failed)`,
              );
            } else
              o.log.error(
                { attempts: attempt, nextInSeconds: o.intervalMs / 1000 },
                `sync cycle given up after ${attempt} attempts; the next one runs in ${o.intervalMs / 1000} s`,
              );
          },
        },
      );
  }

  /** Registers a feed (or updates its state). */
  setFeed(state: FeedState): void {
    this.feeds.set(state.name, state);
  }

  /** Adds work done before every cycle, such as retrying a webhook registration. */
  onBeforeCycle(fn: () => Promise<void>): void {
    this.beforeCycle.push(fn);
  }

  /** Starts the poll: a first cycle now, then one every `intervalMs`. */
  start(): void {
    this.loop ??= this.pollLoop();
  }

  /**
   * Asks for a reconciliation cycle now (a change feed lost track: an expired replay id, a gap): the
   * sleeping poll wakes at once; a cycle already running is followed by another, since it may have
   * read its changes before the feed's trouble began.
   */
  requestCycle(): void {
    if (this.stopped) return;
    if (this.wake) this.wake();
    else this.cycleRequested = true;
  }

  /** Queues a targeted sync for the deal an event named. */
  async event(source: EventSource, target: SyncTarget): Promise<EnqueueOutcome> {
    this.o.metrics.eventsReceived.inc({ source });
    const outcome = await this.o.queue.enqueue(target);
    if (outcome === "dropped") {
      this.o.metrics.eventsDropped.inc({ source });
      this.o.log.warn(
        { source, target, depth: this.o.queue.depth() },
        "event dropped (queue full or stopping); the next reconciliation cycle picks the change up",
      );
    } else this.o.log.debug({ source, target, outcome }, "event queued");
    return outcome;
  }

  /** Whether the process can do its job, with the reason for each failed check. */
  readiness(): { ready: boolean; checks: ReadinessCheck[] } {
    const checks: ReadinessCheck[] = [];
    try {
      this.o.rt.store.getCursor("crm");
      checks.push({ name: "state store", ok: true });
    } catch (e) {
      checks.push({
        name: "state store",
        ok: false,
        reason: `The state store cannot be read: ${errorMessage(e)}`,
      });
    }
    checks.push(
      this.signInError
        ? { name: "sign-in", ok: false, reason: this.signInError }
        : { name: "sign-in", ok: true },
    );
    checks.push(
      this.lastSuccessAt
        ? { name: "first cycle", ok: true }
        : {
            name: "first cycle",
            ok: false,
            reason: this.lastCycleError
              ? `No sync cycle has finished yet; the last one failed: ${this.lastCycleError}`
              : "The first sync cycle is still running.",
          },
    );
    for (const f of this.feeds.values())
      checks.push({
        name: `feed: ${f.name}`,
        ok: f.connected,
        ...(f.connected ? {} : { reason: f.reason ?? "not connected" }),
        ...(f.details ? { details: f.details() } : {}),
      });
    return { ready: checks.every((c) => c.ok), checks };
  }

  /** Stops the poll (the batch in flight finishes), waits for the running targeted sync, drops the rest. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopController.abort();
    // No retry starts after this; the cycle in flight finishes its batch.
    this.cycleJobs?.stop();
    this.wake?.();
    await this.o.queue.close();
    await this.loop;
  }

  private async pollLoop(): Promise<void> {
    while (!this.stopped) {
      this.cycleRequested = false;
      if (this.cycleJobs) {
        await this.cycleJobs.enqueue({ kind: "cycle", tenant: "default" });
        await this.cycleJobs.idle();
      } else await this.runCycle();
      if (this.stopped) break;
      if (this.cycleRequested) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.o.intervalMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** One reconciliation cycle, holding every deal's lock. */
  async runCycle(): Promise<CycleSummary | undefined> {
    const { o } = this;
    for (const fn of this.beforeCycle) await fn().catch(() => undefined);
    if (o.enqueueCycle) {
      try {
        await o.enqueueCycle();
        this.cycles++;
        // Readiness: the workers run the cycle; this process is ready once it could hand one over.
        this.lastSuccessAt ??= this.now();
        this.lastCycleError = undefined;
      } catch (e) {
        this.lastCycleError = errorMessage(e);
        o.log.error({ code: "CYCLE_ENQUEUE_FAILED" }, `could not enqueue the cycle: ${errorMessage(e)}`);
      }
      return undefined;
    }
    try {
      const { summary } = await o.lock.withAll(() =>
        cycle(o.rt, o.config, o.log, "incremental", this.stopController.signal),
      );
      this.cycles++;
      o.metrics.recordSummary(summary, "cycle");
      this.countUnseenCrmCalls(summary);
      o.metrics.cycles.inc({ mode: summary.mode, outcome: summary.interrupted ? "interrupted" : "ok" });
      if (!summary.interrupted) {
        this.lastSuccessAt = this.now();
        o.metrics.cycleSucceeded(this.lastSuccessAt.getTime());
        this.lastCycleError = undefined;
        this.signInError = undefined;
      }
      return summary;
    } catch (e) {
      o.metrics.cycles.inc({ mode: "incremental", outcome: "error" });
      this.lastCycleError = errorMessage(e);
      if (isSignInFailure(e)) this.signInError = errorMessage(e);
      o.log.error(
        { code: e instanceof CoSellError ? e.code : "UNEXPECTED" },
        `sync cycle failed: ${errorMessage(e)}`,
      );
      return undefined;
    }
  }

  private async runTargeted(target: SyncTarget): Promise<void> {
    const { o } = this;
    try {
      const result = await syncTarget(
        {
          adapter: o.rt.adapter,
          partnerCenter: o.rt.partnerCenter,
          store: o.rt.store,
          rules: o.config.sync,
          lock: o.lock,
          onEvent: (e) => o.log.debug({ event: e.kind, pairKey: e.pairKey, ...e.data }, e.message),
        },
        target,
      );
      if (!result) {
        o.metrics.targetedSyncs.inc({ outcome: "nothing" });
        return;
      }
      o.metrics.recordSummary(result.summary, "event");
      this.countUnseenCrmCalls(result.summary);
      o.metrics.targetedSyncs.inc({ outcome: result.summary.errors.length ? "error" : "ok" });
      o.log.info(
        { target, steps: result.summary.steps, errors: result.summary.errors.length },
        "targeted sync finished",
      );
    } catch (e) {
      o.metrics.targetedSyncs.inc({ outcome: "error" });
      if (isSignInFailure(e)) this.signInError = errorMessage(e);
      o.log.warn(
        { target, code: e instanceof CoSellError ? e.code : "UNEXPECTED" },
        `targeted sync failed (the next cycle retries it): ${errorMessage(e)}`,
      );
    }
  }

  /** CRM calls the counting fetch did not see (an adapter with its own HTTP client) count as "unknown". */
  private countUnseenCrmCalls(summary: CycleSummary): void {
    const seen = this.o.metrics.takeFetchCalls("crm");
    const unseen = summary.apiCalls.crm.total - seen;
    if (unseen > 0) this.o.metrics.apiCalls.inc({ system: "crm", status: "unknown" }, unseen);
  }
}
