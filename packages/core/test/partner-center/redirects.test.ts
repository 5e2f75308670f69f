import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createPartnerCenterClient, createPartnerCenterHttp, type TokenProvider } from "../../src/index.js";

/**
 * The Partner Center HTTP layer never follows a redirect (fetch would re-send the request body, and
 * on the same host the bearer token, to whatever the Location header says) and reads bodies with a
 * size cap. Real loopback servers, fetch unmodified.
 */
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: string;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      handler(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const tokens: TokenProvider = {
  scope: "x/.default",
  getToken: async () => "bearer-of-secrets",
  invalidate: () => undefined,
  stats: () => ({ tokenRequests: 0 }),
};

describe("Partner Center HTTP: redirects and body size", () => {
  it.each([307, 308, 302])("a %i is refused and the body never reaches the Location", async (status) => {
    const elsewhere = await serve((_q, res) => res.end("{}"));
    const origin = await serve((_q, res) => {
      res.writeHead(status, { location: `${elsewhere.url}/steal` }).end();
    });
    const http = createPartnerCenterHttp({ tokens, retry: { maxAttempts: 1 } });

    const err = await http
      .send({ method: "POST", url: `${origin.url}/v1.0/engagements/referrals`, body: { name: "Contoso" } })
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ code: "REMOTE_REDIRECT_REFUSED", status });
    expect(elsewhere.seen).toEqual([]);
    expect(origin.seen).toHaveLength(1);
  });

  it("a same-host redirect is not followed either (the token would go along)", async () => {
    const origin = await serve((req, res) => {
      if (req.url === "/v1.0/engagements/referrals/1") res.writeHead(301, { location: "/moved" }).end();
      else res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    const http = createPartnerCenterHttp({ tokens, retry: { maxAttempts: 1 } });

    await expect(
      http.send({ method: "GET", url: `${origin.url}/v1.0/engagements/referrals/1` }),
    ).rejects.toMatchObject({ code: "REMOTE_REDIRECT_REFUSED" });
    expect(origin.seen.map((s) => s.url)).toEqual(["/v1.0/engagements/referrals/1"]);
  });

  it("an answer larger than maxResponseBytes is refused with a clear error", async () => {
    const origin = await serve((_q, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      // Streamed without Content-Length: the cap must hold while reading, not only on the header.
      res.write(`{"value":["${"x".repeat(40_000)}`);
      res.end(`"]}`);
    });
    const http = createPartnerCenterHttp({ tokens, retry: { maxAttempts: 1 }, maxResponseBytes: 10_000 });

    const err = await http.send({ method: "GET", url: `${origin.url}/v1.0/x` }).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: "REMOTE_RESPONSE_TOO_LARGE" });
    expect((err as Error).message).toContain("maxResponseBytes");
  });
});

describe("Partner Center: token requests have a deadline too", () => {
  it("a token endpoint that never answers fails the call after requestTimeoutMs, as transient", async () => {
    const hanging = await serve(() => {
      // accepts the token POST and never answers
    });
    const client = createPartnerCenterClient(
      {
        tenantId: "t",
        clientId: "c",
        auth: { kind: "app", clientSecret: "s" },
        authorityHost: hanging.url,
        tokenEndpoint: `${hanging.url}/t/oauth2/v2.0/token`,
        apiBaseUrl: `${hanging.url}/v1.0`,
        requestTimeoutMs: 200,
        retry: { maxAttempts: 1 },
      },
      { sleep: async () => undefined },
    );

    const err = await client.getReferral("r-1").catch((e: unknown) => e);

    expect(err).toMatchObject({ code: "AUTH_ENDPOINT_UNREACHABLE", retryable: true });
    expect(hanging.seen.map((s) => s.method)).toContain("POST");
  });
});
