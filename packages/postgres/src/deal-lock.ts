import { CoSellError, type DealLock } from "@cosell/core";
import type { PostgresStateStore } from "./store.js";

/** The lock a full-tenant holder takes exclusively and every deal holder takes shared. */
const ALL_DEALS = "deals:all";

export interface PostgresDealLockOptions {
  /** Longest wait for a deal's lock before giving up with `DEAL_BUSY` (the job is retried). Default 120 s. */
  waitMs?: number;
  /** Clock and sleep (tests). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * {@link DealLock} across processes and machines: PostgreSQL session advisory locks on the store's
 * own connection, keyed by tenant schema and deal record key (`crm:<id>`, `partnerCenter:<id>`).
 * Advisory locks rather than graphile-worker job keys or queues, because the keys a cycle writes
 * are only known batch by batch, after it read its change feeds; a queue can keep two jobs apart,
 * not a job and a batch inside another job. A worker that dies frees its locks with its connection,
 * and after a reconnect the store takes them again or stops with `TENANT_LOCK_LOST`.
 *
 * Locks are taken all or none with `pg_try_advisory_lock` (one statement for all of them, the ones
 * taken given back when any is refused) and retried after a short, growing sleep:
 * a blocking `pg_advisory_lock` would stall the whole process (the store's calls are synchronous),
 * and all-or-none taking cannot deadlock. A hash collision of two keys only makes one wait.
 */
export class PostgresDealLock implements DealLock {
  private readonly waitMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly store: PostgresStateStore,
    options: PostgresDealLockOptions = {},
  ) {
    this.waitMs = options.waitMs ?? 120_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  withDeals<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const wanted = [...new Set(keys)].sort().map((k) => ({ key: `deal:${k}`, shared: false }));
    return this.holding([{ key: ALL_DEALS, shared: true }, ...wanted], fn);
  }

  withAll<T>(fn: () => Promise<T>): Promise<T> {
    return this.holding([{ key: ALL_DEALS, shared: false }], fn);
  }

  private async holding<T>(locks: { key: string; shared: boolean }[], fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      // All in one round trip, all or none (a batch locks a hundred deals or more).
      if (this.store.tryLocks(locks)) {
        try {
          return await fn();
        } finally {
          this.store.unlockAll(locks.map((l) => l.key).reverse());
        }
      }
      if (Date.now() - started > this.waitMs)
        throw new CoSellError(
          "DEAL_BUSY",
          `Another worker has held deals of tenant schema "${this.store.schema}" for over ${Math.round(this.waitMs / 1000)} s; this job is retried later.`,
          { schema: this.store.schema },
        );
      // 10 ms growing to 500 ms, jittered so two waiters do not retry in step.
      await this.sleep(Math.min(500, 10 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2));
    }
  }
}
