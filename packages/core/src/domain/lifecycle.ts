import { z } from "zod";
import { TransitionError } from "../errors.js";
import type { CoSellDeal, DealField, Direction, HelpType, Person, Stage } from "./deal.js";
import { type ActionNote, appendNote } from "./notes.js";

/**
 * The co-sell lifecycle, as data. This file is the single place where stages, actions, who may take
 * them and which fields may change are defined: validation, the sync planner, the Partner Center
 * client and the sandbox all read it, so they cannot disagree. Source: the seed
 * (shared/reference/co-sell-domain.md) and the Referral status table (partner-center-api.md).
 */

export const LifecycleActionSchema = z.enum([
  "accept",
  "decline",
  "expire",
  "win",
  "lose",
  "inviteMicrosoft",
  "microsoftEngage",
  "microsoftDecline",
]);
export type LifecycleAction = z.infer<typeof LifecycleActionSchema>;

/** Who takes an action: the partner's seller, a Microsoft seller, or the clock. */
export type Actor = "partner" | "microsoft" | "system";

/** Why a guard refused an action; each becomes a {@link TransitionError} code. */
export type GuardFailure = { code: string; message: string };

export interface TransitionRule {
  from: Stage;
  action: LifecycleAction;
  to: Stage;
  actor: Actor;
  /** The action must carry a reason (decline, lost). */
  requiresReason: boolean;
  /** Extra conditions beyond the stage; returns the first that fails. */
  guard?: (deal: CoSellDeal, now: Date, input: TransitionInput) => GuardFailure | undefined;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Days an inbound deal may wait for an answer, and days Microsoft has to engage on an invitation. */
export const RESPONSE_WINDOW_DAYS = 14;
export const INVITATION_WINDOW_DAYS = 14;

/** Archived stages: terminal, read-only, no actions. */
export const ARCHIVED_STAGES: readonly Stage[] = ["declined", "expired", "won", "lost"];

/** Where a new deal starts: Microsoft's referrals wait for an answer; the partner's own start accepted. */
export const INITIAL_STAGE: Readonly<Record<Direction, Stage>> = {
  inbound: "received",
  outbound: "accepted",
};

/** Fields the partner sets when accepting an inbound deal. */
export const ACCEPT_FIELDS: readonly DealField[] = [
  "name",
  "value",
  "closeDate",
  "notes",
  "crmId",
  "campaignId",
  "team",
];

/**
 * The seller's star (Partner Center's `favorite`). Microsoft does not document in which states it may
 * be set; the Partner Center UI's Favorites tab lists deals of every state, so a seller may star any
 * deal, received and archived ones included. The emulator allows it too. It is a bookmark, not an
 * edit of the deal: it moves no stage and needs no answer.
 */
const STAR: readonly DealField[] = ["favorite"];

/**
 * Fields that may be edited in each stage. Archived deals are read-only but for the star. The sales
 * stage and the two customer consents (`consentToShareContact`, `consentToContact`) are the
 * partner's working state of a deal it has taken on: editable while accepted only.
 */
export const EDITABLE_FIELDS: Readonly<Record<Stage, readonly DealField[]>> = {
  received: [...STAR],
  accepted: [
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
    ...STAR,
  ],
  declined: [...STAR],
  expired: [...STAR],
  won: [...STAR],
  lost: [...STAR],
};

const notExpired = (deal: CoSellDeal, now: Date): GuardFailure | undefined =>
  isPastResponseWindow(deal, now)
    ? {
        code: "DEAL_EXPIRED",
        message: `The ${RESPONSE_WINDOW_DAYS}-day window to answer this referral closed at ${deal.expiresAt}; it can only expire now.`,
      }
    : undefined;

const invitable = (deal: CoSellDeal, _now: Date, input: TransitionInput): GuardFailure | undefined => {
  if (deal.microsoftAnswer)
    return {
      code: "ALREADY_INVITED",
      message: `Microsoft was already invited to this deal (its answer: ${deal.microsoftAnswer}).`,
    };
  const contact = input.contact ?? deal.customer.contact;
  if (!contact?.firstName || !contact.lastName || !contact.email || !contact.phone)
    return {
      code: "INVITE_CONTACT_REQUIRED",
      message:
        "Inviting Microsoft needs a customer contact with first name, last name, email and phone. Add the contact, then invite again.",
    };
  if (!(input.consentToShareContact ?? deal.consentToShareContact))
    return {
      code: "INVITE_CONSENT_REQUIRED",
      message:
        "Inviting Microsoft shares the customer contact: record the customer's consent to share it, then invite again.",
    };
  if (deal.solutions.length === 0)
    return {
      code: "INVITE_SOLUTION_REQUIRED",
      message:
        "Co-sell deals need at least one solution before Microsoft is invited. Add a solution, then invite again.",
    };
  return undefined;
};

/**
 * Microsoft's seller can answer only an invitation still waiting. How long Microsoft has is the
 * connected referral's own `expirationDateTime`, which Partner Center enforces (the emulator too).
 */
const invitationOpen = (deal: CoSellDeal): GuardFailure | undefined => {
  if (!deal.microsoftAnswer)
    return { code: "NOT_INVITED", message: "Microsoft has not been invited to this deal." };
  if (deal.microsoftAnswer !== "pending")
    return {
      code: "ALREADY_ANSWERED",
      message: `Microsoft has already answered this invitation (${deal.microsoftAnswer}).`,
    };
  return undefined;
};

/** Every allowed transition. A (stage, action) pair that is not listed here is forbidden. */
export const TRANSITIONS: readonly TransitionRule[] = [
  {
    from: "received",
    action: "accept",
    to: "accepted",
    actor: "partner",
    requiresReason: false,
    guard: notExpired,
  },
  {
    from: "received",
    action: "decline",
    to: "declined",
    actor: "partner",
    requiresReason: true,
    guard: notExpired,
  },
  {
    from: "received",
    action: "expire",
    to: "expired",
    actor: "system",
    requiresReason: false,
    guard: (deal, now) =>
      isPastResponseWindow(deal, now)
        ? undefined
        : {
            code: "NOT_YET_EXPIRED",
            message: deal.expiresAt
              ? `This referral can be answered until ${deal.expiresAt}; it expires only after that.`
              : "This referral has no response deadline (no expiresAt), so it cannot expire; accept or decline it instead.",
          },
  },
  { from: "accepted", action: "win", to: "won", actor: "partner", requiresReason: false },
  { from: "accepted", action: "lose", to: "lost", actor: "partner", requiresReason: true },
  {
    from: "accepted",
    action: "inviteMicrosoft",
    to: "accepted",
    actor: "partner",
    requiresReason: false,
    guard: invitable,
  },
  {
    from: "accepted",
    action: "microsoftEngage",
    to: "accepted",
    actor: "microsoft",
    requiresReason: false,
    guard: invitationOpen,
  },
  // Microsoft declining to help leaves the partner's deal as it is: the partner may still win it.
  {
    from: "accepted",
    action: "microsoftDecline",
    to: "accepted",
    actor: "microsoft",
    requiresReason: false,
    guard: invitationOpen,
  },
];

/** What an action may carry. */
export interface TransitionInput {
  /** Why (decline, lost, Microsoft's decline). */
  reason?: string;
  /** What help is needed, when inviting Microsoft. */
  notes?: string;
  /**
   * A note given with the action: added to the deal's notes, dated (the action's time) and signed,
   * never replacing them.
   */
  note?: ActionNote;
  /** Fields set while accepting (only {@link ACCEPT_FIELDS} are taken). */
  accept?: Partial<
    Pick<CoSellDeal, "name" | "value" | "closeDate" | "notes" | "crmId" | "campaignId" | "team">
  >;
  /** Customer contact to attach when inviting Microsoft. */
  contact?: Person;
  /** Consent to share that contact, when inviting Microsoft. */
  consentToShareContact?: boolean;
  /** The kind of help asked of Microsoft (`inviteContext.assistanceRequestCode`), when inviting it. */
  helpType?: HelpType;
}

export type TransitionResult = { ok: true; deal: CoSellDeal } | { ok: false; error: TransitionError };

export function isArchived(deal: Pick<CoSellDeal, "stage">): boolean {
  return ARCHIVED_STAGES.includes(deal.stage);
}

export function editableFields(stage: Stage): readonly DealField[] {
  return EDITABLE_FIELDS[stage];
}

/** When an inbound deal received at `receivedAt` stops accepting answers. */
export function responseDeadline(receivedAt: Date): Date {
  return new Date(receivedAt.getTime() + RESPONSE_WINDOW_DAYS * DAY_MS);
}

/** A received deal whose response window has closed (by the injected clock). */
export function isPastResponseWindow(deal: Pick<CoSellDeal, "stage" | "expiresAt">, now: Date): boolean {
  return (
    deal.stage === "received" && deal.expiresAt !== undefined && now.getTime() >= Date.parse(deal.expiresAt)
  );
}

/** The rule for (stage, action), if the table has one. */
export function findRule(from: Stage, action: LifecycleAction): TransitionRule | undefined {
  return TRANSITIONS.find((r) => r.from === from && r.action === action);
}

/** Actions that would succeed now, for `actor` (all actors when omitted). */
export function allowedActions(deal: CoSellDeal, now: Date, actor?: Actor): LifecycleAction[] {
  return TRANSITIONS.filter(
    (r) =>
      r.from === deal.stage &&
      (actor === undefined || r.actor === actor) &&
      !r.guard?.(deal, now, { reason: "x", consentToShareContact: undefined }),
  ).map((r) => r.action);
}

/**
 * Applies `action` to `deal` at `now`. Pure: returns a new deal or the reason it is not allowed.
 */
export function transition(
  deal: CoSellDeal,
  action: LifecycleAction,
  input: TransitionInput,
  now: Date,
): TransitionResult {
  const fail = (code: string, message: string): TransitionResult => ({
    ok: false,
    error: new TransitionError(code, message, {
      dealId: deal.id,
      crmId: deal.crmId,
      stage: deal.stage,
      action,
    }),
  });
  if (isArchived(deal))
    return fail("DEAL_ARCHIVED", `This deal is archived (${deal.stage}); no further actions are possible.`);
  const rule = findRule(deal.stage, action);
  if (!rule) {
    const allowed = TRANSITIONS.filter((r) => r.from === deal.stage).map((r) => r.action);
    return fail(
      "TRANSITION_NOT_ALLOWED",
      `Cannot ${action} a ${deal.stage} deal. Allowed now: ${allowed.join(", ") || "nothing"}.`,
    );
  }
  if (rule.requiresReason && !input.reason?.trim())
    return fail("REASON_REQUIRED", `Give a reason to ${action} this deal (it is shown to the other side).`);
  const refused = rule.guard?.(deal, now, input);
  if (refused) return fail(refused.code, refused.message);

  const stamp = now.toISOString();
  const next: CoSellDeal = { ...deal, stage: rule.to, updatedAt: stamp };
  switch (action) {
    case "accept":
      for (const key of ACCEPT_FIELDS) {
        const v = input.accept?.[key as keyof NonNullable<TransitionInput["accept"]>];
        if (v !== undefined) Object.assign(next, { [key]: v });
      }
      break;
    case "decline":
    case "lose":
      next.closeReason = input.reason?.trim();
      break;
    case "microsoftDecline":
      next.microsoftAnswer = "declined";
      break;
    case "inviteMicrosoft":
      next.kind = "coSell";
      if (input.contact) next.customer = { ...deal.customer, contact: input.contact };
      if (input.consentToShareContact !== undefined) next.consentToShareContact = input.consentToShareContact;
      next.invitation = {
        ...deal.invitation,
        microsoftHelpRequested: true,
        helpNotes: input.notes ?? deal.invitation.helpNotes,
      };
      next.microsoftAnswer = "pending";
      if (input.helpType ?? deal.invitation.helpType)
        next.invitation.helpType = input.helpType ?? deal.invitation.helpType;
      break;
    case "microsoftEngage":
      next.microsoftAnswer = "accepted";
      break;
    case "expire":
    case "win":
      break;
  }
  if (input.note) next.notes = appendNote(next.notes, input.note, now);
  return { ok: true, deal: next };
}

/** Expires `deal` if its response window has closed; otherwise returns it unchanged. */
export function expireIfDue(deal: CoSellDeal, now: Date): CoSellDeal {
  const r = isPastResponseWindow(deal, now) ? transition(deal, "expire", {}, now) : undefined;
  return r?.ok ? r.deal : deal;
}
