import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PostgresStateStore, TenantRegistry, tenantSchema } from "../src/index.js";
import { databaseUrl, dropSchema, uniqueSchema, withClient } from "./database.js";

describe("TenantRegistry", () => {
  let registry: TenantRegistry;
  let schema: string;
  beforeEach(() => {
    schema = uniqueSchema("registry");
    registry = TenantRegistry.open(databaseUrl(), { schema });
  });
  afterEach(async () => {
    registry.close();
    await dropSchema(schema);
  });

  it("adds, lists, finds and removes tenants, each with its own schema and config", () => {
    registry.add({
      name: "contoso",
      configPath: "/etc/cosell/contoso.yaml",
      budgets: { crmCallsPerDay: 5000 },
    });
    registry.add({ name: "fabrikam-eu", configPath: "/etc/cosell/fabrikam.yaml" });
    expect(registry.list().map((t) => [t.name, t.schema, t.configPath, t.budgets])).toEqual([
      ["contoso", "tenant_contoso", "/etc/cosell/contoso.yaml", { crmCallsPerDay: 5000 }],
      ["fabrikam-eu", "tenant_fabrikam_eu", "/etc/cosell/fabrikam.yaml", {}],
    ]);
    expect(registry.remove("contoso")).toBe(true);
    expect(registry.remove("contoso")).toBe(false);
    expect(registry.list().map((t) => t.name)).toEqual(["fabrikam-eu"]);
  });

  it("refuses a taken name, a bad name, and an unknown tenant, each with its code", () => {
    registry.add({ name: "contoso", configPath: "/a.yaml" });
    expect(() => registry.add({ name: "contoso", configPath: "/b.yaml" })).toThrow(
      expect.objectContaining({ code: "TENANT_EXISTS" }),
    );
    expect(() => registry.add({ name: "Bad Name", configPath: "/b.yaml" })).toThrow(
      expect.objectContaining({ code: "TENANT_NAME_INVALID" }),
    );
    expect(() => registry.require("nope")).toThrow(
      expect.objectContaining({ code: "TENANT_UNKNOWN", message: expect.stringContaining("contoso") }),
    );
  });

  it("keeps a removed tenant's state unless asked to drop it", async () => {
    const name = `keep-${process.pid}`;
    registry.add({ name, configPath: "/a.yaml" });
    const state = PostgresStateStore.open({ url: databaseUrl(), schema: tenantSchema(name) });
    state.setCursor("crm", "c1");
    state.close();
    const exists = () =>
      withClient(
        async (c) =>
          (await c.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [tenantSchema(name)])).rowCount,
      );
    registry.remove(name);
    expect(await exists()).toBe(1);
    registry.add({ name, configPath: "/a.yaml" });
    registry.remove(name, { dropState: true });
    expect(await exists()).toBe(0);
  });

  it("holds a tenant to its budgets, and not the others", () => {
    const busy = registry.add({
      name: "busy",
      configPath: "/a.yaml",
      budgets: { partnerCenterCallsPerMinute: 100, crmCallsPerDay: 1000 },
    });
    const quiet = registry.add({
      name: "quiet",
      configPath: "/b.yaml",
      budgets: { partnerCenterCallsPerMinute: 100 },
    });
    registry.assertWithinBudget(busy);
    registry.recordUsage("busy", { partnerCenter: 60, crm: 10 });
    registry.recordUsage("busy", { partnerCenter: 40, crm: 10 });
    expect(registry.usage("busy")).toEqual({ partnerCenterLastMinute: 100, crmLastDay: 20 });
    expect(() => registry.assertWithinBudget(busy)).toThrow(
      expect.objectContaining({
        code: "TENANT_OVER_BUDGET",
        message: expect.stringContaining("Partner Center"),
      }),
    );
    registry.assertWithinBudget(quiet);
  });
});
