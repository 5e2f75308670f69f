import { createPublicKey, verify } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createWebhookReceiver, type Referral } from "@cosell/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Sandbox } from "../../src/index.js";
import { type Api, createReferral, pcApi, pcToken, put, startFrozen } from "./helpers.js";

const REGISTRATION = "/webhooks/v1/registration";
type ErrorBody = { error: { code: string; message: string } };
type Registration = { SubscriberId: string; WebhookUrl: string; WebhookEvents: string[] };

interface Received {
  raw: Buffer;
  headers: IncomingHttpHeaders;
}

let sandbox: Sandbox;
let api: Api;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];

beforeAll(async () => {
  sandbox = await startFrozen();
  api = pcApi(sandbox, () => pcToken(sandbox));
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ raw: Buffer.concat(chunks), headers: req.headers });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/partner-center/events`;
});
afterAll(async () => {
  await sandbox.stop();
  await new Promise((r) => receiver.close(r));
});
beforeEach(async () => {
  await api("DELETE", REGISTRATION);
  await sandbox.partnerCenter.webhooks.idle();
  received.length = 0;
});

describe("webhook registration", () => {
  it("GET is 404 when nothing is registered; POST registers; GET returns it", async () => {
    expect((await api<ErrorBody>("GET", REGISTRATION)).body.error.code).toBe("itemNotFound");
    const created = await api<Registration>("POST", REGISTRATION, {
      WebhookUrl: receiverUrl,
      WebhookEvents: ["referral-created", "referral-updated"],
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      WebhookUrl: receiverUrl,
      WebhookEvents: ["referral-created", "referral-updated"],
    });
    expect((await api<Registration>("GET", REGISTRATION)).body).toEqual(created.body);
  });

  it("a second POST for an event that has a URL is 409 conflict; PUT replaces; DELETE removes", async () => {
    await api("POST", REGISTRATION, { WebhookUrl: receiverUrl, WebhookEvents: ["referral-created"] });
    const conflict = await api<ErrorBody>("POST", REGISTRATION, {
      WebhookUrl: "http://127.0.0.1:1/other",
      WebhookEvents: ["referral-updated", "referral-created"],
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toEqual({
      error: {
        code: "conflict",
        message: `A webhook is already registered for referral-created at ${receiverUrl}; PUT to replace it.`,
        target: "webhook",
        innerError: { code: "WEBHOOK_ALREADY_REGISTERED" },
      },
    });
    const replaced = await api<Registration>("PUT", REGISTRATION, {
      WebhookUrl: "http://127.0.0.1:1/other",
      WebhookEvents: ["referral-updated"],
    });
    expect(replaced.body).toMatchObject({
      WebhookUrl: "http://127.0.0.1:1/other",
      WebhookEvents: ["referral-updated"],
    });
    expect((await api("DELETE", REGISTRATION)).status).toBe(204);
    expect((await api("GET", REGISTRATION)).status).toBe(404);
    expect((await api("DELETE", REGISTRATION)).status).toBe(404);
  });

  it("400 for a missing URL or unknown events; 401 without a token", async () => {
    expect((await api<ErrorBody>("POST", REGISTRATION, { WebhookEvents: ["referral-created"] })).status).toBe(
      400,
    );
    const unknown = await api<ErrorBody>("POST", REGISTRATION, {
      WebhookUrl: receiverUrl,
      WebhookEvents: ["deal-won"],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("deal-won");
    expect((await fetch(`${sandbox.urls.partnerCenter}${REGISTRATION}`)).status).toBe(401);
  });
});

describe("signed event delivery", () => {
  /** Verifies a delivery the way a receiver must: fetch the certificate, check the RSA-SHA256 signature. */
  async function verifyDelivery(d: Received) {
    expect(d.headers["x-ms-signature-algorithm"]).toBe("rsa-sha256");
    const certUrl = String(d.headers["x-ms-certificate-url"]);
    expect(certUrl).toBe(`${sandbox.urls.partnerCenter}/webhooks/v1/certificate`);
    const pem = await (await fetch(certUrl)).text();
    const signature = /^Signature (.+)$/.exec(String(d.headers.authorization))?.[1];
    expect(signature).toBeDefined();
    expect(verify("sha256", d.raw, createPublicKey(pem), Buffer.from(signature!, "base64"))).toBe(true);
    const tampered = Buffer.from(d.raw.toString("utf8").replace("referral", "Referral"));
    expect(verify("sha256", tampered, createPublicKey(pem), Buffer.from(signature!, "base64"))).toBe(false);
    return JSON.parse(d.raw.toString("utf8")) as Record<string, unknown>;
  }

  it("delivers referral-created and referral-updated, signed, in the documented body", async () => {
    await api("POST", REGISTRATION, {
      WebhookUrl: receiverUrl,
      WebhookEvents: ["referral-created", "referral-updated"],
    });
    const created = await createReferral(api);
    await put(api, created, { name: "Renamed" });
    const inbound = sandbox.partnerCenter.sendInboundReferral();
    await sandbox.partnerCenter.webhooks.idle();

    expect(received).toHaveLength(3);
    const bodies = [];
    for (const d of received) bodies.push(await verifyDelivery(d));
    expect(bodies).toEqual([
      {
        EventName: "referral-created",
        ResourceUri: `${sandbox.urls.partnerCenter}/v1.0/engagements/referrals/${created.id}`,
        ResourceName: "referral",
        AuditUri: null,
        ResourceChangeUtcDate: sandbox.clock.now().toISOString(),
      },
      expect.objectContaining({
        EventName: "referral-updated",
        ResourceUri: expect.stringContaining(created.id),
      }),
      expect.objectContaining({
        EventName: "referral-created",
        ResourceUri: expect.stringContaining(inbound.id),
      }),
    ]);
    const log = sandbox.partnerCenter.webhooks.deliveries();
    expect(log.map((d) => [d.event, d.status, d.ok])).toEqual([
      ["referral-created", 200, true],
      ["referral-updated", 200, true],
      ["referral-created", 200, true],
    ]);
  });

  it("core's webhook receiver accepts the sandbox's events (same wire format)", async () => {
    await api("POST", REGISTRATION, { WebhookUrl: receiverUrl, WebhookEvents: ["referral-updated"] });
    const r = sandbox.partnerCenter.sendInboundReferral();
    sandbox.partnerCenter.updateNotes(r.id, "Call the CIO");
    await sandbox.partnerCenter.webhooks.idle();
    expect(received).toHaveLength(1);
    const coreReceiver = createWebhookReceiver({
      trustedCertificateHosts: [new URL(sandbox.urls.partnerCenter).host],
    });
    const hint = await coreReceiver.verify(received[0]!.raw, received[0]!.headers);
    expect(hint).toMatchObject({ referralId: r.id, event: "referral-updated" });
  });

  it("only registered events are sent; expiry sends referral-updated", async () => {
    await api("POST", REGISTRATION, { WebhookUrl: receiverUrl, WebhookEvents: ["referral-updated"] });
    const r = sandbox.partnerCenter.sendInboundReferral();
    await sandbox.partnerCenter.webhooks.idle();
    expect(received).toHaveLength(0);
    sandbox.clock.advance(15 * 24 * 3600 * 1000);
    await sandbox.partnerCenter.webhooks.idle();
    // Every received referral expires, this one included; each expiry is one referral-updated.
    const events = received.map(
      (d) => JSON.parse(d.raw.toString()) as { EventName: string; ResourceUri: string },
    );
    expect(events.filter((e) => e.ResourceUri.endsWith(`/referrals/${r.id}`))).toEqual([
      expect.objectContaining({ EventName: "referral-updated" }),
    ]);
    expect(new Set(events.map((e) => e.EventName))).toEqual(new Set(["referral-updated"]));
    expect(sandbox.partnerCenter.get(r.id)?.substatus).toBe("Expired");
  });

  it("records failed deliveries and never leaves the machine", async () => {
    await api("PUT", REGISTRATION, {
      WebhookUrl: "https://receiver.example.com/hook",
      WebhookEvents: ["referral-created"],
    });
    const r: Referral = sandbox.partnerCenter.sendInboundReferral();
    await sandbox.partnerCenter.webhooks.idle();
    const last = sandbox.partnerCenter.webhooks.deliveries().at(-1);
    expect(last).toMatchObject({ referralId: r.id, ok: false, url: "https://receiver.example.com/hook" });
    expect(last?.error).toMatch(/not a loopback host/);
    expect(last?.status).toBeUndefined();
  });
});
