import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import {
  applyReferralPatch,
  type Referral,
  type ReferralPatchOperation,
  TransitionError,
} from "../../src/index.js";
import {
  api,
  headerOf,
  makeClient,
  mockToken,
  REFERRALS,
  receivedReferral,
  referral,
  T0,
} from "./helpers.js";

afterEach(() => {
  nock.cleanAll();
});

const DAY = 86_400_000;
const MICROSOFT_NOTES = "Customer wants a Fabric pilot before March. — Microsoft seller";
/** How the client dates a note made at the test clock's T0. */
const STAMP = `${T0.toISOString().slice(0, 10)} ${T0.toISOString().slice(11, 16)} UTC`;

const withNotes = (r: Referral, notes: string): Referral => ({
  ...r,
  details: { ...r.details, notes },
});

/**
 * Mocks GET /{id} → `base`, and a PATCH that records its operations and If-Match and answers `base`
 * with them applied and a new eTag. `result()` is that result: what the referral became.
 */
function mockAction(base: Referral): {
  result: () => Referral | undefined;
  ops: () => ReferralPatchOperation[];
  ifMatch: () => string | undefined;
} {
  let body: Referral | undefined;
  let ops: ReferralPatchOperation[] = [];
  let ifMatch: string | undefined;
  api()
    .get(`${REFERRALS}/${base.id}`)
    .reply(200, base)
    .patch(`${REFERRALS}/${base.id}`)
    .reply(function (_uri, reqBody) {
      ops = reqBody as ReferralPatchOperation[];
      body = applyReferralPatch(base, ops);
      ifMatch = headerOf(this.req.headers, "if-match");
      return [200, { ...body, eTag: '"after"' }];
    });
  return { result: () => body, ops: () => ops, ifMatch: () => ifMatch };
}

describe("lifecycle actions: a PATCH of the changed paths with the new status, If-Match = the eTag read", () => {
  it("accept: New/Pending → Active/Accepted, with the accept fields", async () => {
    mockToken();
    const base = receivedReferral(new Date(T0.getTime() - DAY), { eTag: '"in-1"' });
    const m = mockAction(base);
    const { client } = makeClient();
    const out = await client.accept(base.id, { crmId: "006ACC", name: "Fabrikam data platform" });
    expect(m.ifMatch()).toBe('"in-1"');
    expect(m.result()).toMatchObject({
      id: base.id,
      status: "Active",
      substatus: "Accepted",
      externalReferenceId: "006ACC",
      name: "Fabrikam data platform",
      customerProfile: base.customerProfile,
    });
    expect(out.eTag).toBe('"after"');
  });

  it("decline: → Closed/Declined with statusReason; the note is added to Microsoft's notes", async () => {
    mockToken();
    const base = withNotes(receivedReferral(new Date(T0.getTime() - DAY)), MICROSOFT_NOTES);
    const m = mockAction(base);
    const { client } = makeClient();
    await client.decline(base.id, "Outside our region", { text: "We only cover EMEA.", by: "alice" });
    expect(m.result()).toMatchObject({
      status: "Closed",
      substatus: "Declined",
      statusReason: "Outside our region",
      details: expect.objectContaining({
        notes: `${MICROSOFT_NOTES}\n\n[${STAMP}, alice] We only cover EMEA.`,
      }),
    });
  });

  it("accept and lost with a note keep the notes already there and add the dated, signed note", async () => {
    mockToken();
    const received = withNotes(receivedReferral(new Date(T0.getTime() - DAY)), MICROSOFT_NOTES);
    const accepting = mockAction(received);
    const { client } = makeClient();
    await client.accept(received.id, { crmId: "006ACC" }, { text: "Taking it.", by: "bob (cosell accept)" });
    expect(accepting.result()?.details?.notes).toBe(
      `${MICROSOFT_NOTES}\n\n[${STAMP}, bob (cosell accept)] Taking it.`,
    );

    mockToken();
    const accepted = withNotes(referral(), MICROSOFT_NOTES);
    const losing = mockAction(accepted);
    await client.markLost(accepted.id, "Went with a competitor", { text: "Price.", by: "bob" });
    expect(losing.result()).toMatchObject({ substatus: "Lost", statusReason: "Went with a competitor" });
    expect(losing.result()?.details?.notes).toBe(`${MICROSOFT_NOTES}\n\n[${STAMP}, bob] Price.`);
  });

  it("markWon with a note: first the note (an edit of the accepted referral), then the close", async () => {
    mockToken();
    const base = withNotes(referral({ eTag: '"v1"' }), MICROSOFT_NOTES);
    const noted = withNotes(
      { ...base, eTag: '"v2"' },
      `${MICROSOFT_NOTES}\n\n[${STAMP}, carol] Signed today.`,
    );
    const bodies: { ifMatch?: string; ops: ReferralPatchOperation[] }[] = [];
    api()
      .get(`${REFERRALS}/${base.id}`)
      .reply(200, base)
      .patch(`${REFERRALS}/${base.id}`)
      .reply(function (_uri, reqBody) {
        bodies.push({
          ifMatch: headerOf(this.req.headers, "if-match"),
          ops: reqBody as ReferralPatchOperation[],
        });
        return [200, noted];
      })
      .get(`${REFERRALS}/${base.id}`)
      .reply(200, noted)
      .patch(`${REFERRALS}/${base.id}`)
      .reply(function (_uri, reqBody) {
        bodies.push({
          ifMatch: headerOf(this.req.headers, "if-match"),
          ops: reqBody as ReferralPatchOperation[],
        });
        return [200, { ...applyReferralPatch(noted, reqBody as ReferralPatchOperation[]), eTag: '"v3"' }];
      });
    const { client } = makeClient();
    const out = await client.markWon(base.id, { text: "Signed today.", by: "carol" });
    // First only the notes (If-Match v1), then only the status (If-Match v2).
    expect(bodies).toEqual([
      { ifMatch: '"v1"', ops: [{ op: "replace", path: "/details/notes", value: noted.details?.notes }] },
      {
        ifMatch: '"v2"',
        ops: [
          { op: "replace", path: "/status", value: "Closed" },
          { op: "replace", path: "/substatus", value: "Won" },
        ],
      },
    ]);
    expect(out.substatus).toBe("Won");
  });

  it("markWon: Active/Accepted → Closed/Won, nothing else changed", async () => {
    mockToken();
    const base = referral();
    const m = mockAction(base);
    const { client } = makeClient();
    await client.markWon(base.id);
    expect(m.result()).toEqual({ ...base, status: "Closed", substatus: "Won" });
    expect(m.ops()).toEqual([
      { op: "replace", path: "/status", value: "Closed" },
      { op: "replace", path: "/substatus", value: "Won" },
    ]);
  });

  it("markLost: → Closed/Lost with statusReason", async () => {
    mockToken();
    const base = referral();
    const m = mockAction(base);
    const { client } = makeClient();
    await client.markLost(base.id, "Went with a competitor");
    expect(m.result()).toEqual({
      ...base,
      status: "Closed",
      substatus: "Lost",
      statusReason: "Went with a competitor",
    });
  });

  it("inviteMicrosoft: the deal becomes Shared with the notes and consent, then a connected referral targets Microsoft on its engagement", async () => {
    mockToken();
    const base = referral({
      engagementId: "eng-1",
      consent: { consentToShareReferralWithMicrosoftSellers: false },
    });
    const m = mockAction(base);
    let filter: string | undefined;
    let posted: Record<string, unknown> | undefined;
    api()
      .get(REFERRALS)
      .query((q) => {
        filter = String(q.$filter);
        return true;
      })
      .reply(200, { value: [] })
      .post(REFERRALS)
      .reply(201, (_uri, body) => {
        posted = body as Record<string, unknown>;
        return {
          ...posted,
          id: "ref-msft",
          status: "New",
          substatus: "Pending",
          createdDateTime: T0.toISOString(),
          updatedDateTime: T0.toISOString(),
          eTag: '"inv-1"',
        };
      });
    const { client } = makeClient();
    const invitation = await client.inviteMicrosoft(base.id, {
      notes: "Need an Azure architect",
      helpType: "CustomerTechnicalArchitecture",
      consentToShareContact: true,
    });
    expect(m.result()).toMatchObject({
      status: "Active",
      substatus: "Accepted",
      type: "Shared",
      inviteContext: expect.objectContaining({ notes: "Need an Azure architect" }),
      consent: expect.objectContaining({ consentToShareReferralWithMicrosoftSellers: true }),
    });
    expect(m.result()?.inviteContext).not.toHaveProperty("invitedDateTime");
    expect(filter).toBe("engagementId eq 'eng-1'");
    expect(posted).toMatchObject({
      engagementId: "eng-1",
      type: "Shared",
      target: [{ type: "BusinessProfileLocation", id: "msft" }],
      inviteContext: {
        notes: "Need an Azure architect",
        assistanceRequestCode: "CustomerTechnicalArchitecture",
      },
    });
    expect(posted).not.toHaveProperty("externalReferenceId");
    expect(invitation.id).toBe("ref-msft");
  });

  it("inviteMicrosoft twice: the connected referral already on the engagement is returned, nothing posted", async () => {
    mockToken();
    const base = referral({ engagementId: "eng-1", type: "Shared" });
    mockAction(base);
    const existing = {
      ...base,
      id: "ref-msft",
      externalReferenceId: null,
      target: [{ type: "BusinessProfileLocation", id: "msft" }],
      status: "Active",
      substatus: "Accepted",
    };
    api()
      .get(REFERRALS)
      .query(true)
      .reply(200, { value: [base, existing] });
    const { client } = makeClient();
    const invitation = await client.createInvitation(base, { notes: "Need an Azure architect" });
    expect(invitation.id).toBe("ref-msft");
    expect(nock.pendingMocks().filter((p) => p.startsWith("PATCH") || p.startsWith("POST"))).toHaveLength(1);
  });
});

describe("forbidden transitions are refused before any write", () => {
  const cases: {
    name: string;
    base: Referral;
    run: (c: ReturnType<typeof makeClient>["client"]) => Promise<unknown>;
    code: string;
  }[] = [
    {
      name: "win a received referral",
      base: receivedReferral(T0),
      run: (c) => c.markWon("ref-in"),
      code: "TRANSITION_NOT_ALLOWED",
    },
    {
      name: "accept an archived one",
      base: referral({ status: "Closed", substatus: "Won" }),
      run: (c) => c.accept("ref-1"),
      code: "DEAL_ARCHIVED",
    },
    {
      name: "win with a note, a received referral (nothing written, not even the note)",
      base: receivedReferral(T0),
      run: (c) => c.markWon("ref-in", { text: "Signed", by: "x" }),
      code: "TRANSITION_NOT_ALLOWED",
    },
    {
      name: "lose without a reason",
      base: referral(),
      run: (c) => c.markLost("ref-1", "  "),
      code: "REASON_REQUIRED",
    },
    {
      name: "accept after the 14-day window",
      base: receivedReferral(new Date(T0.getTime() - 15 * DAY)),
      run: (c) => c.accept("ref-in"),
      code: "DEAL_EXPIRED",
    },
    {
      name: "invite Microsoft without consent",
      base: referral({ consent: { consentToShareReferralWithMicrosoftSellers: false } }),
      run: (c) => c.inviteMicrosoft("ref-1", { notes: "help" }),
      code: "INVITE_CONSENT_REQUIRED",
    },
  ];

  for (const t of cases)
    it(`${t.name} → TransitionError ${t.code}, no PUT`, async () => {
      mockToken();
      api().get(`${REFERRALS}/${t.base.id}`).reply(200, t.base);
      const { client } = makeClient();
      const err = await t.run(client).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransitionError);
      expect(err).toMatchObject({
        code: t.code,
        details: expect.objectContaining({ referralId: t.base.id }),
      });
      expect(client.stats()).toMatchObject({ total: 1, writes: 0 });
    });
});
