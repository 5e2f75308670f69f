import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { CrmWrite } from "@cosell/core";
import { createMemoryAdapter, type MemoryCrm } from "@cosell/core/testing";
import { FaultInjector, type FaultRates, type ServerName } from "@cosell/sandbox";

/**
 * The chaos run's CRM: a {@link MemoryCrm} in the test process, served over loopback HTTP so that it
 * outlives every SIGKILL of the sync worker. The worker reaches it through a thin adapter
 * (worker.mjs) whose every call is one POST here: `/changes`, `/read`, `/apply`, `/describe`.
 * Behind the routes is core's reference memory adapter, so the CRM semantics are the contract's.
 *
 * The same kinds of fault as the sandbox's are injected (429 + Retry-After, 5xx, connection resets),
 * from a seeded {@link FaultInjector}. A reset of `/apply` happens after the writes were applied, so
 * the worker cannot tell whether they landed: the nastiest case for duplicates.
 *
 * Once `@cosell/salesforce` or `@cosell/dynamics` lands, the sandbox's Salesforce or Dataverse server
 * with the real adapter takes this one's place.
 */
export interface ChaosCrmServer {
  url: string;
  faults: FaultInjector;
  /** Requests served, by route. */
  calls: Record<string, number>;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Starts the CRM server on 127.0.0.1 with fault `rates` (set `faults.setRates({})` to stop them). */
export async function startChaosCrm(
  crm: MemoryCrm,
  options: { seed: number; rates: FaultRates },
): Promise<ChaosCrmServer> {
  // Small pages and batches, so one cycle spans many calls (and many points to be killed at).
  const adapter = createMemoryAdapter(crm, { pageSize: 10, batchSize: 10 });
  const faults = new FaultInjector(options.seed);
  // The injector knows the sandbox's server names; this CRM borrows Salesforce's slot.
  const name: ServerName = "salesforce";
  faults.setRates(options.rates, name);
  const calls: Record<string, number> = {};

  const server: Server = createServer(async (req, res) => {
    const route = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    calls[route] = (calls[route] ?? 0) + 1;
    try {
      const body = await readJson(req);
      const { fault } = faults.decide(name, req.method ?? "POST", route);
      if (fault?.kind === "throttle") {
        res.writeHead(429, {
          "retry-after": String(Math.ceil(fault.retryAfterSeconds)),
          "content-type": "application/json",
        });
        res.end(JSON.stringify({ error: "REQUEST_LIMIT_EXCEEDED" }));
        return;
      }
      if (fault?.kind === "serverError") {
        res.writeHead(fault.status, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "SERVER_UNAVAILABLE" }));
        return;
      }
      if (fault?.kind === "reset" && route !== "/apply") {
        req.socket.destroy();
        return;
      }
      let result: unknown;
      if (route === "/describe") result = await adapter.describe();
      else if (route === "/changes") {
        const pages = [];
        for await (const page of adapter.changes(body.cursor as string | undefined, { overlapMs: 0 }))
          pages.push(page);
        result = { pages };
      } else if (route === "/read") result = await adapter.read(body.ids as string[]);
      else if (route === "/apply") result = await adapter.apply(body.writes as CrmWrite[]);
      else {
        res.writeHead(404).end();
        return;
      }
      if (fault?.kind === "reset") {
        // Applied, but the answer never arrives.
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(result));
    } catch (e) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: (e as Error).message }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
