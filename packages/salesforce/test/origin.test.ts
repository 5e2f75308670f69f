import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createSalesforceAdapter } from "../src/index.js";

/**
 * The session token stays on the org's origin over TLS: an `instance_url` that is not https is
 * refused, a redirect to another host is not followed, and a call that never gets an answer is
 * abandoned after `requestTimeoutMs`. Loopback servers play the login endpoint, the instance and
 * "another host"; jsforce talks to them unmodified.
 */
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: { url: string; auth: string | undefined }[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url!, auth: req.headers.authorization });
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** A login endpoint that issues a token naming `instanceUrl`. */
const login = (instanceUrl: string) =>
  listen((_req, res) => {
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(
        JSON.stringify({ access_token: "00Dsession!token", instance_url: instanceUrl, token_type: "Bearer" }),
      );
  });

const adapterFor = (loginUrl: string, extra: Record<string, unknown> = {}) =>
  createSalesforceAdapter(
    {
      kind: "salesforce",
      auth: { kind: "clientCredentials", clientId: "id", clientSecret: "secret", loginUrl },
      ...extra,
    },
    { sleep: async () => undefined },
  );

const OPP = "0068d000000AbCdAAK";

describe("salesforce: the session stays on the org's origin, every call has a deadline", () => {
  it("an instance_url over plain http to a non-loopback host is refused", async () => {
    const l = await login("http://na1.salesforce.example");
    await expect(adapterFor(l.url).read([OPP])).rejects.toMatchObject({ code: "REMOTE_LINK_REFUSED" });
  });

  it("a redirect to another host is not followed with the session", async () => {
    const elsewhere = await listen((_req, res) => res.writeHead(200).end("{}"));
    const instance = await listen((req, res) => {
      res.writeHead(307, { location: `${elsewhere.url}${req.url}` }).end();
    });
    const l = await login(instance.url);

    const err = await adapterFor(l.url)
      .read([OPP])
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ code: "REMOTE_REDIRECT_REFUSED" });
    expect(elsewhere.seen).toEqual([]);
    expect(instance.seen.length).toBeGreaterThan(0);
  });

  it("a call without an answer is abandoned after requestTimeoutMs, as transient", async () => {
    const instance = await listen(() => {
      // never answers
    });
    const l = await login(instance.url);

    const err = await adapterFor(l.url, { requestTimeoutMs: 200 })
      .read([OPP])
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ retryable: true });
    expect(instance.seen.length).toBeGreaterThan(0);
  });

  it("an answer larger than maxResponseBytes is refused, by its Content-Length or while it streams", async () => {
    const big = JSON.stringify({ message: "x".repeat(20_000) });
    for (const chunked of [false, true]) {
      const instance = await listen((_req, res) => {
        if (!chunked) {
          res.writeHead(200, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(big),
          });
          res.end(big);
          return;
        }
        // No Content-Length: the body streams in chunks, and the cap is counted as it arrives.
        res.writeHead(200, { "content-type": "application/json" });
        for (let i = 0; i < big.length; i += 1000) res.write(big.slice(i, i + 1000));
        res.end();
      });
      const l = await login(instance.url);
      const err = await adapterFor(l.url, { maxResponseBytes: 4096 })
        .read([OPP])
        .catch((e: unknown) => e);
      expect(err, `chunked: ${chunked}`).toMatchObject({ code: "REMOTE_RESPONSE_TOO_LARGE" });
      expect((err as Error).message).toContain("crm.maxResponseBytes (4096 bytes)");
    }
  });
});
