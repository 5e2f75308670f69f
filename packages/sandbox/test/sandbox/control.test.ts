import { invitationBody, microsoftAnswerOf, type Referral } from "@cosell/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Sandbox } from "../../src/index.js";
import {
  type Api,
  createReferral,
  DAY_MS,
  patch,
  pcApi,
  pcToken,
  REFERRALS,
  startFrozen,
  T0,
} from "../partner-center/helpers.js";

type ErrorBody = { error: { code: string; message: string } };

let sandbox: Sandbox;
let api: Api;

beforeAll(async () => {
  sandbox = await startFrozen();
  api = pcApi(sandbox, () => pcToken(sandbox));
});
afterAll(() => sandbox.stop());
beforeEach(() => {
  sandbox.faults.clear();
  sandbox.clock.set(T0);
});

/** Calls the control API over HTTP. */
async function control<T = Record<string, unknown>>(method: string, path: string, body?: unknown) {
  const res = await fetch(`${sandbox.urls.control}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

describe("control API over HTTP", () => {
  it("GET / lists the routes", async () => {
    const res = await control<{ routes: { method: string; path: string }[] }>("GET", "/");
    const routes = res.body.routes.map((r) => `${r.method} ${r.path}`);
    for (const r of [
      "POST /clock/advance",
      "POST /microsoft/referrals",
      "POST /microsoft/referrals/{id}/engage",
      "POST /faults",
      "POST /tokens/expire",
      "GET /log",
      "GET /state",
    ])
      expect(routes).toContain(r);
  });

  it("acts as a Microsoft seller: send, edit notes, and engage on / decline invitations", async () => {
    const sent = await control<Referral>("POST", "/microsoft/referrals", { name: "From Microsoft" });
    expect(sent.status).toBe(200);
    expect([sent.body.name, sent.body.substatus]).toEqual(["From Microsoft", "Pending"]);
    const notes = await control<Referral>("POST", `/microsoft/referrals/${sent.body.id}/notes`, {
      notes: "Hello",
    });
    expect(notes.body.details?.notes).toBe("Hello");
    expect((await api<Referral>("GET", `${REFERRALS}/${sent.body.id}`)).body.details?.notes).toBe("Hello");

    // Microsoft answers the connected referral the partner sent on the deal's engagement.
    const shared = await createReferral(api, { type: "Shared" });
    const invitation = await api<Referral>("POST", REFERRALS, invitationBody(shared, { notes: "Help" }));
    const engaged = await control<Referral>("POST", `/microsoft/referrals/${shared.id}/engage`);
    expect(engaged.body.trackingInfo?.microsoftMsxId).toBeTruthy();
    const answer = (await api<Referral>("GET", `${REFERRALS}/${invitation.body.id}`)).body;
    expect(microsoftAnswerOf(answer)).toBe("accepted");
    const again = await control<ErrorBody>("POST", `/microsoft/referrals/${shared.id}/engage`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("ALREADY_ANSWERED");

    const other = await createReferral(api, { type: "Shared" });
    const otherInvitation = await api<Referral>("POST", REFERRALS, invitationBody(other, { notes: "Help" }));
    const declined = await control<Referral>("POST", `/microsoft/referrals/${other.id}/decline`, {
      reason: "Out of segment",
    });
    expect(declined.body.substatus).toBe("Accepted");
    const no = (await api<Referral>("GET", `${REFERRALS}/${otherInvitation.body.id}`)).body;
    expect([no.substatus, no.statusReason]).toEqual(["Declined", "Out of segment"]);
    expect((await control<ErrorBody>("POST", `/microsoft/referrals/${other.id}/decline`, {})).status).toBe(
      400,
    );
    expect((await control<ErrorBody>("POST", "/microsoft/referrals/nope/engage")).body.error.code).toBe(
      "NOT_FOUND",
    );
  });

  it("inspects state: GET /state, GET /partner-center/referrals/{id}", async () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    const state = await control<{ now: string; partnerCenter: { referrals: Referral[] } }>("GET", "/state");
    expect(state.body.now).toBe(T0.toISOString());
    expect(state.body.partnerCenter.referrals.map((x) => x.id)).toContain(r.id);
    expect((await control<Referral>("GET", `/partner-center/referrals/${r.id}`)).body.eTag).toBe(r.eTag);
    expect((await control("GET", "/partner-center/referrals/missing")).status).toBe(404);
  });

  it("POST /clock/advance moves the clock and expires what is due", async () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    const moved = await control<{ now: string }>("POST", "/clock/advance", { days: 14, seconds: 1 });
    expect(moved.body.now).toBe(new Date(T0.getTime() + 14 * DAY_MS + 1000).toISOString());
    expect(sandbox.partnerCenter.get(r.id)?.substatus).toBe("Expired");
    expect((await control("POST", "/clock/advance", { ms: -1 })).status).toBe(400);
    expect((await control("POST", "/clock/advance", { weeks: 1 })).status).toBe(400);
    const set = await control<{ now: string }>("POST", "/clock/set", { now: "2027-01-01T00:00:00Z" });
    expect(set.body.now).toBe("2027-01-01T00:00:00.000Z");
  });

  it("POST /tokens/expire makes the next API call 401", async () => {
    const token = await pcToken(sandbox);
    const fixed = pcApi(sandbox, token);
    expect((await fixed("GET", REFERRALS)).status).toBe(200);
    const res = await control<{ expired: number }>("POST", "/tokens/expire");
    expect(res.body.expired).toBeGreaterThan(0);
    const after = await fixed<ErrorBody>("GET", REFERRALS);
    expect([after.status, after.body.error.code]).toEqual([401, "unauthenticated"]);
  });

  it("control calls never show in the request log", async () => {
    sandbox.log.clear();
    await control("GET", "/state");
    await control("POST", "/microsoft/referrals", {});
    expect(sandbox.log.entries).toEqual([]);
  });
});

describe("fault injection", () => {
  it("a scripted 429 carries Retry-After and shows in the log with per-endpoint counts", async () => {
    sandbox.log.clear();
    const scripted = await control("POST", "/faults", {
      script: [
        { server: "partner-center", method: "GET", fault: { kind: "throttle", retryAfterSeconds: 7 } },
      ],
    });
    expect(scripted.status).toBe(200);
    const throttled = await api<ErrorBody>("GET", REFERRALS);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("7");
    expect(throttled.body.error.code).toBe("serviceNotAvailable");
    expect((await api("GET", REFERRALS)).status).toBe(200);

    const log = await control<{
      entries: { server: string; status: number; fault?: string; retryAfter?: number }[];
      countsByEndpoint: Record<string, number>;
    }>("GET", "/log?server=partner-center");
    expect(log.body.entries.map((e) => [e.status, e.fault, e.retryAfter])).toEqual([
      [429, "throttle", 7],
      [200, undefined, undefined],
    ]);
    expect(log.body.countsByEndpoint["partner-center GET /v1.0/engagements/referrals"]).toBe(2);
    expect(sandbox.log.countsByEndpoint()["entra POST /{tenant}/oauth2/v2.0/token"]).toBeGreaterThan(0);
  });

  it("scripted 500/503 and connection resets", async () => {
    await control("POST", "/faults", {
      script: [
        { server: "partner-center", fault: { kind: "serverError", status: 503 } },
        { server: "partner-center", fault: { kind: "serverError", status: 500 } },
        { server: "partner-center", fault: { kind: "reset" } },
      ],
    });
    const unavailable = await api<ErrorBody>("GET", REFERRALS);
    expect([unavailable.status, unavailable.body.error.code]).toEqual([503, "serviceNotAvailable"]);
    const failed = await api<ErrorBody>("GET", REFERRALS);
    expect([failed.status, failed.body.error.code]).toEqual([500, "generalException"]);
    await expect(api("GET", REFERRALS)).rejects.toThrow();
    expect((await api("GET", REFERRALS)).status).toBe(200);
    expect(sandbox.faults.injected.reset).toBeGreaterThan(0);
  });

  it("a scripted 412 answers the next write and gives the referral a new eTag", async () => {
    const r = await createReferral(api);
    await control("POST", "/faults", {
      script: [{ server: "partner-center", fault: { kind: "preconditionFailed" } }],
    });
    expect((await api("GET", `${REFERRALS}/${r.id}`)).status).toBe(200); // reads are not affected
    const refused = await patch(api, r, { name: "mine" });
    expect([refused.status, refused.body.error?.code]).toEqual([412, "preconditionFailed"]);
    const current = (await api<Referral>("GET", `${REFERRALS}/${r.id}`)).body;
    expect(current.eTag).not.toBe(r.eTag);
    expect((await patch(api, current, { name: "mine" })).status).toBe(200);
  });

  it("rates apply to every request until cleared; latency is added", async () => {
    await control("POST", "/faults", {
      server: "partner-center",
      rates: { throttle: 1, retryAfterSeconds: 2 },
    });
    for (let i = 0; i < 3; i++) expect((await api("GET", REFERRALS)).status).toBe(429);
    expect((await control("DELETE", "/faults")).status).toBe(200);
    await control("POST", "/faults", { rates: { latencyMs: 5 } });
    expect((await api("GET", REFERRALS)).status).toBe(200);
    expect((await control("POST", "/faults", { rates: { throttle: 2 } })).status).toBe(400);
    expect((await control("POST", "/faults", { script: [{ fault: { kind: "meteor" } }] })).status).toBe(400);
  });
});
