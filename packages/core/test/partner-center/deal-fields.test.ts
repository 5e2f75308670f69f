import { describe, expect, it } from "vitest";
import {
  type CoSellDeal,
  dealToReferral,
  type Referral,
  ReferralSchema,
  referralPatch,
  referralToDeal,
} from "../../src/index.js";

/**
 * Partner Center's fields beside the lifecycle (issue 12 items 5 and 6), both ways: the star, the
 * sales stage, the three consents, the help type, and what only Partner Center sets (respond-by,
 * Microsoft's opportunity id, registration, sender). Payloads are shaped like published real
 * answers, with synthetic values.
 */

const NOW = new Date("2026-02-12T00:00:00Z");

/** An inbound referral carrying every field of items 5 and 6. */
const incoming = (): Referral =>
  ReferralSchema.parse({
    id: "9a1f0c2e-0000-4000-8000-00000000a001",
    engagementId: "9a1f0c2e-0000-4000-8000-00000000e001",
    name: "Tailspin - reporting in the cloud",
    externalReferenceId: null,
    createdDateTime: "2026-02-10T08:15:42.1234567Z",
    updatedDateTime: "2026-02-10T08:15:42.1234567Z",
    expirationDateTime: "2026-02-24T08:15:42.1234567Z",
    status: "New",
    substatus: "Pending",
    statusReason: null,
    direction: "Incoming",
    type: "Shared",
    favorite: false,
    salesStage: "Qualify",
    registrationStatus: "None",
    registrations: [],
    trackingInfo: { microsoftMsxId: "7-SYNTH0101", someOtherId: null },
    customerProfile: { name: "Tailspin (synthetic)", address: { country: "US", region: "WA" }, ids: null },
    consent: {
      consentToShareReferralWithMicrosoftSellers: true,
      consentToToShareInfoWithOthers: false,
      consentToContact: true,
    },
    details: null,
    team: null,
    inviteContext: {
      notes: "Customer asked for help moving reporting to the cloud.",
      assistanceRequestCode: "CustomerTechnicalArchitecture",
      invitedMpnId: "0000001",
      invitedBy: { organizationId: "msft", organizationName: "Microsoft" },
    },
    isSpam: false,
    eTag: '"synthetic-a001"',
  });

/** The partner's own accepted deal, its groups sent as null, a numeric sales stage. */
const ownDeal = (extra: Record<string, unknown> = {}): Referral =>
  ReferralSchema.parse({
    id: "9a1f0c2e-0000-4000-8000-00000000a002",
    createdDateTime: "2026-01-05T10:00:00Z",
    updatedDateTime: "2026-01-20T10:00:00Z",
    status: "Active",
    substatus: "Accepted",
    direction: "Outgoing",
    type: "Independent",
    favorite: null,
    salesStage: "100",
    registrationStatus: null,
    registrations: null,
    trackingInfo: null,
    customerProfile: { name: "Wingtip (synthetic)" },
    consent: null,
    details: null,
    team: null,
    inviteContext: null,
    eTag: '"synthetic-a002"',
    ...extra,
  });

const paths = (base: Referral, deal: CoSellDeal) => referralPatch(base, dealToReferral(deal, base));

describe("referral → deal: Partner Center's fields", () => {
  it("reads every field of a real-answer-shaped inbound referral", () => {
    const deal = referralToDeal(incoming(), { now: NOW });
    expect(deal).toMatchObject({
      stage: "received",
      kind: "coSell",
      favorite: false,
      salesStage: "qualify",
      expiresAt: "2026-02-24T08:15:42.1234567Z",
      microsoftOpportunityId: "7-SYNTH0101",
      registrationStatus: "None",
      registrations: [],
      sentBy: "Microsoft",
      consentToShareContact: false,
      consentToContact: true,
      invitation: { helpType: "CustomerTechnicalArchitecture" },
    });
  });

  it("the three consents are read apart, never one for another", () => {
    const flags = (a: boolean, b: boolean, c: boolean) =>
      referralToDeal(
        ReferralSchema.parse({
          ...incoming(),
          consent: {
            consentToShareReferralWithMicrosoftSellers: a,
            consentToToShareInfoWithOthers: b,
            consentToContact: c,
          },
        }),
      );
    for (const [a, b, c] of [
      [true, false, false],
      [false, true, false],
      [false, false, true],
    ] as const) {
      const d = flags(a, b, c);
      expect([d.kind, d.consentToShareContact, d.consentToContact]).toEqual([
        a ? "coSell" : "privatePipeline",
        b,
        c,
      ]);
    }
  });

  it("null groups and null flags read as absent: no star, no sales stage, no consents, nothing of Partner Center's", () => {
    const deal = referralToDeal(ownDeal(), { now: NOW });
    expect(deal.favorite).toBe(false);
    expect(deal.consentToShareContact).toBe(false);
    for (const k of [
      "salesStage",
      "consentToContact",
      "microsoftOpportunityId",
      "registrationStatus",
      "registrations",
      "sentBy",
      "expiresAt",
    ] as const)
      expect(deal[k], k).toBeUndefined();
    expect(deal.invitation.helpType).toBeUndefined();
  });

  it.each([
    ["a numeric string", "100"],
    ["a number", 100],
    ["an unknown word", "Negotiate"],
    ["an empty string", ""],
  ])("a sales stage that is %s parses and reads as no sales stage", (_label, value) => {
    const r = ReferralSchema.safeParse({ ...ownDeal(), salesStage: value });
    expect(r.success).toBe(true);
    expect(referralToDeal(r.data!).salesStage).toBeUndefined();
  });

  it("sales stages are read whatever their case", () => {
    for (const [wire, stage] of [
      ["Qualify", "qualify"],
      ["develop", "develop"],
      ["PROPOSE", "propose"],
      ["Close", "close"],
    ])
      expect(referralToDeal(ownDeal({ salesStage: wire })).salesStage).toBe(stage);
  });

  it("an unknown help type is no help type, and is kept as sent", () => {
    const r = ReferralSchema.parse({
      ...incoming(),
      inviteContext: { ...incoming().inviteContext, assistanceRequestCode: "SomethingNew" },
    });
    const deal = referralToDeal(r);
    expect(deal.invitation.helpType).toBeUndefined();
    expect(dealToReferral(deal, r)).toStrictEqual(r);
  });

  it("the respond-by date belongs to a referral still waiting for an answer", () => {
    const accepted = ReferralSchema.parse({ ...incoming(), status: "Active", substatus: "Accepted" });
    expect(referralToDeal(accepted).expiresAt).toBeUndefined();
  });

  it("statusReason is the close reason of a declined or lost deal only", () => {
    const lost = ownDeal({ status: "Closed", substatus: "Lost", statusReason: "Budget cut" });
    expect(referralToDeal(lost).closeReason).toBe("Budget cut");
    const won = ownDeal({ status: "Closed", substatus: "Won", statusReason: "Great work" });
    expect(referralToDeal(won).closeReason).toBeUndefined();
    // …and going back unchanged keeps the won deal's text.
    expect(dealToReferral(referralToDeal(won), won)).toStrictEqual(won);
  });
});

describe("deal → referral: only the changed paths", () => {
  it("an unchanged deal writes nothing, numeric sales stage and null groups included", () => {
    for (const r of [incoming(), ownDeal()]) {
      const back = dealToReferral(referralToDeal(r, { now: NOW }), r);
      expect(back).toStrictEqual(r);
      expect(referralPatch(r, back)).toEqual([]);
    }
  });

  it("a star is /favorite alone, both ways", () => {
    const r = ownDeal();
    const starred = paths(r, { ...referralToDeal(r), favorite: true });
    expect(starred).toEqual([{ op: "replace", path: "/favorite", value: true }]);
    const s = ReferralSchema.parse({ ...incoming(), favorite: true });
    expect(paths(s, { ...referralToDeal(s), favorite: false })).toEqual([
      { op: "replace", path: "/favorite", value: false },
    ]);
  });

  it("a sales stage is written in Partner Center's spelling, replacing a numeric one only when the seller sets one", () => {
    const r = ownDeal();
    const deal = referralToDeal(r);
    expect(paths(r, { ...deal, salesStage: "propose" })).toEqual([
      { op: "replace", path: "/salesStage", value: "Propose" },
    ]);
    // Another edit leaves the numeric value Partner Center sent exactly as it was.
    const notes = dealToReferral({ ...deal, notes: "Edited" }, r);
    expect(notes.salesStage).toBe("100");
    expect(referralPatch(r, notes).map((o) => o.path)).toEqual(["/details"]);
  });

  it("clearing a sales stage writes null (JSON Patch replace, never remove)", () => {
    const r = incoming();
    expect(paths(r, { ...referralToDeal(r), salesStage: undefined })).toEqual([
      { op: "replace", path: "/salesStage", value: null },
    ]);
  });

  it("each consent goes to its own flag; a null consent group becomes an object with that flag alone", () => {
    const r = incoming();
    const deal = referralToDeal(r);
    expect(paths(r, { ...deal, consentToContact: false })).toEqual([
      { op: "replace", path: "/consent/consentToContact", value: false },
    ]);
    expect(paths(r, { ...deal, consentToShareContact: true })).toEqual([
      { op: "replace", path: "/consent/consentToToShareInfoWithOthers", value: true },
    ]);
    const own = ownDeal();
    expect(paths(own, { ...referralToDeal(own), consentToContact: true })).toEqual([
      { op: "replace", path: "/consent", value: { consentToContact: true } },
    ]);
  });

  it("the deal kind is the sharing-with-Microsoft-sellers flag (and the type)", () => {
    const own = ReferralSchema.parse({
      ...ownDeal(),
      consent: { consentToShareReferralWithMicrosoftSellers: false, consentToContact: true },
    });
    const ops = paths(own, { ...referralToDeal(own), kind: "coSell" });
    expect(ops).toEqual(
      expect.arrayContaining([
        { op: "replace", path: "/consent/consentToShareReferralWithMicrosoftSellers", value: true },
        { op: "replace", path: "/type", value: "Shared" },
      ]),
    );
    expect(ops).toHaveLength(2);
  });

  it("the help type is inviteContext.assistanceRequestCode", () => {
    const r = incoming();
    const deal = referralToDeal(r);
    expect(paths(r, { ...deal, invitation: { ...deal.invitation, helpType: "QuotesOrLicensing" } })).toEqual([
      { op: "replace", path: "/inviteContext/assistanceRequestCode", value: "QuotesOrLicensing" },
    ]);
    const own = ownDeal();
    const d = referralToDeal(own);
    const body = dealToReferral(
      { ...d, invitation: { ...d.invitation, helpType: "ProofOfConceptOrDemo" } },
      own,
    );
    expect(body.inviteContext?.assistanceRequestCode).toBe("ProofOfConceptOrDemo");
  });

  it("Partner Center's own fields are never written, whatever the deal says", () => {
    const r = incoming();
    const deal = referralToDeal(r);
    const edited: CoSellDeal = {
      ...deal,
      expiresAt: "2027-01-01T00:00:00Z",
      microsoftOpportunityId: "7-EDITED",
      registrationStatus: "Approved",
      registrations: [{ id: "made-up" }],
      sentBy: "Someone else",
    };
    expect(paths(r, edited)).toEqual([]);
  });

  it("a new referral carries the star, sales stage, consents and help type it is given, and no nulls for the rest", () => {
    const deal = referralToDeal(incoming());
    const body = dealToReferral({
      ...deal,
      id: undefined,
      version: undefined,
      direction: "outbound",
      stage: "accepted",
      favorite: true,
      salesStage: "develop",
    });
    expect(body).toMatchObject({
      favorite: true,
      salesStage: "Develop",
      type: "Shared",
      consent: {
        consentToShareReferralWithMicrosoftSellers: true,
        consentToToShareInfoWithOthers: false,
        consentToContact: true,
      },
      inviteContext: { assistanceRequestCode: "CustomerTechnicalArchitecture" },
    });
    for (const k of ["trackingInfo", "registrationStatus", "registrations", "expirationDateTime"])
      expect(body, k).not.toHaveProperty(k);
    const plain = dealToReferral({ ...deal, id: undefined, version: undefined, salesStage: undefined });
    expect(plain).not.toHaveProperty("salesStage");
    expect(plain).not.toHaveProperty("favorite");
  });
});
