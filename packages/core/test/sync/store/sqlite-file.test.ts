import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/index.js";
import { SqliteStateStore } from "../../../src/sync/store-sqlite.js";
import {
  COSELL_APPLICATION_ID,
  LATEST_SCHEMA_VERSION,
  MIGRATIONS,
  type Migration,
  migrate,
} from "../../../src/sync/store-sqlite-schema.js";
import { auditEntry, cycle, fullLink, ledgerEntry } from "./factories.js";

/** What only a file-backed SQLite store can show: durability, WAL, sharing, refusing foreign files. */
describe("SqliteStateStore on a file", () => {
  let dir: string;
  let file: string;
  const opened: { close(): void }[] = [];
  const track = <T extends { close(): void }>(s: T): T => {
    opened.push(s);
    return s;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cosell-store-"));
    file = join(dir, "state.db");
  });
  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps committed data across close and reopen", () => {
    const first = SqliteStateStore.open(file);
    first.transaction(() => {
      first.putLink(fullLink(1));
      first.setCursor("partnerCenter", "2026-03-01T10:00:00.000Z");
      first.addLedger([ledgerEntry()]);
      first.appendAudit(auditEntry(1));
      first.recordCycle(cycle(1));
    });
    first.close();

    const again = track(SqliteStateStore.open(file));
    expect(again.getLinkByReferralId("ref-1")).toStrictEqual(fullLink(1));
    expect(again.getCursor("partnerCenter")).toBe("2026-03-01T10:00:00.000Z");
    expect(again.listLedger("crm", "crm-1", "notes")).toStrictEqual([ledgerEntry()]);
    expect(again.listAudit(5)).toStrictEqual([auditEntry(1)]);
    expect(again.listCycles(5)).toStrictEqual([cycle(1)]);
  });

  it("creates the database and its -wal/-shm owner-only (0600), whatever the umask; tightens an older file", () => {
    const old = process.umask(0o022);
    try {
      const store = track(SqliteStateStore.open(file));
      store.transaction(() => store.putLink(fullLink(1)));
      for (const f of [file, `${file}-wal`, `${file}-shm`]) {
        expect(existsSync(f), f).toBe(true);
        expect(statSync(f).mode & 0o777, f).toBe(0o600);
      }
      store.close();
      chmodSync(file, 0o644);
      track(SqliteStateStore.open(file));
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });

  it("can be opened with `new` as well as `open`", () => {
    track(SqliteStateStore.open(file)).putLink(fullLink(1));
    expect(track(new SqliteStateStore(file)).getLink("link-1")).toStrictEqual(fullLink(1));
  });

  it("does not keep a transaction that threw, after reopening", () => {
    const first = SqliteStateStore.open(file);
    first.putLink(fullLink(1));
    expect(() =>
      first.transaction(() => {
        first.putLink(fullLink(2));
        throw new Error("crash");
      }),
    ).toThrow("crash");
    first.close();
    expect(track(SqliteStateStore.open(file)).listLinks()).toStrictEqual([fullLink(1)]);
  });

  it("puts the file in WAL mode with the cosell application id and the latest schema version", () => {
    track(SqliteStateStore.open(file)).close();
    const raw = track(new Database(file, { readonly: true }));
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(raw.pragma("application_id", { simple: true })).toBe(COSELL_APPLICATION_ID);
    expect(raw.prepare("SELECT max(version) AS v FROM schema_version").get()).toEqual({
      v: LATEST_SCHEMA_VERSION,
    });
  });

  it("lets a second connection see committed writes, and not uncommitted ones", () => {
    const writer = track(SqliteStateStore.open(file));
    const reader = track(SqliteStateStore.open(file));
    writer.putLink(fullLink(1));
    expect(reader.getLink("link-1")).toStrictEqual(fullLink(1));
    writer.transaction(() => {
      writer.putLink(fullLink(2));
      // WAL: the reader sees the last commit and is not blocked by the open write transaction.
      expect(reader.getLink("link-2")).toBeUndefined();
    });
    expect(reader.getLink("link-2")).toStrictEqual(fullLink(2));
  });

  it("reopening does not apply the migrations again", () => {
    track(SqliteStateStore.open(file)).close();
    track(SqliteStateStore.open(file)).close();
    const raw = track(new Database(file, { readonly: true }));
    expect(raw.prepare("SELECT count(*) AS n FROM schema_version").get()).toEqual({ n: MIGRATIONS.length });
  });

  it("applies only the migrations newer than the database, in one go", () => {
    track(SqliteStateStore.open(file)).close();
    const db = track(new Database(file));
    const next: Migration = {
      version: LATEST_SCHEMA_VERSION + 1,
      description: "test column",
      sql: "ALTER TABLE links ADD COLUMN test_note TEXT",
    };
    migrate(db, file, [...MIGRATIONS, next]);
    migrate(db, file, [...MIGRATIONS, next]);
    const versions = db.prepare("SELECT version FROM schema_version ORDER BY version").all();
    expect(versions).toEqual([...MIGRATIONS, next].map((m) => ({ version: m.version })));
    expect(
      db.prepare("SELECT name FROM pragma_table_info('links') WHERE name = 'test_note'").get(),
    ).toBeDefined();
  });

  it("rolls back a migration that fails, leaving the version where it was", () => {
    track(SqliteStateStore.open(file)).close();
    const db = track(new Database(file));
    const broken: Migration[] = [
      ...MIGRATIONS,
      { version: LATEST_SCHEMA_VERSION + 1, description: "ok", sql: "CREATE TABLE extra (x INTEGER)" },
      { version: LATEST_SCHEMA_VERSION + 2, description: "broken", sql: "THIS IS NOT SQL" },
    ];
    expect(() => migrate(db, file, broken)).toThrow();
    expect(db.prepare("SELECT max(version) AS v FROM schema_version").get()).toEqual({
      v: LATEST_SCHEMA_VERSION,
    });
    expect(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'extra'").get()).toBeUndefined();
  });

  it("refuses a database written by a newer cosell with STATE_STORE_TOO_NEW", () => {
    track(SqliteStateStore.open(file)).close();
    const raw = new Database(file);
    raw
      .prepare("INSERT INTO schema_version (version, description, applied_at) VALUES (?, 'future', 'x')")
      .run(LATEST_SCHEMA_VERSION + 1);
    raw.close();
    const err = catchError(() => SqliteStateStore.open(file));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({
      code: "STATE_STORE_TOO_NEW",
      details: { schemaVersion: LATEST_SCHEMA_VERSION + 1 },
    });
    expect((err as Error).message).toMatch(/Upgrade cosell/);
  });

  it("refuses a file that is not a database with STATE_STORE_UNUSABLE and leaves it untouched", () => {
    const text = "name,amount\nContoso,100\n".repeat(20);
    writeFileSync(file, text);
    const err = catchError(() => SqliteStateStore.open(file));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: "STATE_STORE_UNUSABLE", details: { path: file } });
    expect((err as Error).message).toMatch(/not a cosell state database.*new file name/);
  });

  it("refuses another application's SQLite database without changing it", () => {
    const other = new Database(file);
    other.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY)");
    other.close();
    expect(catchError(() => SqliteStateStore.open(file))).toMatchObject({ code: "STATE_STORE_UNUSABLE" });
    const raw = track(new Database(file, { readonly: true }));
    expect(raw.pragma("journal_mode", { simple: true })).toBe("delete");
    expect(raw.prepare("SELECT name FROM sqlite_master").all()).toEqual([{ name: "invoices" }]);
  });

  it("accepts an empty file as a new database", () => {
    writeFileSync(file, "");
    const store = track(SqliteStateStore.open(file));
    store.putLink(fullLink(1));
    expect(store.listLinks()).toHaveLength(1);
  });

  it("names the missing folder when the path's folder does not exist", () => {
    const missing = join(dir, "no-such-folder", "state.db");
    const err = catchError(() => SqliteStateStore.open(missing));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({
      code: "STATE_STORE_UNUSABLE",
      details: { folder: join(dir, "no-such-folder") },
    });
    expect((err as Error).message).toMatch(/does not exist\. Create the folder/);
  });

  it("refuses a folder given as the file", () => {
    expect(catchError(() => SqliteStateStore.open(dir))).toMatchObject({ code: "STATE_STORE_UNUSABLE" });
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}
