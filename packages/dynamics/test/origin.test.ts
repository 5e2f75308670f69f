import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type ChangePage, ConfigError, type CrmAdapter } from "@cosell/core";
import { sampleDeal } from "@cosell/core/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDynamicsAdapter, type DynamicsConfigInput } from "../src/index.js";
import { disposePristine, dynamicsFixture, sandboxConfig } from "./helpers.js";

/**
 * Tokens and customer data stay on the environment's origin: links Dataverse hands back (nextLink,
 * deltaLink, a stored delta cursor) are followed only on that origin, redirects are never followed,
 * page loops are bounded, every attempt has a deadline and every body a size cap. The adapter talks
 * to the sandbox's Dataverse; a `fetch` wrapper plays the compromised or broken answers, and a second
 * loopback server stands for "another host" and records whatever reaches it.
 */
let fx: Awaited<ReturnType<typeof dynamicsFixture>>;
const servers: Server[] = [];
let elsewhere: { url: string; seen: { url: string; auth: string | undefined }[] };

async function listen(handler: (req: IncomingMessage, res: import("node:http").ServerResponse) => void) {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  fx = await dynamicsFixture();
  for (let i = 0; i < 3; i++)
    await fx.crm.createOpportunity(sampleDeal({ name: `Deal ${i}` }), { optedIn: true });
  const seen: { url: string; auth: string | undefined }[] = [];
  const url = await listen((req, res) => {
    seen.push({ url: req.url!, auth: req.headers.authorization });
    res.writeHead(200, { "content-type": "application/json" }).end('{"value":[]}');
  });
  elsewhere = { url, seen };
}, 60_000);
afterEach(() => {
  elsewhere.seen.length = 0;
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await fx?.dispose();
  await disposePristine();
});

/** An adapter on the sandbox whose answers to opportunity reads pass through `rewrite`. */
function adapterWith(
  rewrite: (body: Record<string, unknown>, url: string) => Record<string, unknown>,
  extra: Partial<DynamicsConfigInput> = {},
): CrmAdapter {
  return createDynamicsAdapter(sandboxConfig(fx.sb, { resolveTeamFromGraph: false, ...extra }), {
    now: () => fx.sb.clock.now(),
    sleep: async () => undefined,
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      const url = String(input);
      if (!/\/opportunities\?/.test(url) || res.status !== 200) return res;
      const body = rewrite((await res.json()) as Record<string, unknown>, url);
      return new Response(JSON.stringify(body), { status: 200, headers: res.headers });
    },
  });
}

async function drain(adapter: CrmAdapter, cursor?: string): Promise<ChangePage[]> {
  const pages: ChangePage[] = [];
  for await (const p of adapter.changes(cursor, { overlapMs: 0 })) pages.push(p);
  return pages;
}

const moved = (link: unknown) => {
  const u = new URL(String(link));
  return `${elsewhere.url}${u.pathname}${u.search}`;
};

describe("dynamics: links stay on the environment's origin", () => {
  it("an @odata.nextLink to another host is refused and nothing reaches that host", async () => {
    const adapter = adapterWith(
      (b) => (b["@odata.nextLink"] ? { ...b, "@odata.nextLink": moved(b["@odata.nextLink"]) } : b),
      {
        changeTracking: "on",
        pageSize: 1,
      },
    );
    const pages: ChangePage[] = [];
    const err = await (async () => {
      for await (const p of adapter.changes(undefined, { overlapMs: 0 })) pages.push(p);
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "REMOTE_LINK_REFUSED" });
    expect(elsewhere.seen).toEqual([]);
    // No page handed the engine a cursor pointing elsewhere.
    for (const p of pages) expect(p.cursor).not.toContain(elsewhere.url);
  });

  it("an @odata.deltaLink to another host is never stored as the cursor", async () => {
    const adapter = adapterWith(
      (b) => (b["@odata.deltaLink"] ? { ...b, "@odata.deltaLink": moved(b["@odata.deltaLink"]) } : b),
      { changeTracking: "on" },
    );
    const pages: ChangePage[] = [];
    const err = await (async () => {
      for await (const p of adapter.changes(undefined, { overlapMs: 0 })) pages.push(p);
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "REMOTE_LINK_REFUSED" });
    for (const p of pages) expect(p.cursor).not.toContain(elsewhere.url);
  });

  it("a stored delta cursor pointing at another host is not followed: tracking starts over", async () => {
    const adapter = adapterWith((b) => b, { changeTracking: "on" });
    const pages = await drain(adapter, `delta:${elsewhere.url}/api/data/v9.2/opportunities?$deltatoken=1`);
    expect(elsewhere.seen).toEqual([]);
    expect(pages.flatMap((p) => p.records).length).toBeGreaterThanOrEqual(3);
    expect(pages.at(-1)!.cursor).toContain(new URL(fx.sb.credentials.dataverse.environmentUrl).origin);
  });

  it("a poll nextLink over plain http to another host is refused", async () => {
    const adapter = adapterWith(
      (b) => (b["@odata.nextLink"] ? { ...b, "@odata.nextLink": moved(b["@odata.nextLink"]) } : b),
      { changeTracking: "off", pageSize: 1 },
    );
    await expect(drain(adapter)).rejects.toMatchObject({ code: "REMOTE_LINK_REFUSED" });
    expect(elsewhere.seen).toEqual([]);
  });

  it("a nextLink that points back at a page already read stops the loop", async () => {
    let first: string | undefined;
    const adapter = adapterWith(
      (b, url) => {
        first ??= url;
        return { ...b, "@odata.nextLink": first };
      },
      { changeTracking: "off", pageSize: 1 },
    );
    await expect(drain(adapter)).rejects.toMatchObject({ code: "REMOTE_PAGE_LOOP" });
  });
});

describe("dynamics: redirects, deadlines, size caps", () => {
  it("a redirect is refused, not followed to its Location", async () => {
    const redirector = await listen((_req, res) => {
      res.writeHead(307, { location: `${elsewhere.url}/api/data/v9.2/opportunities` }).end();
    });
    const adapter = createDynamicsAdapter(
      sandboxConfig(fx.sb, { resolveTeamFromGraph: false, maxRetries: 0 }),
      {
        sleep: async () => undefined,
        fetch: (input, init) => {
          const u = new URL(String(input));
          return fetch(
            u.pathname.endsWith("/opportunities") ? `${redirector}${u.pathname}${u.search}` : input,
            init,
          );
        },
      },
    );
    await expect(adapter.read(["3f2504e0-4f89-11d3-9a0c-0305e82c3301"])).rejects.toMatchObject({
      code: "REMOTE_REDIRECT_REFUSED",
    });
    expect(elsewhere.seen).toEqual([]);
  });

  it("an attempt with no answer is abandoned after requestTimeoutMs", async () => {
    const hanging = await listen(() => {
      // never answers
    });
    const adapter = createDynamicsAdapter(
      sandboxConfig(fx.sb, { resolveTeamFromGraph: false, maxRetries: 0, requestTimeoutMs: 200 }),
      {
        sleep: async () => undefined,
        fetch: (input, init) => {
          const u = new URL(String(input));
          return fetch(
            u.pathname.endsWith("/opportunities") ? `${hanging}${u.pathname}${u.search}` : input,
            init,
          );
        },
      },
    );
    const err = await adapter.read(["3f2504e0-4f89-11d3-9a0c-0305e82c3301"]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "DATAVERSE_UNREACHABLE" });
    expect((err as Error).message).toContain("no answer within 200 ms");
  });

  it("an answer over maxResponseBytes is refused with a clear error", async () => {
    const adapter = adapterWith((b) => b, { changeTracking: "off", maxResponseBytes: 2_000 });
    const err = await drain(adapter).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "REMOTE_RESPONSE_TOO_LARGE" });
    expect((err as Error).message).toContain("maxResponseBytes");
  });
});

describe("dynamics: an environment that cannot be reached", () => {
  /** An adapter whose Dataverse calls fail to connect with `code`; counts the attempts. */
  function unreachable(code: string) {
    const seen = { calls: 0 };
    const adapter = createDynamicsAdapter(sandboxConfig(fx.sb, { resolveTeamFromGraph: false }), {
      now: () => fx.sb.clock.now(),
      sleep: async () => undefined,
      fetch: async (input, init) => {
        if (!String(input).includes("/api/data/")) return fetch(input, init);
        seen.calls++;
        const host = new URL(String(input)).host;
        throw new TypeError("fetch failed", {
          cause: Object.assign(new Error(`getaddrinfo ${code} ${host}`), { code }),
        });
      },
    });
    return { adapter, seen };
  }

  it("a host name that does not resolve is a config error at once, naming the host and crm.environmentUrl", async () => {
    const { adapter, seen } = unreachable("ENOTFOUND");
    const err = await drain(adapter).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: "REMOTE_HOST_NOT_FOUND" });
    expect((err as Error).message).toContain(new URL(fx.sb.urls.dataverse).host);
    expect((err as Error).message).toContain("Check crm.environmentUrl.");
    expect(seen.calls).toBe(1);
  });

  it("a refused connection is retried, then named with its cause and crm.environmentUrl", async () => {
    const { adapter, seen } = unreachable("ECONNREFUSED");
    const err = await drain(adapter).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "DATAVERSE_UNREACHABLE", retryable: true });
    expect((err as Error).message).toContain("connection refused");
    expect((err as Error).message).toContain("(ECONNREFUSED)");
    expect((err as Error).message).toContain("crm.environmentUrl");
    expect((err as Error).message).not.toMatch(/credential/i);
    expect(seen.calls).toBeGreaterThan(1);
  });
});
