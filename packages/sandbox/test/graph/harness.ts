import {
  createGraphServer,
  type GraphOptions,
  type GraphServer,
  SANDBOX_GRAPH_RESOURCE,
} from "../../src/graph/index.js";
import {
  FaultInjector,
  listen,
  RequestLog,
  type RunningServer,
  SandboxClock,
  TokenRegistry,
} from "../../src/kit/index.js";

export interface GraphHarness {
  clock: SandboxClock;
  tokens: TokenRegistry;
  faults: FaultInjector;
  log: RequestLog;
  server: GraphServer;
  running: RunningServer;
  token: string;
  /** `http://127.0.0.1:PORT/v1.0/`. */
  root: string;
  get(path: string, headers?: Record<string, string>, token?: string | null): Promise<Response>;
  close(): Promise<void>;
}

export async function startGraph(options: GraphOptions = {}): Promise<GraphHarness> {
  const clock = new SandboxClock(new Date("2025-03-03T09:00:00Z"), { frozen: true });
  const tokens = new TokenRegistry(clock);
  const faults = new FaultInjector();
  const log = new RequestLog();
  const server = createGraphServer({ clock, tokens }, options);
  const running = await listen(server, { clock, log, faults });
  const token = tokens.issue({
    clientId: "graph-test-app",
    audience: SANDBOX_GRAPH_RESOURCE,
    scopes: [`${SANDBOX_GRAPH_RESOURCE}/.default`],
    ttlSeconds: 3600,
  }).token;
  const root = `${running.url}/v1.0/`;
  return {
    clock,
    tokens,
    faults,
    log,
    server,
    running,
    token,
    root,
    get: (path, headers = {}, t = token) =>
      fetch(/^https?:/.test(path) ? path : root + path, {
        headers: { ...(t === null ? {} : { Authorization: `Bearer ${t}` }), ...headers },
      }),
    close: () => running.close(),
  };
}
