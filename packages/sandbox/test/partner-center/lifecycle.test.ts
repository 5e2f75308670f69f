import { invitationBody, type Referral } from "@cosell/core";
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
} from "./helpers.js";

type Answer = Awaited<ReturnType<typeof patch>>;

let sandbox: Sandbox;
let api: Api;

beforeAll(async () => {
  sandbox = await startFrozen();
  // The clock jumps by days here, past any token's lifetime: a fresh token per call.
  api = pcApi(sandbox, () => pcToken(sandbox));
});
afterAll(() => sandbox.stop());
beforeEach(() => sandbox.clock.set(T0));

const get = async (id: string) => (await api<Referral>("GET", `${REFERRALS}/${id}`)).body;

function expectRefused(res: Answer, reason: string, messagePart?: string) {
  expect(res.status).toBe(409);
  expect(res.body.error?.innerError?.code).toBe(reason);
  if (messagePart) expect(res.body.error?.message).toContain(messagePart);
}

describe("inbound referrals (sent by a Microsoft seller)", () => {
  it("arrive New/Pending (direction Incoming) with 14 days to answer, a customer, contact, solution and Microsoft seller", async () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    expect([r.status, r.substatus, r.direction, r.type]).toEqual(["New", "Pending", "Incoming", "Shared"]);
    expect(r.expirationDateTime).toBe(new Date(T0.getTime() + 14 * DAY_MS).toISOString());
    expect(r.inviteContext?.invitedBy?.organizationId).toBe("msft");
    expect(r.customerProfile?.name).toBeTruthy();
    expect(r.customerProfile?.team?.[0]?.email).toMatch(/@/);
    expect(r.details?.requirements?.solutions?.length).toBeGreaterThan(0);
    expect(r.team?.some((m) => m.email?.endsWith("@microsoft.com"))).toBe(true);
    expect(await get(r.id)).toEqual(expect.objectContaining({ id: r.id, eTag: r.eTag }));
  });

  it("overrides are deep-merged over the sample", () => {
    const r = sandbox.partnerCenter.sendInboundReferral({ name: "Custom", details: { dealValue: 7 } });
    expect(r.name).toBe("Custom");
    expect(r.details?.dealValue).toBe(7);
    expect(r.details?.currency).toBe("USD");
  });

  it("accept: New/Pending → Active/Accepted with the accept fields; acceptedDateTime stamped", async () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    sandbox.clock.advance(60_000);
    const res = await patch(api, r, {
      status: "Active",
      substatus: "Accepted",
      externalReferenceId: "opp-1",
      name: "Accepted deal",
      details: { ...r.details, dealValue: 99_000 },
    });
    expect(res.status).toBe(200);
    expect([res.body.status, res.body.substatus, res.body.externalReferenceId]).toEqual([
      "Active",
      "Accepted",
      "opp-1",
    ]);
    expect(res.body.acceptedDateTime).toBe(new Date(T0.getTime() + 60_000).toISOString());
  });

  it("accepting cannot change fields outside ACCEPT_FIELDS (solutions)", async () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    const res = await patch(api, r, {
      status: "Active",
      substatus: "Accepted",
      details: { ...r.details, requirements: { solutions: [{ id: "other", type: "Name" }] } },
    });
    expectRefused(res, "FIELD_NOT_EDITABLE", "details.requirements.solutions");
    expect(res.body.error?.innerError?.fields).toEqual(["details.requirements.solutions"]);
  });

  it("a received referral allows no edits without an answer", async () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    expectRefused(
      await patch(api, r, { externalReferenceId: "opp-early" }),
      "FIELD_NOT_EDITABLE",
      "externalReferenceId",
    );
  });

  it("decline needs a statusReason, then closes it Declined", async () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    expectRefused(
      await patch(api, r, { status: "Closed", substatus: "Declined" }),
      "REASON_REQUIRED",
      "statusReason",
    );
    const ok = await patch(api, r, { status: "Closed", substatus: "Declined", statusReason: "No capacity" });
    expect(ok.status).toBe(200);
    expect([ok.body.status, ok.body.substatus, ok.body.statusReason]).toEqual([
      "Closed",
      "Declined",
      "No capacity",
    ]);
  });

  it("a received referral cannot jump to Won or to Engaged", async () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    expectRefused(
      await patch(api, r, { status: "Closed", substatus: "Won" }),
      "TRANSITION_NOT_ALLOWED",
      "New/Pending",
    );
    expectRefused(await patch(api, r, { status: "Active", substatus: "Engaged" }), "TRANSITION_NOT_ALLOWED");
  });
});

describe("14-day expiry on the sandbox clock", () => {
  it("still New/Pending 1 s before the window closes, Closed/Expired 1 s after", async () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    sandbox.clock.set(new Date(T0.getTime() + 14 * DAY_MS - 1000));
    expect((await get(r.id)).substatus).toBe("Pending");
    sandbox.clock.set(new Date(T0.getTime() + 14 * DAY_MS + 1000));
    const expired = await get(r.id);
    expect([expired.status, expired.substatus]).toEqual(["Closed", "Expired"]);
    expect(expired.updatedDateTime).toBe(new Date(T0.getTime() + 14 * DAY_MS + 1000).toISOString());
    expect(expired.eTag).not.toBe(r.eTag);
  });

  it("moving the clock expires referrals at once, without any API call", () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    sandbox.log.clear();
    sandbox.clock.advance(14 * DAY_MS);
    expect(sandbox.log.entries).toHaveLength(0);
    expect(sandbox.partnerCenter.get(r.id)?.substatus).toBe("Expired");
  });

  it("an expired referral can no longer be accepted", async () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    sandbox.clock.advance(15 * DAY_MS);
    const res = await patch(api, await get(r.id), { status: "Active", substatus: "Accepted" });
    expectRefused(res, "DEAL_ARCHIVED", "archived");
  });

  it("expires exactly the inbound referrals still New/Pending when their expirationDateTime passes", async () => {
    const waiting = sandbox.partnerCenter.sendInboundReferral();
    const answered = sandbox.partnerCenter.sendInboundReferral();
    expect(waiting.expirationDateTime).toBe(new Date(T0.getTime() + 14 * DAY_MS).toISOString());
    expect((await patch(api, answered, { status: "Active", substatus: "Accepted" })).status).toBe(200);
    sandbox.clock.advance(15 * DAY_MS);
    const [w, a] = [await get(waiting.id), await get(answered.id)];
    expect([w.status, w.substatus, w.direction]).toEqual(["Closed", "Expired", "Incoming"]);
    expect([a.status, a.substatus]).toEqual(["Active", "Accepted"]);
  });

  it("accepted and outbound referrals do not expire", async () => {
    const outbound = await createReferral(api);
    sandbox.clock.advance(30 * DAY_MS);
    expect((await get(outbound.id)).substatus).toBe("Accepted");
  });
});

describe("accepted referrals", () => {
  it("edit the editable fields; win closes them; then they are read-only", async () => {
    const r = await createReferral(api);
    const edited = await patch(api, r, {
      name: "Bigger deal",
      details: { ...r.details, dealValue: 75_000, notes: "Scope grew" },
    });
    expect(edited.status).toBe(200);
    const won = await patch(api, edited.body, { status: "Closed", substatus: "Won" });
    expect([won.status, won.body.substatus]).toEqual([200, "Won"]);

    expectRefused(await patch(api, won.body, { name: "After the fact" }), "DEAL_ARCHIVED", "name");
    expectRefused(await patch(api, won.body, { status: "Active", substatus: "Accepted" }), "DEAL_ARCHIVED");

    // Sending it back unchanged is not an edit: it answers the referral as it is.
    const same = await patch(api, won.body);
    expect(same.status).toBe(200);
    expect(same.body.eTag).toBe(won.body.eTag);
  });

  it("winning cannot carry edits, and losing needs a reason", async () => {
    const r = await createReferral(api);
    expectRefused(
      await patch(api, r, { status: "Closed", substatus: "Won", name: "x" }),
      "FIELD_NOT_EDITABLE",
      "win",
    );
    expectRefused(await patch(api, r, { status: "Closed", substatus: "Lost" }), "REASON_REQUIRED");
    const lost = await patch(api, r, { status: "Closed", substatus: "Lost", statusReason: "Budget cut" });
    expect([lost.status, lost.body.substatus, lost.body.statusReason]).toEqual([200, "Lost", "Budget cut"]);
  });

  it("the customer is not editable after creation, and an accepted deal cannot be declined", async () => {
    const r = await createReferral(api);
    expectRefused(
      await patch(api, r, { customerProfile: { ...r.customerProfile, name: "Someone else" } }),
      "FIELD_NOT_EDITABLE",
      "customerProfile",
    );
    expectRefused(
      await patch(api, r, { status: "Closed", substatus: "Declined", statusReason: "x" }),
      "TRANSITION_NOT_ALLOWED",
      "Allowed from Active/Accepted",
    );
  });
});

describe("co-sell invitations: a connected referral targeting Microsoft on the deal's engagement", () => {
  const MSFT = [{ type: "BusinessProfileLocation", id: "msft" }];
  const invite = (r: Referral, notes = "Need help with the architecture") =>
    api<Referral>("POST", REFERRALS, invitationBody(r, { notes, helpType: "CustomerTechnicalArchitecture" }));

  it("the partner invites Microsoft on a Shared deal: New/Pending, 14 days, same engagement; once only", async () => {
    const r = await createReferral(api, { type: "Shared" });
    sandbox.clock.advance(5000);
    const res = await invite(r);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      engagementId: r.engagementId,
      status: "New",
      substatus: "Pending",
      target: MSFT,
    });
    expect(res.body.id).not.toBe(r.id);
    expect(res.body.expirationDateTime).toBe(new Date(T0.getTime() + 5000 + 14 * DAY_MS).toISOString());
    expectRefused((await invite(r)) as unknown as Answer, "ALREADY_INVITED");
    // The deal itself is unchanged, and cannot be made Independent again.
    expect((await get(r.id)).eTag).toBe(r.eTag);
    expectRefused(
      await patch(api, await get(r.id), { type: "Independent" }),
      "FIELD_NOT_EDITABLE",
      "Independent",
    );
    // The invitation is Microsoft's to answer.
    expectRefused(await patch(api, res.body, { name: "x" }), "FIELD_NOT_EDITABLE", "Microsoft answers it");
  });

  it("is refused on a deal that is not Shared, and without a known engagement", async () => {
    const independent = await createReferral(api);
    expectRefused(await invite(independent), "NOT_SHARED");
    const unknown = await invite({ ...independent, engagementId: "no-such-engagement" });
    expect(unknown.status).toBe(400);
  });

  it("Microsoft accepts once: the invitation becomes Active/Accepted, the deal gets Microsoft's opportunity id", async () => {
    const r = await createReferral(api, { type: "Shared" });
    const invitation = (await invite(r)).body;
    expectRefused(await patch(api, r, { substatus: "Engaged" }), "TRANSITION_NOT_ALLOWED", "Microsoft");
    const deal = sandbox.partnerCenter.engage(r.id);
    expect([deal.status, deal.substatus]).toEqual(["Active", "Accepted"]);
    expect(deal.trackingInfo?.microsoftMsxId).toBeTruthy();
    expect([(await get(invitation.id)).status, (await get(invitation.id)).substatus]).toEqual([
      "Active",
      "Accepted",
    ]);
    expect(() => sandbox.partnerCenter.engage(r.id)).toThrow(/already answered/i);
    const edited = await patch(api, await get(r.id), { name: "Co-sell deal" });
    expect(edited.status).toBe(200);
  });

  it("Microsoft's 14-day window to answer closes: the invitation expires, the deal goes on", async () => {
    const r = await createReferral(api, { type: "Shared" });
    const invitation = (await invite(r)).body;
    sandbox.clock.advance(14 * DAY_MS + 1000);
    expect(() => sandbox.partnerCenter.engage(r.id)).toThrow(/already answered/);
    expect([(await get(invitation.id)).status, (await get(invitation.id)).substatus]).toEqual([
      "Closed",
      "Expired",
    ]);
    expect((await get(r.id)).substatus).toBe("Accepted");
  });

  it("Microsoft declines: the invitation is Closed/Declined with its reason; the deal stays accepted", async () => {
    const r = await createReferral(api, { type: "Shared" });
    const invitation = (await invite(r)).body;
    const deal = sandbox.partnerCenter.decline(r.id, "Customer not in a managed segment");
    expect([deal.status, deal.substatus]).toEqual(["Active", "Accepted"]);
    const answered = await get(invitation.id);
    expect([answered.status, answered.substatus, answered.statusReason]).toEqual([
      "Closed",
      "Declined",
      "Customer not in a managed segment",
    ]);
    const independent = await createReferral(api);
    expect(() => sandbox.partnerCenter.decline(independent.id, "x")).toThrow(/not been invited/);
  });

  it("Microsoft edits notes, but not on an archived referral", async () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    const edited = sandbox.partnerCenter.updateNotes(r.id, "Customer wants a call next week");
    expect(edited.details?.notes).toBe("Customer wants a call next week");
    expect(edited.eTag).not.toBe(r.eTag);
    sandbox.clock.advance(15 * DAY_MS);
    expect(() => sandbox.partnerCenter.updateNotes(r.id, "late")).toThrow(/archived/);
  });
});
