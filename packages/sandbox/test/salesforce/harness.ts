import jsforce, { type Connection } from "jsforce";
import {
  FaultInjector,
  listen,
  RequestLog,
  type RunningServer,
  SandboxClock,
  TokenRegistry,
} from "../../src/kit/index.js";
import {
  createSalesforceServer,
  type SalesforceOrgOptions,
  type SalesforceServer,
} from "../../src/salesforce/index.js";

/** API version every test passes explicitly (jsforce's default 50.0 is too old, salesforce.md §0). */
export const VERSION = "62.0";

export interface TestOrg {
  clock: SandboxClock;
  tokens: TokenRegistry;
  log: RequestLog;
  faults: FaultInjector;
  server: SalesforceServer;
  running: RunningServer;
  url: string;
  close(): Promise<void>;
}

/** Starts an org on 127.0.0.1 with a frozen clock (so timestamps are deterministic). */
export async function startOrg(
  options: SalesforceOrgOptions = {},
  start = new Date("2025-03-10T09:00:00.000Z"),
): Promise<TestOrg> {
  const clock = new SandboxClock(start, { frozen: true });
  const tokens = new TokenRegistry(clock);
  const log = new RequestLog();
  const faults = new FaultInjector();
  const server = createSalesforceServer({ clock, tokens }, options);
  const running = await listen(server, { clock, log, faults });
  return { clock, tokens, log, faults, server, running, url: running.url, close: () => running.close() };
}

/** A jsforce connection logged in with the client-credentials flow (no refresh unless `refreshFn` given). */
export async function clientCredentials(
  org: TestOrg,
  extra: Record<string, unknown> = {},
): Promise<Connection> {
  const app = org.server.control.connectedApp;
  const conn = new jsforce.Connection({
    version: VERSION,
    loginUrl: org.url,
    oauth2: { clientId: app.clientId, clientSecret: app.clientSecret, loginUrl: org.url },
    ...extra,
  });
  await conn.authorize({ grant_type: "client_credentials" });
  return conn;
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(
  p: PromiseLike<unknown>,
): Promise<Error & { errorCode?: string; data?: unknown }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { errorCode?: string };
  }
  throw new Error("expected the call to fail, but it succeeded");
}
