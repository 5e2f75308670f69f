import type { SyncTarget } from "@cosell/core";
import type { PostgresStateStore } from "@cosell/postgres";
import { type LoadedConfig, loadCosellConfig } from "../config.js";
import type { CommandContext } from "../context.js";
import { databaseUrl } from "../postgres/database.js";
import { SharedTargetQueue } from "./shared-queue.js";

/** What `cosell serve --tenant` uses instead of the config's SQLite state and in-process queue. */
export interface SharedServe {
  /** The tenant's config (from the registry), with its own secret references. */
  loaded: LoadedConfig;
  /** The tenant's state (read for deal keys and readiness; the workers write it). */
  store: PostgresStateStore;
  queue(dealOf: (target: SyncTarget) => string, coalesceMs: number): SharedTargetQueue;
  /** Puts one incremental cycle for the tenant in the shared queue (merged with one waiting). */
  enqueueCycle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the tenant of a PostgreSQL deployment for `cosell serve`: its registered config, its state
 * schema, and the shared job queue events and cycles go to. The queue's connection is closed by the
 * event queue's `close` (serve closes it when it stops).
 */
export async function openShared(ctx: CommandContext, tenantName: string): Promise<SharedServe> {
  const { PostgresJobQueue, PostgresStateStore, TenantRegistry } = await import("@cosell/postgres");
  const url = databaseUrl(ctx.io.env);
  const registry = TenantRegistry.open(url);
  try {
    const tenant = registry.require(tenantName);
    const loaded = loadCosellConfig(tenant.configPath, { env: ctx.io.env, cwd: ctx.io.cwd });
    ctx.addSecrets(loaded.secrets);
    const jobs = await PostgresJobQueue.connect({ url });
    const store = PostgresStateStore.open({
      url,
      schema: tenant.schema,
      applicationName: `cosell-serve:${tenant.name}`,
    });
    return {
      loaded,
      store,
      queue: (dealOf, coalesceMs) => new SharedTargetQueue({ jobs, tenant: tenant.name, dealOf, coalesceMs }),
      enqueueCycle: () => jobs.enqueue({ kind: "cycle", tenant: tenant.name }),
      close: async () => store.close(),
    };
  } finally {
    registry.close();
  }
}
