import { describe, expect, it } from "vitest";
import {
  type CoSellDeal,
  type CrmRecord,
  fieldHash,
  type PairState,
  type PlannerOptions,
  type PlanStep,
  planPair,
  type Referral,
  type ResolvedRules,
  referralToDeal,
  type Side,
  type SyncField,
} from "../../src/index.js";
import {
  agreedInbound,
  agreedOutbound,
  CRM_ID,
  crmOf,
  linkOf,
  NOW,
  REFERRAL_ID,
  referralOf,
  rules,
} from "./fixtures.js";

/**
 * The planner is pure: each case is plain data (what the CRM shows, what Partner Center holds, the
 * link with its baseline, the ledger) and the steps it must produce, each with its reason.
 */
interface Case {
  name: string;
  pair: PairState;
  rules?: ResolvedRules;
  /** Ledger entries: (side, record, field) → the deal whose value we wrote. */
  ledger?: { side: Side; recordId: string; field: SyncField; deal: CoSellDeal }[];
  steps: Partial<PlanStep>[];
  echoes?: number;
}

const out = agreedOutbound();
const inb = agreedInbound();
const later = "2026-03-04T09:00:00.000Z";

/** A linked outbound pair: the CRM shows `crm`, Partner Center holds `pc`, both agreed on `out` before. */
function outboundPair(
  crm: Partial<CoSellDeal>,
  pc: Partial<CoSellDeal> = {},
  crmExtra: Partial<CrmRecord> = {},
  refExtra: Partial<Referral> = {},
): PairState {
  return {
    key: "link-1",
    link: linkOf(out),
    crm: crmOf({ ...out, ...crm }, crmExtra),
    referral: referralOf({ ...out, ...pc }, refExtra),
  };
}

/** A linked inbound pair still `received` in Partner Center. */
function inboundPair(crm: Partial<CoSellDeal>, pc: Partial<CoSellDeal> = {}): PairState {
  return {
    key: "link-1",
    link: linkOf(inb, { direction: "inbound" }),
    crm: crmOf({ ...inb, ...crm }),
    referral: referralOf({ ...inb, ...pc }),
  };
}

const cases: Case[] = [
  {
    name: "create in Partner Center: opted in, no referral yet",
    pair: { key: `crm:${CRM_ID}`, crm: crmOf({ ...out, id: undefined }, { referralId: undefined }) },
    steps: [{ kind: "create", side: "partnerCenter", reason: "Opted in and not yet in Partner Center." }],
  },
  {
    name: "create in Partner Center: a record already won in the CRM is shared as accepted (the win follows)",
    pair: {
      key: `crm:${CRM_ID}`,
      crm: crmOf({ ...out, id: undefined, stage: "won" }, { referralId: undefined }),
    },
    steps: [{ kind: "create", side: "partnerCenter", deal: expect.objectContaining({ stage: "accepted" }) }],
  },
  {
    name: "nothing: not opted in and not linked",
    pair: { key: `crm:${CRM_ID}`, crm: crmOf(out, { optedIn: false, referralId: undefined }) },
    steps: [],
  },
  {
    name: "invalid: opted in but a rule fails (no team member)",
    pair: {
      key: `crm:${CRM_ID}`,
      crm: crmOf({ ...out, id: undefined, team: [] }, { referralId: undefined }),
    },
    steps: [
      {
        kind: "invalid",
        crmId: CRM_ID,
        reason: expect.stringMatching(/^Not shared with Partner Center: Add at least one team member/),
      },
    ],
  },
  {
    name: "invalid: the adapter could not map the record",
    pair: {
      key: `crm:${CRM_ID}`,
      crm: crmOf(out, {
        issues: [{ code: "VALUE_NOT_MAPPED", path: "stage", message: 'StageName = "Odd" has no entry.' }],
      }),
    },
    steps: [{ kind: "invalid", reason: 'The CRM record cannot be mapped: StageName = "Odd" has no entry.' }],
  },
  {
    name: "create in the CRM: a new inbound referral",
    pair: { key: `referral:${REFERRAL_ID}`, referral: referralOf(inb) },
    steps: [{ kind: "create", side: "crm", reason: "New referral from Microsoft." }],
  },
  {
    name: "skip: a referral archived before it was ever linked is not created in the CRM",
    pair: { key: `referral:${REFERRAL_ID}`, referral: referralOf({ ...inb, stage: "expired" }) },
    steps: [
      {
        kind: "skip",
        reason: "The referral was already expired before it was linked; not created in the CRM.",
      },
    ],
  },
  {
    name: "skip: parked under the manual policy",
    pair: { ...outboundPair({ notes: "x" }), parked: true },
    steps: [{ kind: "skip", reason: expect.stringMatching(/^Parked: both sides changed the same field/) }],
  },
  {
    name: "skip: deleted in the CRM",
    pair: { ...outboundPair({}), crm: crmOf(out, { deleted: true }) },
    steps: [{ kind: "skip", reason: "Deleted in the CRM; the referral in Partner Center is left as it is." }],
  },
  {
    name: "skip: opted out after linking",
    pair: {
      ...outboundPair({ notes: "changed" }),
      crm: crmOf({ ...out, notes: "changed" }, { optedIn: false }),
    },
    steps: [{ kind: "skip", reason: "Sync is turned off on this record (opted out); nothing is written." }],
  },
  {
    name: "diff-before-write: nothing changed, nothing planned",
    pair: outboundPair({}),
    steps: [],
  },
  {
    name: "diff-before-write: both sides changed to the same value (no conflict, no write)",
    pair: outboundPair({ notes: "same" }, { notes: "same" }),
    steps: [],
  },
  {
    name: "update Partner Center: the seller changed value and close date",
    pair: outboundPair({ value: { amount: 75_000, currency: "USD" }, closeDate: "2026-07-31" }),
    steps: [
      {
        kind: "update",
        side: "partnerCenter",
        fields: ["value", "closeDate"],
        reason: "Changed in the CRM: value, closeDate.",
      },
    ],
  },
  {
    name: "update the CRM: Microsoft changed the notes",
    pair: outboundPair({}, { notes: "From Microsoft" }),
    steps: [{ kind: "update", side: "crm", fields: ["notes"], reason: "Changed in Partner Center: notes." }],
  },
  {
    name: "echo suppression: the CRM shows what we wrote there (ledger hit) → no write back",
    pair: outboundPair({ notes: "we wrote this" }),
    ledger: [{ side: "crm", recordId: CRM_ID, field: "notes", deal: { ...out, notes: "we wrote this" } }],
    steps: [],
    echoes: 1,
  },
  {
    name: "echo consumed: both sides agree and one shows what we wrote → no step, the ledger entry is reported",
    pair: outboundPair({ notes: "we wrote this" }, { notes: "we wrote this" }),
    ledger: [{ side: "crm", recordId: CRM_ID, field: "notes", deal: { ...out, notes: "we wrote this" } }],
    steps: [],
    echoes: 1,
  },
  {
    name: "echo suppression is by value: a different value on the same field is a real edit",
    pair: outboundPair({ notes: "a peer automation rewrote it" }),
    ledger: [{ side: "crm", recordId: CRM_ID, field: "notes", deal: { ...out, notes: "we wrote this" } }],
    steps: [{ kind: "update", side: "partnerCenter", fields: ["notes"] }],
    echoes: 0,
  },
  {
    name: "direction toCrm: a CRM edit of notes is not sent to Partner Center",
    pair: outboundPair({ notes: "seller" }),
    rules: rules({ notes: "toCrm" }),
    steps: [],
  },
  {
    name: "direction toCrm: Microsoft's notes still reach the CRM",
    pair: outboundPair({}, { notes: "microsoft" }),
    rules: rules({ notes: "toCrm" }),
    steps: [{ kind: "update", side: "crm", fields: ["notes"] }],
  },
  {
    name: "direction toPartnerCenter: Microsoft's notes are not pulled into the CRM",
    pair: outboundPair({}, { notes: "microsoft" }),
    rules: rules({ notes: "toPartnerCenter" }),
    steps: [],
  },
  {
    name: "direction toPartnerCenter: a conflict goes the only allowed way",
    pair: outboundPair({ notes: "seller" }, { notes: "microsoft" }),
    rules: rules({ notes: "toPartnerCenter" }, "manual"),
    steps: [{ kind: "update", side: "partnerCenter", fields: ["notes"] }],
  },
  {
    name: "direction none: neither side's change is compared",
    pair: outboundPair({ notes: "seller", closeDate: "2026-08-01" }, { notes: "microsoft" }),
    rules: rules({ notes: "none" }),
    steps: [{ kind: "update", side: "partnerCenter", fields: ["closeDate"] }],
  },
  {
    name: "conflict under crm-wins: the CRM's value goes to Partner Center",
    pair: outboundPair({ notes: "seller" }, { notes: "microsoft" }),
    steps: [{ kind: "update", side: "partnerCenter", fields: ["notes"] }],
  },
  {
    name: "conflict under partner-center-wins: Partner Center's value goes to the CRM",
    pair: outboundPair({ notes: "seller" }, { notes: "microsoft" }),
    rules: rules({}, "partner-center-wins"),
    steps: [{ kind: "update", side: "crm", fields: ["notes"] }],
  },
  {
    name: "conflict under newest-wins: the later edit (Partner Center) wins",
    pair: outboundPair(
      { notes: "seller" },
      { notes: "microsoft" },
      { modifiedAt: "2026-03-03T09:00:00.000Z" },
      { updatedDateTime: later },
    ),
    rules: rules({}, "newest-wins"),
    steps: [{ kind: "update", side: "crm", fields: ["notes"] }],
  },
  {
    name: "conflict under newest-wins: the later edit (CRM) wins",
    pair: outboundPair(
      { notes: "seller" },
      { notes: "microsoft" },
      { modifiedAt: later },
      { updatedDateTime: "2026-03-03T09:00:00.000Z" },
    ),
    rules: rules({}, "newest-wins"),
    steps: [{ kind: "update", side: "partnerCenter", fields: ["notes"] }],
  },
  {
    name: "conflict under manual: parked with both values",
    pair: outboundPair({ notes: "seller", closeDate: "2026-08-01" }, { notes: "microsoft" }),
    rules: rules({}, "manual"),
    steps: [
      {
        kind: "conflict",
        fields: ["notes"],
        crm: { notes: "seller" },
        partnerCenter: { notes: "microsoft" },
        reason: expect.stringMatching(
          /^Both sides changed notes since the last sync; the manual policy parks/,
        ),
      },
    ],
  },
  {
    name: "transition: won in the CRM wins the referral",
    pair: outboundPair({ stage: "won" }),
    steps: [
      {
        kind: "transition",
        side: "partnerCenter",
        action: "win",
        reason: "Changed in the CRM: stage accepted → won.",
      },
    ],
  },
  {
    name: "transition: closed lost with a reason loses the accepted referral",
    pair: outboundPair({ stage: "lost", closeReason: "Budget cut" }),
    steps: [{ kind: "transition", action: "lose", input: { reason: "Budget cut" } }],
  },
  {
    name: "invalid: closed lost without a reason (REASON_REQUIRED)",
    pair: outboundPair({ stage: "lost" }),
    steps: [
      {
        kind: "invalid",
        issues: [expect.objectContaining({ code: "REASON_REQUIRED", path: "closeReason" })],
        reason: "Set a loss reason on the opportunity; Partner Center requires one.",
      },
    ],
  },
  {
    name: "invalid: decline of a received referral without a reason (REASON_REQUIRED)",
    pair: inboundPair({ stage: "lost" }),
    steps: [
      {
        kind: "invalid",
        issues: [expect.objectContaining({ code: "REASON_REQUIRED" })],
        reason: "Set a decline reason on the opportunity; Partner Center requires one.",
      },
    ],
  },
  {
    name: "transition: closed lost on a received referral declines it",
    pair: inboundPair({ stage: "lost", closeReason: "Not our region" }),
    steps: [
      {
        kind: "transition",
        action: "decline",
        input: { reason: "Not our region" },
        reason: "Changed in the CRM: stage received → declined.",
      },
    ],
  },
  {
    name: "decline with a pending edit: the edit is skipped (the referral closes), not deferred",
    pair: inboundPair({ stage: "lost", closeReason: "Not our region", notes: "Seller's notes" }),
    steps: [
      {
        kind: "skip",
        reason: "The referral is declined (archived) in Partner Center; notes can no longer change there.",
      },
      { kind: "transition", action: "decline" },
    ],
  },
  {
    name: "help requested and declined in one go: the invite is skipped as the closed referral will say",
    pair: inboundPair({
      stage: "lost",
      closeReason: "Not our region",
      invitation: { microsoftHelpRequested: true, helpNotes: "Need an architect" },
    }),
    steps: [
      {
        kind: "skip",
        reason: "Cannot invite Microsoft: This deal is archived (declined); no further actions are possible.",
      },
      { kind: "transition", action: "decline" },
    ],
  },
  {
    name: "help requested on a received referral: the invite waits for the accept",
    pair: inboundPair({ invitation: { microsoftHelpRequested: true, helpNotes: "Need an architect" } }),
    steps: [
      {
        kind: "defer",
        fields: ["invitation"],
        action: "inviteMicrosoft",
        reason: "Microsoft can be invited once the referral is accepted.",
      },
      { kind: "defer", fields: ["crmId"] },
    ],
  },
  {
    name: "stage chain: received → won is accept then win",
    pair: inboundPair({ stage: "won" }),
    steps: [
      { kind: "transition", action: "accept", reason: "Changed in the CRM: stage received → accepted." },
      { kind: "transition", action: "win", reason: "Changed in the CRM: stage accepted → won." },
    ],
  },
  {
    name: "outbox: edits on a received referral are deferred until it is accepted",
    pair: inboundPair({ notes: "Seller's notes", closeDate: "2026-10-15" }),
    steps: [
      {
        kind: "defer",
        side: "partnerCenter",
        fields: ["closeDate", "notes", "crmId"],
        reason:
          "Partner Center accepts closeDate, notes, crmId once the referral is accepted; queued until then.",
      },
    ],
  },
  {
    name: "outbox flush: the accept carries the queued edits it allows, the rest follow as an update",
    pair: inboundPair({
      stage: "accepted",
      notes: "Seller's notes",
      solutions: [{ id: "sol-own", name: "Our accelerator", kind: "own" }],
    }),
    steps: [
      {
        kind: "transition",
        action: "accept",
        input: { accept: { notes: "Seller's notes", crmId: CRM_ID } },
        reason: "Changed in the CRM: stage received → accepted.",
      },
      {
        kind: "update",
        side: "partnerCenter",
        fields: ["solutions"],
        reason: "Changed in the CRM: solutions.",
      },
    ],
  },
  {
    name: "archived referral: the CRM's edits are skipped with the reason",
    pair: {
      key: "link-1",
      link: linkOf({ ...out, stage: "won" }),
      crm: crmOf({ ...out, stage: "won", notes: "after the win" }),
      referral: referralOf({ ...out, stage: "won" }),
    },
    steps: [
      {
        kind: "skip",
        reason: "The referral is won (archived) in Partner Center; notes can no longer change there.",
      },
    ],
  },
  {
    name: "archived referral: Partner Center's stage wins over the CRM's (no way back from expired)",
    pair: {
      key: "link-1",
      link: linkOf(inb, { direction: "inbound" }),
      crm: crmOf({ ...inb, stage: "accepted" }),
      referral: referralOf({ ...inb, stage: "expired" }),
    },
    // The respond-by date is Partner Center's and belongs to a referral still waiting: it goes with it.
    steps: [
      {
        kind: "update",
        side: "crm",
        fields: ["stage", "expiresAt"],
        reason: "Changed in Partner Center: stage, expiresAt.",
      },
    ],
  },
  {
    name: "invitation: the seller asks for Microsoft's help → inviteMicrosoft",
    pair: outboundPair({ invitation: { microsoftHelpRequested: true, helpNotes: "Need an architect" } }),
    steps: [
      {
        kind: "transition",
        action: "inviteMicrosoft",
        input: expect.objectContaining({ notes: "Need an architect" }),
        reason: "Microsoft's help was requested in the CRM.",
      },
    ],
  },
  {
    name: "Partner Center's own fact edited in the CRM: put back, nothing sent to Partner Center",
    pair: {
      key: "link-1",
      link: linkOf(out, {
        baseline: referralToDeal(referralOf(out, { trackingInfo: { microsoftMsxId: "7-MSX" } }), {
          now: NOW,
        }),
      }),
      crm: crmOf({ ...out, microsoftOpportunityId: "7-TYPED", notes: "Edited by the seller" }),
      referral: referralOf(out, { trackingInfo: { microsoftMsxId: "7-MSX" } }),
    },
    steps: [
      {
        kind: "update",
        side: "crm",
        fields: ["microsoftOpportunityId"],
        deal: expect.objectContaining({ microsoftOpportunityId: "7-MSX", notes: "Edited by the seller" }),
        reason: "Set by Partner Center, edited in the CRM: microsoftOpportunityId put back.",
      },
      {
        kind: "update",
        side: "partnerCenter",
        fields: ["notes"],
        deal: expect.objectContaining({ microsoftOpportunityId: "7-MSX", notes: "Edited by the seller" }),
      },
    ],
  },
];

describe("planPair: every step kind with its reason", () => {
  it.each(cases)("$name", (c) => {
    const ledger = c.ledger ?? [];
    const opts: PlannerOptions = {
      now: NOW,
      rules: c.rules ?? rules(),
      isEcho: (side, recordId, field, deal) =>
        ledger.some(
          (l) =>
            l.side === side &&
            l.recordId === recordId &&
            l.field === field &&
            fieldHash(l.deal, field) === fieldHash(deal, field),
        ),
    };
    const plan = planPair(c.pair, opts);
    expect(plan.steps).toHaveLength(c.steps.length);
    plan.steps.forEach((s, i) => {
      expect(s).toMatchObject(c.steps[i]!);
      expect(s.pairKey).toBe(c.pair.key);
    });
    if (c.echoes !== undefined) expect(plan.echoes).toHaveLength(c.echoes);
  });
});

describe("planPair: properties of the plan", () => {
  it("is pure: the same input gives the same plan and the input is not mutated", () => {
    const pair = outboundPair({ notes: "seller", stage: "won" }, { closeDate: "2026-09-01" });
    const copy = structuredClone(pair);
    const opts: PlannerOptions = { now: NOW, rules: rules(), isEcho: () => false };
    expect(planPair(pair, opts)).toEqual(planPair(pair, opts));
    expect(pair).toEqual(copy);
  });

  it("an update to Partner Center carries the deal with only the changed fields rewritten", () => {
    const plan = planPair(outboundPair({ notes: "new" }, { closeDate: "2026-09-01" }), {
      now: NOW,
      rules: rules(),
      isEcho: () => false,
    });
    const toPc = plan.steps.find((s) => s.kind === "update" && s.side === "partnerCenter");
    const toCrm = plan.steps.find((s) => s.kind === "update" && s.side === "crm");
    expect(toPc?.kind === "update" && toPc.deal.notes).toBe("new");
    expect(toPc?.kind === "update" && toPc.deal.closeDate).toBe("2026-09-01");
    expect(toCrm?.kind === "update" && toCrm.deal.closeDate).toBe("2026-09-01");
    expect(toCrm?.kind === "update" && toCrm.deal.notes).toBe("new");
  });

  it("first comparison without a baseline: the side the deal came from is the source", () => {
    const pair: PairState = {
      key: "link-1",
      link: linkOf(undefined),
      crm: crmOf({ ...out, notes: "CRM" }),
      referral: referralOf({ ...out, notes: "PC" }),
    };
    const plan = planPair(pair, { now: NOW, rules: rules(), isEcho: () => false });
    expect(plan.steps).toMatchObject([{ kind: "update", side: "partnerCenter", fields: ["notes"] }]);
    expect(referralToDeal(pair.referral!).direction).toBe("outbound");
  });
});
