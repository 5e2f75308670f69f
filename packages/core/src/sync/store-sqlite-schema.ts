import type Database from "better-sqlite3";
import { ConfigError } from "../errors.js";

/**
 * The SQLite state database's schema as a list of forward-only migrations. A released migration is
 * never edited: a change is a new migration with the next version. `schema_version` records every
 * version applied, so a database opened by an older cosell is upgraded and one written by a newer
 * cosell is refused instead of being misread.
 */

/** One schema step. */
export interface Migration {
  /** 1, 2, 3… with no gaps. */
  version: number;
  /** What the step does, for `schema_version` and the reader of this file. */
  description: string;
  sql: string;
}

/**
 * Written into the SQLite header (`PRAGMA application_id`, "CoS1") so that a cosell state file can be
 * told apart from any other SQLite database before anything is written to it.
 */
export const COSELL_APPLICATION_ID = 0x436f5331;

/** Every schema step, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "links, cursors, ledger, outbox, parked conflicts, record errors, audit, cycles",
    // `seq` gives every table a stable insertion order (VACUUM may renumber implicit rowids).
    // JSON columns hold snapshots the store never queries inside.
    sql: `
      CREATE TABLE links (
        seq INTEGER PRIMARY KEY,
        link_id TEXT NOT NULL UNIQUE,
        crm_id TEXT,
        referral_id TEXT,
        direction TEXT NOT NULL,
        state TEXT NOT NULL,
        favorite INTEGER NOT NULL,
        crm_opted_in INTEGER,
        crm_modified_at TEXT,
        status_hash TEXT,
        baseline TEXT,
        crm TEXT,
        referral TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX links_crm_id ON links (crm_id);
      CREATE UNIQUE INDEX links_referral_id ON links (referral_id);

      CREATE TABLE cursors (
        side TEXT PRIMARY KEY,
        cursor TEXT NOT NULL
      ) STRICT;

      CREATE TABLE ledger (
        seq INTEGER PRIMARY KEY,
        side TEXT NOT NULL,
        record_id TEXT NOT NULL,
        field TEXT NOT NULL,
        value_hash TEXT NOT NULL,
        written_at TEXT NOT NULL,
        UNIQUE (side, record_id, field)
      ) STRICT;
      CREATE INDEX ledger_written_at ON ledger (written_at);

      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        link_id TEXT NOT NULL,
        side TEXT NOT NULL,
        fields TEXT NOT NULL,
        action TEXT,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX outbox_link_id ON outbox (link_id);

      CREATE TABLE parked (
        seq INTEGER PRIMARY KEY,
        link_id TEXT NOT NULL UNIQUE,
        fields TEXT NOT NULL,
        crm TEXT NOT NULL,
        partner_center TEXT NOT NULL,
        detected_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE record_errors (
        seq INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        at TEXT NOT NULL,
        attempts INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        link_id TEXT,
        crm_id TEXT,
        referral_id TEXT,
        kind TEXT NOT NULL,
        message TEXT NOT NULL
      ) STRICT;

      CREATE TABLE cycles (
        seq INTEGER PRIMARY KEY,
        cycle_id TEXT NOT NULL UNIQUE,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        mode TEXT NOT NULL,
        dry_run INTEGER NOT NULL,
        summary TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    description: "feed positions (replay ids of push feeds)",
    sql: `
      CREATE TABLE feed_positions (
        feed TEXT PRIMARY KEY,
        position TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 3,
    description: "ledger keeps every value written per field until its echo or a fresh read",
    // One entry per field lost an earlier write whose echo had not arrived when a later write of the
    // same field was written ahead (a crash between them): the earlier value, read back, looked like
    // a seller's edit. SQLite cannot drop a constraint, so the table is rebuilt.
    sql: `
      CREATE TABLE ledger_v3 (
        seq INTEGER PRIMARY KEY,
        side TEXT NOT NULL,
        record_id TEXT NOT NULL,
        field TEXT NOT NULL,
        value_hash TEXT NOT NULL,
        written_at TEXT NOT NULL,
        UNIQUE (side, record_id, field, value_hash)
      ) STRICT;
      INSERT INTO ledger_v3 (seq, side, record_id, field, value_hash, written_at)
        SELECT seq, side, record_id, field, value_hash, written_at FROM ledger;
      DROP TABLE ledger;
      ALTER TABLE ledger_v3 RENAME TO ledger;
      CREATE INDEX ledger_written_at ON ledger (written_at);
    `,
  },
  {
    version: 4,
    description: "links lose the favorite column: the favorite is Partner Center's own flag, synced",
    // A deal's star used to be kept here, beside Partner Center; it now lives on the referral.
    sql: `
      ALTER TABLE links DROP COLUMN favorite;
    `,
  },
];

/** The schema version this code writes. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/**
 * Refuses a database that is not a cosell state database: one that holds tables but carries another
 * application id. A brand-new (empty) file is accepted. Reads only, so a foreign file is left untouched.
 */
export function assertCosellDatabase(db: Database.Database, path: string): void {
  const appId = db.pragma("application_id", { simple: true });
  if (appId === COSELL_APPLICATION_ID) return;
  const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master").get() as { n: number };
  if (appId === 0 && tables.n === 0) return;
  throw notOurs(path, "it is a SQLite database of another application");
}

/**
 * Brings the schema up to the newest migration, one transaction for all pending steps (so two
 * processes opening the same new file cannot both apply them). Throws `STATE_STORE_TOO_NEW` when the
 * database was written by a newer cosell.
 */
export function migrate(
  db: Database.Database,
  path: string,
  migrations: readonly Migration[] = MIGRATIONS,
): void {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  db.transaction(() => {
    const current = currentVersion(db);
    if (current > latest)
      throw new ConfigError(
        "STATE_STORE_TOO_NEW",
        `The cosell state database "${path}" has schema version ${current}, but this cosell only knows ` +
          `versions up to ${latest}: a newer cosell wrote it. Upgrade cosell, or point it at another state file.`,
        { path, schemaVersion: current, supportedVersion: latest },
      );
    if (current === 0) {
      db.exec(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT",
      );
      db.pragma(`application_id = ${COSELL_APPLICATION_ID}`);
    }
    const record = db.prepare(
      "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
    );
    for (const m of migrations) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      record.run(m.version, m.description, new Date().toISOString());
    }
  }).immediate();
}

/** The highest applied migration; 0 for a new database. */
export function currentVersion(db: Database.Database): number {
  const table = db
    .prepare("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
    .get();
  if (!table) return 0;
  const row = db.prepare("SELECT max(version) AS v FROM schema_version").get() as { v: number | null };
  return row.v ?? 0;
}

/** `STATE_STORE_UNUSABLE` for a file that is not (or no longer) a cosell state database. */
export function notOurs(path: string, why: string, cause?: unknown): ConfigError {
  return new ConfigError(
    "STATE_STORE_UNUSABLE",
    `"${path}" is not a cosell state database (${why}). Point cosell at a new file name (it is created on ` +
      "first run), or move this file away.",
    { path },
    cause === undefined ? undefined : { cause },
  );
}

/**
 * better-sqlite3 loads its compiled addon when the first database opens. Built for another Node.js
 * (a Node upgrade, or headers of another version — `npm_config_nodedir`), the load fails with
 * `ERR_DLOPEN_FAILED`/`NODE_MODULE_VERSION`: that is the installation, not the state file, so it gets
 * its own code and the fix, instead of "not a cosell state database". `undefined` for other errors.
 */
export function nativeModuleProblem(err: unknown): ConfigError | undefined {
  const e = err as { code?: string; message?: string } | undefined;
  const message = String(e?.message ?? "");
  const versions = /NODE_MODULE_VERSION (\d+)[\s\S]*?NODE_MODULE_VERSION (\d+)/.exec(message);
  const unloadable =
    versions !== null ||
    e?.code === "ERR_DLOPEN_FAILED" ||
    /Could not locate the bindings file|invalid ELF header|wrong ELF class/.test(message);
  if (!unloadable) return undefined;
  const built = versions
    ? ` was built for NODE_MODULE_VERSION ${versions[1]}, but this`
    : ` cannot be loaded by this`;
  return new ConfigError(
    "STATE_STORE_NATIVE_MODULE",
    `better-sqlite3's native module${built} Node.js ${process.version} (NODE_MODULE_VERSION ${process.versions.modules}) — ` +
      "the state file is fine. Rebuild it for this Node: `pnpm rebuild better-sqlite3` in the cosell " +
      "checkout (or a fresh `pnpm install`), run with the same Node you run cosell with.",
    { node: process.version, abi: process.versions.modules, ...(versions ? { builtFor: versions[1] } : {}) },
    { cause: err },
  );
}
