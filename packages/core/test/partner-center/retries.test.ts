import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import {
  AuthError,
  backoffDelay,
  ConfigError,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  ThrottledError,
  TransientError,
} from "../../src/index.js";
import { api, headerOf, makeClient, mockToken, REFERRALS, referral } from "./helpers.js";

afterEach(() => {
  nock.cleanAll();
});

const throttle = (seconds: string) => [
  429,
  { error: { code: "tooManyRequests", message: "Slow down." } },
  { "Retry-After": seconds },
];

describe("retries", () => {
  it("429 with Retry-After: waits exactly that long (no backoff on top), then succeeds", async () => {
    mockToken();
    const correlationIds: (string | undefined)[] = [];
    api()
      .get(`${REFERRALS}/ref-1`)
      .times(2)
      .reply(function () {
        correlationIds.push(headerOf(this.req.headers, "ms-correlationid"));
        return throttle(correlationIds.length === 1 ? "2" : "1") as [number, object, Record<string, string>];
      })
      .get(`${REFERRALS}/ref-1`)
      .reply(200, referral());
    const { client, waits } = makeClient();

    expect((await client.getReferral("ref-1")).id).toBe("ref-1");
    expect(waits).toEqual([2000, 1000]);
    // Retries of one call share its correlation id, so they trace together.
    expect(new Set(correlationIds).size).toBe(1);
    expect(client.stats()).toMatchObject({
      total: 3,
      reads: 3,
      retries: 2,
      throttled: 2,
      throttledWaits: 2,
      waitedMs: 3000,
    });
  });

  it("Retry-After as an HTTP date is measured against the response's Date header", async () => {
    mockToken();
    api()
      .get(`${REFERRALS}/ref-1`)
      .reply(429, "", {
        "Retry-After": "Sun, 01 Mar 2026 12:00:07 GMT",
        Date: "Sun, 01 Mar 2026 12:00:02 GMT",
      })
      .get(`${REFERRALS}/ref-1`)
      .reply(200, referral());
    const { client, waits } = makeClient();
    await client.getReferral("ref-1");
    expect(waits).toEqual([5000]);
  });

  it("503 then success: one jittered exponential backoff step", async () => {
    mockToken();
    api().get(`${REFERRALS}/ref-1`).reply(503, "busy").get(`${REFERRALS}/ref-1`).reply(200, referral());
    const { client, waits } = makeClient({ retry: { baseDelayMs: 400 } });
    await client.getReferral("ref-1");
    // random() is 0.5 in makeClient: half the step fixed + half × 0.5.
    expect(waits).toEqual([300]);
    expect(client.stats()).toMatchObject({ retries: 1, throttled: 0, throttledWaits: 0 });
  });

  it("a connection reset on a GET is retried", async () => {
    mockToken();
    api()
      .get(`${REFERRALS}/ref-1`)
      .replyWithError({ code: "ECONNRESET", message: "socket hang up" })
      .get(`${REFERRALS}/ref-1`)
      .reply(200, referral());
    const { client, waits } = makeClient();
    expect((await client.getReferral("ref-1")).id).toBe("ref-1");
    expect(waits).toHaveLength(1);
    expect(client.stats()).toMatchObject({ total: 2, retries: 1 });
  });

  it("a host name that does not resolve is a config error at once, naming the host and the key", async () => {
    mockToken();
    api()
      .get(`${REFERRALS}/ref-1`)
      .replyWithError({ code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND api.partner.microsoft.com" });
    const { client, waits } = makeClient();
    const err = await client.getReferral("ref-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: "REMOTE_HOST_NOT_FOUND" });
    expect((err as Error).message).toContain("api.partner.microsoft.com");
    expect((err as Error).message).toContain("ENOTFOUND");
    expect((err as Error).message).toContain("partnerCenter.apiBaseUrl");
    expect(waits).toHaveLength(0);
    expect(client.stats()).toMatchObject({ total: 1, retries: 0 });
  });

  it("a refused connection is retried, then named with the host, the cause and the key (no 'credentials')", async () => {
    mockToken();
    api()
      .get(`${REFERRALS}/ref-1`)
      .times(3)
      .replyWithError({ code: "ECONNREFUSED", message: "connect ECONNREFUSED 10.0.0.1:443" });
    const { client, waits } = makeClient({ retry: { maxAttempts: 3 } });
    const err = await client.getReferral("ref-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    const message = (err as Error).message;
    expect(message).toContain("the connection to api.partner.microsoft.com failed: connection refused");
    expect(message).toContain("(ECONNREFUSED)");
    expect(message).toContain("Check partnerCenter.apiBaseUrl.");
    expect(message).not.toMatch(/credential/i);
    expect(waits).toHaveLength(2);
  });

  it("gives up after maxAttempts with ThrottledError carrying the last Retry-After", async () => {
    mockToken();
    api()
      .get(`${REFERRALS}/ref-1`)
      .times(3)
      .reply(...(throttle("4") as [number, object, Record<string, string>]));
    const { client, waits } = makeClient({ retry: { maxAttempts: 3 } });
    const err = await client.getReferral("ref-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThrottledError);
    expect(err).toMatchObject({ code: "REMOTE_THROTTLED", status: 429, retryAfterMs: 4000, retryable: true });
    expect(waits).toEqual([4000, 4000]);
    expect(client.stats().total).toBe(3);
  });

  it("gives up before a wait that would exceed maxRetryTimeMs (TransientError after 5xx)", async () => {
    mockToken();
    api().get(`${REFERRALS}/ref-1`).times(2).reply(503, "", { "Retry-After": "30" });
    const { client, waits } = makeClient({ retry: { maxRetryTimeMs: 45_000 } });
    const err = await client.getReferral("ref-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: "REMOTE_UNAVAILABLE", status: 503, retryable: true });
    // 30 s fits in the 45 s budget, a second 30 s would not.
    expect(waits).toEqual([30_000]);
    expect(client.stats().total).toBe(2);
  });
});

describe("401: fresh token, replayed once", () => {
  it("invalidates the token, gets a new one from Entra ID and replays the request", async () => {
    const tokens = mockToken("old").post(/.*/).query(true).reply(200, {
      token_type: "Bearer",
      expires_in: 3599,
      access_token: "new",
    });
    const bearers: (string | undefined)[] = [];
    api()
      .get(`${REFERRALS}/ref-1`)
      .times(2)
      .reply(function () {
        bearers.push(headerOf(this.req.headers, "authorization"));
        return bearers.length === 1
          ? [401, { error: { code: "unauthorized", message: "Token expired." } }]
          : [200, referral()];
      });
    const { client, waits } = makeClient();
    expect((await client.getReferral("ref-1")).id).toBe("ref-1");
    expect(bearers).toEqual(["Bearer old", "Bearer new"]);
    expect(tokens.isDone()).toBe(true);
    expect(waits).toEqual([]);
    expect(client.stats()).toMatchObject({ total: 2, unauthorizedReplays: 1, tokenRequests: 2 });
  });

  it("a second 401 is an AuthError that says what to fix (no endless replays)", async () => {
    mockToken("t1");
    mockToken("t2");
    api()
      .get(`${REFERRALS}/ref-1`)
      .times(2)
      .reply(401, { error: { code: "unauthorized", message: "Invalid audience." } });
    const { client } = makeClient();
    const err = await client.getReferral("ref-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err).toMatchObject({ code: "AUTH_REJECTED", status: 401 });
    expect((err as Error).message).toMatch(/API permission|tenantId/);
    expect(client.stats().total).toBe(2);
  });
});

describe("creates are never retried blindly", () => {
  const newBody = { name: "Contoso", customerProfile: { name: "Contoso Ltd" } };

  it("reset on POST → GET by externalReferenceId → found → no second POST", async () => {
    mockToken();
    const landed = referral({ id: "landed", externalReferenceId: "006C", eTag: '"e1"' });
    const pc = api()
      .get(REFERRALS)
      .query({ $filter: "externalReferenceId eq '006C'", $orderby: "updatedDateTime asc", $top: "10" })
      .reply(200, { value: [] })
      .post(REFERRALS)
      .replyWithError({ code: "ECONNRESET", message: "socket hang up" })
      .get(REFERRALS)
      .query({ $filter: "externalReferenceId eq '006C'", $orderby: "updatedDateTime asc", $top: "10" })
      .reply(200, { value: [landed] });
    const { client } = makeClient();

    expect(await client.createReferral(newBody, { crmId: "006C" })).toEqual(landed);
    expect(pc.isDone()).toBe(true);
    expect(client.stats().byMethod).toEqual({ GET: 2, POST: 1 });
  });

  it("reset on POST → not found → POSTs again", async () => {
    mockToken();
    api()
      .get(REFERRALS)
      .query(true)
      .times(2)
      .reply(200, { value: [] })
      .post(REFERRALS)
      .replyWithError({ code: "ECONNRESET", message: "socket hang up" })
      .post(REFERRALS)
      .reply(201, referral({ id: "second-try", externalReferenceId: "006D" }));
    const { client } = makeClient();
    expect((await client.createReferral(newBody, { crmId: "006D" })).id).toBe("second-try");
    expect(client.stats().byMethod).toEqual({ GET: 2, POST: 2 });
  });

  it("504 on POST is also looked up before anything else", async () => {
    mockToken();
    api()
      .get(REFERRALS)
      .query(true)
      .reply(200, { value: [] })
      .post(REFERRALS)
      .reply(504, "gateway timeout")
      .get(REFERRALS)
      .query(true)
      .reply(200, { value: [referral({ id: "landed", externalReferenceId: "006E" })] });
    const { client } = makeClient();
    expect((await client.createReferral(newBody, { crmId: "006E" })).id).toBe("landed");
    expect(client.stats().byMethod.POST).toBe(1);
  });

  it("429 on POST is retried directly (a throttled request was not processed)", async () => {
    mockToken();
    api()
      .get(REFERRALS)
      .query(true)
      .reply(200, { value: [] })
      .post(REFERRALS)
      .reply(429, "", { "Retry-After": "3" })
      .post(REFERRALS)
      .reply(201, referral({ id: "made", externalReferenceId: "006F" }));
    const { client, waits } = makeClient();
    expect((await client.createReferral(newBody, { crmId: "006F" })).id).toBe("made");
    expect(waits).toEqual([3000]);
    expect(client.stats().byMethod).toEqual({ GET: 1, POST: 2 });
  });
});

describe("parseRetryAfter / backoffDelay", () => {
  it("reads delta-seconds, fractions and dates; ignores garbage", () => {
    expect(parseRetryAfter("120")).toBe(120_000);
    expect(parseRetryAfter("1.5")).toBe(1500);
    expect(parseRetryAfter("Sun, 01 Mar 2026 12:00:10 GMT", null, Date.parse("2026-03-01T12:00:00Z"))).toBe(
      10_000,
    );
    expect(parseRetryAfter("Sun, 01 Mar 2026 11:00:00 GMT", null, Date.parse("2026-03-01T12:00:00Z"))).toBe(
      0,
    );
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it("doubles per retry within [step/2, step], capped at maxDelayMs", () => {
    const p = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1000, maxDelayMs: 5000 };
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, p, () => 0))).toEqual([500, 1000, 2000, 2500]);
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, p, () => 0.999_999))).toEqual([1000, 2000, 4000, 5000]);
  });
});
