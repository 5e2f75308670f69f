import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import { type Referral, TransitionError } from "../../src/index.js";
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

/** Mocks GET /{id} → `base`, and a PUT that records its body and If-Match and echoes it with a new eTag. */
function mockAction(base: Referral): { put: () => Referral | undefined; ifMatch: () => string | undefined } {
  let body: Referral | undefined;
  let ifMatch: string | undefined;
  api()
    .get(`${REFERRALS}/${base.id}`)
    .reply(200, base)
    .put(`${REFERRALS}/${base.id}`)
    .reply(function (_uri, reqBody) {
      body = reqBody as Referral;
      ifMatch = headerOf(this.req.headers, "if-match");
      return [200, { ...body, eTag: '"after"' }];
    });
  return { put: () => body, ifMatch: () => ifMatch };
}

describe("lifecycle actions: a PUT of the whole referral with the new status, If-Match = the eTag read", () => {
  it("accept: New/Received → Active/Accepted, with the accept fields", async () => {
    mockToken();
    const base = receivedReferral(new Date(T0.getTime() - DAY), { eTag: '"in-1"' });
    const m = mockAction(base);
    const { client } = makeClient();
    const out = await client.accept(base.id, { crmId: "006ACC", name: "Fabrikam data platform" });
    expect(m.ifMatch()).toBe('"in-1"');
    expect(m.put()).toMatchObject({
      id: base.id,
      status: "Active",
      substatus: "Accepted",
      externalReferenceId: "006ACC",
      name: "Fabrikam data platform",
      customerProfile: base.customerProfile,
    });
    expect(out.eTag).toBe('"after"');
  });

  it("decline: → Closed/Declined with statusReason and notes", async () => {
    mockToken();
    const base = receivedReferral(new Date(T0.getTime() - DAY));
    const m = mockAction(base);
    const { client } = makeClient();
    await client.decline(base.id, "Outside our region", "We only cover EMEA.");
    expect(m.put()).toMatchObject({
      status: "Closed",
      substatus: "Declined",
      statusReason: "Outside our region",
      details: expect.objectContaining({ notes: "We only cover EMEA." }),
    });
  });

  it("markWon: Active/Accepted → Closed/Won, nothing else changed", async () => {
    mockToken();
    const base = referral();
    const m = mockAction(base);
    const { client } = makeClient();
    await client.markWon(base.id);
    expect(m.put()).toEqual({ ...base, status: "Closed", substatus: "Won" });
  });

  it("markLost: → Closed/Lost with statusReason", async () => {
    mockToken();
    const base = referral();
    const m = mockAction(base);
    const { client } = makeClient();
    await client.markLost(base.id, "Went with a competitor");
    expect(m.put()).toEqual({
      ...base,
      status: "Closed",
      substatus: "Lost",
      statusReason: "Went with a competitor",
    });
  });

  it("inviteMicrosoft: type Shared, inviteContext notes and time, consent; status unchanged", async () => {
    mockToken();
    const base = referral({ consent: { consentToShareReferralWithMicrosoftSellers: false } });
    const m = mockAction(base);
    const { client } = makeClient();
    await client.inviteMicrosoft(base.id, { notes: "Need an Azure architect", consentToShareContact: true });
    expect(m.put()).toMatchObject({
      status: "Active",
      substatus: "Accepted",
      type: "Shared",
      inviteContext: expect.objectContaining({
        notes: "Need an Azure architect",
        invitedDateTime: T0.toISOString(),
      }),
      consent: expect.objectContaining({ consentToShareReferralWithMicrosoftSellers: true }),
    });
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
