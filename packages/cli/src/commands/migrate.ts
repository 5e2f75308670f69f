import type { Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import type { CommandContext } from "../context.js";
import { databaseUrl } from "../postgres/database.js";

/**
 * `cosell migrate`: brings a PostgreSQL deployment's schemas up to this cosell's version: the tenant
 * registry, the job queue, and every tenant's state. Workers run the same on start; running it
 * first (once, before rolling out a new version) keeps the upgrade out of the workers' start-up.
 */
export function registerMigrate(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("migrate")
    .description("create or upgrade the PostgreSQL schemas (registry, job queue, every tenant's state)")
    .action(
      action(ctx, box, async () => {
        const { migrateDeployment } = await import("../postgres/deployment.js");
        const result = await migrateDeployment(databaseUrl(ctx.io.env));
        ctx.output({ ok: true, ...result }, () =>
          [
            "Job queue and tenant registry are current.",
            ...result.tenants.map(
              (t) =>
                `${t.name}: schema ${t.schema} ${t.applied.length ? `migrated (versions ${t.applied.join(", ")})` : "already current"}`,
            ),
          ].join("\n"),
        );
        return 0;
      }),
    );
}
