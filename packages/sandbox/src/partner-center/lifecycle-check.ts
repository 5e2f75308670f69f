import {
  ACCEPT_FIELDS,
  type CoSellDeal,
  type DealField,
  EDITABLE_FIELDS,
  equalField,
  findRule,
  INITIAL_STAGE,
  isArchived,
  type LifecycleAction,
  LifecycleActionSchema,
  PARTNER_CENTER_OWNED_FIELDS,
  type Referral,
  referralToDeal,
  STAGE_STATUS,
  type Stage,
  SYNC_FIELDS,
  type SyncField,
  type TransitionRule,
  withMicrosoftInvitation,
} from "@cosell/core";
import { lifecycleViolation } from "./errors.js";

/**
 * What the emulated Partner Center checks on a partner's write, read entirely from core's lifecycle
 * table (`TRANSITIONS`, `EDITABLE_FIELDS`, `ACCEPT_FIELDS`, guards): the sandbox has no lifecycle of
 * its own. A referral is mapped to the canonical deal with core's `referralToDeal`, so "which stage"
 * and "which field changed" mean exactly what they mean to the sync engine.
 */

/** Canonical fields a partner's PUT can change (the stage is checked on its own). */
type GovernedField = Exclude<
  SyncField,
  | "stage"
  | "expiresAt"
  | "microsoftOpportunityId"
  | "registration"
  | "sentBy"
  | "microsoftAnswer"
  | "microsoftTeam"
>;
const GOVERNED_FIELDS = SYNC_FIELDS.filter(
  (f): f is GovernedField => f !== "stage" && !PARTNER_CENTER_OWNED_FIELDS.includes(f),
);

/** Where each canonical field lives on the wire, for messages that name what the client sent. */
const WIRE_NAMES: Readonly<Record<GovernedField, string>> = {
  name: "name",
  value: "details.dealValue/currency",
  closeDate: "details.closingDateTime",
  notes: "details.notes",
  crmId: "externalReferenceId",
  campaignId: "campaignId",
  customer: "customerProfile",
  consentToShareContact: "consent.consentToToShareInfoWithOthers",
  consentToContact: "consent.consentToContact",
  favorite: "favorite",
  salesStage: "salesStage",
  team: "team",
  solutions: "details.requirements.solutions",
  invitation: "type/inviteContext",
};

/** Fields the server owns: ignored in a client's body, never reported as edits. */
export const SERVER_OWNED_FIELDS = [
  "id",
  "engagementId",
  "createdDateTime",
  "updatedDateTime",
  "acceptedDateTime",
  "expirationDateTime",
  "direction",
  "eTag",
  "links",
] as const;

const wire = (stage: Stage) => `${STAGE_STATUS[stage].status}/${STAGE_STATUS[stage].substatus}`;
const spelled = (r: Pick<Referral, "status" | "substatus">) => `${r.status}/${r.substatus}`;

function partnerRules(from: Stage): TransitionRule[] {
  return LifecycleActionSchema.options
    .map((a) => findRule(from, a))
    .filter((r): r is TransitionRule => !!r && r.actor === "partner");
}

/**
 * Fields a partner may change in `stage` while taking `action` (if any). Mirrors core's
 * MemoryPartnerCenter. The star (`favorite`) goes with anything the stage allows it in.
 */
function allowedEdits(stage: Stage, action: LifecycleAction | undefined): readonly DealField[] {
  const star = EDITABLE_FIELDS[stage].filter((f) => f === "favorite");
  return [...new Set([...actionEdits(stage, action), ...star])];
}

function actionEdits(stage: Stage, action: LifecycleAction | undefined): readonly DealField[] {
  switch (action) {
    case "accept":
      return ACCEPT_FIELDS;
    case "decline":
    case "lose":
      // transition() stores the decline/lost notes with the action.
      return ["notes"];
    case "win":
      return [];
    case "inviteMicrosoft":
      // Inviting attaches the customer contact and the consent to share it.
      return [...EDITABLE_FIELDS[stage], "invitation", "customer", "consentToShareContact"];
    default:
      return EDITABLE_FIELDS[stage];
  }
}

/** Drops server-owned fields and null/empty members so that "absent", null and "" compare equal. */
function comparable(v: unknown, top = true): unknown {
  if (Array.isArray(v)) return v.map((x) => comparable(x, false));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (top && (SERVER_OWNED_FIELDS as readonly string[]).includes(k)) continue;
      const c = comparable(x, false);
      if (c !== undefined && c !== null && c !== "") out[k] = c;
    }
    return out;
  }
  return v;
}

/** Top-level properties whose (comparable) values differ. */
export function changedProperties(a: Referral, b: Referral): string[] {
  const x = comparable(a) as Record<string, unknown>;
  const y = comparable(b) as Record<string, unknown>;
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  return [...keys].filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k])).sort();
}

/** The outcome of a partner's update that passed every check. */
export interface PartnerUpdateVerdict {
  /** The lifecycle action the update amounts to, if it is one. */
  action?: LifecycleAction;
  /** True when nothing the lifecycle governs changed on an archived referral (a no-op write). */
  unchanged?: boolean;
}

/**
 * Checks a partner's replacement of `current` by `next` at `now`; throws a 409 `PartnerCenterError`
 * naming the refused move or fields. `next` carries the client's body (server-owned fields already
 * restored from `current`). `invitation` is the connected referral inviting Microsoft onto the
 * referral's engagement, if the partner sent one.
 */
export function checkPartnerUpdate(
  current: Referral,
  next: Referral,
  now: Date,
  invitation?: Referral,
): PartnerUpdateVerdict {
  const before = withMicrosoftInvitation(referralToDeal(current, { now }), invitation);
  const after = withMicrosoftInvitation(referralToDeal(next, { now }), invitation);
  const id = current.id;

  if (isArchived(before)) {
    const changed = changedProperties(current, next);
    if (!changed.length) return { unchanged: true };
    // What the lifecycle still lets a seller change on an archived deal: the star.
    const stillEditable = EDITABLE_FIELDS[before.stage].map((f) => WIRE_NAMES[f as GovernedField] ?? f);
    if (changed.every((p) => stillEditable.includes(p))) return {};
    throw lifecycleViolation(
      "DEAL_ARCHIVED",
      `Referral ${id} is ${spelled(current)} (archived) and read-only; it cannot change (${changed.join(", ")}).`,
      changed,
    );
  }

  let rule: TransitionRule | undefined;
  if (before.stage !== after.stage) {
    rule = partnerRules(before.stage).find((r) => r.to === after.stage);
    if (!rule) {
      const allowed = partnerRules(before.stage)
        .filter((r) => r.to !== before.stage)
        .map((r) => `${r.action} → ${wire(r.to)}`);
      const microsoftOnly = LifecycleActionSchema.options
        .map((a) => findRule(before.stage, a))
        .find((r) => r?.actor === "microsoft" && r.to === after.stage);
      throw lifecycleViolation(
        "TRANSITION_NOT_ALLOWED",
        `A partner cannot move referral ${id} from ${spelled(current)} to ${spelled(next)}${microsoftOnly ? ` (only Microsoft can: ${microsoftOnly.action})` : ""}. Allowed from ${spelled(current)}: ${allowed.join(", ") || "nothing"}.`,
        ["status", "substatus"],
      );
    }
    if (spelled(next) !== wire(rule.to))
      throw lifecycleViolation(
        "TRANSITION_NOT_ALLOWED",
        `To ${rule.action} referral ${id}, set status/substatus to ${wire(rule.to)}, not ${spelled(next)}.`,
        ["status", "substatus"],
      );
  } else if (spelled(next) !== spelled(current)) {
    throw lifecycleViolation(
      "TRANSITION_NOT_ALLOWED",
      `Referral ${id} cannot go from ${spelled(current)} to ${spelled(next)}: that is not a partner action (Engaged is set by Microsoft).`,
      ["status", "substatus"],
    );
  } else if (
    !equalField(before, after, "invitation") ||
    (current.type !== "Shared" && next.type === "Shared")
  ) {
    // Asking for Microsoft's help on the deal (Shared, the help notes and type) is the invitation's first
    // half; the connected referral that targets Microsoft is the second (see `checkNewInvitation`).
    rule = findRule(before.stage, "inviteMicrosoft");
    if (!rule)
      throw lifecycleViolation(
        "TRANSITION_NOT_ALLOWED",
        `Microsoft cannot be invited to referral ${id} while it is ${spelled(current)}.`,
        ["type", "inviteContext"],
      );
  } else if (current.type === "Shared" && next.type !== "Shared") {
    throw lifecycleViolation(
      "FIELD_NOT_EDITABLE",
      `Referral ${id} is shared with Microsoft (type Shared); it cannot be made Independent again.`,
      ["type"],
    );
  }

  if (rule) {
    if (rule.requiresReason && !after.closeReason?.trim())
      throw lifecycleViolation(
        "REASON_REQUIRED",
        `Give a statusReason to ${rule.action} referral ${id} (it is shown to the other side).`,
        ["statusReason"],
      );
    // The invitation's guard looks at the deal as it will be (contact, consent, solutions just added),
    // but with the invitation state it had; the other guards look at the referral as it was.
    const subject: CoSellDeal =
      rule.action === "inviteMicrosoft"
        ? {
            ...after,
            stage: before.stage,
            expiresAt: before.expiresAt,
            invitation: before.invitation,
            microsoftAnswer: before.microsoftAnswer,
          }
        : before;
    const refused = rule.guard?.(subject, now, {
      reason: after.closeReason,
      notes: after.notes,
      contact: after.customer.contact,
      consentToShareContact: after.consentToShareContact,
    });
    if (refused) throw lifecycleViolation(refused.code, refused.message);
  }

  const allowed = allowedEdits(before.stage, rule?.action);
  const refused = GOVERNED_FIELDS.filter((f) => !equalField(before, after, f)).filter(
    (f) => !allowed.includes(f),
  );
  if (refused.length)
    throw lifecycleViolation(
      "FIELD_NOT_EDITABLE",
      `A ${spelled(current)} referral does not allow changing ${refused.map((f) => WIRE_NAMES[f]).join(", ")}${rule ? ` while taking ${rule.action}` : ""}. Editable now: ${allowed.map((f) => WIRE_NAMES[f as keyof typeof WIRE_NAMES] ?? f).join(", ") || "nothing"}.`,
      refused.map((f) => WIRE_NAMES[f]),
    );
  return { action: rule?.action };
}

/**
 * Checks a partner's new referral: it starts where core's `INITIAL_STAGE.outbound` says (Active/Accepted).
 * A Shared one is a co-sell deal; Microsoft is invited by a connected referral afterwards.
 */
export function checkNewReferral(referral: Referral, _now: Date): void {
  const start = INITIAL_STAGE.outbound;
  if (spelled(referral) !== wire(start))
    throw lifecycleViolation(
      "TRANSITION_NOT_ALLOWED",
      `A partner's new referral starts ${wire(start)}, not ${spelled(referral)}: create it, then move it on with a PATCH.`,
      ["status", "substatus"],
    );
}

/**
 * Checks the connected referral inviting Microsoft onto `deal`'s engagement: the deal must be a Shared
 * (co-sell) referral and pass the lifecycle's `inviteMicrosoft` rule (accepted, not invited yet, a
 * complete customer contact with consent to share it, a solution). `current` is the deal as the
 * engagement has it now.
 */
export function checkNewInvitation(
  deal: Referral,
  current: CoSellDeal,
  invitation: Referral,
  now: Date,
): void {
  if (deal.type !== "Shared")
    throw lifecycleViolation(
      "NOT_SHARED",
      `Referral ${deal.id} is not Shared: make it a co-sell deal (type Shared) before inviting Microsoft onto its engagement.`,
      ["type"],
    );
  const rule = findRule(current.stage, "inviteMicrosoft");
  if (!rule)
    throw lifecycleViolation(
      "TRANSITION_NOT_ALLOWED",
      `Microsoft cannot be invited to referral ${deal.id} while it is ${spelled(deal)}.`,
      ["engagementId"],
    );
  const refused = rule.guard?.(current, now, { notes: invitation.inviteContext?.notes ?? undefined });
  if (refused) throw lifecycleViolation(refused.code, refused.message);
}
