import { ConfigError } from "@cosell/core";
import type { BlockingClient } from "./blocking-client.js";

/**
 * The PostgreSQL state schema as forward-only migrations, the same steps as the SQLite store's
 * (`store-sqlite-schema.ts` in core) in PostgreSQL's dialect. Each tenant has its own schema holding
 * these tables and `cosell_migrations`; a released migration is never edited, a change is a new
 * migration with the next version.
 */
export interface PgMigration {
  /** 1, 2, 3… with no gaps. */
  version: number;
  description: string;
  sql: string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: "links, cursors, ledger, outbox, parked conflicts, record errors, audit, cycles",
    // `seq` keeps insertion order. Deal snapshots are JSON kept as text, not jsonb: jsonb refuses
    // some strings JSON allows (\u0000) and the store never queries inside them.
    sql: `
      CREATE TABLE links (
        seq bigserial PRIMARY KEY,
        link_id text NOT NULL UNIQUE,
        crm_id text CONSTRAINT links_crm_id UNIQUE,
        referral_id text CONSTRAINT links_referral_id UNIQUE,
        direction text NOT NULL,
        state text NOT NULL,
        favorite boolean NOT NULL,
        crm_opted_in boolean,
        crm_modified_at text,
        status_hash text,
        baseline text,
        crm text,
        referral text,
        created_at text NOT NULL,
        updated_at text NOT NULL
      );
      CREATE INDEX links_state ON links (state, seq);

      CREATE TABLE cursors (
        side text PRIMARY KEY,
        cursor text NOT NULL
      );

      CREATE TABLE ledger (
        seq bigserial PRIMARY KEY,
        side text NOT NULL,
        record_id text NOT NULL,
        field text NOT NULL,
        value_hash text NOT NULL,
        written_at text NOT NULL,
        UNIQUE (side, record_id, field)
      );
      CREATE INDEX ledger_written_at ON ledger (written_at);

      CREATE TABLE outbox (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        link_id text NOT NULL,
        side text NOT NULL,
        fields text NOT NULL,
        action text,
        reason text NOT NULL,
        created_at text NOT NULL
      );
      CREATE INDEX outbox_link_id ON outbox (link_id);

      CREATE TABLE parked (
        seq bigserial PRIMARY KEY,
        link_id text NOT NULL UNIQUE,
        fields text NOT NULL,
        crm text NOT NULL,
        partner_center text NOT NULL,
        detected_at text NOT NULL
      );

      CREATE TABLE record_errors (
        seq bigserial PRIMARY KEY,
        key text NOT NULL UNIQUE,
        code text NOT NULL,
        message text NOT NULL,
        at text NOT NULL,
        attempts integer NOT NULL
      );

      CREATE TABLE audit (
        seq bigserial PRIMARY KEY,
        at text NOT NULL,
        link_id text,
        crm_id text,
        referral_id text,
        kind text NOT NULL,
        message text NOT NULL
      );

      CREATE TABLE cycles (
        seq bigserial PRIMARY KEY,
        cycle_id text NOT NULL UNIQUE,
        started_at text NOT NULL,
        finished_at text NOT NULL,
        mode text NOT NULL,
        dry_run boolean NOT NULL,
        summary text NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: "feed positions (replay ids of push feeds)",
    sql: `
      CREATE TABLE feed_positions (
        feed text PRIMARY KEY,
        position text NOT NULL
      );
    `,
  },
  {
    version: 3,
    description: "ledger keeps every value written per field until its echo or a fresh read",
    // See the SQLite store's migration 3: one entry per field lost the echo of an earlier write.
    // `ledger_side_record_id_field_key` is the name PostgreSQL gave migration 1's UNIQUE constraint.
    sql: `
      ALTER TABLE ledger DROP CONSTRAINT ledger_side_record_id_field_key;
      ALTER TABLE ledger ADD CONSTRAINT ledger_value_key UNIQUE (side, record_id, field, value_hash);
    `,
  },
  {
    version: 4,
    description: "links lose the favorite column: the favorite is Partner Center's own flag, synced",
    sql: `
      ALTER TABLE links DROP COLUMN favorite;
    `,
  },
];

export const PG_LATEST_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]?.version ?? 0;

/** A schema name is an identifier cosell quotes itself: letters, digits and `_`, 1–63 characters. */
export function assertSchemaName(schema: string): void {
  if (/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) return;
  throw new ConfigError(
    "STATE_SCHEMA_INVALID",
    `"${schema}" cannot be a PostgreSQL schema name for cosell: use 1–63 lower-case letters, digits ` +
      "and underscores, starting with a letter or underscore (for example cosell_contoso).",
    { schema },
  );
}

/**
 * Creates the schema if needed and applies every pending migration in one transaction. An advisory
 * lock on the schema name makes two workers starting at once apply them once. Returns the versions
 * applied. Throws `STATE_STORE_TOO_NEW` when a newer cosell migrated the schema.
 */
export function migrateSchema(
  db: BlockingClient,
  schema: string,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): number[] {
  assertSchemaName(schema);
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  // A worker opens its tenant's store for every job: a schema already current is the common case,
  // told by two reads instead of a transaction with a lock and the schema's DDL checks.
  if (latest > 0 && schemaVersion(db, schema) === latest) return [];
  const applied: number[] = [];
  db.begin();
  try {
    db.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`cosell-migrate:${schema}`]);
    db.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    db.query(
      `CREATE TABLE IF NOT EXISTS "${schema}".cosell_migrations (version integer PRIMARY KEY, ` +
        "description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const current = schemaVersion(db, schema);
    if (current > latest)
      throw new ConfigError(
        "STATE_STORE_TOO_NEW",
        `The cosell state schema "${schema}" has version ${current}, but this cosell only knows versions ` +
          `up to ${latest}: a newer cosell migrated it. Upgrade cosell on this machine.`,
        { schema, schemaVersion: current, supportedVersion: latest },
      );
    db.query(`SET LOCAL search_path TO "${schema}"`);
    for (const m of migrations) {
      if (m.version <= current) continue;
      db.query(m.sql);
      db.query(`INSERT INTO "${schema}".cosell_migrations (version, description) VALUES ($1, $2)`, [
        m.version,
        m.description,
      ]);
      applied.push(m.version);
    }
    db.commit();
    return applied;
  } catch (err) {
    db.rollback();
    throw err;
  }
}

/** The highest applied migration of `schema`; 0 when it has none. */
export function schemaVersion(db: BlockingClient, schema: string): number {
  const table = db.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [
    `"${schema}".cosell_migrations`,
  ]);
  if (!table.rows[0]?.t) return 0;
  const row = db.query<{ v: number | null }>(`SELECT max(version) AS v FROM "${schema}".cosell_migrations`);
  return row.rows[0]?.v ?? 0;
}
