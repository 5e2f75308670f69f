import { afterEach, describe, expect, it } from "vitest";
import {
  BlockingClient,
  migrateSchema,
  PG_LATEST_VERSION,
  PG_MIGRATIONS,
  schemaVersion,
} from "../src/index.js";
import { databaseUrl, dropSchema, uniqueSchema } from "./database.js";

const schemas: string[] = [];
const clients: BlockingClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of schemas.splice(0)) await dropSchema(s);
});

function setUp(): { db: BlockingClient; schema: string } {
  const schema = uniqueSchema("mig");
  schemas.push(schema);
  const db = new BlockingClient({ connectionString: databaseUrl() });
  clients.push(db);
  return { db, schema };
}

describe("migrateSchema", () => {
  it("applies every migration to a new schema, then finds it current and applies nothing", () => {
    const { db, schema } = setUp();
    expect(migrateSchema(db, schema)).toEqual(PG_MIGRATIONS.map((m) => m.version));
    expect(schemaVersion(db, schema)).toBe(PG_LATEST_VERSION);
    expect(migrateSchema(db, schema)).toEqual([]);
    expect(schemaVersion(db, schema)).toBe(PG_LATEST_VERSION);
  });

  it("applies only the migrations a schema lacks", () => {
    const { db, schema } = setUp();
    const [first, second] = [
      { version: 1, description: "one", sql: "CREATE TABLE one (id integer)" },
      { version: 2, description: "two", sql: "CREATE TABLE two (id integer)" },
    ];
    expect(migrateSchema(db, schema, [first!])).toEqual([1]);
    expect(migrateSchema(db, schema, [first!, second!])).toEqual([2]);
    expect(migrateSchema(db, schema, [first!, second!])).toEqual([]);
    expect(
      db.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [`"${schema}".two`]).rows[0]?.t,
    ).not.toBe(null);
  });

  it("refuses a schema a newer cosell migrated, naming the upgrade", () => {
    const { db, schema } = setUp();
    migrateSchema(db, schema);
    db.query(
      `INSERT INTO "${schema}".cosell_migrations (version, description) VALUES ($1, 'from the future')`,
      [PG_LATEST_VERSION + 1],
    );
    let error: unknown;
    try {
      migrateSchema(db, schema);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: "STATE_STORE_TOO_NEW" });
    expect((error as Error).message).toContain("Upgrade cosell");
  });
});
