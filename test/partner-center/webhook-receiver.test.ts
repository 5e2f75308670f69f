import { sign } from "node:crypto";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createWebhookReceiver,
  createWebhookRequestHandler,
  type WebhookHint,
  type WebhookOutcome,
  type WebhookReceiverConfigInput,
} from "@cosell/core";
import {
  createWebhookSigningChain,
  issueTestCertificate,
  newRsaKeyPem,
  type WebhookSigningChain,
} from "@cosell/sandbox";
import { beforeAll, describe, expect, it } from "vitest";

// Partner Center's documented certificate location, answered by an injected fetch (never the network).
const CERT_URL =
  "https://3psostorageacct.blob.core.windows.net/cert/pcnotifications-dispatch.microsoft.com.cer";
const NOW = new Date("2026-03-01T12:05:00.000Z");

let chain: WebhookSigningChain;
beforeAll(async () => {
  chain = await createWebhookSigningChain(new Date("2026-01-01T00:00:00Z"), 365);
});

function event(overrides: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      EventName: "referral-updated",
      ResourceUri: "https://api.partner.microsoft.com/v1.0/engagements/referrals/4111fffc-f9ee-4d53",
      ResourceName: "referral",
      AuditUri: null,
      ResourceChangeUtcDate: "2026-03-01T12:00:00.123+00:00",
      ...overrides,
    }),
  );
}

function signed(body: Buffer, keyPem = chain.leaf.keyPem, certUrl = CERT_URL): Record<string, string> {
  return {
    authorization: `Signature ${sign("sha256", body, keyPem).toString("base64")}`,
    "x-ms-certificate-url": certUrl,
    "x-ms-signature-algorithm": "rsa-sha256",
    "content-type": "application/json",
  };
}

/** A fetch that serves `documents` by URL and records every URL asked for. */
function certFetch(documents: Record<string, string | number>) {
  const calls: string[] = [];
  const fetch = (async (input: string | URL | Request) => {
    const url = String(input);
    calls.push(url);
    const doc = documents[url];
    if (doc === undefined) return new Response("not found", { status: 404 });
    if (typeof doc === "number") return new Response("failure", { status: doc });
    return new Response(doc, { status: 200 });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

const served = () => chain.leaf.certPem + chain.intermediate.certPem;

function receiver(
  config: WebhookReceiverConfigInput = {},
  documents: Record<string, string | number> = { [CERT_URL]: served() },
) {
  const f = certFetch(documents);
  const r = createWebhookReceiver(
    { trustedRootCertificates: chain.root.certPem, ...config },
    { fetch: f.fetch, now: () => NOW },
  );
  return { r, calls: f.calls };
}

const refusedWith = (o: WebhookOutcome, status: number, code: string) => {
  expect(o.event).toBeUndefined();
  expect({ status: o.status, code: o.reason?.code }).toEqual({ status, code });
};

describe("webhook receiver: signature and certificate chain", () => {
  it("accepts an event signed by a certificate chaining to a trusted root, and reuses the certificate", async () => {
    const { r, calls } = receiver();
    const body = event();
    expect(await r.receive(signed(body), body)).toEqual({
      status: 200,
      event: {
        referralId: "4111fffc-f9ee-4d53",
        event: "referral-updated",
        changedAt: new Date("2026-03-01T12:00:00.123Z"),
        resourceUri: "https://api.partner.microsoft.com/v1.0/engagements/referrals/4111fffc-f9ee-4d53",
      },
    });
    const other = event({
      EventName: "referral-created",
      ResourceUri: "https://api.partnercenter.microsoft.com/engagements/v1/referrals/abc",
    });
    expect((await r.receive(signed(other), other)).event?.referralId).toBe("abc");
    expect(calls).toEqual([CERT_URL]);
  });

  it("the signature in x-ms-signature (SignatureTokenToMsSignatureHeader) is accepted too", async () => {
    const { r } = receiver();
    const body = event();
    const { authorization, ...rest } = signed(body);
    expect((await r.receive({ ...rest, "x-ms-signature": authorization }, body)).status).toBe(200);
  });

  it("a body changed after signing, or signed by another key, is 401 WEBHOOK_BAD_SIGNATURE", async () => {
    const { r } = receiver();
    const body = event();
    const tampered = Buffer.from(body.toString().replace("4111fffc", "5111fffc"));
    refusedWith(await r.receive(signed(body), tampered), 401, "WEBHOOK_BAD_SIGNATURE");
    const otherKey = await newRsaKeyPem();
    refusedWith(await r.receive(signed(body, otherKey), body), 401, "WEBHOOK_BAD_SIGNATURE");
  });

  it("a chain that does not end in a trusted root is 401 WEBHOOK_UNTRUSTED_CERTIFICATE", async () => {
    // Default trust: the public roots bundled with Node.js, which do not include the test root.
    const f = certFetch({ [CERT_URL]: served() });
    const r = createWebhookReceiver({}, { fetch: f.fetch, now: () => NOW });
    const body = event();
    const o = await r.receive(signed(body), body);
    refusedWith(o, 401, "WEBHOOK_UNTRUSTED_CERTIFICATE");
    expect(o.reason?.message).toContain("does not chain to a trusted root");
  });

  it("a leaf served without its intermediate is refused unless the intermediate is configured", async () => {
    const body = event();
    const alone = receiver({}, { [CERT_URL]: chain.leaf.certPem });
    refusedWith(await alone.r.receive(signed(body), body), 401, "WEBHOOK_UNTRUSTED_CERTIFICATE");
    const configured = receiver(
      { intermediateCertificates: chain.intermediate.certPem },
      { [CERT_URL]: chain.leaf.certPem },
    );
    expect((await configured.r.receive(signed(body), body)).status).toBe(200);
  });

  it("a certificate of another organization, or a self-signed one claiming Microsoft, is refused", async () => {
    const keyPem = await newRsaKeyPem();
    const window = {
      notBefore: new Date("2026-01-01T00:00:00Z"),
      notAfter: new Date("2027-01-01T00:00:00Z"),
    };
    const contoso = issueTestCertificate({
      commonName: "events.contoso.example",
      organization: "Contoso Ltd",
      issuer: chain.intermediate,
      keyPem,
      ...window,
    });
    const body = event();
    const a = receiver({}, { [CERT_URL]: contoso.certPem + chain.intermediate.certPem });
    const o = await a.r.receive(signed(body, keyPem), body);
    refusedWith(o, 401, "WEBHOOK_UNTRUSTED_CERTIFICATE");
    expect(o.reason?.message).toContain('"Contoso Ltd", not Microsoft Corporation');

    const selfSigned = issueTestCertificate({
      commonName: "pcnotifications-dispatch.microsoft.com",
      organization: "Microsoft Corporation",
      keyPem,
      ...window,
    });
    const b = receiver({}, { [CERT_URL]: selfSigned.certPem });
    refusedWith(await b.r.receive(signed(body, keyPem), body), 401, "WEBHOOK_UNTRUSTED_CERTIFICATE");
  });

  it("an expired signing certificate is 401 WEBHOOK_CERTIFICATE_EXPIRED", async () => {
    const keyPem = await newRsaKeyPem();
    const old = issueTestCertificate({
      commonName: "pcnotifications-dispatch.microsoft.com",
      organization: "Microsoft Corporation",
      issuer: chain.intermediate,
      keyPem,
      notBefore: new Date("2025-01-01T00:00:00Z"),
      notAfter: new Date("2026-02-01T00:00:00Z"),
    });
    const { r } = receiver({}, { [CERT_URL]: old.certPem + chain.intermediate.certPem });
    const body = event();
    refusedWith(await r.receive(signed(body, keyPem), body), 401, "WEBHOOK_CERTIFICATE_EXPIRED");
  });

  it("an unreachable certificate is 503 (Partner Center delivers again) and is not cached", async () => {
    const docs: Record<string, string | number> = { [CERT_URL]: 500 };
    const { r, calls } = receiver({}, docs);
    const body = event();
    refusedWith(await r.receive(signed(body), body), 503, "WEBHOOK_CERTIFICATE_UNAVAILABLE");
    docs[CERT_URL] = served();
    expect((await r.receive(signed(body), body)).status).toBe(200);
    expect(calls).toHaveLength(2);
  });
});

describe("webhook receiver: checks before any download", () => {
  const cases: [string, (h: Record<string, string>) => Record<string, string>, number, string][] = [
    ["no signature", ({ authorization: _, ...h }) => h, 401, "WEBHOOK_SIGNATURE_MISSING"],
    ["another scheme", (h) => ({ ...h, authorization: "Bearer abc" }), 401, "WEBHOOK_SIGNATURE_MISSING"],
    ["no certificate URL", ({ "x-ms-certificate-url": _, ...h }) => h, 401, "WEBHOOK_SIGNATURE_MISSING"],
    [
      "another algorithm",
      (h) => ({ ...h, "x-ms-signature-algorithm": "rsa-sha1" }),
      401,
      "WEBHOOK_UNSUPPORTED_ALGORITHM",
    ],
    [
      "certificate over http",
      (h) => ({ ...h, "x-ms-certificate-url": CERT_URL.replace("https:", "http:") }),
      401,
      "WEBHOOK_UNTRUSTED_CERTIFICATE",
    ],
    [
      "certificate on another host",
      (h) => ({ ...h, "x-ms-certificate-url": "https://attacker.example/cert/x.cer" }),
      401,
      "WEBHOOK_UNTRUSTED_CERTIFICATE",
    ],
    [
      "certificate outside the allowed path",
      (h) => ({ ...h, "x-ms-certificate-url": "https://3psostorageacct.blob.core.windows.net/other/x.cer" }),
      401,
      "WEBHOOK_UNTRUSTED_CERTIFICATE",
    ],
    [
      "an encoded path escape",
      (h) => ({
        ...h,
        "x-ms-certificate-url": "https://3psostorageacct.blob.core.windows.net/cert/..%2fother/x.cer",
      }),
      401,
      "WEBHOOK_UNTRUSTED_CERTIFICATE",
    ],
    [
      "a query",
      (h) => ({ ...h, "x-ms-certificate-url": `${CERT_URL}?redirect=https://attacker.example` }),
      401,
      "WEBHOOK_UNTRUSTED_CERTIFICATE",
    ],
    [
      "credentials",
      (h) => ({ ...h, "x-ms-certificate-url": CERT_URL.replace("https://", "https://user:pw@") }),
      401,
      "WEBHOOK_UNTRUSTED_CERTIFICATE",
    ],
    [
      "an announced body over the limit",
      (h) => ({ ...h, "content-length": "70000" }),
      413,
      "WEBHOOK_TOO_LARGE",
    ],
  ];
  it.each(cases)("%s → refused without fetching anything", async (_name, change, status, code) => {
    const { r, calls } = receiver();
    const body = event();
    const headers = change(signed(body));
    refusedWith(await r.receive(headers, body), status, code);
    expect(r.precheck(headers)).toMatchObject({ status, reason: { code } });
    expect(calls).toEqual([]);
  });

  const bodies: [string, Buffer, number, string][] = [
    ["not JSON", Buffer.from("nope"), 400, "WEBHOOK_BAD_BODY"],
    [
      "an event cosell does not handle",
      event({ EventName: "subscription-updated" }),
      400,
      "WEBHOOK_UNKNOWN_EVENT",
    ],
    [
      "a bad %-escape in ResourceUri",
      event({ ResourceUri: "https://api.partner.microsoft.com/v1.0/engagements/referrals/%E0%A4%A" }),
      400,
      "WEBHOOK_BAD_BODY",
    ],
    [
      "CR/LF in ResourceUri",
      event({
        ResourceUri: "https://api.partner.microsoft.com/v1.0/engagements/referrals/abc\r\nX-Injected: 1",
      }),
      400,
      "WEBHOOK_BAD_BODY",
    ],
    [
      "an encoded CR/LF in the referral id",
      event({ ResourceUri: "https://api.partner.microsoft.com/v1.0/engagements/referrals/abc%0D%0Ax" }),
      400,
      "WEBHOOK_BAD_BODY",
    ],
    [
      "a ResourceUri naming no referral",
      event({ ResourceUri: "https://api.partner.microsoft.com/v1.0/customers/abc" }),
      400,
      "WEBHOOK_BAD_BODY",
    ],
    ["no date", event({ ResourceChangeUtcDate: undefined }), 400, "WEBHOOK_BAD_BODY"],
    [
      "a stale event (2 days old)",
      event({ ResourceChangeUtcDate: "2026-02-27T12:00:00Z" }),
      400,
      "WEBHOOK_STALE_EVENT",
    ],
    [
      "an event from the future",
      event({ ResourceChangeUtcDate: "2026-03-01T13:00:00Z" }),
      400,
      "WEBHOOK_STALE_EVENT",
    ],
    ["a body over the limit", Buffer.alloc(70_000, 32), 413, "WEBHOOK_TOO_LARGE"],
  ];
  it.each(bodies)("%s → refused without fetching anything", async (_name, body, status, code) => {
    const { r, calls } = receiver();
    refusedWith(await r.receive(signed(body), body), status, code);
    expect(calls).toEqual([]);
  });

  it("a replayed event is not acted on twice (200 with WEBHOOK_REPLAYED, no event)", async () => {
    const { r, calls } = receiver();
    const body = event();
    expect((await r.receive(signed(body), body)).event).toBeDefined();
    const again = await r.receive(signed(body), body);
    expect(again).toMatchObject({ status: 200, reason: { code: "WEBHOOK_REPLAYED" } });
    expect(again.event).toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it("the replay set is bounded: the oldest signature is forgotten first", async () => {
    const { r } = receiver({ replayCacheSize: 2 });
    const bodies = ["a", "b", "c"].map((id) =>
      event({ ResourceUri: `https://api.partner.microsoft.com/v1.0/engagements/referrals/${id}` }),
    );
    for (const b of bodies) expect((await r.receive(signed(b), b)).status).toBe(200);
    const [first, , third] = bodies as [Buffer, Buffer, Buffer];
    expect((await r.receive(signed(third), third)).reason?.code).toBe("WEBHOOK_REPLAYED");
    expect((await r.receive(signed(first), first)).event?.referralId).toBe("a");
  });

  it("the certificate cache is bounded by entries and bytes", async () => {
    const urls = [1, 2, 3].map((i) => `https://3psostorageacct.blob.core.windows.net/cert/c${i}.cer`);
    const docs = Object.fromEntries(urls.map((u) => [u, served()]));
    const size = Buffer.byteLength(served());
    const byEntries = receiver({ certificateCacheEntries: 2 }, docs);
    const byBytes = receiver({ certificateCacheBytes: Math.max(4096, size + 10) }, docs);
    for (const [i, u] of urls.entries()) {
      const b = event({ ResourceUri: `https://api.partner.microsoft.com/v1.0/engagements/referrals/r${i}` });
      expect((await byEntries.r.receive(signed(b, chain.leaf.keyPem, u), b)).status).toBe(200);
      expect((await byBytes.r.receive(signed(b, chain.leaf.keyPem, u), b)).status).toBe(200);
    }
    expect(byEntries.r.cacheSize()).toEqual({ entries: 2, bytes: 2 * size });
    expect(byBytes.r.cacheSize().bytes).toBeLessThanOrEqual(Math.max(4096, size + 10));
    expect(byBytes.r.cacheSize().entries).toBe(Math.floor(Math.max(4096, size + 10) / size));
  });

  it("bad settings name the key", () => {
    expect(() => createWebhookReceiver({ certificateUrlPrefixes: ["http://blob.example/cert/"] })).toThrow(
      /partnerCenter\.webhookReceiver\.certificateUrlPrefixes\.0/,
    );
    expect(() => createWebhookReceiver({ trustedRootCertificates: "not a pem" })).toThrow(
      /partnerCenter\.webhookReceiver\.trustedRootCertificates/,
    );
  });
});

describe("node:http handler", () => {
  async function serve(r: ReturnType<typeof receiver>["r"]) {
    const hints: WebhookHint[] = [];
    const refused: string[] = [];
    const server = createServer(
      createWebhookRequestHandler({
        receiver: r,
        onHint: (h) => {
          hints.push(h);
        },
        onRefused: (o) => refused.push(`${o.status} ${o.reason.code}`),
      }),
    );
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const port = (server.address() as AddressInfo).port;
    return {
      hints,
      refused,
      port,
      url: `http://127.0.0.1:${port}/hooks`,
      close: () =>
        new Promise((ok) => {
          server.closeAllConnections();
          server.close(ok);
        }),
    };
  }

  it("acts on verified events only; refusals are reported with their reason", async () => {
    const { r } = receiver();
    const s = await serve(r);
    try {
      const body = event();
      expect((await fetch(s.url, { method: "POST", headers: signed(body), body })).status).toBe(200);
      const bad = await fetch(s.url, {
        method: "POST",
        headers: signed(body, await newRsaKeyPem()),
        body: event({ AuditUri: "x" }),
      });
      expect(bad.status).toBe(401);
      expect(await bad.json()).toMatchObject({ error: { code: "WEBHOOK_BAD_SIGNATURE" } });
      expect((await fetch(s.url)).status).toBe(405);
      expect(s.hints.map((h) => h.referralId)).toEqual(["4111fffc-f9ee-4d53"]);
      expect(s.refused).toEqual(["401 WEBHOOK_BAD_SIGNATURE"]);
    } finally {
      await s.close();
    }
  });

  it("answers 413 to an oversized upload and closes the connection without reading the rest", async () => {
    const { r } = receiver();
    const s = await serve(r);
    try {
      const result = await new Promise<{ status: number; connection: string | undefined; closed: boolean }>(
        (ok, fail) => {
          const body = event();
          const req = request(s.url, {
            method: "POST",
            headers: { ...signed(body), "transfer-encoding": "chunked" },
          });
          req.on("response", (res) => {
            res.resume();
            req.socket?.on("close", () =>
              ok({ status: res.statusCode ?? 0, connection: res.headers.connection, closed: true }),
            );
          });
          req.on("error", fail);
          req.write(Buffer.alloc(70_000, 32)); // no content-length: counted while read
        },
      );
      expect(result).toEqual({ status: 413, connection: "close", closed: true });
      expect(s.refused).toEqual(["413 WEBHOOK_TOO_LARGE"]);
      expect(s.hints).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
