import { Argument, type Command } from "commander";
import { assertCrmKind } from "../config.js";
import type { CommandContext } from "../context.js";
import type { CrmKind } from "../crm-modules.js";
import { action, type ExitBox } from "../program.js";
import { createAdapter } from "../runtime.js";

/** `cosell setup salesforce|dynamics`: runs the adapter's idempotent setup and prints what it created. */
export function registerSetup(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("setup")
    .description("create the custom fields, keys and permissions cosell needs in the CRM (idempotent)")
    .addArgument(new Argument("<crm>", "which CRM").choices(["salesforce", "dynamics"]))
    .action(
      action(ctx, box, async (kind: CrmKind) => {
        const loaded = ctx.config();
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
            ].join("\n"),
          );
          return 0;
        } finally {
          await adapter.close?.();
        }
      }),
    );
}
