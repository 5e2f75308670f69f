import { createHash } from "node:crypto";
import type { PartnerCenterClient } from "@cosell/core";
import type { Logger } from "pino";
import type { LoadedConfig } from "../config.js";
import type { CliAdapter } from "../crm-modules.js";
import { createAdapter, createPartnerCenter } from "../runtime.js";

/** What a tenant's jobs talk to: its Partner Center client and its CRM adapter. */
export interface TenantClients {
  adapter: CliAdapter;
  partnerCenter: PartnerCenterClient;
}

/** Builds a tenant's clients; `onRefreshToken` is told each refresh token the CRM rotates to. */
export type BuildTenantClients = (
  loaded: LoadedConfig,
  logger: Logger,
  onRefreshToken: (token: string) => void,
) => TenantClients;

const buildClients: BuildTenantClients = (loaded, logger, onRefreshToken) => ({
  partnerCenter: createPartnerCenter(loaded).partnerCenter,
  adapter: createAdapter(loaded, logger, { onRefreshToken }),
});

interface Entry {
  clients: TenantClients;
  /** The tenant's config as the clients were built from it, its CRM refresh token left out. */
  fingerprint: string;
  /** The refresh token the adapter was built with and each it rotated to since: all are "the same". */
  refreshTokens: Set<string>;
  /** Jobs using the clients now (0 or 1: a second job of the tenant gets clients of its own). */
  users: number;
  lastUsed: number;
  /** Replaced or evicted while a job used it: closed when that job lets go. */
  retired: boolean;
}

/** A job's hold on its tenant's clients; `release()` when the job is done with them. */
export interface TenantClientsLease {
  clients: TenantClients;
  /** Whether these clients served an earlier job (their tokens are already fetched). */
  reused: boolean;
  release(): Promise<void>;
}

/**
 * A worker's clients per tenant. A tenant's next job reuses the clients of its last one while the
 * tenant's config is unchanged, so their tokens (Entra ID's for Partner Center and Dataverse,
 * Salesforce's OAuth session) are fetched once per token lifetime, not once per job: against the
 * real services a token request per tenant every few minutes is avoidable latency and load on
 * identity endpoints that throttle. A changed config (a new secret, another org) builds new clients.
 *
 * Bounded: at most `max` tenants are kept (the least recently used go first) and none longer than
 * `idleMs` unused, so a worker serving many tenants keeps its memory flat.
 */
export class TenantClientCache {
  private readonly entries = new Map<string, Entry>();
  private readonly max: number;
  private readonly idleMs: number;
  private readonly now: () => number;
  private readonly build: BuildTenantClients;

  constructor(
    options: { max?: number; idleMs?: number; now?: () => number; build?: BuildTenantClients } = {},
  ) {
    this.max = options.max ?? 64;
    this.idleMs = options.idleMs ?? 15 * 60_000;
    this.now = options.now ?? Date.now;
    this.build = options.build ?? buildClients;
  }

  /**
   * The tenant's clients for one job. `onSecret` learns every secret they come to hold later (a
   * rotated refresh token), so the worker's logs mask it.
   */
  async acquire(
    tenant: string,
    loaded: LoadedConfig,
    logger: Logger,
    onSecret: (value: string) => void,
  ): Promise<TenantClientsLease> {
    // Every decision is made before the first await, so two jobs of one tenant starting at once
    // cannot both take the same entry; what is dropped is closed afterwards.
    const dropped = this.takeIdle();
    const fingerprint = fingerprintOf(loaded);
    const refreshToken = refreshTokenOf(loaded);
    let entry = this.entries.get(tenant);
    if (
      entry &&
      (entry.fingerprint !== fingerprint ||
        (refreshToken !== undefined && !entry.refreshTokens.has(refreshToken)))
    ) {
      this.entries.delete(tenant);
      dropped.push(entry);
      entry = undefined;
    }
    let lease: TenantClientsLease;
    if (entry && entry.users > 0) {
      // Another job of this tenant (a targeted sync next to its cycle) holds them: the engine counts a
      // job's calls from its clients' counters, so two jobs on one client would each count the other's
      // against the tenant's budget. This job gets clients of its own, closed when it is done.
      const clients = this.build(loaded, logger, onSecret);
      lease = { clients, reused: false, release: once(() => closeClients(clients)) };
    } else {
      const reused = entry !== undefined;
      if (!entry) {
        const refreshTokens = new Set(refreshToken === undefined ? [] : [refreshToken]);
        const clients = this.build(loaded, logger, (token) => {
          refreshTokens.add(token);
          onSecret(token);
        });
        entry = { clients, fingerprint, refreshTokens, users: 0, lastUsed: this.now(), retired: false };
      }
      // Most recently used last: the Map's order is the eviction order.
      this.entries.delete(tenant);
      this.entries.set(tenant, entry);
      entry.users++;
      dropped.push(...this.takeOverMax());
      const held = entry;
      lease = {
        clients: held.clients,
        reused,
        release: once(async () => {
          held.users--;
          held.lastUsed = this.now();
          if (held.retired && held.users === 0) await closeClients(held.clients);
        }),
      };
    }
    for (const e of dropped) await retire(e);
    return lease;
  }

  /** Tenants whose clients are kept now (for tests and status). */
  tenants(): string[] {
    return [...this.entries.keys()];
  }

  /** Closes every kept client (a job still running keeps its own until it lets go). */
  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) await retire(e);
  }

  /** Takes out the entries unused for longer than `idleMs`. */
  private takeIdle(): Entry[] {
    const now = this.now();
    const out: Entry[] = [];
    for (const [tenant, e] of [...this.entries])
      if (e.users === 0 && now - e.lastUsed > this.idleMs) {
        this.entries.delete(tenant);
        out.push(e);
      }
    return out;
  }

  /** Takes out the least recently used entries not in use until at most `max` are kept. */
  private takeOverMax(): Entry[] {
    const out: Entry[] = [];
    for (const [tenant, e] of [...this.entries]) {
      if (this.entries.size <= this.max) break;
      if (e.users > 0) continue;
      this.entries.delete(tenant);
      out.push(e);
    }
    return out;
  }
}

/** Marks an entry dropped; its clients close now, or when the job using them lets go. */
async function retire(e: Entry): Promise<void> {
  e.retired = true;
  if (e.users === 0) await closeClients(e.clients);
}

/** `fn` the first time only (a lease released twice closes nothing twice). */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await fn();
  };
}

async function closeClients(clients: TenantClients): Promise<void> {
  await clients.adapter.close?.();
}

/** The CRM refresh token (Salesforce rotates it; a rotation is not a new config). */
function refreshTokenOf(loaded: LoadedConfig): string | undefined {
  const auth = (loaded.config.crm as { auth?: { refreshToken?: unknown } }).auth;
  return typeof auth?.refreshToken === "string" ? auth.refreshToken : undefined;
}

/** A digest of the config the clients are built from (secrets included, so a new secret rebuilds). */
function fingerprintOf(loaded: LoadedConfig): string {
  const crm = loaded.config.crm as { auth?: Record<string, unknown> };
  const withoutRotating = crm.auth
    ? { ...loaded.config, crm: { ...crm, auth: { ...crm.auth, refreshToken: undefined } } }
    : loaded.config;
  return createHash("sha256").update(JSON.stringify(withoutRotating)).digest("hex");
}
