import { sign } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import {
  createWebhookReceiver,
  createWebhookRequestHandler,
  type WebhookHint,
  WebhookVerificationError,
} from "../../src/index.js";
import { API, headerOf, makeClient, mockToken, rsaKeys } from "./helpers.js";

afterEach(() => {
  nock.cleanAll();
});

const REG = "/webhooks/v1/registration";
const OURS = "https://cosell.partner.example/hooks/partner-center";

describe("registerWebhook", () => {
  it("no registration yet → POST {WebhookUrl, WebhookEvents} with the referral events", async () => {
    mockToken();
    let posted: unknown;
    nock(API)
      .get(REG)
      .reply(404, { error: { code: "notFound", message: "No registration." } })
      .post(REG)
      .reply(function (_uri, body) {
        posted = body;
        expect(headerOf(this.req.headers, "authorization")).toBe("Bearer token-1");
        return [200, { SubscriberId: "sub-1", ...(body as object) }];
      });
    const { client } = makeClient();
    const r = await client.registerWebhook({ url: OURS });
    expect(posted).toEqual({ WebhookUrl: OURS, WebhookEvents: ["referral-created", "referral-updated"] });
    expect(r).toEqual({
      action: "created",
      registration: { url: OURS, events: ["referral-created", "referral-updated"], subscriberId: "sub-1" },
    });
  });

  it("already ours → unchanged (no write); missing events are added with a PUT", async () => {
    mockToken();
    nock(API)
      .get(REG)
      .reply(200, { WebhookUrl: OURS, WebhookEvents: ["referral-created", "referral-updated"] });
    const { client } = makeClient();
    expect((await client.registerWebhook({ url: OURS })).action).toBe("unchanged");
    expect(client.stats().writes).toBe(0);

    let put: unknown;
    nock(API)
      .get(REG)
      .reply(200, { WebhookUrl: OURS, WebhookEvents: ["referral-created"] })
      .put(REG)
      .reply(200, (_uri, body) => {
        put = body;
        return body as object;
      });
    const r = await client.registerWebhook({
      url: OURS,
      events: ["referral-updated", "related-referral-updated"],
    });
    expect(r.action).toBe("updated");
    expect(put).toEqual({
      WebhookUrl: OURS,
      WebhookEvents: ["referral-created", "referral-updated", "related-referral-updated"],
    });
  });

  it("another URL holds the events → WEBHOOK_ALREADY_REGISTERED naming it, nothing written", async () => {
    mockToken();
    const theirs = "https://prod-01.westus.logic.azure.com/workflows/abc/triggers/manual";
    nock(API)
      .get(REG)
      .reply(200, { WebhookUrl: theirs, WebhookEvents: ["referral-created", "referral-updated"] });
    const { client } = makeClient();
    const err = await client.registerWebhook({ url: OURS }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "WEBHOOK_ALREADY_REGISTERED",
      details: { registeredUrl: theirs, requestedUrl: OURS },
    });
    expect((err as Error).message).toContain(theirs);
    expect(client.stats().writes).toBe(0);
  });

  it("replace: true takes it over with a PUT and reports what was there", async () => {
    mockToken();
    const theirs = "https://other.example/hook";
    nock(API)
      .get(REG)
      .reply(200, { WebhookUrl: theirs, WebhookEvents: ["referral-updated"] })
      .put(REG, { WebhookUrl: OURS, WebhookEvents: ["referral-created", "referral-updated"] })
      .reply(200, { WebhookUrl: OURS, WebhookEvents: ["referral-created", "referral-updated"] });
    const { client } = makeClient();
    const r = await client.registerWebhook({ url: OURS, replace: true });
    expect(r).toMatchObject({ action: "replaced", previous: { url: theirs, events: ["referral-updated"] } });
  });

  it("a 409 from the POST means someone else registered meanwhile: same error, naming them", async () => {
    mockToken();
    nock(API)
      .get(REG)
      .reply(404)
      .post(REG)
      .reply(409, { error: { code: "conflict", message: "A registration already exists." } })
      .get(REG)
      .reply(200, { WebhookUrl: "https://racer.example/hook", WebhookEvents: ["referral-created"] });
    const { client } = makeClient();
    await expect(client.registerWebhook({ url: OURS })).rejects.toMatchObject({
      code: "WEBHOOK_ALREADY_REGISTERED",
      details: { registeredUrl: "https://racer.example/hook" },
    });
  });

  it("unregister deletes only our own registration", async () => {
    mockToken();
    nock(API)
      .get(REG)
      .reply(200, { WebhookUrl: "https://other.example/hook", WebhookEvents: ["referral-created"] })
      .get(REG)
      .reply(200, { WebhookUrl: OURS, WebhookEvents: ["referral-created"] })
      .delete(REG)
      .reply(204);
    const { client } = makeClient();
    expect(await client.unregisterWebhook({ url: OURS })).toBe(false);
    expect(await client.unregisterWebhook({ url: OURS })).toBe(true);
    expect(client.stats().byMethod).toEqual({ GET: 2, DELETE: 1 });
  });
});

// ── Receiver ────────────────────────────────────────────────────────────────────────────────────

const CERT_HOST = "https://api.partnercenter.microsoft.com";
const CERT_PATH = "/webhooks/v1/certificate.pem";
const keys = rsaKeys();

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

function signed(body: Buffer, privateKeyPem = keys.privateKeyPem, certUrl = `${CERT_HOST}${CERT_PATH}`) {
  return {
    authorization: `Signature ${sign("sha256", body, privateKeyPem).toString("base64")}`,
    "x-ms-certificate-url": certUrl,
    "x-ms-signature-algorithm": "rsa-sha256",
    "content-type": "application/json",
  };
}

describe("webhook receiver", () => {
  it("verifies the RSA-SHA256 signature with the key from the trusted host and returns the hint", async () => {
    const cert = nock(CERT_HOST).get(CERT_PATH).once().reply(200, keys.publicKeyPem);
    const receiver = createWebhookReceiver();
    const body = event();
    const hint = await receiver.verify(body, signed(body));
    expect(hint).toEqual({
      referralId: "4111fffc-f9ee-4d53",
      event: "referral-updated",
      changedAt: new Date("2026-03-01T12:00:00.123Z"),
      resourceUri: "https://api.partner.microsoft.com/v1.0/engagements/referrals/4111fffc-f9ee-4d53",
    });
    // The documented /engagements/v1/referrals/{id} form too; the certificate comes from the cache.
    const other = event({
      EventName: "referral-created",
      ResourceUri: "https://api.partnercenter.microsoft.com/engagements/v1/referrals/abc",
    });
    expect((await receiver.verify(other, signed(other))).referralId).toBe("abc");
    expect(cert.isDone()).toBe(true);
  });

  const refused = async (p: Promise<unknown>, code: string, httpStatus: number): Promise<void> => {
    const e = await p.catch((err: unknown) => err);
    expect(e).toBeInstanceOf(WebhookVerificationError);
    expect(e).toMatchObject({ code, httpStatus });
  };

  it("rejects a body changed after signing, and a signature by another key", async () => {
    nock(CERT_HOST).get(CERT_PATH).reply(200, keys.publicKeyPem);
    const receiver = createWebhookReceiver();
    const body = event();
    const tampered = Buffer.from(body.toString().replace("referral-updated", "referral-created"));
    await refused(receiver.verify(tampered, signed(body)), "WEBHOOK_BAD_SIGNATURE", 401);
    await refused(receiver.verify(body, signed(body, rsaKeys().privateKeyPem)), "WEBHOOK_BAD_SIGNATURE", 401);
  });

  it("never fetches a certificate from an untrusted host, nor over http (except listed loopback)", async () => {
    const receiver = createWebhookReceiver();
    const body = event();
    await refused(
      receiver.verify(body, signed(body, keys.privateKeyPem, "https://attacker.example/cert.pem")),
      "WEBHOOK_UNTRUSTED_CERTIFICATE",
      401,
    );
    await refused(
      receiver.verify(
        body,
        signed(body, keys.privateKeyPem, `http://api.partnercenter.microsoft.com${CERT_PATH}`),
      ),
      "WEBHOOK_UNTRUSTED_CERTIFICATE",
      401,
    );
    await refused(
      receiver.verify(body, signed(body, keys.privateKeyPem, "http://127.0.0.1:9/cert.pem")),
      "WEBHOOK_UNTRUSTED_CERTIFICATE",
      401,
    );
  });

  it("rejects missing signatures, other algorithms, unknown events and unreadable bodies", async () => {
    nock(CERT_HOST).get(CERT_PATH).reply(200, keys.publicKeyPem);
    const receiver = createWebhookReceiver();
    const body = event();
    const { authorization: _a, ...unsigned } = signed(body);
    await refused(receiver.verify(body, unsigned), "WEBHOOK_SIGNATURE_MISSING", 401);
    await refused(
      receiver.verify(body, { ...signed(body), "x-ms-signature-algorithm": "hmac-sha1" }),
      "WEBHOOK_UNSUPPORTED_ALGORITHM",
      401,
    );
    const sub = event({ EventName: "subscription-updated" });
    await refused(receiver.verify(sub, signed(sub)), "WEBHOOK_UNKNOWN_EVENT", 400);
    const noDate = event({ ResourceChangeUtcDate: undefined });
    await refused(receiver.verify(noDate, signed(noDate)), "WEBHOOK_BAD_BODY", 400);
    const notJson = Buffer.from("nope");
    await refused(receiver.verify(notJson, signed(notJson)), "WEBHOOK_BAD_BODY", 400);
  });

  it("an unreachable certificate is a 503 (Partner Center redelivers) and is not cached", async () => {
    nock(CERT_HOST).get(CERT_PATH).reply(500).get(CERT_PATH).reply(200, keys.publicKeyPem);
    const receiver = createWebhookReceiver();
    const body = event();
    await refused(receiver.verify(body, signed(body)), "WEBHOOK_CERTIFICATE_UNAVAILABLE", 503);
    expect((await receiver.verify(body, signed(body))).event).toBe("referral-updated");
  });
});

describe("node:http handler", () => {
  it("feeds verified hints to the callback and answers 200; refuses bad events with 401/400, GET with 405", async () => {
    // The sandbox case: the certificate is served by a loopback host that is explicitly trusted.
    const certServer = createServer((_req, res) => res.end(keys.publicKeyPem));
    await new Promise<void>((r) => certServer.listen(0, "127.0.0.1", r));
    const certUrl = `http://127.0.0.1:${(certServer.address() as AddressInfo).port}/cert.pem`;
    const hints: WebhookHint[] = [];
    const errors: string[] = [];
    const hooks = createServer(
      createWebhookRequestHandler({
        receiver: createWebhookReceiver({ trustedCertificateHosts: ["127.0.0.1"] }),
        onHint: (h) => {
          hints.push(h);
        },
        onError: (e) => errors.push((e as { code?: string }).code ?? e.message),
      }),
    );
    await new Promise<void>((r) => hooks.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks`;
    try {
      const body = event();
      const ok = await fetch(url, {
        method: "POST",
        headers: signed(body, keys.privateKeyPem, certUrl),
        body,
      });
      expect(ok.status).toBe(200);
      const bad = await fetch(url, {
        method: "POST",
        headers: signed(body, rsaKeys().privateKeyPem, certUrl),
        body,
      });
      expect(bad.status).toBe(401);
      expect(await bad.json()).toMatchObject({ error: { code: "WEBHOOK_BAD_SIGNATURE" } });
      const unknown = event({ EventName: "test-created" });
      expect(
        (
          await fetch(url, {
            method: "POST",
            headers: signed(unknown, keys.privateKeyPem, certUrl),
            body: unknown,
          })
        ).status,
      ).toBe(400);
      expect((await fetch(url)).status).toBe(405);
      expect(hints.map((h) => h.referralId)).toEqual(["4111fffc-f9ee-4d53"]);
      expect(errors).toEqual(["WEBHOOK_BAD_SIGNATURE", "WEBHOOK_UNKNOWN_EVENT"]);
    } finally {
      hooks.closeAllConnections();
      certServer.closeAllConnections();
      await new Promise((r) => hooks.close(r));
      await new Promise((r) => certServer.close(r));
    }
  });
});
