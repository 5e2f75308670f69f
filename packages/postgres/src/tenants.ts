import { ConfigError, CoSellError } from "@cosell/core";
import { BlockingClient } from "./blocking-client.js";
import { migrateSchema, type PgMigration } from "./migrations.js";

/**
 * The tenants one PostgreSQL deployment serves: each has a name, its own state schema, its own
 * config file (with its own `env:`/`file:` secret references) and its API budgets. The registry and
 * the budget counters live in the `cosell` schema.
 */

/** Per-tenant API budgets; an absent budget is unlimited. */
export interface TenantBudgets {
  /** Partner Center calls per minute for this tenant. */
  partnerCenterCallsPerMinute?: number;
  /**
   * CRM calls per 24 hours for this tenant: its share of the Salesforce org's daily API allocation,
   * or of the Dataverse application user's request allowance.
   */
  crmCallsPerDay?: number;
}

export interface Tenant {
  name: string;
  /** The PostgreSQL schema holding its state. */
  schema: string;
  /** Absolute path of its cosell config file. */
  configPath: string;
  budgets: TenantBudgets;
  createdAt: string;
}

/** The registry's own schema. */
export const REGISTRY_SCHEMA = "cosell";

const REGISTRY_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: "tenants and their API usage",
    sql: `
      CREATE TABLE tenants (
        name text PRIMARY KEY,
        schema_name text NOT NULL UNIQUE,
        config_path text NOT NULL,
        budgets text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE tenant_usage (
        tenant text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        partner_center_calls integer NOT NULL,
        crm_calls integer NOT NULL
      );
      CREATE INDEX tenant_usage_tenant_at ON tenant_usage (tenant, at);
    `,
  },
];

/** `contoso`, `fabrikam-eu`: lower-case letters, digits and dashes. */
export function assertTenantName(name: string): void {
  if (/^[a-z][a-z0-9-]{0,39}$/.test(name)) return;
  throw new ConfigError(
    "TENANT_NAME_INVALID",
    `"${name}" cannot be a tenant name: use 1–40 lower-case letters, digits and dashes, starting with a letter (for example contoso-eu).`,
    { tenant: name },
  );
}

/** The state schema of a tenant. */
export function tenantSchema(name: string): string {
  return `tenant_${name.replace(/-/g, "_")}`;
}

export class TenantRegistry {
  private constructor(
    private readonly db: BlockingClient,
    /** The registry's schema. */
    readonly schema: string,
  ) {}

  /** Connects and brings the registry schema (default {@link REGISTRY_SCHEMA}) up to date. */
  static open(url: string, options: { schema?: string } = {}): TenantRegistry {
    const schema = options.schema ?? REGISTRY_SCHEMA;
    const db = new BlockingClient({ connectionString: url, applicationName: "cosell:registry" });
    try {
      migrateSchema(db, schema, REGISTRY_MIGRATIONS);
      return new TenantRegistry(db, schema);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  list(): Tenant[] {
    return this.db.query<TenantRow>(`SELECT * FROM ${this.schema}.tenants ORDER BY name`).rows.map(toTenant);
  }

  get(name: string): Tenant | undefined {
    const row = this.db.query<TenantRow>(`SELECT * FROM ${this.schema}.tenants WHERE name = $1`, [name])
      .rows[0];
    return row && toTenant(row);
  }

  /** Throws `TENANT_UNKNOWN` naming the known tenants. */
  require(name: string): Tenant {
    const t = this.get(name);
    if (t) return t;
    const known = this.list().map((x) => x.name);
    throw new ConfigError(
      "TENANT_UNKNOWN",
      `There is no tenant "${name}". Known tenants: ${known.length ? known.join(", ") : "none"}. Add it with \`cosell tenants add ${name} --tenant-config <file>\`.`,
      { tenant: name },
    );
  }

  /** Registers a tenant; throws `TENANT_EXISTS` if the name is taken. */
  add(tenant: { name: string; configPath: string; budgets?: TenantBudgets }): Tenant {
    assertTenantName(tenant.name);
    const schema = tenantSchema(tenant.name);
    const inserted = this.db.query(
      `INSERT INTO ${this.schema}.tenants (name, schema_name, config_path, budgets) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING`,
      [tenant.name, schema, tenant.configPath, JSON.stringify(tenant.budgets ?? {})],
    );
    if (inserted.rowCount === 0)
      throw new ConfigError(
        "TENANT_EXISTS",
        `A tenant named "${tenant.name}" already exists. Remove it first (\`cosell tenants remove ${tenant.name}\`) or pick another name.`,
        { tenant: tenant.name },
      );
    return this.require(tenant.name);
  }

  /**
   * Unregisters a tenant. Its state schema is kept unless `dropState` (so a mistaken remove loses
   * nothing); returns whether the tenant existed.
   */
  remove(name: string, options: { dropState?: boolean } = {}): boolean {
    const t = this.get(name);
    if (!t) return false;
    this.db.begin();
    try {
      this.db.query(`DELETE FROM ${this.schema}.tenants WHERE name = $1`, [name]);
      this.db.query(`DELETE FROM ${this.schema}.tenant_usage WHERE tenant = $1`, [name]);
      if (options.dropState) this.db.query(`DROP SCHEMA IF EXISTS "${t.schema}" CASCADE`);
      this.db.commit();
    } catch (err) {
      this.db.rollback();
      throw err;
    }
    return true;
  }

  /** Counts the calls one job made, for the budgets. */
  recordUsage(name: string, calls: { partnerCenter: number; crm: number }): void {
    this.db.query(
      `INSERT INTO ${this.schema}.tenant_usage (tenant, partner_center_calls, crm_calls) VALUES ($1, $2, $3)`,
      [name, calls.partnerCenter, calls.crm],
    );
    // Usage older than the longest budget window is never read again.
    this.db.query(
      `DELETE FROM ${this.schema}.tenant_usage WHERE tenant = $1 AND at < now() - interval '1 day'`,
      [name],
    );
  }

  /** Calls made in the last minute (Partner Center) and the last 24 hours (CRM). */
  usage(name: string): { partnerCenterLastMinute: number; crmLastDay: number } {
    const row = this.db.query<{ pc: string | null; crm: string | null }>(
      `SELECT sum(partner_center_calls) FILTER (WHERE at > now() - interval '1 minute') AS pc,
              sum(crm_calls) AS crm
         FROM ${this.schema}.tenant_usage WHERE tenant = $1 AND at > now() - interval '1 day'`,
      [name],
    ).rows[0];
    return { partnerCenterLastMinute: Number(row?.pc ?? 0), crmLastDay: Number(row?.crm ?? 0) };
  }

  /**
   * Throws `TENANT_OVER_BUDGET` when the tenant has spent a budget; the job queue retries the job
   * later (with backoff), while other tenants' jobs go on.
   */
  assertWithinBudget(tenant: Tenant): void {
    const used = this.usage(tenant.name);
    const b = tenant.budgets;
    const over =
      b.partnerCenterCallsPerMinute !== undefined &&
      used.partnerCenterLastMinute >= b.partnerCenterCallsPerMinute
        ? `${used.partnerCenterLastMinute} Partner Center calls in the last minute (budget ${b.partnerCenterCallsPerMinute})`
        : b.crmCallsPerDay !== undefined && used.crmLastDay >= b.crmCallsPerDay
          ? `${used.crmLastDay} CRM calls in the last 24 hours (budget ${b.crmCallsPerDay})`
          : undefined;
    if (over)
      throw new CoSellError(
        "TENANT_OVER_BUDGET",
        `Tenant "${tenant.name}" has used its API budget: ${over}. Its job waits and is retried; raise the budget with \`cosell tenants add\` after \`remove\` if it is too low.`,
        { tenant: tenant.name, ...used },
      );
  }

  close(): void {
    this.db.close();
  }
}

interface TenantRow {
  name: string;
  schema_name: string;
  config_path: string;
  budgets: string;
  created_at: Date;
}

function toTenant(r: TenantRow): Tenant {
  return {
    name: r.name,
    schema: r.schema_name,
    configPath: r.config_path,
    budgets: JSON.parse(r.budgets) as TenantBudgets,
    createdAt: new Date(r.created_at).toISOString(),
  };
}
