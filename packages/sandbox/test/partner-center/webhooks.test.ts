import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createWebhookReceiver, type Referral } from "@cosell/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Sandbox } from "../../src/index.js";
import {
  type Api,
  createReferral,
  pcApi,
  pcToken,
  startFrozen,
  webhookToken as webhookTokenFor,
} from "./helpers.js";

const REGISTRATION = "/webhooks/v1/registration";
type ErrorBody = { error: { code: string; message: string } };
type Registration = { SubscriberId: string; WebhookUrl: string; WebhookEvents: string[] };

interface Received {
  raw: Buffer;
  headers: IncomingHttpHeaders;
}

let sandbox: Sandbox;
let api: Api;
/** The webhook API (its own origin) with a token for its own audience. */
let hooks: Api;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
/** Status the test receiver answers next (then 200). */
const failNext: number[] = [];

const webhookToken = () => webhookTokenFor(sandbox);

beforeAll(async () => {
  sandbox = await startFrozen();
  api = pcApi(sandbox, () => pcToken(sandbox));
  const onHooks = pcApi(sandbox, webhookToken);
  hooks = (method, path, body, headers) =>
    onHooks(method, `${sandbox.partnerCenter.webhooks.url}${path}`, body, headers);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ raw: Buffer.concat(chunks), headers: req.headers });
      res.writeHead(failNext.shift() ?? 200).end();
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
  sandbox.partnerCenter.webhooks.clearRegistration();
  await sandbox.partnerCenter.webhooks.idle();
  received.length = 0;
  failNext.length = 0;
});

describe("webhook registration (its own host and audience)", () => {
  it("lives on another origin than the referrals API; its credentials name it", () => {
    const c = sandbox.credentials.partnerCenter;
    expect(new URL(c.webhookRegistrationUrl).origin).toBe(sandbox.partnerCenter.webhooks.url);
    expect(sandbox.partnerCenter.webhooks.url).not.toBe(sandbox.urls.partnerCenter);
    expect(c.webhookScope).toBe("https://api.partnercenter.microsoft.com/.default");
  });

  it("GET is 404 when nothing is registered; POST registers; GET returns it", async () => {
    expect((await hooks<ErrorBody>("GET", REGISTRATION)).body.error.code).toBe("itemNotFound");
    const created = await hooks<Registration>("POST", REGISTRATION, {
      WebhookUrl: receiverUrl,
      WebhookEvents: ["referral-created", "referral-updated"],
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      WebhookUrl: receiverUrl,
      WebhookEvents: ["referral-created", "referral-updated"],
    });
    expect((await hooks<Registration>("GET", REGISTRATION)).body).toEqual(created.body);
    expect((await hooks<string[]>("GET", `${REGISTRATION}/events`)).body).toContain(
      "related-referral-updated",
    );
  });

  it("a second POST for an event that has a URL is 409; PUT replaces; DELETE is not part of the API", async () => {
    await hooks("POST", REGISTRATION, { WebhookUrl: receiverUrl, WebhookEvents: ["referral-created"] });
    const conflict = await hooks<ErrorBody>("POST", REGISTRATION, {
      WebhookUrl: "http://127.0.0.1:1/other",
      WebhookEvents: ["referral-updated", "referral-created"],
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({
      code: "conflict",
      message: `A webhook is already registered for referral-created at ${receiverUrl}; PUT to replace it.`,
    });
    const replaced = await hooks<Registration>("PUT", REGISTRATION, {
      WebhookUrl: "http://127.0.0.1:1/other",
      WebhookEvents: ["referral-updated"],
    });
    expect(replaced.body).toMatchObject({
      WebhookUrl: "http://127.0.0.1:1/other",
      WebhookEvents: ["referral-updated"],
    });
    expect((await hooks("DELETE", REGISTRATION)).status).toBe(405);
  });

  it("400 for a missing URL or unknown events; 401 without a token or with a referrals token", async () => {
    expect(
      (await hooks<ErrorBody>("POST", REGISTRATION, { WebhookEvents: ["referral-created"] })).status,
    ).toBe(400);
    const unknown = await hooks<ErrorBody>("POST", REGISTRATION, {
      WebhookUrl: receiverUrl,
      WebhookEvents: ["deal-won"],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("deal-won");
    const url = `${sandbox.partnerCenter.webhooks.url}${REGISTRATION}`;
    expect((await fetch(url)).status).toBe(401);
    const wrongAudience = await api<ErrorBody>("GET", url);
    expect(wrongAudience.status).toBe(401);
    expect(wrongAudience.body.error.message).toContain("https://api.partnercenter.microsoft.com");
    // …and a webhook token is no good for the referrals API either.
    const referralsWithWebhookToken = await fetch(
      `${sandbox.urls.partnerCenter}/v1.0/engagements/referrals`,
      {
        headers: { authorization: `Bearer ${await webhookToken()}` },
      },
    );
    expect(referralsWithWebhookToken.status).toBe(401);
    expect(
      sandbox.log.filter({ server: "partner-center-webhooks", status: 401 }).length,
    ).toBeGreaterThanOrEqual(2);
  });

  it("validation events: test-created is delivered and its attempts can be read back", async () => {
    const refused = await hooks<ErrorBody>("POST", `${REGISTRATION}/validationEvents`);
    expect(refused.status).toBe(400);
    await hooks("POST", REGISTRATION, { WebhookUrl: receiverUrl, WebhookEvents: ["test-created"] });
    const sent = await hooks<{ correlationId: string }>("POST", `${REGISTRATION}/validationEvents`);
    expect(sent.status).toBe(200);
    await sandbox.partnerCenter.webhooks.idle();
    expect(JSON.parse(received[0]!.raw.toString())).toMatchObject({
      EventName: "test-created",
      ResourceName: "test",
    });
    const state = await hooks<Record<string, unknown>>(
      "GET",
      `${REGISTRATION}/validationEvents/${sent.body.correlationId}`,
    );
    expect(state.body).toMatchObject({
      correlationId: sent.body.correlationId,
      status: "completed",
      callbackUrl: receiverUrl,
      results: [{ responseCode: "OK", systemError: false }],
    });
  });
});

describe("signed event delivery", () => {
  async function trustingReceiver() {
    return createWebhookReceiver(
      {
        certificateUrlPrefixes: [sandbox.partnerCenter.webhooks.certificateUrlPrefix],
        trustedRootCertificates: await sandbox.partnerCenter.webhooks.trustedRootPem(),
      },
      { now: () => sandbox.clock.now() },
    );
  }

  it("delivers referral-created and referral-updated in the documented body, signed by a certificate core trusts through config", async () => {
    await hooks("POST", REGISTRATION, {
      WebhookUrl: receiverUrl,
      WebhookEvents: ["referral-created", "referral-updated"],
    });
    const created = await createReferral(api);
    const inbound = sandbox.partnerCenter.sendInboundReferral();
    sandbox.partnerCenter.updateNotes(inbound.id, "Call the CIO");
    await sandbox.partnerCenter.webhooks.idle();

    expect(received).toHaveLength(3);
    const core = await trustingReceiver();
    const outcomes = [];
    for (const d of received) outcomes.push(await core.receive(d.headers, d.raw));
    expect(outcomes.map((o) => [o.status, o.event?.event, o.event?.referralId])).toEqual([
      [200, "referral-created", created.id],
      [200, "referral-created", inbound.id],
      [200, "referral-updated", inbound.id],
    ]);
    expect(JSON.parse(received[0]!.raw.toString())).toEqual({
      EventName: "referral-created",
      ResourceUri: `${sandbox.urls.partnerCenter}/v1.0/engagements/referrals/${created.id}`,
      ResourceName: "referral",
      AuditUri: null,
      ResourceChangeUtcDate: sandbox.clock.now().toISOString(),
    });
    expect(received[0]!.headers["x-ms-signature-algorithm"]).toBe("rsa-sha256");
    expect(String(received[0]!.headers["x-ms-certificate-url"])).toMatch(
      new RegExp(`^${sandbox.partnerCenter.webhooks.url}/cert/.+\\.cer$`),
    );
  });

  it("a receiver that does not trust the test root refuses the events (401, chain not trusted)", async () => {
    await hooks("POST", REGISTRATION, { WebhookUrl: receiverUrl, WebhookEvents: ["referral-created"] });
    sandbox.partnerCenter.sendInboundReferral();
    await sandbox.partnerCenter.webhooks.idle();
    const untrusting = createWebhookReceiver(
      { certificateUrlPrefixes: [sandbox.partnerCenter.webhooks.certificateUrlPrefix] },
      { now: () => sandbox.clock.now() },
    );
    const o = await untrusting.receive(received[0]!.headers, received[0]!.raw);
    expect(o).toMatchObject({ status: 401, reason: { code: "WEBHOOK_UNTRUSTED_CERTIFICATE" } });
  });

  it("retries a failed delivery, as Partner Center does, until the receiver answers 2xx", async () => {
    await hooks("POST", REGISTRATION, { WebhookUrl: receiverUrl, WebhookEvents: ["referral-created"] });
    failNext.push(500, 503);
    const r = sandbox.partnerCenter.sendInboundReferral();
    await sandbox.partnerCenter.webhooks.idle();
    expect(received).toHaveLength(3);
    expect(new Set(received.map((d) => d.raw.toString())).size).toBe(1);
    const d = sandbox.partnerCenter.webhooks.deliveries().at(-1);
    expect(d).toMatchObject({ referralId: r.id, ok: true, status: 200 });
    expect(d?.attempts.map((a) => a.status)).toEqual([500, 503, 200]);
  });

  it("only registered events are sent; expiry sends referral-updated", async () => {
    await hooks("POST", REGISTRATION, { WebhookUrl: receiverUrl, WebhookEvents: ["referral-updated"] });
    const r = sandbox.partnerCenter.sendInboundReferral();
    await sandbox.partnerCenter.webhooks.idle();
    expect(received).toHaveLength(0);
    sandbox.clock.advance(15 * 24 * 3600 * 1000);
    await sandbox.partnerCenter.webhooks.idle();
    const events = received.map(
      (d) => JSON.parse(d.raw.toString()) as { EventName: string; ResourceUri: string },
    );
    expect(events.filter((e) => e.ResourceUri.endsWith(`/referrals/${r.id}`))).toEqual([
      expect.objectContaining({ EventName: "referral-updated" }),
    ]);
    expect(new Set(events.map((e) => e.EventName))).toEqual(new Set(["referral-updated"]));
    expect(sandbox.partnerCenter.get(r.id)?.substatus).toBe("Expired");
  });

  it("records refused deliveries and never leaves the machine", async () => {
    await hooks("PUT", REGISTRATION, {
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
