import { CoSellError } from "@cosell/core";
import type { PostgresStateStore } from "./store.js";

/** The advisory lock a job holds on its tenant while it runs. */
export const TENANT_LOCK = "tenant";

/**
 * Runs `fn` holding the tenant's exclusive advisory lock: whatever the queue does (a job freed from a
 * worker wrongly thought dead, a second deployment on the same database), two workers never write one
 * tenant's deals at once. Throws `TENANT_BUSY` at once when another connection holds it; the job
 * queue retries the job later.
 */
export async function withTenantLock<T>(store: PostgresStateStore, fn: () => Promise<T>): Promise<T> {
  if (!store.tryLock(TENANT_LOCK))
    throw new CoSellError(
      "TENANT_BUSY",
      `Tenant schema "${store.schema}" is being synced by another worker right now; this job is retried later.`,
      { schema: store.schema },
    );
  try {
    return await fn();
  } finally {
    store.unlock(TENANT_LOCK);
  }
}
