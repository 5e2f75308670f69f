import { planCycle } from "@cosell/core";
import type { Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import { type CommandContext, EXIT } from "../context.js";
import { renderPlan, writesOf } from "../render/plan.js";
import { openRuntime } from "../runtime.js";

/** `cosell plan`: reads both sides, prints what a sync would do, writes nothing. Exit 2 when it would write. */
export function registerPlan(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("plan")
    .description("show what the next sync would do, writing nothing (exit 2 when it would write)")
    .option("--reconcile", "re-read everything on both sides, not just changes", false)
    .action(
      action(ctx, box, async (opts: { reconcile: boolean }) => {
        const loaded = ctx.config();
        const rt = openRuntime(loaded, ctx.logger(), { readOnly: true });
        try {
          const { plan } = await planCycle(
            {
              adapter: rt.adapter,
              partnerCenter: rt.partnerCenter,
              store: rt.store,
              rules: loaded.config.sync,
            },
            { mode: opts.reconcile ? "reconcile" : "incremental" },
          );
          const writes = writesOf(plan).length;
          ctx.output({ ok: true, writes, plan }, () => renderPlan(plan));
          return writes > 0 ? EXIT.planWouldWrite : EXIT.ok;
        } finally {
          await rt.close();
        }
      }),
    );
}
