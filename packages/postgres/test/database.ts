import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";

// What `test/setup/postgres.ts` (the root global set-up) provides.
declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseError: string;
  }
}

/**
 * The PostgreSQL server found (or started) by `test/setup/postgres.ts`. Throws its reason when there
 * is none: PostgreSQL tests fail loudly, they are never skipped.
 */
export function databaseUrl(): string {
  const error = inject("databaseError");
  if (error) throw new Error(error);
  return inject("databaseUrl");
}

/** A schema name no other test (in this file or any other running at once) uses. */
export function uniqueSchema(prefix = "t"): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
}

/** Runs `fn` with a plain async connection (for set-up, checks and dropping schemas). */
export async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await withClient((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}
