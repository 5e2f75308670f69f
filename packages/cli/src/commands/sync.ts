import { type CycleResult, runCycle } from "@cosell/core";
import type { Command } from "commander";
import type { Logger } from "pino";
import { action, type ExitBox } from "../command-action.js";
import type { CosellConfig } from "../config.js";
import type { CommandContext } from "../context.js";
import { renderSummary } from "../render/plan.js";
import { openRuntime, type Runtime } from "../runtime.js";

/**
 * Attempts of one cycle as a job (`cosell run`, `cosell serve` on SQLite) before it is given up until
 * the next interval: retried after 1, 2, 4 and 8 s (`retryDelayMs`).
 */
export const CYCLE_ATTEMPTS = 5;

/** One cycle with logging of the engine's events. */
export async function cycle(
  rt: Runtime,
  config: CosellConfig,
  logger: Logger,
  mode: "incremental" | "reconcile" = "incremental",
  signal?: AbortSignal,
): Promise<CycleResult> {
  const result = await runCycle(
    {
      adapter: rt.adapter,
      partnerCenter: rt.partnerCenter,
      store: rt.store,
      rules: config.sync,
      ...(signal ? { signal } : {}),
      onEvent: (e) => logger.debug({ event: e.kind, pairKey: e.pairKey, ...e.data }, e.message),
    },
    { mode },
  );
  const s = result.summary;
  logger.info(
    {
      cycleId: s.cycleId,
      steps: s.steps,
      errors: s.errors.length,
      apiCalls: s.apiCalls,
      ...(s.interrupted ? { interrupted: true } : {}),
    },
    s.interrupted ? "sync cycle stopped after the batch in flight" : "sync cycle finished",
  );
  return result;
}

/** `cosell sync`: one cycle. */
export function registerSync(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("sync")
    .description("run one sync cycle (read changes on both sides, apply the plan)")
    .option("--reconcile", "re-read everything on both sides (catches missed changes and deletes)", false)
    .action(
      action(ctx, box, async (opts: { reconcile: boolean }) => {
        const loaded = ctx.config();
        const rt = openRuntime(loaded, ctx.logger(), { command: "cosell sync" });
        try {
          await rt.checkSignIn();
          const { summary } = await cycle(
            rt,
            loaded.config,
            ctx.logger(),
            opts.reconcile ? "reconcile" : "incremental",
          );
          ctx.output({ ok: true, summary }, () => renderSummary(summary));
          return 0;
        } finally {
          await rt.close();
        }
      }),
    );
}
