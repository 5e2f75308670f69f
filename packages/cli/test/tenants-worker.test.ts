import { randomBytes } from "node:crypto";
import { sampleDeal } from "@cosell/core/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { databaseUrl as deploymentUrl } from "../src/postgres/database.js";
import { runCli } from "../src/program.js";
import { useCliWorkspace } from "./helpers/cli-workspace.js";
import { captureIo } from "./helpers/io.js";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseError: string;
  }
}

/** A database of its own for this file: the deployment's fixed schemas (cosell, cosell_jobs) then collide with no one. */
const server = () => {
  const error = inject("databaseError");
  if (error) throw new Error(error);
  return inject("databaseUrl");
};
const dbName = `cosell_cli_${process.pid}_${randomBytes(3).toString("hex")}`;
async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: server() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
function urlOf(db: string): string {
  const u = new URL(server());
  u.pathname = `/${db}`;
  return u.toString();
}

describe("cosell tenants, migrate, worker and status --tenant on PostgreSQL", () => {
  const databaseEnv = () => ({ COSELL_DATABASE_URL: urlOf(dbName) });
  const ctx = useCliWorkspace({ env: databaseEnv });

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${dbName}`);
  });
  afterAll(async () => {
    await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  });

  it("adds a tenant, migrates, a worker syncs it, status shows it, remove keeps its state", async () => {
    const added = await ctx.cli(
      "tenants",
      "add",
      "acme",
      "--tenant-config",
      ctx.ws.file,
      "--crm-calls-per-day",
      "5000",
      "--json",
    );
    expect(added.code, added.err).toBe(0);
    expect(added.json().tenant).toMatchObject({
      name: "acme",
      schema: "tenant_acme",
      budgets: { crmCallsPerDay: 5000 },
    });
    expect((await ctx.cli("tenants", "add", "acme", "--tenant-config", ctx.ws.file)).err).toContain(
      "TENANT_EXISTS",
    );

    const migrated = await ctx.cli("migrate", "--json");
    expect(migrated.code, migrated.err).toBe(0);
    expect(migrated.json().tenants).toEqual([{ name: "acme", schema: "tenant_acme", applied: [] }]);

    ctx.fake.crm.createOpportunity(sampleDeal({ name: "Contoso rollout" }), { optedIn: true });
    ctx.ws.sandbox.partnerCenter.sendInboundReferral();

    const io = captureIo({ env: { ...ctx.ws.env, ...databaseEnv() }, cwd: ctx.ws.dir });
    const running = runCli(["worker", "--interval", "3600"], io);
    let status: { json: () => { cycles: unknown[]; links: { total: number } } } | undefined;
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, 500));
      status = await ctx.cli("status", "--tenant", "acme", "--json");
      if (status.json().cycles.length > 0) break;
    }
    io.signal("SIGTERM");
    expect(await running, io.err()).toBe(0);
    expect(status?.json()).toMatchObject({ links: { total: 2 } });
    // Nothing of the tenant's state went to a SQLite file.
    expect((await ctx.cli("status", "--json")).json().links.total).toBe(0);

    expect(
      (await ctx.cli("tenants", "list", "--json")).json().tenants.map((t: { name: string }) => t.name),
    ).toEqual(["acme"]);
    expect((await ctx.cli("tenants", "remove", "acme")).code).toBe(0);
    expect((await ctx.cli("status", "--tenant", "acme")).err).toContain("TENANT_UNKNOWN");
    expect((await ctx.cli("tenants", "remove", "acme")).err).toContain("TENANT_UNKNOWN");
  }, 120_000);

  it("says what to set when COSELL_DATABASE_URL is missing, and refuses a remote server without TLS", async () => {
    const io = captureIo({ env: ctx.ws.env, cwd: ctx.ws.dir });
    expect(await runCli(["tenants", "list"], io)).toBe(1);
    expect(io.err()).toContain("DATABASE_URL_MISSING");
    expect(() =>
      deploymentUrl({ COSELL_DATABASE_URL: "postgres://cosell:pw@db.example.com/cosell" }),
    ).toThrow(
      expect.objectContaining({ code: "DATABASE_TLS_REQUIRED", message: expect.not.stringContaining("pw") }),
    );
    expect(
      deploymentUrl({ COSELL_DATABASE_URL: "postgres://cosell@db.example.com/cosell?sslmode=verify-full" }),
    ).toContain("db.example.com");
  });
});
