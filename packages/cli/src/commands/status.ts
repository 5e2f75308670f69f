import { ConfigError } from "@cosell/core";
import type { Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import type { CommandContext } from "../context.js";
import { databaseUrl } from "../postgres/database.js";
import { DEFAULT_STATUS_CYCLES, renderStatus } from "../render/status.js";
import { openStore } from "../runtime.js";

/** A tenant's state in a PostgreSQL deployment (read; the schema must exist). */
async function openTenantStore(ctx: CommandContext, name: string) {
  const { PostgresStateStore, TenantRegistry } = await import("@cosell/postgres");
  const url = databaseUrl(ctx.io.env);
  const registry = TenantRegistry.open(url);
  try {
    const tenant = registry.require(name);
    return PostgresStateStore.open({ url, schema: tenant.schema });
  } finally {
    registry.close();
  }
}

/** `--cycles`: a whole number ≥ 1, or a usage error naming the flag (never silently the default). */
export function parseCycleCount(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw new ConfigError(
      "STATUS_BAD_CYCLES",
      `--cycles: "${value}" — give a whole number ≥ 1, e.g. --cycles 20.`,
      { key: "--cycles", value },
    );
  return n;
}

/** `cosell status`: last cycles, link counts, parked conflicts, failing records. Reads only the state store. */
export function registerStatus(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("status")
    .description("last sync cycles, link counts, parked conflicts and failing records (no remote calls)")
    .option("--cycles <n>", "how many recent cycles to show", String(DEFAULT_STATUS_CYCLES))
    .option(
      "--tenant <name>",
      "a tenant of the PostgreSQL deployment (COSELL_DATABASE_URL) instead of the config's state",
    )
    .action(
      action(ctx, box, async (opts: { cycles: string; tenant?: string }) => {
        const cycleCount = parseCycleCount(opts.cycles);
        const store = opts.tenant ? await openTenantStore(ctx, opts.tenant) : openStore(ctx.config());
        try {
          const byState = store.countLinks();
          const total = Object.values(byState).reduce((n, v) => n + v, 0);
          ctx.output(
            {
              ok: true,
              cycles: store.listCycles(cycleCount),
              links: { total, byState },
              parked: store.listParked(),
              failing: store.listRecordErrors(),
              outbox: store.listOutbox(),
            },
            () => renderStatus(store, cycleCount),
          );
        } finally {
          store.close();
        }
        return 0;
      }),
    );
}
