import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { SandboxClock } from "./clock.js";
import type { Fault, FaultInjector } from "./faults.js";
import type { RequestLog, ServerName } from "./request-log.js";

/** A request as the emulators see it: parsed URL and the whole body already read. */
export interface SandboxRequest {
  method: string;
  url: URL;
  headers: IncomingMessage["headers"];
  body: Buffer;
  /** The origin clients reached this server at, e.g. `http://127.0.0.1:53211`. */
  origin: string;
  /** Route name for the request log (`GET /referrals/{id}`); set by the handler. */
  endpoint?: string;
  /** Set by the handler of a POST that only read (a Salesforce composite of GETs): logged as a read. */
  readOnly?: boolean;
  text(): string;
  /** Parses the body as JSON; throws {@link BadJson} when it is not. */
  json<T = unknown>(): T;
}

export class BadJson extends Error {}

/** What a server answers: a status, headers and a body (JSON value, string or Buffer). */
export interface SandboxResponse {
  status: number;
  headers?: Record<string, string | number | string[]>;
  /** Objects and arrays are sent as JSON; strings and Buffers as they are. */
  body?: unknown;
}

/** One emulated system. */
export interface EmulatedServer {
  name: ServerName;
  handle(req: SandboxRequest): Promise<SandboxResponse> | SandboxResponse;
  /**
   * The system's own shape for an injected 429 / 5xx (Retry-After is added by the kit); `req` lets an
   * endpoint with its own error format (an OAuth token endpoint) answer in it.
   */
  faultResponse(
    fault: Extract<Fault, { kind: "throttle" | "serverError" }>,
    req?: SandboxRequest,
  ): SandboxResponse;
  /** The system's own shape for an injected 412 on a write. */
  preconditionFailedResponse?(req: SandboxRequest): SandboxResponse;
  /**
   * Takes a request before the kit reads it, for an endpoint that answers from the raw stream
   * (CometD long polls held open for minutes). Returns true when it took the request; such requests
   * are logged when answered and never get injected faults.
   */
  raw?(req: IncomingMessage, res: ServerResponse): boolean;
  /** Releases what the server holds besides its HTTP listener (long-poll timers). */
  close?(): void;
}

export interface SharedServices {
  clock: SandboxClock;
  log: RequestLog;
  faults: FaultInjector;
}

export interface RunningServer {
  name: ServerName;
  url: string;
  port: number;
  close(): Promise<void>;
}

export const json = (
  status: number,
  body: unknown,
  headers: SandboxResponse["headers"] = {},
): SandboxResponse => ({
  status,
  headers,
  body,
});

function defaultEndpoint(method: string, path: string): string {
  // Ids (GUIDs, Salesforce ids, numbers) are folded so counts group by route.
  const p = path
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "{id}")
    .replace(/\/[a-zA-Z0-9]{15,18}(?=\/|$)/g, "/{id}")
    .replace(/\/\d+(?=\/|$)/g, "/{n}");
  return `${method} ${p}`;
}

function write(res: ServerResponse, r: SandboxResponse): void {
  const headers: Record<string, string | number | string[]> = { ...(r.headers ?? {}) };
  let payload: Buffer | string | undefined;
  if (r.body === undefined || r.body === null) payload = undefined;
  else if (Buffer.isBuffer(r.body) || typeof r.body === "string") payload = r.body;
  else {
    payload = JSON.stringify(r.body);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === "content-type"))
      headers["content-type"] = "application/json; charset=utf-8";
  }
  if (payload !== undefined) headers["content-length"] = Buffer.byteLength(payload);
  res.writeHead(r.status, headers);
  res.end(payload);
}

/**
 * Serves `server` on 127.0.0.1 with the shared request log and fault injector in front of it.
 * Port 0 (the default) lets the OS choose.
 */
export async function listen(
  server: EmulatedServer,
  shared: SharedServices,
  port = 0,
): Promise<RunningServer> {
  const http: Server = createServer((req, res) => {
    if (server.raw) {
      const at = shared.clock.now().toISOString();
      const method = req.method ?? "GET";
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (server.raw(req, res)) {
        res.on("finish", () =>
          shared.log.record({
            server: server.name,
            method,
            url: path,
            endpoint: defaultEndpoint(method, path.replace(/\/\d+\.\d+(?=\/|$)/, "/{version}")),
            status: res.statusCode,
            at,
          }),
        );
        return;
      }
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void serve(req, res, Buffer.concat(chunks));
    });
  });

  async function serve(raw: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const origin = `http://${raw.headers.host ?? "127.0.0.1"}`;
    const url = new URL(raw.url ?? "/", origin);
    const method = raw.method ?? "GET";
    const req: SandboxRequest = {
      method,
      url,
      headers: raw.headers,
      body,
      origin,
      text: () => body.toString("utf8"),
      json: <T>() => {
        try {
          return JSON.parse(body.toString("utf8")) as T;
        } catch (e) {
          throw new BadJson((e as Error).message);
        }
      },
    };
    const at = shared.clock.now().toISOString();
    const { fault, latencyMs } = shared.faults.decide(server.name, method, url.pathname);
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    const logIt = (status: number, faultName?: string, retryAfter?: number) =>
      shared.log.record({
        server: server.name,
        method,
        url: url.pathname + url.search,
        endpoint: req.endpoint ?? defaultEndpoint(method, url.pathname),
        ...(req.readOnly ? { readOnly: true } : {}),
        status,
        fault: faultName,
        at,
        retryAfter,
      });

    if (fault?.kind === "reset") {
      logIt(0, "reset");
      raw.socket.destroy();
      return;
    }
    if (fault?.kind === "throttle" || fault?.kind === "serverError") {
      const r = server.faultResponse(fault, req);
      const retryAfter = fault.kind === "throttle" ? Math.ceil(fault.retryAfterSeconds) : undefined;
      if (retryAfter !== undefined) r.headers = { ...r.headers, "retry-after": String(retryAfter) };
      logIt(r.status, fault.kind, retryAfter);
      write(res, r);
      return;
    }
    if (fault?.kind === "preconditionFailed" && server.preconditionFailedResponse) {
      const r = server.preconditionFailedResponse(req);
      logIt(r.status, "preconditionFailed");
      write(res, r);
      return;
    }
    let r: SandboxResponse;
    try {
      r = await server.handle(req);
    } catch (e) {
      r =
        e instanceof BadJson
          ? server.faultResponse({ kind: "serverError", status: 500 })
          : server.faultResponse({ kind: "serverError", status: 500 });
      if (e instanceof BadJson) r = { ...r, status: 400 };
      else console.error(`[sandbox:${server.name}] ${method} ${url.pathname} crashed:`, e);
    }
    const ra = r.headers?.["retry-after"] ?? r.headers?.["Retry-After"];
    logIt(r.status, undefined, ra === undefined ? undefined : Number(ra));
    write(res, r);
  }

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, "127.0.0.1", () => resolve());
  });
  const actual = (http.address() as AddressInfo).port;
  return {
    name: server.name,
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close?.();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
