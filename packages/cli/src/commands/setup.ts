import { Argument, type Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import { assertCrmKind } from "../config.js";
import type { CommandContext } from "../context.js";
import type { CrmKind } from "../crm-modules.js";
import { createAdapter } from "../runtime.js";

/** `cosell setup salesforce|dynamics`: runs the adapter's idempotent setup and prints what it created. */
export function registerSetup(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("setup")
    .description("create the custom fields, keys and permissions cosell needs in the CRM (idempotent)")
    .addArgument(
      new Argument("[crm]", "which CRM (default: the config's crm.kind)").choices(["salesforce", "dynamics"]),
    )
    .action(
      action(ctx, box, async (given: CrmKind | undefined) => {
        const loaded = ctx.config();
        // The config already names the CRM; the argument only guards against setting up the wrong one.
        const kind = given ?? (loaded.config.crm.kind as CrmKind);
        assertCrmKind(loaded.config, kind);
        const adapter = createAdapter(loaded, ctx.logger());
        try {
          const report = await adapter.setup();
          ctx.output({ ok: true, crm: kind, ...report }, () =>
            [
              `Created (${report.created.length}):`,
              ...report.created.map((c) => `  + ${c}`),
              `Already there (${report.unchanged.length}):`,
              ...report.unchanged.map((c) => `  = ${c}`),
              ...(report.skipped?.length
                ? [`Not done (${report.skipped.length}):`, ...report.skipped.map((c) => `  - ${c}`)]
                : []),
            ].join("\n"),
          );
          return 0;
        } finally {
          await adapter.close?.();
        }
      }),
    );
}
