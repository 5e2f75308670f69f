import { type CatalogSolution, type CatalogUpsertResult, ConfigError, type CrmAdapter } from "@cosell/core";
import { Argument, type Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import { assertCrmKind } from "../config.js";
import { type CommandContext, EXIT } from "../context.js";
import type { CrmKind } from "../crm-modules.js";
import { createAdapter } from "../runtime.js";
import { summary } from "./solutions.js";

/** `cosell setup salesforce|dynamics`: runs the adapter's idempotent setup and prints what it created. */
export function registerSetup(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("setup")
    .description("create the custom fields, keys and permissions cosell needs in the CRM (idempotent)")
    .addArgument(
      new Argument("[crm]", "which CRM (default: the config's crm.kind)").choices(["salesforce", "dynamics"]),
    )
    .option(
      "--check-only",
      "have the CRM validate everything setup would put there, saving nothing (Salesforce: a check-only deploy)",
    )
    .action(
      action(ctx, box, async (given: CrmKind | undefined, opts: { checkOnly?: boolean }) => {
        const loaded = ctx.config();
        // The config already names the CRM; the argument only guards against setting up the wrong one.
        const kind = given ?? (loaded.config.crm.kind as CrmKind);
        assertCrmKind(loaded.config, kind);
        const adapter = createAdapter(loaded, ctx.logger());
        try {
          if (opts.checkOnly) return await checkOnly(ctx, adapter, kind);
          const report = await adapter.setup();
          const catalog = await ownSolutions(adapter, loaded.config.solutions);
          ctx.output({ ok: true, crm: kind, ...report, ...(catalog ? { catalog } : {}) }, () =>
            [
              `Created (${report.created.length}):`,
              ...report.created.map((c) => `  + ${c}`),
              `Already there (${report.unchanged.length}):`,
              ...report.unchanged.map((c) => `  = ${c}`),
              ...(report.skipped?.length
                ? [`Not done (${report.skipped.length}):`, ...report.skipped.map((c) => `  - ${c}`)]
                : []),
              ...(catalog
                ? [`Your solutions (config \`solutions\`): ${summary(catalog).replace(/^Catalog: /, "")}`]
                : []),
              ...(catalog?.failed.length ? catalog.failed.map((f) => `  ! ${f.id}: ${f.reason}`) : []),
            ].join("\n"),
          );
          return 0;
        } finally {
          await adapter.close?.();
        }
      }),
    );
}

/** `--check-only`: the CRM's validation of what setup would do; progress on stderr, the verdict on stdout. */
async function checkOnly(ctx: CommandContext, adapter: CrmAdapter, kind: CrmKind): Promise<number> {
  if (!adapter.validateSetup)
    throw new ConfigError(
      "SETUP_CHECK_UNSUPPORTED",
      `--check-only: ${kind} has no check-only validation in this build; run \`cosell doctor\` to see what setup would create or restore.`,
      { key: "--check-only" },
    );
  const result = await adapter.validateSetup((line) => {
    if (!ctx.json) ctx.io.stderr.write(`${line}\n`);
  });
  ctx.output({ crm: kind, checkOnly: true, ...result }, () =>
    result.ok
      ? `Valid: the CRM accepts all ${result.components} components setup puts there (nothing was saved). Run \`cosell setup\` to apply them.`
      : [
          `Not valid: the CRM would refuse ${result.failures.length} of ${result.components} components (nothing was saved):`,
          ...result.failures.map((f) => `  ! ${f.component}: ${f.problem}`),
        ].join("\n"),
  );
  return result.ok ? EXIT.ok : EXIT.error;
}

/**
 * Puts the partner's own solutions from config into the CRM's catalog (after setup made it). A CRM
 * without a catalog with solutions configured is an error naming the key: they would go nowhere.
 */
async function ownSolutions(
  adapter: Pick<CrmAdapter, "solutionCatalog">,
  solutions: readonly CatalogSolution[],
): Promise<CatalogUpsertResult | undefined> {
  if (solutions.length === 0) return undefined;
  if (!adapter.solutionCatalog)
    throw new ConfigError(
      "CATALOG_UNSUPPORTED",
      "solutions: this CRM adapter keeps no solution catalog in this build; remove the key or update cosell.",
      { key: "solutions" },
    );
  return adapter.solutionCatalog.upsert(solutions);
}
