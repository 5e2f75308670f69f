import { ConfigError } from "@cosell/core";
import type { Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import type { CommandContext } from "../context.js";
import { startCycleEnqueuer } from "../postgres/cycle-enqueuer.js";
import { databaseUrl } from "../postgres/database.js";

/**
 * `cosell worker`: one of any number of processes (on any machines) sharing a PostgreSQL
 * deployment's jobs. Every `--interval` it enqueues a cycle for each tenant (merged with one already
 * waiting, so several workers doing the same is harmless) and runs whatever jobs are due, one tenant
 * at a time per job. SIGINT/SIGTERM let the running jobs finish, then exit.
 */
export function registerWorker(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("worker")
    .description("process the shared PostgreSQL job queue (COSELL_DATABASE_URL); run as many as you like")
    .option("--concurrency <n>", "jobs (of different tenants) this process runs at once", "1")
    .option("--interval <seconds>", "seconds between the cycles enqueued for each tenant", "300")
    .action(
      action(ctx, box, async (opts: { concurrency: string; interval: string }) => {
        const concurrency = Number(opts.concurrency);
        const interval = Number(opts.interval);
        if (!Number.isInteger(concurrency) || concurrency < 1)
          throw new ConfigError(
            "WORKER_BAD_CONCURRENCY",
            `--concurrency: "${opts.concurrency}" — give a whole number ≥ 1.`,
            {
              key: "--concurrency",
            },
          );
        if (!Number.isFinite(interval) || interval < 1)
          throw new ConfigError(
            "RUN_BAD_INTERVAL",
            `--interval: "${opts.interval}" — give seconds ≥ 1, e.g. --interval 300.`,
            {
              key: "--interval",
            },
          );
        const { PostgresJobQueue, TenantRegistry, startWorker } = await import("@cosell/postgres");
        const { runTenantJob } = await import("../postgres/tenant-job.js");
        const { TenantClientCache } = await import("../postgres/tenant-clients.js");
        const clients = new TenantClientCache();
        const url = databaseUrl(ctx.io.env);
        const log = ctx.logger();
        const registry = TenantRegistry.open(url);
        const queue = await PostgresJobQueue.connect({ url });
        // Migrations also run on start: every tenant's state schema is current before a job opens it.
        const { migrateDeployment } = await import("../postgres/deployment.js");
        await migrateDeployment(url);
        const worker = await startWorker({
          url,
          concurrency,
          handler: (job, { signal }) =>
            runTenantJob(job, {
              url,
              registry,
              logger: log,
              env: ctx.io.env,
              cwd: ctx.io.cwd,
              addSecrets: (v) => ctx.addSecrets(v),
              clients,
              signal,
            }),
          onEvent: (e) => log.warn({ event: e.kind }, e.message),
        });
        const enqueuer = startCycleEnqueuer({
          tenants: () => registry.list().map((t) => t.name),
          enqueue: (tenant) => queue.enqueue({ kind: "cycle", tenant }),
          intervalMs: interval * 1000,
          onError: (e) => log.warn({ err: e }, "could not enqueue the tenants' cycles; trying again later"),
        });
        await enqueuer.first;
        log.info({ concurrency, tenants: registry.list().length }, "worker started");
        await new Promise<void>((resolve) => {
          const off = ctx.io.onSignal((signal) => {
            off();
            log.info({ signal }, "stopping after the running jobs");
            resolve();
          });
        });
        // The round in flight finishes before the queue it writes to is closed.
        await enqueuer.stop();
        await worker.stop();
        await clients.close();
        await queue.close();
        registry.close();
        ctx.output({ ok: true }, () => "Worker stopped.");
        return 0;
      }),
    );
}
