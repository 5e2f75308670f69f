import { resolve } from "node:path";
import { ConfigError } from "@cosell/core";
import type { Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import { loadCosellConfig } from "../config.js";
import type { CommandContext } from "../context.js";
import { databaseUrl } from "../postgres/database.js";

/** `cosell tenants list|add|remove`: the tenants a PostgreSQL deployment serves. */
export function registerTenants(program: Command, ctx: CommandContext, box: ExitBox): void {
  const tenants = program
    .command("tenants")
    .description("the partner tenants a PostgreSQL deployment serves (COSELL_DATABASE_URL)");

  tenants
    .command("list")
    .description("every tenant, its state schema, config file and budgets")
    .action(
      action(ctx, box, async () => {
        const { TenantRegistry } = await import("@cosell/postgres");
        const registry = TenantRegistry.open(databaseUrl(ctx.io.env));
        try {
          const list = registry.list();
          ctx.output({ ok: true, tenants: list }, () =>
            list.length === 0
              ? "No tenants yet: add one with `cosell tenants add <name> --tenant-config <file>`."
              : list
                  .map(
                    (t) =>
                      `${t.name}  schema ${t.schema}  config ${t.configPath}` +
                      (Object.keys(t.budgets).length ? `  budgets ${JSON.stringify(t.budgets)}` : ""),
                  )
                  .join("\n"),
          );
        } finally {
          registry.close();
        }
        return 0;
      }),
    );

  tenants
    .command("add <name>")
    .description("register a tenant with its own config file (and so its own secret references)")
    .requiredOption("--tenant-config <file>", "the tenant's cosell config file (checked now)")
    .option("--pc-calls-per-minute <n>", "Partner Center calls per minute for this tenant")
    .option(
      "--crm-calls-per-day <n>",
      "CRM calls per 24 hours for this tenant (its share of the org's allocation)",
    )
    .action(
      action(
        ctx,
        box,
        async (
          name: string,
          opts: { tenantConfig: string; pcCallsPerMinute?: string; crmCallsPerDay?: string },
        ) => {
          const configPath = resolve(ctx.io.cwd, opts.tenantConfig);
          // Fails now, naming the key, rather than in a worker later.
          loadCosellConfig(configPath, { env: ctx.io.env, cwd: ctx.io.cwd });
          const budgets = {
            ...budget("--pc-calls-per-minute", opts.pcCallsPerMinute, "partnerCenterCallsPerMinute"),
            ...budget("--crm-calls-per-day", opts.crmCallsPerDay, "crmCallsPerDay"),
          };
          const { TenantRegistry, PostgresStateStore } = await import("@cosell/postgres");
          const url = databaseUrl(ctx.io.env);
          const registry = TenantRegistry.open(url);
          try {
            const tenant = registry.add({ name, configPath, budgets });
            // Creates and migrates its state schema now, so the first job finds it ready.
            PostgresStateStore.open({ url, schema: tenant.schema }).close();
            ctx.output({ ok: true, tenant }, () => `Added tenant ${name} (state schema ${tenant.schema}).`);
          } finally {
            registry.close();
          }
          return 0;
        },
      ),
    );

  tenants
    .command("remove <name>")
    .description("unregister a tenant; its state schema is kept unless --drop-state")
    .option("--drop-state", "also delete the tenant's state (links, ledger, audit)", false)
    .action(
      action(ctx, box, async (name: string, opts: { dropState: boolean }) => {
        const { TenantRegistry } = await import("@cosell/postgres");
        const registry = TenantRegistry.open(databaseUrl(ctx.io.env));
        try {
          registry.require(name);
          registry.remove(name, { dropState: opts.dropState });
          ctx.output({ ok: true, removed: name, stateDropped: opts.dropState }, () =>
            opts.dropState
              ? `Removed tenant ${name} and its state.`
              : `Removed tenant ${name} (its state schema is kept).`,
          );
        } finally {
          registry.close();
        }
        return 0;
      }),
    );
}

function budget(flag: string, value: string | undefined, key: string): Record<string, number> {
  if (value === undefined) return {};
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigError("TENANT_BUDGET_INVALID", `${flag}: "${value}" — give a whole number ≥ 1.`, {
      key: flag,
    });
  return { [key]: n };
}
