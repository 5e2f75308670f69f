import { ConfigError } from "@cosell/core";
import type { Command } from "commander";
import type { CommandContext } from "../context.js";
import { action, type ExitBox } from "../program.js";
import { openRuntime } from "../runtime.js";
import { cycle } from "./sync.js";

/**
 * `cosell run`: a cycle every `run.intervalSeconds` until SIGINT/SIGTERM. A signal lets the batch in
 * flight finish (applied and recorded); the rest of that cycle waits for the next run, since cursors
 * only move past what was applied. Then the loop exits 0.
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
        if (!Number.isFinite(interval) || interval < 0)
          throw new ConfigError(
            "RUN_BAD_INTERVAL",
            `--interval: "${opts.interval}" — give seconds, e.g. --interval 300.`,
            {
              key: "--interval",
            },
          );
        const intervalMs = interval * 1000;
        const max = opts.maxCycles ? Number(opts.maxCycles) : Number.POSITIVE_INFINITY;
        if (!(max >= 1))
          throw new ConfigError(
            "RUN_BAD_MAX_CYCLES",
            `--max-cycles: "${opts.maxCycles}" — give a whole number ≥ 1.`,
            {
              key: "--max-cycles",
            },
          );
        const rt = openRuntime(loaded, log);
        let stopping = false;
        let wake: (() => void) | undefined;
        const stop = new AbortController();
        const off = ctx.io.onSignal((signal) => {
          if (stopping) return;
          stopping = true;
          log.info({ signal }, "stopping after the current batch");
          stop.abort();
          wake?.();
        });
        let cycles = 0;
        let errors = 0;
        try {
          while (!stopping && cycles < max) {
            const { summary } = await cycle(rt, loaded.config, log, "incremental", stop.signal);
            cycles++;
            errors += summary.errors.length;
            if (stopping || cycles >= max) break;
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
        }
        ctx.output({ ok: true, cycles, recordErrors: errors }, () => `Stopped after ${cycles} cycle(s).`);
        return 0;
      }),
    );
}
