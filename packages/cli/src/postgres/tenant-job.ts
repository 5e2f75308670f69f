import { runCycle, type SyncJob, syncTarget } from "@cosell/core";
import { PostgresDealLock, PostgresStateStore, type TenantRegistry, withTenantLock } from "@cosell/postgres";
import type { Logger } from "pino";
import { loadCosellConfig } from "../config.js";
import type { TenantClientCache } from "./tenant-clients.js";

/**
 * Runs one job of a PostgreSQL deployment: checks the tenant's budgets, loads its config (with its
 * own secret references, read again for every job so a changed secret applies at once), takes the
 * tenant's clients (those of its last job while the config is the same: their tokens are reused),
 * opens its state schema, and runs a full cycle (holding the tenant's cycle lock, and each batch its
 * deals' locks) or the one targeted sync (holding its deal's lock). The calls it made count against
 * the tenant's budgets.
 */
export async function runTenantJob(
  job: SyncJob,
  deps: {
    url: string;
    registry: TenantRegistry;
    logger: Logger;
    env: NodeJS.ProcessEnv;
    cwd: string;
    addSecrets: (values: string[]) => void;
    /** The worker's clients per tenant. */
    clients: TenantClientCache;
    signal?: AbortSignal;
  },
): Promise<void> {
  const tenant = deps.registry.require(job.tenant);
  deps.registry.assertWithinBudget(tenant);
  const loaded = loadCosellConfig(tenant.configPath, { env: deps.env, cwd: deps.cwd });
  deps.addSecrets(loaded.secrets);
  const logger = deps.logger.child({ tenant: tenant.name });
  const lease = await deps.clients.acquire(tenant.name, loaded, logger, (v) => deps.addSecrets([v]));
  try {
    const store = PostgresStateStore.open({
      url: deps.url,
      schema: tenant.schema,
      applicationName: `cosell-worker:${tenant.name}`,
    });
    try {
      // Cycles of one tenant never overlap (cursors); a targeted sync runs next to one, on other deals.
      const exclusive = <T>(fn: () => Promise<T>) =>
        job.kind === "cycle" ? withTenantLock(store, fn) : fn();
      await exclusive(async () => {
        const engineDeps = {
          adapter: lease.clients.adapter,
          partnerCenter: lease.clients.partnerCenter,
          store,
          dealLock: new PostgresDealLock(store),
          rules: loaded.config.sync,
          ...(deps.signal ? { signal: deps.signal } : {}),
          onEvent: (e: { kind: string; message: string; pairKey?: string }) =>
            logger.debug({ event: e.kind, pairKey: e.pairKey }, e.message),
        };
        const result =
          job.kind === "cycle"
            ? await runCycle(engineDeps, { mode: job.mode ?? "incremental" })
            : await syncTarget({ ...engineDeps, lock: engineDeps.dealLock }, job.target);
        const calls = result?.summary.apiCalls;
        if (calls)
          deps.registry.recordUsage(tenant.name, {
            partnerCenter: calls.partnerCenter.total,
            crm: calls.crm.total,
          });
        logger.info(
          {
            job: job.kind,
            steps: result?.summary.steps,
            errors: result?.summary.errors.length ?? 0,
            clientsReused: lease.reused,
          },
          "tenant job finished",
        );
      });
    } finally {
      store.close();
    }
  } finally {
    await lease.release();
  }
}
