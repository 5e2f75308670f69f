import { EventEmitter } from "node:events";
import {
  type EnqueueOptions,
  type JobQueue,
  type SyncJob,
  type SyncJobHandler,
  syncJobKey,
  tenantQueueName,
} from "@cosell/core";
import {
  Logger,
  makeWorkerUtils,
  type Runner,
  run,
  type WorkerEvents,
  type WorkerUtils,
} from "graphile-worker";
import pg from "pg";

/**
 * The shared job queue on graphile-worker (see the README's dependency table for why graphile-worker):
 * - a tenant's cycles go into the named queue `cosell:<tenant>` and its targeted syncs into
 *   `cosell:<tenant>:events`; graphile-worker runs each named queue strictly one job at a time across
 *   every worker, so a tenant never runs two cycles (or two targeted syncs) at once, and the per-deal
 *   advisory lock (`PostgresDealLock`) keeps its cycle and its targeted sync off the same deal;
 * - a `jobKey` per tenant cycle (and per targeted deal) merges a waiting duplicate, so a tenant has
 *   at most one cycle, and a deal one targeted sync, waiting however often it is enqueued;
 * - a failed job is retried with graphile-worker's exponential backoff (about e^attempt seconds),
 *   up to `maxAttempts`;
 * - workers pick jobs in run-at order and a busy tenant holds at most one worker, so tenants with a
 *   backlog share the workers instead of one starving the others.
 */

/** The graphile-worker task every cosell job runs as. */
export const SYNC_TASK = "cosell_sync";
/** The schema graphile-worker keeps its tables in. */
export const JOB_SCHEMA = "cosell_jobs";

export interface JobQueueOptions {
  url: string;
  /** graphile-worker's schema. Default {@link JOB_SCHEMA}. */
  schema?: string;
  /** Attempts before a job is given up. Default 10 (the last retry comes hours after the first). */
  maxAttempts?: number;
}

/** The {@link JobQueue} every process of a PostgreSQL deployment enqueues into. */
export class PostgresJobQueue implements JobQueue {
  private constructor(
    private readonly utils: WorkerUtils,
    private readonly maxAttempts: number,
  ) {}

  /** Connects and creates (or upgrades) graphile-worker's schema. */
  static async connect(options: JobQueueOptions): Promise<PostgresJobQueue> {
    const utils = await makeWorkerUtils({
      connectionString: options.url,
      schema: options.schema ?? JOB_SCHEMA,
      logger: quietLogger,
    });
    await utils.migrate();
    return new PostgresJobQueue(utils, options.maxAttempts ?? 10);
  }

  async enqueue(job: SyncJob, options: EnqueueOptions = {}): Promise<void> {
    await this.utils.addJob(SYNC_TASK, job, {
      queueName: tenantQueueName(job.tenant, job.kind),
      ...(options.delayMs ? { runAt: new Date(Date.now() + options.delayMs) } : {}),
      jobKey: syncJobKey(job),
      // A second enqueue while one waits keeps the first's place in line.
      jobKeyMode: "preserve_run_at",
      maxAttempts: this.maxAttempts,
    });
  }

  async close(): Promise<void> {
    await this.utils.release();
  }
}

export interface WorkerOptions {
  url: string;
  handler: SyncJobHandler;
  /** Jobs (of different tenants) this process runs at once. Default 1. */
  concurrency?: number;
  schema?: string;
  /** How often to look for future jobs and retries. Default 1 s (new jobs arrive by LISTEN/NOTIFY). */
  pollIntervalMs?: number;
  /** How often to look for jobs held by workers that died. Default 15 s. */
  reapIntervalMs?: number;
  /** A job is reclaimed from a dead worker only once it was locked this long. Default 10 s. */
  reapAfterMs?: number;
  /** Told about failed attempts and reclaimed jobs. */
  onEvent?: (event: { kind: "job-failed" | "jobs-reclaimed"; message: string }) => void;
}

/** A running `cosell worker`. */
export interface RunningWorker {
  /** Lets the running jobs finish, then stops. */
  stop(): Promise<void>;
  /** Settles when the worker stops. */
  promise: Promise<void>;
  /** The graphile-worker ids of this process's workers. */
  workerIds(): string[];
  /** Looks once for jobs held by dead workers and frees them; returns the dead worker ids. */
  reap(): Promise<string[]>;
}

const LIVENESS = "cosell-worker";

/**
 * Starts processing jobs. A worker SIGKILLed mid-job leaves its job locked in graphile-worker (which
 * would only free it after 4 hours); so each worker holds a session advisory lock on its id, which
 * PostgreSQL frees the moment the process's connection drops, and every worker periodically frees
 * the jobs of ids whose lock is gone. The engine's write-ahead ledger makes the re-run safe.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const schema = options.schema ?? JOB_SCHEMA;
  const ids: string[] = [];
  let held = Promise.resolve();
  let liveness = await connectLiveness(options.url, ids);
  let stopped = false;
  const reconnectLiveness = (): void => {
    // The server dropped the connection, and with it the liveness locks: take them again. Until
    // then the tenant locks (see withTenantLock) keep a wrongly reclaimed job from running twice.
    if (stopped) return;
    held = held
      .then(async () => {
        for (;;) {
          try {
            liveness = await connectLiveness(options.url, ids);
            liveness.on("error", reconnectLiveness);
            return;
          } catch {
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
      })
      .catch(() => {});
  };
  liveness.on("error", reconnectLiveness);
  // Listeners are in place before run() creates the pool and its workers. Depending on its settings,
  // graphile-worker locks jobs with the pool's id or a worker's id: both get a liveness lock.
  const events: WorkerEvents = new EventEmitter();
  const register = (id: string): void => {
    ids.push(id);
    held = held.then(() =>
      liveness
        .query("SELECT pg_advisory_lock(hashtext($1), hashtext($2))", [LIVENESS, id])
        .then(() => undefined),
    );
  };
  events.on("pool:create", ({ workerPool }) => register(workerPool.id));
  events.on("worker:create", ({ worker }) => register(worker.workerId));
  events.on("job:error", ({ job, error }) =>
    options.onEvent?.({
      kind: "job-failed",
      message: `job ${job.id} (${job.task_identifier}) attempt ${job.attempts}/${job.max_attempts}: ${(error as Error)?.message ?? String(error)}`,
    }),
  );
  const runner: Runner = await run({
    events,
    connectionString: options.url,
    schema,
    concurrency: options.concurrency ?? 1,
    pollInterval: options.pollIntervalMs ?? 1000,
    noHandleSignals: true,
    logger: quietLogger,
    taskList: {
      [SYNC_TASK]: async (payload, helpers) => {
        // Workers register their liveness lock before their first job (see below).
        await held;
        await options.handler(payload as SyncJob, {
          attempt: helpers.job.attempts,
          signal: helpers.abortSignal ?? new AbortController().signal,
        });
      },
    },
  });
  const utils = await makeWorkerUtils({ connectionString: options.url, schema, logger: quietLogger });

  const reap = async (): Promise<string[]> => {
    const after = Math.round((options.reapAfterMs ?? 10_000) / 1000);
    const dead = await utils.withPgClient(async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `SELECT DISTINCT locked_by AS id FROM "${schema}"._private_jobs
          WHERE locked_by IS NOT NULL AND locked_at < now() - make_interval(secs => $1)
         UNION SELECT DISTINCT locked_by FROM "${schema}"._private_job_queues
          WHERE locked_by IS NOT NULL AND locked_at < now() - make_interval(secs => $1)`,
        [after],
      );
      const found: string[] = [];
      for (const { id } of rows) {
        if (ids.includes(id)) continue;
        const free = await client.query<{ free: boolean }>(
          "SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS free",
          [LIVENESS, id],
        );
        if (!free.rows[0]?.free) continue;
        await client.query("SELECT pg_advisory_unlock(hashtext($1), hashtext($2))", [LIVENESS, id]);
        found.push(id);
      }
      return found;
    });
    if (dead.length) {
      await utils.forceUnlockWorkers(dead);
      options.onEvent?.({
        kind: "jobs-reclaimed",
        message: `freed the jobs of dead workers ${dead.join(", ")}`,
      });
    }
    return dead;
  };
  const timer = setInterval(() => {
    reap().catch(() => {
      // The database is away; the next round tries again.
    });
  }, options.reapIntervalMs ?? 15_000);
  timer.unref();
  void reap().catch(() => {});

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      stopped = true;
      clearInterval(timer);
      await runner.stop();
      await utils.release();
      await liveness.end().catch(() => {});
    })();
    return stopping;
  };
  return { stop, promise: runner.promise, workerIds: () => [...ids], reap };
}

/** A connection holding the liveness lock of each worker id. */
async function connectLiveness(url: string, ids: readonly string[]): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: "cosell-worker" });
  await client.connect();
  for (const id of ids)
    await client.query("SELECT pg_advisory_lock(hashtext($1), hashtext($2))", [LIVENESS, id]);
  return client;
}

/** graphile-worker logs through cosell's own events instead of to the console. */
const quietLogger = new Logger(() => () => {});
