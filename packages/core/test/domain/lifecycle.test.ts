import { describe, expect, it } from "vitest";
import {
  ACCEPT_FIELDS,
  ARCHIVED_STAGES,
  allowedActions,
  type CoSellDeal,
  EDITABLE_FIELDS,
  editableFields,
  expireIfDue,
  findRule,
  INITIAL_STAGE,
  INVITATION_WINDOW_DAYS,
  isArchived,
  type LifecycleAction,
  LifecycleActionSchema,
  responseDeadline,
  type Stage,
  StageSchema,
  type TransitionInput,
  transition,
} from "../../src/index.js";
import { deepFreeze, T0, validDeal } from "./factory.js";

const DAY = 24 * 60 * 60 * 1000;

/** A deal in `stage` that satisfies the guard of `action`, with the input the action needs. */
function fixtureFor(
  stage: Stage,
  action: LifecycleAction,
): { deal: CoSellDeal; input: TransitionInput; now: Date } {
  const inbound = stage === "received";
  let deal = validDeal({
    stage,
    direction: inbound ? "inbound" : "outbound",
    kind: inbound ? "coSell" : "privatePipeline",
  });
  let now = new Date(T0.getTime() + DAY);
  const input: TransitionInput = { reason: "Customer chose another vendor" };
  if (inbound) deal = { ...deal, expiresAt: responseDeadline(T0).toISOString() };
  if (action === "expire") now = new Date(T0.getTime() + 15 * DAY);
  if (action === "microsoftEngage" || action === "microsoftDecline")
    deal = {
      ...deal,
      kind: "coSell",
      invitation: { microsoftHelpRequested: true, invitedAt: T0.toISOString() },
    };
  if (action === "accept") input.accept = { name: "Renamed on accept", crmId: "006NEW", notes: "accepted" };
  return { deal, input, now };
}

const pairs = StageSchema.options.flatMap((stage) =>
  LifecycleActionSchema.options.map((action) => [stage, action] as const),
);

describe("the transition table, every (stage, action) pair", () => {
  it("covers every stage and action", () => {
    expect(pairs.length).toBe(StageSchema.options.length * LifecycleActionSchema.options.length);
  });

  it.each(pairs)("%s × %s", (stage, action) => {
    const rule = findRule(stage, action);
    const { deal, input, now } = fixtureFor(stage, action);
    const r = transition(deepFreeze(deal), action, input, now);
    if (!rule) {
      expect(r.ok).toBe(false);
      if (!r.ok)
        expect(r.error.code).toBe(isArchived({ stage }) ? "DEAL_ARCHIVED" : "TRANSITION_NOT_ALLOWED");
      return;
    }
    expect(r.ok, r.ok ? "" : r.error.message).toBe(true);
    if (!r.ok) return;
    expect(r.deal.stage).toBe(rule.to);
    expect(r.deal.updatedAt).toBe(now.toISOString());
    if (rule.requiresReason) expect(r.deal.closeReason).toBe("Customer chose another vendor");
    if (action === "inviteMicrosoft") {
      expect(r.deal.kind).toBe("coSell");
      expect(r.deal.invitation).toMatchObject({ microsoftHelpRequested: true, invitedAt: now.toISOString() });
    }
    if (action === "microsoftEngage") expect(r.deal.invitation.engagedAt).toBe(now.toISOString());
    if (action === "accept") {
      expect(r.deal).toMatchObject({ name: "Renamed on accept", crmId: "006NEW", notes: "accepted" });
    }
  });
});

describe("transition rules", () => {
  it("accept copies only the accept fields", () => {
    const { deal, now } = fixtureFor("received", "accept");
    const sneaky = { accept: { name: "ok", stage: "won" } } as unknown as TransitionInput;
    const r = transition(deal, "accept", sneaky, now);
    expect(r.ok && r.deal.stage).toBe("accepted");
    expect(ACCEPT_FIELDS).toEqual(["name", "value", "closeDate", "notes", "crmId", "campaignId", "team"]);
  });

  it.each(["decline", "lose", "microsoftDecline"] as const)(
    "%s needs a reason (blank is not one)",
    (action) => {
      const from = action === "decline" ? "received" : "accepted";
      const { deal, now } = fixtureFor(from, action);
      for (const reason of [undefined, "", "   "]) {
        const r = transition(deal, action, { reason }, now);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error.code).toBe("REASON_REQUIRED");
      }
    },
  );

  it.each([
    ["ALREADY_INVITED", { invitation: { microsoftHelpRequested: true, invitedAt: T0.toISOString() } }],
    ["INVITE_CONTACT_REQUIRED", { customer: { ...validDeal().customer, contact: undefined } }],
    ["INVITE_CONSENT_REQUIRED", { consentToShareContact: false }],
    ["INVITE_SOLUTION_REQUIRED", { solutions: [] }],
  ] as const)("inviteMicrosoft refuses with %s", (code, patch) => {
    const r = transition(validDeal(patch as Partial<CoSellDeal>), "inviteMicrosoft", {}, T0);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });

  it("inviteMicrosoft can bring the contact and consent with it", () => {
    const deal = validDeal({
      consentToShareContact: false,
      customer: { ...validDeal().customer, contact: undefined },
    });
    const contact = { firstName: "Sue", lastName: "Smith", email: "s@c.com", phone: "1" };
    const r = transition(
      deal,
      "inviteMicrosoft",
      { contact, consentToShareContact: true, notes: "Need an Azure architect" },
      T0,
    );
    expect(r.ok && r.deal.customer.contact).toEqual(contact);
    expect(r.ok && r.deal.invitation.helpNotes).toBe("Need an Azure architect");
  });

  it.each([
    ["NOT_INVITED", validDeal()],
    [
      "ALREADY_ENGAGED",
      validDeal({
        invitation: {
          microsoftHelpRequested: true,
          invitedAt: T0.toISOString(),
          engagedAt: T0.toISOString(),
        },
      }),
    ],
  ] as const)("microsoftEngage refuses with %s", (code, deal) => {
    const r = transition(deal, "microsoftEngage", {}, T0);
    expect(!r.ok && r.error.code).toBe(code);
  });

  it("expire is refused before the window closes", () => {
    const { deal } = fixtureFor("received", "expire");
    const r = transition(deal, "expire", {}, T0);
    expect(!r.ok && r.error.code).toBe("NOT_YET_EXPIRED");
  });

  it("does not mutate its input", () => {
    const deal = deepFreeze(validDeal());
    expect(() => transition(deal, "win", {}, T0)).not.toThrow();
    expect(deal.stage).toBe("accepted");
  });

  it("editable fields per stage", () => {
    expect([...editableFields("accepted")].sort()).toEqual(
      ["campaignId", "closeDate", "crmId", "name", "notes", "solutions", "team", "value"].sort(),
    );
    for (const s of StageSchema.options) if (s !== "accepted") expect(EDITABLE_FIELDS[s]).toEqual([]);
  });

  it("archived stages, initial stages", () => {
    expect([...ARCHIVED_STAGES].sort()).toEqual(["declined", "expired", "lost", "won"]);
    for (const s of StageSchema.options) expect(isArchived({ stage: s })).toBe(ARCHIVED_STAGES.includes(s));
    expect(INITIAL_STAGE).toEqual({ inbound: "received", outbound: "accepted" });
  });

  it("allowedActions per stage and actor", () => {
    const received = fixtureFor("received", "accept");
    expect(allowedActions(received.deal, received.now).sort()).toEqual(["accept", "decline"]);
    expect(allowedActions(received.deal, received.now, "system")).toEqual([]);
    const accepted = validDeal();
    expect(allowedActions(accepted, T0, "partner").sort()).toEqual(["inviteMicrosoft", "lose", "win"]);
    expect(allowedActions(accepted, T0, "microsoft")).toEqual([]);
    for (const s of ARCHIVED_STAGES) expect(allowedActions(validDeal({ stage: s }), T0)).toEqual([]);
  });
});

describe("expiry with an injected clock", () => {
  const received = validDeal({
    stage: "received",
    direction: "inbound",
    kind: "coSell",
    expiresAt: responseDeadline(T0).toISOString(),
  });
  const at = (ms: number) => new Date(T0.getTime() + 14 * DAY + ms);

  it("14 days − 1 s: still answerable", () => {
    expect(transition(received, "accept", {}, at(-1000)).ok).toBe(true);
    expect(expireIfDue(received, at(-1000)).stage).toBe("received");
    expect(allowedActions(received, at(-1000))).not.toContain("expire");
  });

  it("14 days + 1 s: expired", () => {
    const r = transition(received, "accept", {}, at(1000));
    expect(!r.ok && r.error.code).toBe("DEAL_EXPIRED");
    expect(allowedActions(received, at(1000))).toEqual(["expire"]);
    expect(expireIfDue(received, at(1000)).stage).toBe("expired");
  });

  it("Microsoft's invitation window: 14 days ± 1 s", () => {
    const invited = validDeal({
      kind: "coSell",
      invitation: { microsoftHelpRequested: true, invitedAt: T0.toISOString() },
    });
    const window = INVITATION_WINDOW_DAYS * DAY;
    expect(transition(invited, "microsoftEngage", {}, new Date(T0.getTime() + window - 1000)).ok).toBe(true);
    const late = transition(invited, "microsoftEngage", {}, new Date(T0.getTime() + window + 1000));
    expect(!late.ok && late.error.code).toBe("INVITATION_WINDOW_CLOSED");
  });
});
