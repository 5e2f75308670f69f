import { type Command, Option } from "commander";
import { action, type ExitBox } from "../command-action.js";
import type { CommandContext } from "../context.js";
import type { CrmKind } from "../crm-modules.js";
import { renderDemo } from "../demo/report.js";

/** `cosell demo`: the scripted co-sell story on the built-in sandbox, for both CRMs. */
export function registerDemo(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("demo")
    .description(
      "run the sync end to end on the built-in sandbox (Partner Center, Entra ID, Salesforce, Dataverse)",
    )
    .option("--keep", "leave the sandbox running and print its URLs and credentials file", false)
    .addOption(new Option("--crm <kind>", "only this CRM").choices(["salesforce", "dynamics"]))
    .action(
      action(ctx, box, async (opts: { keep: boolean; crm?: CrmKind }) => {
        const logger = ctx.logger();
        // Loaded here: the emulators are the demo's alone, and every other command (a worker above all)
        // would carry them in memory for nothing.
        const { runDemo } = await import("../demo/run.js");
        const { report, sandboxes } = await runDemo({
          logger,
          keep: opts.keep,
          crms: opts.crm ? [opts.crm] : undefined,
          onSecrets: (v) => ctx.addSecrets(v),
        });
        ctx.output(report, () => renderDemo(report));
        if (opts.keep && sandboxes.length) {
          await new Promise<void>((resolve) => {
            const off = ctx.io.onSignal(() => {
              off();
              resolve();
            });
          });
          for (const s of sandboxes) await s.stop();
        }
        return report.ok ? 0 : 1;
      }),
    );
}
