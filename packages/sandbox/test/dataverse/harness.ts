import {
  createDataverseServer,
  type DataverseOptions,
  type DataverseServer,
  SANDBOX_DATAVERSE_RESOURCE,
} from "../../src/dataverse/index.js";
import {
  FaultInjector,
  listen,
  RequestLog,
  type RunningServer,
  SandboxClock,
  TokenRegistry,
} from "../../src/kit/index.js";

/** The sandbox clock tests start at (frozen, so timestamps are predictable). */
export const T0 = new Date("2025-03-03T09:00:00Z");

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Use this bearer token instead of the harness's. `null` sends no Authorization header. */
  token?: string | null;
}

/** A running Dataverse emulator with a plain-fetch client, as an adapter would talk to it. */
export interface DataverseHarness {
  clock: SandboxClock;
  tokens: TokenRegistry;
  log: RequestLog;
  faults: FaultInjector;
  server: DataverseServer;
  running: RunningServer;
  token: string;
  /** Service root, e.g. `http://127.0.0.1:PORT/api/data/v9.2/`. */
  api: string;
  /** Sends a request; `path` is relative to the service root unless absolute. */
  call(method: string, path: string, options?: CallOptions): Promise<Response>;
  /** GET and parse JSON, asserting nothing. */
  getJson<T = Record<string, unknown>>(
    path: string,
    headers?: Record<string, string>,
  ): Promise<{ res: Response; body: T }>;
  /** Issues a new token (after moving the clock past the old one's expiry) and uses it from now on. */
  renewToken(): string;
  close(): Promise<void>;
}

export const CLIENT_ID = "0c6b3b9e-3f7a-4d0e-9a51-6d7e8f9a0b1c";

export async function startDataverse(options: DataverseOptions = {}): Promise<DataverseHarness> {
  const clock = new SandboxClock(T0, { frozen: true });
  const tokens = new TokenRegistry(clock);
  const log = new RequestLog();
  const faults = new FaultInjector();
  const server = createDataverseServer({ clock, tokens }, options);
  const running = await listen(server, { clock, log, faults });
  const issue = () =>
    tokens.issue({
      clientId: CLIENT_ID,
      audience: SANDBOX_DATAVERSE_RESOURCE,
      scopes: [`${SANDBOX_DATAVERSE_RESOURCE}/.default`],
      ttlSeconds: 3600,
    }).token;
  let token = issue();
  const api = `${running.url}/api/data/v9.2/`;
  const call = (method: string, path: string, o: CallOptions = {}) => {
    const headers: Record<string, string> = {
      Accept: "application/json",
      "OData-MaxVersion": "4.0",
      "OData-Version": "4.0",
      ...(o.body !== undefined ? { "Content-Type": "application/json" } : {}),
      ...(o.headers ?? {}),
    };
    const bearer = o.token === undefined ? token : o.token;
    if (bearer !== null) headers.Authorization = `Bearer ${bearer}`;
    return fetch(/^https?:/.test(path) ? path : api + path, {
      method,
      headers,
      body: o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body),
    });
  };
  return {
    clock,
    tokens,
    log,
    faults,
    server,
    running,
    get token() {
      return token;
    },
    api,
    renewToken() {
      token = issue();
      return token;
    },
    call,
    async getJson<T>(path: string, headers: Record<string, string> = {}) {
      const res = await call("GET", path, { headers });
      return { res, body: (await res.json()) as T };
    },
    close: () => running.close(),
  };
}

/** The id in an `OData-EntityId` header. */
export function entityId(res: Response): string {
  const h = res.headers.get("OData-EntityId") ?? "";
  const m = /\(([0-9a-f-]{36})\)$/.exec(h);
  if (!m) throw new Error(`No entity id in OData-EntityId '${h}'`);
  return m[1]!;
}

export type Rows = {
  value: Record<string, unknown>[];
  "@odata.nextLink"?: string;
  "@odata.deltaLink"?: string;
  "@odata.context": string;
};
