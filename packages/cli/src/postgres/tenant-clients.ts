import { createHash } from "node:crypto";
import { createPartnerCenterClient, createPartnerCenterTokens, type PartnerCenterClient } from "@cosell/core";
import type { Logger } from "pino";
import type { LoadedConfig } from "../config.js";
import type { CliAdapter } from "../crm-modules.js";
import { createAdapter } from "../runtime.js";

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

const buildClients: BuildTenantClients = (loaded, logger, onRefreshToken) => {
  const tokens = createPartnerCenterTokens(loaded.config.partnerCenter);
  return {
    partnerCenter: createPartnerCenterClient(loaded.config.partnerCenter, { tokens }),
    adapter: createAdapter(loaded, logger, { onRefreshToken }),
  };
};

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
    await this.sweep();
    const fingerprint = fingerprintOf(loaded);
    const refreshToken = refreshTokenOf(loaded);
    let entry = this.entries.get(tenant);
    let reused = true;
    if (
      entry &&
      (entry.fingerprint !== fingerprint ||
        (refreshToken !== undefined && !entry.refreshTokens.has(refreshToken)))
    ) {
      this.entries.delete(tenant);
      await this.retire(entry);
      entry = undefined;
    }
    if (entry && entry.users > 0) {
      // Another job of this tenant (a targeted sync next to its cycle) holds them: the engine counts a
      // job's calls from its clients' counters, so two jobs on one client would each count the other's
      // against the tenant's budget. This job gets clients of its own, closed when it is done.
      const clients = this.build(loaded, logger, onSecret);
      let released = false;
      return {
        clients,
        reused: false,
        release: async () => {
          if (released) return;
          released = true;
          await closeClients(clients);
        },
      };
    }
    if (!entry) {
      reused = false;
      const refreshTokens = new Set(refreshToken === undefined ? [] : [refreshToken]);
      const clients = this.build(loaded, logger, (token) => {
        refreshTokens.add(token);
        onSecret(token);
      });
      entry = { clients, fingerprint, refreshTokens, users: 0, lastUsed: this.now(), retired: false };
      this.entries.set(tenant, entry);
      await this.evictOverMax();
    }
    // Most recently used last: the Map's order is the eviction order.
    this.entries.delete(tenant);
    this.entries.set(tenant, entry);
    entry.users++;
    const held = entry;
    let released = false;
    return {
      clients: held.clients,
      reused,
      release: async () => {
        if (released) return;
        released = true;
        held.users--;
        held.lastUsed = this.now();
        if (held.retired && held.users === 0) await closeClients(held.clients);
      },
    };
  }

  /** Tenants whose clients are kept now (for tests and status). */
  tenants(): string[] {
    return [...this.entries.keys()];
  }

  /** Closes every kept client (a job still running keeps its own until it lets go). */
  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) await this.retire(e);
  }

  private async sweep(): Promise<void> {
    const now = this.now();
    for (const [tenant, e] of [...this.entries])
      if (e.users === 0 && now - e.lastUsed > this.idleMs) {
        this.entries.delete(tenant);
        await this.retire(e);
      }
  }

  private async evictOverMax(): Promise<void> {
    for (const [tenant, e] of [...this.entries]) {
      if (this.entries.size <= this.max) return;
      if (e.users > 0) continue;
      this.entries.delete(tenant);
      await this.retire(e);
    }
  }

  private async retire(e: Entry): Promise<void> {
    e.retired = true;
    if (e.users === 0) await closeClients(e.clients);
  }
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
