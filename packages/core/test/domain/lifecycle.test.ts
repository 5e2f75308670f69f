import { describe, expect, it } from "vitest";
import {
  ACCEPT_FIELDS,
  type Actor,
  ARCHIVED_STAGES,
  allowedActions,
  type CoSellDeal,
  DealFieldSchema,
  EDITABLE_FIELDS,
  editableFields,
  findRule,
  INITIAL_STAGE,
  isArchived,
  type LifecycleAction,
  LifecycleActionSchema,
  type Stage,
  StageSchema,
  TRANSITIONS,
  TransitionError,
  type TransitionInput,
  transition,
} from "../../src/index.js";
import {
  at,
  customer,
  DAY,
  deepFreeze,
  invitedDeal,
  person,
  receivedDeal,
  T0,
  validDeal,
} from "./factory.js";

/** A deal, the input an action carries, and the moment it is taken. */
interface Arranged {
  deal: CoSellDeal;
  input: TransitionInput;
  now: Date;
}

/** Padded on purpose: the stored reason must be trimmed. */
const REASON = "  Customer chose another vendor  ";

/** A value for every field an accept may set. */
const ACCEPTED_VALUES = {
  name: "Renamed on accept",
  value: { amount: 75_000, currency: "EUR" },
  closeDate: "2026-09-30",
  notes: "Accepted: kickoff next week",
  crmId: "006NEW",
  campaignId: "701NEW",
  team: [person({ firstName: "Bo", lastName: "Chen", email: "bo@partner.example" })],
};

/**
 * Per action, a deal that satisfies the rule's guard and the input the action needs. The stage comes
 * from the table's rule; tests move the deal to other stages to prove the stage alone forbids it.
 */
const ARRANGE: Record<LifecycleAction, () => Arranged> = {
  accept: () => ({
    deal: receivedDeal(T0),
    now: at(DAY),
    // Fields outside ACCEPT_FIELDS ride along to prove they are ignored.
    input: {
      accept: { ...ACCEPTED_VALUES, stage: "won", favorite: true, solutions: [], kind: "privatePipeline" },
    } as unknown as TransitionInput,
  }),
  decline: () => ({
    deal: receivedDeal(T0),
    now: at(DAY),
    input: { reason: REASON, note: { text: "Not our market", by: "Ann (cosell decline)" } },
  }),
  expire: () => ({ deal: receivedDeal(T0), now: at(15 * DAY), input: {} }),
  win: () => ({ deal: validDeal(), now: at(DAY), input: {} }),
  lose: () => ({
    deal: validDeal(),
    now: at(DAY),
    input: { reason: REASON, note: { text: "Lost on price", by: "Bo" } },
  }),
  // validDeal has a complete contact, consent and a solution, and Microsoft is not invited yet.
  inviteMicrosoft: () => ({ deal: validDeal(), now: at(DAY), input: { notes: "Need an Azure architect" } }),
  microsoftEngage: () => ({ deal: invitedDeal(), now: at(DAY), input: {} }),
  microsoftDecline: () => ({ deal: invitedDeal(), now: at(DAY), input: { reason: REASON } }),
};

/** The deal's notes with the action's note added after a blank line, dated (minutes, UTC) and signed. */
const withNote = ({ deal, input, now }: Arranged): string => {
  const line = `[${now.toISOString().slice(0, 10)} ${now.toISOString().slice(11, 16)} UTC, ${input.note!.by}] ${input.note!.text}`;
  return deal.notes ? `${deal.notes}\n\n${line}` : line;
};

/** What each allowed action changes besides `stage` and `updatedAt`. */
const EFFECTS: Record<LifecycleAction, (a: Arranged) => Partial<CoSellDeal>> = {
  accept: () => ACCEPTED_VALUES,
  decline: (a) => ({ closeReason: REASON.trim(), notes: withNote(a) }),
  expire: () => ({}),
  win: () => ({}),
  lose: (a) => ({ closeReason: REASON.trim(), notes: withNote(a) }),
  inviteMicrosoft: ({ input }) => ({
    kind: "coSell",
    invitation: { microsoftHelpRequested: true, helpNotes: input.notes },
    microsoftAnswer: "pending",
  }),
  microsoftEngage: () => ({ microsoftAnswer: "accepted" }),
  microsoftDecline: () => ({ microsoftAnswer: "declined" }),
};

const PAIRS = StageSchema.options.flatMap((stage) =>
  LifecycleActionSchema.options.map((action) => [stage, action] as const),
);

/** `arranged` moved to `stage` and deep-frozen, with a copy to compare against afterwards. */
function frozenIn(stage: Stage, a: Arranged): { deal: CoSellDeal; snapshot: CoSellDeal } {
  const deal = { ...a.deal, stage };
  return { snapshot: structuredClone(deal), deal: deepFreeze(deal) };
}

describe("the transition table: every (stage, action) pair", () => {
  it("pairs every stage with every action", () => {
    expect(PAIRS).toHaveLength(StageSchema.options.length * LifecycleActionSchema.options.length);
    expect(new Set(PAIRS.map(([s, a]) => `${s}/${a}`)).size).toBe(PAIRS.length);
  });

  it("accept fixtures cover exactly ACCEPT_FIELDS", () => {
    expect(Object.keys(ACCEPTED_VALUES).sort()).toEqual([...ACCEPT_FIELDS].sort());
  });

  it.each(PAIRS)("%s × %s", (stage, action) => {
    const rule = findRule(stage, action);
    const arranged = ARRANGE[action]();
    const { deal, snapshot } = frozenIn(stage, arranged);

    const r = transition(deal, action, arranged.input, arranged.now);

    expect(deal, "transition() must not mutate its input").toStrictEqual(snapshot);
    if (!rule) {
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error).toBeInstanceOf(TransitionError);
      expect(r.error.code).toBe(isArchived({ stage }) ? "DEAL_ARCHIVED" : "TRANSITION_NOT_ALLOWED");
      expect(r.error.details).toEqual({ dealId: deal.id, crmId: deal.crmId, stage, action });
      return;
    }
    expect(r.ok, r.ok ? "" : `${r.error.code}: ${r.error.message}`).toBe(true);
    if (!r.ok) return;
    expect(r.deal).not.toBe(deal);
    expect(r.deal).toStrictEqual({
      ...snapshot,
      stage: rule.to,
      updatedAt: arranged.now.toISOString(),
      ...EFFECTS[action]({ ...arranged, deal: snapshot }),
    });
  });

  it("a forbidden action's message lists what is allowed now", () => {
    const r = transition(validDeal(), "accept", {}, T0);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.message).toMatch(/^Cannot accept a.* accepted deal\. Allowed now: .*win, lose/);
  });

  it("archived stages have no rules at all", () => {
    expect(TRANSITIONS.filter((r) => ARCHIVED_STAGES.includes(r.from))).toEqual([]);
  });
});

describe("transition: reasons", () => {
  it("decline and lose need a reason (Microsoft's decline of an invitation closes nothing)", () => {
    expect(TRANSITIONS.filter((r) => r.requiresReason).map((r) => r.action)).toEqual(["decline", "lose"]);
  });

  const needReason = TRANSITIONS.filter((r) => r.requiresReason).flatMap((rule) =>
    [undefined, "", "   ", "\t\n"].map((reason) => [rule.action, JSON.stringify(reason), reason] as const),
  );
  it.each(needReason)("%s with reason %s → REASON_REQUIRED", (action, _shown, reason) => {
    const a = ARRANGE[action]();
    const r = transition(a.deal, action, { ...a.input, reason }, a.now);
    expect(!r.ok && r.error.code).toBe("REASON_REQUIRED");
  });

  it("a reason given to an action that needs none is not stored", () => {
    const a = ARRANGE.win();
    const r = transition(a.deal, "win", { reason: "Great fit" }, a.now);
    expect(r.ok && r.deal.closeReason).toBeUndefined();
  });
});

describe("transition: guards", () => {
  const reason = { reason: "No capacity" };
  const engaged = invitedDeal("accepted");
  const noContact = validDeal({ customer: customer({ contact: undefined }) });

  const guardRows: [string, LifecycleAction, CoSellDeal, TransitionInput, Date, string][] = [
    ["DEAL_EXPIRED", "accept", receivedDeal(T0), {}, at(15 * DAY), "accept after the response window"],
    ["DEAL_EXPIRED", "decline", receivedDeal(T0), reason, at(15 * DAY), "decline after the response window"],
    ["NOT_YET_EXPIRED", "expire", receivedDeal(T0), {}, at(DAY), "expire inside the response window"],
    ["ALREADY_INVITED", "inviteMicrosoft", invitedDeal(), {}, at(DAY), "invite twice"],
    ["INVITE_CONTACT_REQUIRED", "inviteMicrosoft", noContact, {}, at(DAY), "invite without a contact"],
    [
      "INVITE_CONTACT_REQUIRED",
      "inviteMicrosoft",
      validDeal({ customer: customer({ contact: person({ phone: "" }) }) }),
      {},
      at(DAY),
      "invite with a contact without a phone",
    ],
    [
      "INVITE_CONTACT_REQUIRED",
      "inviteMicrosoft",
      validDeal(),
      { contact: person({ email: "" }) },
      at(DAY),
      "invite bringing an incomplete contact (it replaces the deal's)",
    ],
    [
      "INVITE_CONSENT_REQUIRED",
      "inviteMicrosoft",
      validDeal({ consentToShareContact: false }),
      {},
      at(DAY),
      "invite without consent",
    ],
    [
      "INVITE_CONSENT_REQUIRED",
      "inviteMicrosoft",
      validDeal(),
      { consentToShareContact: false },
      at(DAY),
      "invite withdrawing consent",
    ],
    [
      "INVITE_SOLUTION_REQUIRED",
      "inviteMicrosoft",
      validDeal({ solutions: [] }),
      {},
      at(DAY),
      "invite without a solution",
    ],
    [
      "NOT_INVITED",
      "microsoftEngage",
      validDeal(),
      {},
      at(DAY),
      "engage on a deal Microsoft was not invited to",
    ],
    [
      "NOT_INVITED",
      "microsoftDecline",
      validDeal(),
      reason,
      at(DAY),
      "decline a deal Microsoft was not invited to",
    ],
    ["ALREADY_ANSWERED", "microsoftEngage", engaged, {}, at(2 * DAY), "engage twice"],
    ["ALREADY_ANSWERED", "microsoftDecline", engaged, reason, at(2 * DAY), "decline after engaging"],
    ["ALREADY_ANSWERED", "microsoftEngage", invitedDeal("expired"), {}, at(15 * DAY), "engage once expired"],
    [
      "ALREADY_INVITED",
      "inviteMicrosoft",
      invitedDeal("declined"),
      {},
      at(DAY),
      "invite again after a decline",
    ],
  ];

  it.each(
    guardRows.map(
      ([code, action, deal, input, now, label]) => [code, label, action, deal, input, now] as const,
    ),
  )("%s: %s (%s)", (code, _label, action, deal, input, now) => {
    const r = transition(deepFreeze(deal), action, input, now);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(TransitionError);
    expect(r.error.code).toBe(code);
    expect(r.error.message.length).toBeGreaterThan(20);
  });

  it("inviteMicrosoft can bring the contact and the consent with it", () => {
    const deal = validDeal({ consentToShareContact: false, customer: customer({ contact: undefined }) });
    const contact = person({ email: "new@contoso.com" });
    const r = transition(deal, "inviteMicrosoft", { contact, consentToShareContact: true }, at(DAY));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.deal.customer).toEqual({ ...deal.customer, contact });
    expect(r.deal.consentToShareContact).toBe(true);
  });

  it("inviteMicrosoft keeps earlier help notes when the action brings none", () => {
    const deal = validDeal({ invitation: { microsoftHelpRequested: false, helpNotes: "Pricing help" } });
    const r = transition(deal, "inviteMicrosoft", {}, at(DAY));
    expect(r.ok && r.deal.invitation.helpNotes).toBe("Pricing help");
  });

  // Microsoft answers on its own, connected referral (partner-center-api.md, Corrections): declining
  // to help is Microsoft's answer to the invitation, not the end of the partner's deal.
  it("Microsoft declining the partner's invitation leaves the deal accepted, with Microsoft's answer", () => {
    const a = ARRANGE.microsoftDecline();
    const r = transition(a.deal, "microsoftDecline", a.input, a.now);
    expect(r.ok && r.deal.stage).toBe("accepted");
    expect(r.ok && r.deal.microsoftAnswer).toBe("declined");
    expect(r.ok && r.deal.closeReason).toBeUndefined();
  });

  // Without `expiresAt` the message must not read "answered until undefined".
  it("NOT_YET_EXPIRED on a deal without expiresAt does not print 'undefined'", () => {
    const r = transition(receivedDeal(T0, { expiresAt: undefined }), "expire", {}, at(30 * DAY));
    expect(!r.ok && r.error.code).toBe("NOT_YET_EXPIRED");
    expect(!r.ok && r.error.message).not.toContain("undefined");
  });
});

describe("allowedActions", () => {
  const engaged = invitedDeal("accepted");
  const situations: [string, CoSellDeal, Date][] = [
    ["received, inside the window", receivedDeal(T0), at(DAY)],
    ["received, past the window", receivedDeal(T0), at(15 * DAY)],
    ["accepted, invitable", validDeal(), at(DAY)],
    [
      "accepted, no contact to invite with",
      validDeal({ customer: customer({ contact: undefined }) }),
      at(DAY),
    ],
    ["accepted, Microsoft invited", invitedDeal(), at(DAY)],
    ["accepted, Microsoft's invitation expired", invitedDeal("expired"), at(15 * DAY)],
    ["accepted, Microsoft engaged", engaged, at(2 * DAY)],
    ...ARCHIVED_STAGES.map((s): [string, CoSellDeal, Date] => [s, validDeal({ stage: s }), at(DAY)]),
  ];
  const everyone = undefined;
  const expected: Record<string, Record<Actor | "all", LifecycleAction[]>> = {
    "received, inside the window": {
      all: ["accept", "decline"],
      partner: ["accept", "decline"],
      microsoft: [],
      system: [],
    },
    "received, past the window": { all: ["expire"], partner: [], microsoft: [], system: ["expire"] },
    "accepted, invitable": {
      all: ["win", "lose", "inviteMicrosoft"],
      partner: ["win", "lose", "inviteMicrosoft"],
      microsoft: [],
      system: [],
    },
    "accepted, no contact to invite with": {
      all: ["win", "lose"],
      partner: ["win", "lose"],
      microsoft: [],
      system: [],
    },
    "accepted, Microsoft invited": {
      all: ["win", "lose", "microsoftEngage", "microsoftDecline"],
      partner: ["win", "lose"],
      microsoft: ["microsoftEngage", "microsoftDecline"],
      system: [],
    },
    "accepted, Microsoft's invitation expired": {
      all: ["win", "lose"],
      partner: ["win", "lose"],
      microsoft: [],
      system: [],
    },
    "accepted, Microsoft engaged": {
      all: ["win", "lose"],
      partner: ["win", "lose"],
      microsoft: [],
      system: [],
    },
    ...Object.fromEntries(
      ARCHIVED_STAGES.map((s) => [s, { all: [], partner: [], microsoft: [], system: [] }]),
    ),
  };

  const rows = situations.flatMap(([label, deal, now]) =>
    (["all", "partner", "microsoft", "system"] as const).map((actor) => [label, actor, deal, now] as const),
  );

  it.each(rows)("%s, %s", (label, actor, deal, now) => {
    const got = allowedActions(deal, now, actor === "all" ? everyone : actor);
    expect(got).toEqual(expected[label]?.[actor]);
  });

  it.each(situations)("%s: lists exactly the actions transition() accepts", (_label, deal, now) => {
    const succeeds = LifecycleActionSchema.options.filter(
      (action) => transition(deal, action, { reason: "Because" }, now).ok,
    );
    expect([...allowedActions(deal, now)].sort()).toEqual(succeeds.sort());
  });
});

describe("stages", () => {
  it("editable fields: accepted exactly name, closeDate, value, notes, crmId, campaignId, team, solutions, the sales stage, both consents and the star", () => {
    expect([...editableFields("accepted")].sort()).toEqual(
      [
        "name",
        "closeDate",
        "value",
        "notes",
        "crmId",
        "campaignId",
        "team",
        "solutions",
        "salesStage",
        "consentToShareContact",
        "consentToContact",
        "favorite",
      ].sort(),
    );
  });

  it.each(StageSchema.options.filter((s) => s !== "accepted"))(
    "editable fields: %s has only the star (a seller may star any deal)",
    (stage) => {
      expect(editableFields(stage)).toEqual(["favorite"]);
    },
  );

  it("inviting Microsoft records the kind of help asked for", () => {
    const deal = validDeal({ stage: "accepted", direction: "outbound" });
    const r = transition(
      deal,
      "inviteMicrosoft",
      { notes: "Need a demo", helpType: "ProofOfConceptOrDemo" },
      T0,
    );
    expect(r.ok && r.deal.invitation.helpType).toBe("ProofOfConceptOrDemo");
  });

  it("every stage has an editable-field list of known fields", () => {
    expect(Object.keys(EDITABLE_FIELDS).sort()).toEqual([...StageSchema.options].sort());
    const known = new Set<string>(DealFieldSchema.options);
    for (const fields of Object.values(EDITABLE_FIELDS))
      for (const f of fields) expect(known.has(f), f).toBe(true);
    for (const f of ACCEPT_FIELDS) expect(known.has(f), f).toBe(true);
  });

  it.each<[Stage, boolean]>([
    ["received", false],
    ["accepted", false],
    ["declined", true],
    ["expired", true],
    ["won", true],
    ["lost", true],
  ])("isArchived(%s) = %s", (stage, archived) => {
    expect(isArchived({ stage })).toBe(archived);
  });

  it("outbound deals start accepted, inbound ones received", () => {
    expect(INITIAL_STAGE).toEqual({ outbound: "accepted", inbound: "received" });
  });
});
