import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { PartnerCenterError } from "../partner-center/errors.js";
import { ControlError, SandboxError } from "./errors.js";

/** What a control route receives. */
export interface ControlRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON body (`undefined` when empty). */
  body: unknown;
}

/** One route of the control API. Handlers return the JSON to answer with 200 (or throw). */
export interface ControlRoute {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path template, e.g. `/microsoft/referrals/{id}/engage`. */
  path: string;
  /** One line for the route list at `GET /`. */
  summary: string;
  handle(req: ControlRequest): unknown;
}

/** The running control server. */
export interface RunningControlServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Parses a control request body with `schema`; a mismatch is a 400 naming the field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue?.path.map(String).join(".") || "(body)";
  throw new ControlError(
    400,
    "BAD_REQUEST",
    `Field "${field}" is invalid: ${issue?.message ?? "unexpected value"}.`,
  );
}

function compile(path: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path
    .split("/")
    .map((seg) => {
      const m = /^\{(\w+)\}$/.exec(seg);
      if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(m[1]!);
      return "([^/]+)";
    })
    .join("/");
  return { regex: new RegExp(`^${source}/?$`), names };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const payload = body === undefined ? "" : JSON.stringify(body, null, 2);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(payload),
  });
  res.end(payload);
}

function toError(e: unknown): { status: number; body: unknown } {
  if (e instanceof ControlError)
    return { status: e.status, body: { error: { code: e.code, message: e.message } } };
  if (e instanceof PartnerCenterError)
    return {
      status: e.status,
      body: { error: { code: e.reason ?? (e.status === 404 ? "NOT_FOUND" : e.code), message: e.message } },
    };
  if (e instanceof SandboxError)
    return { status: 409, body: { error: { code: e.code, message: e.message } } };
  if (e instanceof z.ZodError)
    return {
      status: 400,
      body: { error: { code: "BAD_REQUEST", message: e.issues[0]?.message ?? "Invalid input." } },
    };
  return {
    status: 500,
    body: { error: { code: "CONTROL_FAILED", message: e instanceof Error ? e.message : String(e) } },
  };
}

/**
 * Serves `routes` on 127.0.0.1 with a plain `node:http` server, deliberately outside the kit's
 * `listen`: control calls are the test's own actions, not traffic of an emulated system, so they
 * never show in the request log and faults are never injected into them. No authentication: it
 * listens on loopback only. `GET /` lists every route.
 */
export async function startControlServer(
  routes: readonly ControlRoute[],
  port = 0,
): Promise<RunningControlServer> {
  const table = routes.map((r) => ({ route: r, ...compile(r.path) }));

  async function serve(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    if (method === "GET" && (url.pathname === "/" || url.pathname === "")) {
      send(res, 200, {
        routes: routes.map((r) => ({ method: r.method, path: r.path, summary: r.summary })),
      });
      return;
    }
    const candidates = table.filter((t) => t.regex.test(url.pathname));
    const hit = candidates.find((t) => t.route.method === method);
    if (!hit) {
      send(
        res,
        candidates.length ? 405 : 404,
        candidates.length
          ? {
              error: {
                code: "METHOD_NOT_ALLOWED",
                message: `Use ${candidates.map((c) => c.route.method).join(", ")} on ${url.pathname}.`,
              },
            }
          : {
              error: {
                code: "NOT_FOUND",
                message: `No control route ${method} ${url.pathname}; GET / lists them.`,
              },
            },
      );
      return;
    }
    try {
      let body: unknown;
      if (raw.length) {
        try {
          body = JSON.parse(raw.toString("utf8"));
        } catch (e) {
          throw new ControlError(400, "BAD_JSON", `The body is not valid JSON (${(e as Error).message}).`);
        }
      }
      const values = hit.regex.exec(url.pathname)!.slice(1);
      const params = Object.fromEntries(hit.names.map((n, i) => [n, decodeURIComponent(values[i] ?? "")]));
      const result = await hit.route.handle({ params, query: url.searchParams, body });
      send(res, 200, result ?? { ok: true });
    } catch (e) {
      const { status, body } = toError(e);
      send(res, status, body);
    }
  }

  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => void serve(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, "127.0.0.1", () => resolve());
  });
  const actual = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
