import pino from "pino";
import { describe, expect, it } from "vitest";
import type { LoadedConfig } from "../src/config.js";
import {
  type BuildTenantClients,
  TenantClientCache,
  type TenantClients,
} from "../src/postgres/tenant-clients.js";

/** A tenant's config as the cache sees it (only `config` is read). */
function loaded(org: string, refreshToken = "refresh-1", partnerTenant = "tenant-a"): LoadedConfig {
  return {
    config: {
      crm: { kind: "salesforce", instanceUrl: `https://${org}.my.salesforce.com`, auth: { refreshToken } },
      partnerCenter: { tenantId: partnerTenant },
    },
    file: "/tmp/cosell.json",
    secrets: [],
    statePath: "/tmp/state.db",
    warnings: [],
    references: {},
  } as unknown as LoadedConfig;
}

/** Builds numbered fake clients and remembers which were closed and how to rotate their token. */
function fakeBuilder(closeMs = 0) {
  const built: { id: number; closed: boolean; rotate: (token: string) => void }[] = [];
  const build: BuildTenantClients = (_loaded, _logger, onRefreshToken) => {
    const entry = { id: built.length + 1, closed: false, rotate: onRefreshToken };
    built.push(entry);
    const clients = {
      adapter: {
        id: entry.id,
        close: async () => {
          if (closeMs) await new Promise((r) => setTimeout(r, closeMs));
          entry.closed = true;
        },
      },
      partnerCenter: { id: entry.id },
    };
    return clients as unknown as TenantClients;
  };
  return { built, build };
}

const logger = pino({ enabled: false });
const idOf = (c: TenantClients) => (c.adapter as unknown as { id: number }).id;
const noSecret = () => {};

describe("a worker's clients per tenant", () => {
  it("reuses a tenant's clients for its next job while the config is the same", async () => {
    const { built, build } = fakeBuilder();
    const cache = new TenantClientCache({ build });
    const first = await cache.acquire("acme", loaded("acme"), logger, noSecret);
    await first.release();
    const second = await cache.acquire("acme", loaded("acme"), logger, noSecret);
    await second.release();
    expect([first.reused, second.reused]).toEqual([false, true]);
    expect(idOf(second.clients)).toBe(idOf(first.clients));
    expect(built).toHaveLength(1);
    // Another tenant has clients of its own.
    const other = await cache.acquire("globex", loaded("globex"), logger, noSecret);
    expect(idOf(other.clients)).not.toBe(idOf(first.clients));
  });

  it("builds new clients when the config changes, and closes the old ones", async () => {
    const { built, build } = fakeBuilder();
    const cache = new TenantClientCache({ build });
    await (await cache.acquire("acme", loaded("acme"), logger, noSecret)).release();
    const moved = await cache.acquire("acme", loaded("acme", "refresh-1", "tenant-b"), logger, noSecret);
    expect(moved.reused).toBe(false);
    expect(built.map((b) => b.closed)).toEqual([true, false]);
    // A new refresh token put in by the admin is a new config too.
    await moved.release();
    await (
      await cache.acquire("acme", loaded("acme", "refresh-admin", "tenant-b"), logger, noSecret)
    ).release();
    expect(built).toHaveLength(3);
  });

  it("takes the refresh token the CRM rotated to as the same config, and hands it to the log mask", async () => {
    const { built, build } = fakeBuilder();
    const cache = new TenantClientCache({ build });
    const secrets: string[] = [];
    const first = await cache.acquire("acme", loaded("acme"), logger, (v) => secrets.push(v));
    built[0]!.rotate("refresh-2"); // Salesforce rotated it; the adapter saved it to the tenant's file
    await first.release();
    const next = await cache.acquire("acme", loaded("acme", "refresh-2"), logger, noSecret);
    expect(next.reused).toBe(true);
    expect(secrets).toEqual(["refresh-2"]);
    expect(built).toHaveLength(1);
  });

  it("gives a second job of a busy tenant clients of its own, closed when it is done", async () => {
    const { built, build } = fakeBuilder();
    const cache = new TenantClientCache({ build });
    const cycle = await cache.acquire("acme", loaded("acme"), logger, noSecret);
    const targeted = await cache.acquire("acme", loaded("acme"), logger, noSecret);
    expect(idOf(targeted.clients)).not.toBe(idOf(cycle.clients));
    await targeted.release();
    expect(built.map((b) => b.closed)).toEqual([false, true]);
    await cycle.release();
    // The kept ones are still those of the first job.
    const later = await cache.acquire("acme", loaded("acme"), logger, noSecret);
    expect(idOf(later.clients)).toBe(idOf(cycle.clients));
  });

  it("never gives one client to two jobs of a tenant that start at the same moment", async () => {
    const { built, build } = fakeBuilder(5);
    // A kept tenant to evict (max 1) makes the first acquire wait for a slow close before it returns.
    const cache = new TenantClientCache({ build, max: 1 });
    await (await cache.acquire("other", loaded("other"), logger, noSecret)).release();
    const [one, two] = await Promise.all([
      cache.acquire("acme", loaded("acme"), logger, noSecret),
      cache.acquire("acme", loaded("acme"), logger, noSecret),
    ]);
    expect(idOf(one.clients)).not.toBe(idOf(two.clients));
    expect(built[0]!.closed).toBe(true);
  });

  it("keeps at most `max` tenants, dropping the least recently used, never one in use", async () => {
    const { built, build } = fakeBuilder();
    const cache = new TenantClientCache({ build, max: 2 });
    const a = await cache.acquire("a", loaded("a"), logger, noSecret); // held throughout
    await (await cache.acquire("b", loaded("b"), logger, noSecret)).release();
    await (await cache.acquire("c", loaded("c"), logger, noSecret)).release();
    expect(cache.tenants().sort()).toEqual(["a", "c"]);
    expect(built.map((b) => b.closed)).toEqual([false, true, false]);
    await a.release();
  });

  it("closes clients left unused longer than `idleMs`, and all of them on close", async () => {
    const { built, build } = fakeBuilder();
    let now = 0;
    const cache = new TenantClientCache({ build, idleMs: 1000, now: () => now });
    await (await cache.acquire("a", loaded("a"), logger, noSecret)).release();
    now = 500;
    await (await cache.acquire("b", loaded("b"), logger, noSecret)).release();
    now = 1200;
    await (await cache.acquire("b", loaded("b"), logger, noSecret)).release();
    expect(cache.tenants()).toEqual(["b"]);
    expect(built.map((b) => b.closed)).toEqual([true, false]);
    await cache.close();
    expect(built.map((b) => b.closed)).toEqual([true, true]);
    expect(cache.tenants()).toEqual([]);
  });
});
