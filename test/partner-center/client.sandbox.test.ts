import {
  ConflictError,
  createPartnerCenterClient,
  createTokenProvider,
  dealToReferral,
  type PartnerCenterClientConfigInput,
  type Referral,
  TransitionError,
} from "@cosell/core";
import { completeDeal, SAMPLE_CONTACT, sampleDeal } from "@cosell/core/testing";
import { partnerCenterClientConfig, startSandbox } from "@cosell/sandbox";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from "vitest";

/**
 * The Partner Center client against the sandbox's HTTP servers: Entra ID token endpoint (msal over
 * http on loopback) and the Referrals API, with the sandbox's clock, fault injector and request log.
 */

type Sandbox = Awaited<ReturnType<typeof startSandbox>>;
let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(async () => {
  await sb?.stop();
});
beforeEach(() => {
  sb.faults.clear();
});

const DAY = 86_400_000;

/** Client settings from the sandbox's credentials: the signed-in user (default), or app-only. */
function config(credential: "user" | "secret" | "certificate" = "user"): PartnerCenterClientConfigInput {
  return partnerCenterClientConfig(sb.credentials.partnerCenter, credential);
}

/** A client on the sandbox clock whose waits are recorded (and really taken). */
function client(credential: "user" | "secret" | "certificate" = "user") {
  const waits: number[] = [];
  const pc = createPartnerCenterClient(config(credential), {
    now: () => sb.clock.now(),
    sleep: (ms) => {
      waits.push(ms);
      return new Promise((resolve) => setTimeout(resolve, ms));
    },
  });
  return { pc, waits };
}

let crmSeq = 0;
/** A new outbound referral body for a CRM record, as the engine builds it. */
function outboundBody(): { body: Referral; crmId: string } {
  const crmId = `006SBX${String(++crmSeq).padStart(6, "0")}`;
  const deal = completeDeal(sampleDeal({ crmId }), sb.clock.now());
  const { id: _id, ...body } = dealToReferral({ ...deal, id: undefined, version: undefined });
  return { body: body as Referral, crmId };
}

/** Makes Microsoft send the partner a referral; returns its id. */
async function inbound(): Promise<string> {
  const sent: unknown = await sb.partnerCenter.sendInboundReferral();
  return typeof sent === "string" ? sent : (sent as { id: string }).id;
}

describe("Partner Center client × sandbox", () => {
  it("auth.kind app: msal gets tokens with the client secret and with the certificate", async () => {
    // Microsoft refuses app-only tokens for referrals; the emulator does too unless told otherwise.
    sb.partnerCenter.allowAppOnlyTokens(true);
    onTestFinished(() => sb.partnerCenter.allowAppOnlyTokens(false));
    const before = sb.log.count({ server: "entra" });
    for (const credential of ["secret", "certificate"] as const) {
      const c = config(credential);
      if (c.auth?.kind !== "app") throw new Error("expected an app config");
      const tokens = createTokenProvider({
        tenantId: c.tenantId,
        clientId: c.clientId,
        authorityHost: c.authorityHost,
        tokenEndpoint: c.tokenEndpoint,
        scope: c.scope,
        clientSecret: c.auth.clientSecret,
        certificate: c.auth.certificate,
      });
      expect(await tokens.getToken()).toMatch(/\S{10,}/);
      const { pc } = client(credential);
      expect(Array.isArray(await firstPage(pc.listReferrals({ pageSize: 1 })))).toBe(true);
    }
    expect(sb.log.count({ server: "entra" }) - before).toBe(4);
  });

  it("outbound: create → invite Microsoft → Microsoft engages → won", async () => {
    const { pc } = client();
    const { body, crmId } = outboundBody();
    const created = await pc.createReferral(body, { crmId });
    expect(created).toMatchObject({ externalReferenceId: crmId, eTag: expect.any(String) });
    // Idempotent: the same CRM id again returns the same referral, nothing new is posted.
    const posts = sb.log.count({ server: "partner-center", method: "POST" });
    expect((await pc.createReferral(body, { crmId })).id).toBe(created.id);
    expect(sb.log.count({ server: "partner-center", method: "POST" })).toBe(posts);

    const invited = await pc.inviteMicrosoft(created.id, {
      notes: "Need an Azure data architect",
      contact: { ...SAMPLE_CONTACT },
      consentToShareContact: true,
    });
    expect(invited).toMatchObject({
      type: "Shared",
      inviteContext: expect.objectContaining({ notes: "Need an Azure data architect" }),
    });

    await sb.partnerCenter.engage(created.id);
    const engaged = await pc.getReferral(created.id);
    expect(engaged.status).toBe("Active");
    expect(engaged.eTag).not.toBe(invited.eTag);

    const won = await pc.markWon(created.id);
    expect(won).toMatchObject({ status: "Closed", substatus: "Won" });
    expect(await pc.findByExternalReferenceId(crmId)).toMatchObject({ id: created.id, substatus: "Won" });
    // Archived: the lifecycle refuses before any write.
    const writes = sb.log.count({ server: "partner-center", method: "PATCH" });
    await expect(pc.markLost(created.id, "changed our mind")).rejects.toBeInstanceOf(TransitionError);
    expect(sb.log.count({ server: "partner-center", method: "PATCH" })).toBe(writes);
  });

  it("inbound: received → accepted → lost", async () => {
    const { pc } = client();
    const id = await inbound();
    const listed = await allPages(pc.listReferrals({ direction: "inbound", status: "New" }));
    expect(listed.map((r) => r.id)).toContain(id);
    expect(listed.find((r) => r.id === id)).toMatchObject({
      status: "New",
      substatus: "Pending",
      direction: "Incoming",
    });

    const accepted = await pc.accept(id, { crmId: "006INBOUND01" });
    expect(accepted).toMatchObject({
      status: "Active",
      substatus: "Accepted",
      externalReferenceId: "006INBOUND01",
    });
    const lost = await pc.markLost(id, "Customer chose another partner");
    expect(lost).toMatchObject({
      status: "Closed",
      substatus: "Lost",
      statusReason: "Customer chose another partner",
    });
  });

  it("inbound: received → declined", async () => {
    const { pc } = client();
    const id = await inbound();
    const before = (await pc.getReferral(id)).details?.notes;
    const declined = await pc.decline(id, "Outside our region", { text: "We only serve EMEA.", by: "Ann" });
    expect(declined).toMatchObject({
      status: "Closed",
      substatus: "Declined",
      statusReason: "Outside our region",
    });
    // The emulator accepts the decline carrying the added note; what was there stays in front.
    expect(declined.details?.notes).toMatch(/\[\d{4}-\d\d-\d\d \d\d:\d\d UTC, Ann\] We only serve EMEA\.$/);
    if (before) expect(declined.details?.notes?.startsWith(before)).toBe(true);
  });

  it("inbound: received → expired after 14 days without an answer", async () => {
    const { pc } = client();
    const id = await inbound();
    sb.clock.advance(14 * DAY + 60_000);
    const expired = await pc.getReferral(id);
    expect(expired).toMatchObject({ status: "Closed", substatus: "Expired" });
    await expect(pc.accept(id)).rejects.toBeInstanceOf(TransitionError);
  });

  it("a stale eTag → ConflictError carrying the server's current copy", async () => {
    const { pc } = client();
    const { body, crmId } = outboundBody();
    const r = await pc.createReferral(body, { crmId });
    const first = await pc.updateReferral(r.id, { ...r, name: "First edit" }, r.eTag!, r);
    const err = await pc
      .updateReferral(r.id, { ...r, name: "Second edit" }, r.eTag!, r)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).current).toMatchObject({ id: r.id, name: "First edit", eTag: first.eTag });
  });

  it("survives a 429 storm, waiting exactly the Retry-After between attempts", async () => {
    const { pc, waits } = client();
    const { body, crmId } = outboundBody();
    const r = await pc.createReferral(body, { crmId });
    const throttle = { kind: "throttle" as const, retryAfterSeconds: 1 };
    sb.faults.script(
      ...[1, 2, 3].map(() => ({
        fault: throttle,
        server: "partner-center" as const,
        method: "GET",
        pathIncludes: r.id,
      })),
    );
    const from = sb.log.entries.length;

    expect((await pc.getReferral(r.id)).id).toBe(r.id);

    const attempts = sb.log.entries.slice(from).filter((e) => e.server === "partner-center");
    expect(attempts.map((e) => e.status)).toEqual([429, 429, 429, 200]);
    expect(attempts.slice(0, 3).map((e) => e.retryAfter)).toEqual([1, 1, 1]);
    expect(waits).toEqual([1000, 1000, 1000]);
    // Measured by the server: each retry came at least the requested second after the 429.
    for (let i = 1; i < attempts.length; i++)
      expect(attempts[i]!.atMs - attempts[i - 1]!.atMs).toBeGreaterThanOrEqual(990);
    expect(pc.stats()).toMatchObject({ throttled: 3, throttledWaits: 3, retries: 3 });
  });

  it("renews the token silently when the sandbox expires every token mid-run", async () => {
    const { pc } = client();
    await firstPage(pc.listReferrals({ pageSize: 1 }));
    // The sandbox's sign-in at start left a valid access token in the cache: no request yet.
    expect(pc.stats().tokenRequests).toBe(0);
    sb.tokens.expireAll();
    const from = sb.log.entries.length;

    await firstPage(pc.listReferrals({ pageSize: 1 }));

    const after = sb.log.entries.slice(from).map((e) => `${e.server} ${e.status}`);
    expect(after).toEqual(["partner-center 401", "entra 200", "partner-center 200"]);
    // The refresh token bought the new access token: no human, no new sign-in.
    expect(pc.stats()).toMatchObject({ tokenRequests: 1, unauthorizedReplays: 1 });
  });
});

async function firstPage(pages: AsyncIterable<Referral[]>): Promise<Referral[]> {
  for await (const p of pages) return p;
  return [];
}

async function allPages(pages: AsyncIterable<Referral[]>): Promise<Referral[]> {
  const out: Referral[] = [];
  for await (const p of pages) out.push(...p);
  return out;
}
