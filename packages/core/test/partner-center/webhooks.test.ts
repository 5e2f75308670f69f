import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import { PARTNER_CENTER_WEBHOOKS_SCOPE } from "../../src/index.js";
import { API, headerOf, LOGIN, makeClient, mockToken, REFERRALS, referral, TOKEN_PATH } from "./helpers.js";

afterEach(() => {
  nock.cleanAll();
});

const WEBHOOK_API = "https://api.partnercenter.microsoft.com";
const REG = "/webhooks/v1/registration";
const OURS = "https://cosell.partner.example/hooks/partner-center";

describe("registerWebhook", () => {
  it("no registration yet → POST {WebhookUrl, WebhookEvents} with the referral events", async () => {
    mockToken();
    let posted: unknown;
    nock(WEBHOOK_API)
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
    nock(WEBHOOK_API)
      .get(REG)
      .reply(200, { WebhookUrl: OURS, WebhookEvents: ["referral-created", "referral-updated"] });
    const { client } = makeClient();
    expect((await client.registerWebhook({ url: OURS })).action).toBe("unchanged");
    expect(client.stats().writes).toBe(0);

    let put: unknown;
    nock(WEBHOOK_API)
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
    nock(WEBHOOK_API)
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
    nock(WEBHOOK_API)
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
    nock(WEBHOOK_API)
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

  it("uses a second token, for the webhook API's audience, never the referrals token", async () => {
    const scopes: string[] = [];
    nock(LOGIN)
      .post(TOKEN_PATH)
      .query(true)
      .times(2)
      .reply((_uri, body) => {
        const scope = new URLSearchParams(String(body)).get("scope") ?? "";
        scopes.push(scope);
        const token = scope.startsWith(PARTNER_CENTER_WEBHOOKS_SCOPE) ? "webhooks-token" : "referrals-token";
        return [200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: token }];
      });
    nock(WEBHOOK_API)
      .get(REG)
      .reply(function () {
        expect(headerOf(this.req.headers, "authorization")).toBe("Bearer webhooks-token");
        return [200, { WebhookUrl: OURS, WebhookEvents: ["referral-created"] }];
      });
    nock(API)
      .get(`${REFERRALS}/ref-1`)
      .reply(function () {
        expect(headerOf(this.req.headers, "authorization")).toBe("Bearer referrals-token");
        return [200, referral()];
      });
    const { client } = makeClient();
    expect((await client.getReferral("ref-1")).id).toBe("ref-1");
    expect(await client.getWebhookRegistration()).toEqual({ url: OURS, events: ["referral-created"] });
    expect(scopes.map((s) => s.split(" ").find((x) => x.startsWith("https://")))).toEqual([
      "https://api.partner.microsoft.com/.default",
      "https://api.partnercenter.microsoft.com/.default",
    ]);
  });
});
