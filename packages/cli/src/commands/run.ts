import { ConfigError, CoSellError, errorMessage, InProcessJobQueue, retryDelayMs } from "@cosell/core";
import type { Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import { RUN_INTERVAL } from "../config.js";
import type { CommandContext } from "../context.js";
import { openRuntime } from "../runtime.js";
import { CYCLE_ATTEMPTS, cycle } from "./sync.js";

/** The tenant a one-file (SQLite) deployment's jobs run as. */
const ONE_TENANT = "default";

/**
 * `cosell run`: a cycle every `run.intervalSeconds` until SIGINT/SIGTERM. A signal lets the batch in
 * flight finish (applied and recorded); the rest of that cycle waits for the next run, since cursors
 * only move past what was applied. Then the loop exits 0.
 *
 * Each cycle is a job of the in-process queue, the same job interface a PostgreSQL deployment's
 * workers drain: a cycle that throws (Partner Center or the CRM unreachable past the clients' own
 * retries, a token refused) is retried after 1, 2, 4 and 8 s, then given up until the next
 * interval; the process goes on, as a service should. With `--max-cycles`, a last cycle given up
 * makes the run exit 1 with its error, so a script sees it.
 */
export function registerRun(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("run")
    .description("sync continuously; SIGINT/SIGTERM finish the current batch, then exit")
    .option("--interval <seconds>", "seconds between cycles (default: run.intervalSeconds, 300)")
    .option("--max-cycles <n>", "stop after this many cycles (for scripts and tests)")
    .action(
      action(ctx, box, async (opts: { interval?: string; maxCycles?: string }) => {
        const loaded = ctx.config();
        const log = ctx.logger();
        const interval =
          opts.interval === undefined ? loaded.config.run.intervalSeconds : Number(opts.interval);
        // The flag takes the same bounds as run.intervalSeconds (the config's schema), so a value
        // the config would refuse is not accepted on the command line either.
        if (!Number.isInteger(interval) || interval < RUN_INTERVAL.min || interval > RUN_INTERVAL.max)
          throw new ConfigError(
            "RUN_BAD_INTERVAL",
            `--interval: "${opts.interval}" — give whole seconds from ${RUN_INTERVAL.min} to ${RUN_INTERVAL.max}, e.g. --interval 300 (run.intervalSeconds sets the default).`,
            { key: "--interval", value: opts.interval },
          );
        const intervalMs = interval * 1000;
        const max = opts.maxCycles === undefined ? Number.POSITIVE_INFINITY : Number(opts.maxCycles);
        if (opts.maxCycles !== undefined && !(Number.isSafeInteger(max) && max >= 1))
          throw new ConfigError(
            "RUN_BAD_MAX_CYCLES",
            `--max-cycles: "${opts.maxCycles}" — give a whole number ≥ 1.`,
            {
              key: "--max-cycles",
            },
          );
        const rt = openRuntime(loaded, log, { command: "cosell run" });
        try {
          await rt.checkSignIn();
        } catch (e) {
          await rt.close();
          throw e;
        }
        let stopping = false;
        let wake: (() => void) | undefined;
        const stop = new AbortController();
        let cycles = 0;
        let errors = 0;
        let failedCycles = 0;
        /** The error of the latest cycle given up, while no later one has finished. */
        let givenUp: unknown;
        const queue = new InProcessJobQueue(
          async () => {
            const { summary } = await cycle(rt, loaded.config, log, "incremental", stop.signal);
            cycles++;
            errors += summary.errors.length;
            givenUp = undefined;
          },
          {
            maxAttempts: CYCLE_ATTEMPTS,
            onError: (_job, e, { attempt, willRetry }) => {
              const code = e instanceof CoSellError ? e.code : "UNEXPECTED";
              if (willRetry) {
                const waitS = retryDelayMs(attempt) / 1000;
                log.warn(
                  { code, attempt, retryInSeconds: waitS },
                  `sync cycle failed (attempt ${attempt} of ${CYCLE_ATTEMPTS}); retrying in ${waitS} s: ${errorMessage(e)}`,
                );
                return;
              }
              failedCycles++;
              givenUp = e;
              log.error(
                { code, attempts: attempt },
                stopping
                  ? `sync cycle failed while stopping: ${errorMessage(e)}`
                  : `sync cycle failed ${attempt} times; the next one runs in ${interval} s: ${errorMessage(e)}`,
              );
            },
          },
        );
        let grace: NodeJS.Timeout | undefined;
        const off = ctx.io.onSignal((signal) => {
          if (stopping) return;
          stopping = true;
          log.info({ signal }, "stopping after the current batch");
          stop.abort();
          // No retry starts after this; the cycle in flight finishes its batch.
          queue.stop();
          wake?.();
          // "Finish the batch" must not wait forever behind a hung call: past the grace period, exit.
          // The batch in flight is not recorded, so the next run reads it again (cursors unmoved).
          const graceMs = loaded.config.run.shutdownGraceMs;
          grace = setTimeout(() => {
            log.error(
              { code: "SHUTDOWN_GRACE_EXPIRED", graceMs },
              "a call still hangs after run.shutdownGraceMs; exiting",
            );
            process.exit(1);
          }, graceMs);
          grace.unref();
        });
        // A round is one cycle with its retries; --max-cycles counts rounds, given up or not.
        let rounds = 0;
        try {
          while (!stopping && rounds < max) {
            await queue.enqueue({ kind: "cycle", tenant: ONE_TENANT });
            await queue.idle();
            rounds++;
            if (stopping || rounds >= max) break;
            log.info({ nextInSeconds: interval }, `next cycle in ${interval} s`);
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, intervalMs);
              wake = () => {
                clearTimeout(t);
                resolve();
              };
            });
            wake = undefined;
          }
        } finally {
          off();
          await rt.close();
          clearTimeout(grace);
        }
        if (Number.isFinite(max) && givenUp !== undefined && !stopping) throw givenUp;
        ctx.output(
          { ok: true, cycles, recordErrors: errors, failedCycles },
          () =>
            `Stopped after ${cycles} cycle(s)${failedCycles ? `; ${failedCycles} given up after failing (see the log)` : ""}.`,
        );
        return 0;
      }),
    );
}
