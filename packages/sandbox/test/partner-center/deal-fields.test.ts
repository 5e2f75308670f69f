import { HelpTypeSchema, invitationBody, type Referral } from "@cosell/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Sandbox } from "../../src/index.js";
import { type Api, createReferral, patch, pcApi, pcToken, REFERRALS, startFrozen, T0 } from "./helpers.js";

/**
 * The emulator and Partner Center's fields beside the lifecycle: what a partner may patch (the star,
 * the sales stage, the consents, the help type) and what only Partner Center sets (Microsoft's
 * opportunity id, the registration, the sender, the respond-by date), which a partner's patch is
 * refused with 400.
 */

let sandbox: Sandbox;
let api: Api;

beforeAll(async () => {
  sandbox = await startFrozen();
  api = pcApi(sandbox, () => pcToken(sandbox));
});
afterAll(() => sandbox.stop());
beforeEach(() => sandbox.clock.set(T0));

type Answer = Awaited<ReturnType<typeof patch>>;

/** A raw JSON Patch, for paths core's patch builder never sends. */
const rawPatch = (r: Referral, ops: unknown[]) =>
  api<Referral & { error?: { code: string; message: string; innerError?: { code?: string } } }>(
    "PATCH",
    `${REFERRALS}/${r.id}`,
    ops,
    { "if-match": r.eTag ?? "", prefer: "return=representation" },
  );

function expectRefused(res: Answer, status: number, reason?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  if (reason) expect(res.body.error?.innerError?.code).toBe(reason);
}

async function accepted(): Promise<Referral> {
  const r = sandbox.partnerCenter.sendInboundReferral();
  const res = await patch(api, r, { status: "Active", substatus: "Accepted", externalReferenceId: "006X" });
  expect(res.status).toBe(200);
  return res.body;
}

describe("referrals Microsoft sends", () => {
  it("carry the sender, a help type, no star, no registration yet and a sales stage", () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    expect(r.inviteContext?.invitedBy).toEqual({ organizationId: "msft", organizationName: "Microsoft" });
    expect(HelpTypeSchema.options).toContain(r.inviteContext?.assistanceRequestCode);
    expect([r.favorite, r.registrationStatus, r.salesStage]).toEqual([false, "None", "Qualify"]);
  });
});

describe("what a partner may patch", () => {
  it("the star, in every stage: received, accepted and archived", async () => {
    const received = sandbox.partnerCenter.sendInboundReferral();
    const starred = await patch(api, received, { favorite: true });
    expect(starred.status).toBe(200);
    expect(starred.body.favorite).toBe(true);
    expect(sandbox.partnerCenter.get(received.id)?.favorite).toBe(true);

    const declined = await patch(api, starred.body, {
      status: "Closed",
      substatus: "Declined",
      statusReason: "Not our region",
    });
    expect(declined.status).toBe(200);
    const unstarred = await patch(api, declined.body, { favorite: false });
    expect(unstarred.status).toBe(200);
    expect(unstarred.body.favorite).toBe(false);
    // Anything else on the archived referral is still refused.
    expectRefused(await patch(api, unstarred.body, { name: "Renamed" }), 409, "DEAL_ARCHIVED");
  });

  it("the sales stage and the consents while accepted, not while received", async () => {
    const received = sandbox.partnerCenter.sendInboundReferral();
    expectRefused(await patch(api, received, { salesStage: "Develop" }), 409, "FIELD_NOT_EDITABLE");
    expectRefused(
      await patch(api, received, { consent: { ...received.consent, consentToContact: false } }),
      409,
      "FIELD_NOT_EDITABLE",
    );

    const r = await accepted();
    const staged = await patch(api, r, { salesStage: "Propose" });
    expect(staged.status).toBe(200);
    expect(staged.body.salesStage).toBe("Propose");
    const consents = await patch(api, staged.body, {
      consent: { ...staged.body.consent, consentToContact: false, consentToToShareInfoWithOthers: false },
    });
    expect(consents.status).toBe(200);
    expect(consents.body.consent).toEqual({
      consentToShareReferralWithMicrosoftSellers: true,
      consentToToShareInfoWithOthers: false,
      consentToContact: false,
    });
  });

  it("a sales stage or help type outside the documented values is a 400", async () => {
    const r = await accepted();
    expectRefused(await patch(api, r, { salesStage: "100" }), 400);
    expectRefused(await patch(api, r, { salesStage: "Negotiate" }), 400);
    expectRefused(
      await rawPatch(r, [{ op: "replace", path: "/inviteContext/assistanceRequestCode", value: "Lunch" }]),
      400,
    );
    expect(sandbox.partnerCenter.get(r.id)?.eTag).toBe(r.eTag);
  });

  it("the help type goes with the invitation of Microsoft", async () => {
    const r = await createReferral(api, {
      type: "Shared",
      inviteContext: { notes: "Need a demo", assistanceRequestCode: "ProofOfConceptOrDemo" },
    });
    expect(r.inviteContext?.assistanceRequestCode).toBe("ProofOfConceptOrDemo");
  });
});

describe("what only Partner Center sets", () => {
  // Undocumented: what the real service answers to a partner's patch of these. The emulator takes the
  // strict reading (400), so a client that passes here never relies on such a write.
  it.each([
    ["Microsoft's opportunity id", "/trackingInfo/microsoftMsxId", "7-MINE"],
    ["the whole tracking info", "/trackingInfo", { microsoftMsxId: "7-MINE" }],
    ["the registration status", "/registrationStatus", "Approved"],
    ["the registrations", "/registrations", [{ id: "mine" }]],
    ["the sender's name", "/inviteContext/invitedBy/organizationName", "Contoso"],
    ["the sender", "/inviteContext/invitedBy", { organizationId: "other" }],
    ["the respond-by date", "/expirationDateTime", "2030-01-01T00:00:00Z"],
  ])("%s (%s) is refused with 400 and nothing changes", async (_label, path, value) => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    for (const op of ["replace", "add"]) {
      const res = await rawPatch(r, [{ op, path, value }]);
      expectRefused(res, 400);
      expect(res.body.error?.message).toContain(path);
    }
    expect(sandbox.partnerCenter.get(r.id)).toEqual(r);
  });

  it("replacing the invite context whole may not change its sender", async () => {
    const r = sandbox.partnerCenter.sendInboundReferral();
    const res = await rawPatch(r, [
      {
        op: "replace",
        path: "/inviteContext",
        value: { ...r.inviteContext, invitedBy: { organizationId: "x" } },
      },
    ]);
    expectRefused(res, 400);
    expect(res.body.error?.message).toContain("/inviteContext/invitedBy");
  });

  it("a Microsoft seller's engagement sets Microsoft's opportunity id", async () => {
    const r = await createReferral(api, { type: "Shared", inviteContext: { notes: "Need help" } });
    expect(r.trackingInfo?.microsoftMsxId ?? undefined).toBeUndefined();
    expect((await api("POST", REFERRALS, invitationBody(r, { notes: "Need help" }))).status).toBe(201);
    const engaged = sandbox.partnerCenter.engage(r.id);
    expect(engaged.trackingInfo?.microsoftMsxId).toMatch(/^7-/);
  });

  it("a win puts the deal in registration review; Microsoft then sets the registrations", async () => {
    const r = await createReferral(api);
    expect(r.registrationStatus ?? undefined).toBeUndefined();
    const won = await patch(api, r, { status: "Closed", substatus: "Won" });
    expect(won.status).toBe(200);
    expect(won.body.registrationStatus).toBe("ReviewPending");
    const reviewed = sandbox.partnerCenter.setFields(r.id, {
      registrationStatus: "Approved",
      registrations: [{ id: "reg-1", status: "Approved" }],
    });
    expect([reviewed.registrationStatus, reviewed.registrations]).toEqual([
      "Approved",
      [{ id: "reg-1", status: "Approved" }],
    ]);
    expect(reviewed.eTag).not.toBe(won.body.eTag);
    // The archived deal takes nothing else this way.
    expect(() => sandbox.partnerCenter.setFields(r.id, { salesStage: "Close" })).toThrow(/archived/);
  });

  it("Partner Center's own values, numeric sales stage included, are stored and sent as set", async () => {
    const r = await accepted();
    const set = sandbox.partnerCenter.setFields(r.id, { salesStage: "100", favorite: true });
    const res = await api<Referral>("GET", `${REFERRALS}/${r.id}`);
    expect([res.body.salesStage, res.body.favorite]).toEqual(["100", true]);
    expect(res.body.eTag).toBe(set.eTag);
    // A partner's later edit of something else keeps it.
    const notes = await patch(api, res.body, { details: { ...res.body.details, notes: "Edited" } });
    expect(notes.status).toBe(200);
    expect(notes.body.salesStage).toBe("100");
    expect(() => sandbox.partnerCenter.setFields(r.id, { status: "Closed" })).toThrow(/lifecycle/);
  });
});
