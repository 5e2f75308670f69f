import { isDeepStrictEqual } from "node:util";
import type { CoSellDeal, DealField } from "../domain/deal.js";
import {
  ACCEPT_FIELDS,
  EDITABLE_FIELDS,
  findRule,
  INITIAL_STAGE,
  INVITATION_WINDOW_DAYS,
  isArchived,
  isPastResponseWindow,
  type LifecycleAction,
  LifecycleActionSchema,
  RESPONSE_WINDOW_DAYS,
  type TransitionRule,
  transition,
} from "../domain/lifecycle.js";
import { ConflictError, NotFoundError, RemoteApiError, TransitionError } from "../errors.js";
import {
  type InvitationRequest,
  invitationBody,
  isMicrosoftInvitation,
  microsoftAnswerOf,
  withMicrosoftInvitation,
} from "../partner-center/engagement.js";
import { applyReferralPatch, referralPatch } from "../partner-center/json-patch.js";
import { dealToReferral, referralToDeal } from "../partner-center/mapping.js";
import {
  MICROSOFT_ORGANIZATION_ID,
  type NewReferral,
  type Referral,
  ReferralSchema,
} from "../partner-center/referral.js";
import { isAwaitingAnswer, STAGE_STATUS } from "../partner-center/status.js";
import { equalField } from "../sync/compare.js";
import type { CreateReferralOptions, PartnerCenterPort } from "../sync/ports.js";
import type { CallStats, SyncField } from "../sync/types.js";
import { completeDeal, sampleInbound } from "./deals.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Fields whose change a partner's update may carry, checked against the lifecycle. */
const CHECKED_FIELDS = [
  "name",
  "value",
  "closeDate",
  "crmId",
  "campaignId",
  "notes",
  "customer",
  "consentToShareContact",
  "consentToContact",
  "team",
  "solutions",
  "invitation",
  "favorite",
  "salesStage",
] as const satisfies readonly (DealField & SyncField)[];

/** Options of {@link MemoryPartnerCenter}. */
export interface MemoryPartnerCenterOptions {
  /** The clock that stamps `createdDateTime`, `updatedDateTime` and expiry (inject the test's clock). */
  now?: () => Date;
  /** Referrals per list page (default 100). */
  pageSize?: number;
}

/**
 * Partner Center's referrals, in memory: a test double of {@link PartnerCenterPort} for fast unit and
 * property tests. It keeps raw `Referral`s and behaves like the service where the engine depends on
 * it: server-assigned ids, eTags and `updatedDateTime` from the injected clock; `If-Match` enforced
 * (a stale eTag throws {@link ConflictError} carrying the current copy); `createReferral` idempotent by
 * `externalReferenceId` (unless told it is a first attempt); and every update checked against core's transition table (stage moves need a
 * partner rule, reasons and guards hold, only the fields the stage allows may change, archived
 * referrals are read-only). Received referrals expire on their own once the clock passes 14 days.
 *
 * Inviting Microsoft is a connected referral on the deal's engagement (`createInvitation`), listed
 * like any other of the partner's referrals; Microsoft's seller answers on it.
 *
 * The Microsoft side is played with `sendInbound`, `engage`, `decline`, `editNotes` and `expireDue`.
 * For the HTTP emulator of the real API, use `@cosell/sandbox`.
 */
export class MemoryPartnerCenter implements PartnerCenterPort {
  private readonly referrals = new Map<string, Referral>();
  private readonly calls: CallStats = { total: 0, reads: 0, writes: 0 };
  private readonly now: () => Date;
  private readonly pageSize: number;
  private nextId = 1;
  private nextETag = 1;
  private nextEngagement = 1;

  constructor(options: MemoryPartnerCenterOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.pageSize = Math.max(1, options.pageSize ?? 100);
  }

  // ── PartnerCenterPort ─────────────────────────────────────────────────────────────────────────

  async *listReferrals(filter: { updatedSince?: Date; skip?: number }): AsyncIterable<Referral[]> {
    this.expireDue();
    const since = filter.updatedSince?.getTime();
    const matching = [...this.referrals.values()]
      .filter((r) => since === undefined || Date.parse(r.updatedDateTime) >= since)
      .sort((a, b) => a.updatedDateTime.localeCompare(b.updatedDateTime) || a.id.localeCompare(b.id))
      .slice(filter.skip ?? 0)
      .map((r) => structuredClone(r));
    this.count("reads");
    for (let i = 0; i < matching.length; i += this.pageSize) {
      if (i > 0) this.count("reads");
      yield matching.slice(i, i + this.pageSize);
    }
  }

  async getReferral(id: string): Promise<Referral> {
    this.expireDue();
    this.count("reads");
    return structuredClone(this.mustGet(id));
  }

  async createReferral(body: NewReferral, options: CreateReferralOptions): Promise<Referral> {
    this.expireDue();
    // The look-up by externalReferenceId that makes the create idempotent. Skipped on a first attempt,
    // as the client skips it: the POST then creates even if one exists, as the API's POST would.
    if (!options.firstAttempt) {
      this.count("reads");
      const existing = [...this.referrals.values()].find((r) => r.externalReferenceId === options.crmId);
      if (existing) return structuredClone(existing);
    }
    this.count("writes");
    const at = this.now().toISOString();
    const referral = this.parse({
      ...structuredClone(body),
      id: this.newId(),
      externalReferenceId: options.crmId,
      engagementId: this.newEngagementId(),
      createdDateTime: at,
      updatedDateTime: at,
      acceptedDateTime: at,
      direction: "Outgoing",
      status: body.status ?? STAGE_STATUS[INITIAL_STAGE.outbound].status,
      substatus: body.substatus ?? STAGE_STATUS[INITIAL_STAGE.outbound].substatus,
      eTag: this.newETag(),
    });
    if (!referral.name?.trim()) throw badRequest("NAME_REQUIRED", "A referral needs a name.");
    const stage = referralToDeal(referral, { now: this.now() }).stage;
    if (stage !== INITIAL_STAGE.outbound)
      throw badRequest(
        "TRANSITION_NOT_ALLOWED",
        `A partner's new referral starts ${INITIAL_STAGE.outbound}, not ${stage}.`,
      );
    this.referrals.set(referral.id, referral);
    return structuredClone(referral);
  }

  /**
   * A PATCH: with `base`, only the paths where `referral` differs from it are applied to the current
   * copy (as Partner Center applies a JSON Patch); without it, `referral` is taken whole.
   */
  async updateReferral(id: string, referral: Referral, eTag: string, base?: Referral): Promise<Referral> {
    this.expireDue();
    this.count("writes");
    const current = this.mustGet(id);
    if (eTag !== "*" && eTag !== current.eTag)
      throw new ConflictError(
        `Referral ${id} changed since it was read (If-Match ${eTag}, current ${current.eTag}).`,
        structuredClone(current),
        { status: 412 },
      );
    const target = base ? applyReferralPatch(current, referralPatch(base, referral)) : referral;
    const next = this.parse({
      ...structuredClone(target),
      id,
      createdDateTime: current.createdDateTime,
      updatedDateTime: this.now().toISOString(),
      eTag: this.newETag(),
    });
    const action = this.checkPartnerUpdate(current, next);
    if (action === "accept") next.acceptedDateTime = next.updatedDateTime;
    // As the emulator: a won deal goes to Microsoft's registration review.
    if (action === "win" && (!next.registrationStatus || next.registrationStatus === "None"))
      next.registrationStatus = "ReviewPending";
    this.referrals.set(id, next);
    return structuredClone(next);
  }

  async listRelatedReferrals(engagementId: string): Promise<Referral[]> {
    this.expireDue();
    this.count("reads");
    return [...this.referrals.values()]
      .filter((r) => r.engagementId === engagementId)
      .map((r) => structuredClone(r));
  }

  /**
   * The connected referral inviting Microsoft onto `main`'s engagement (as the emulator: the deal must
   * be an accepted, Shared referral of this partner, not invited yet), or the one already there.
   */
  async createInvitation(main: Referral, request: InvitationRequest): Promise<Referral> {
    this.expireDue();
    const existing = main.engagementId ? this.invitationOf(main.engagementId) : undefined;
    this.count("reads");
    if (existing) return structuredClone(existing);
    this.count("writes");
    const deal = [...this.referrals.values()].find(
      (r) => r.engagementId === main.engagementId && !isMicrosoftInvitation(r),
    );
    if (!deal) throw badRequest("ENGAGEMENT_NOT_FOUND", `No referral has engagementId ${main.engagementId}.`);
    if (deal.type !== "Shared")
      throw badRequest("NOT_SHARED", "Microsoft is invited on a Shared referral; share the deal first.");
    const rule = findRule(this.dealOf(deal).stage, "inviteMicrosoft");
    const refused = rule ? rule.guard?.(this.dealOf(deal), this.now(), {}) : undefined;
    if (!rule || refused)
      throw badRequest(
        refused?.code ?? "TRANSITION_NOT_ALLOWED",
        refused?.message ?? `Microsoft cannot be invited to a ${this.dealOf(deal).stage} referral.`,
      );
    const at = this.now();
    const invitation = this.parse({
      ...structuredClone(invitationBody(deal, request)),
      id: this.newId(),
      createdDateTime: at.toISOString(),
      updatedDateTime: at.toISOString(),
      expirationDateTime: new Date(at.getTime() + INVITATION_WINDOW_DAYS * DAY_MS).toISOString(),
      direction: "Outgoing",
      status: "New",
      substatus: "Pending",
      eTag: this.newETag(),
    });
    this.referrals.set(invitation.id, invitation);
    return structuredClone(invitation);
  }

  stats(): CallStats {
    return { ...this.calls };
  }

  // ── Microsoft's side ──────────────────────────────────────────────────────────────────────────

  /** Microsoft sends the partner a referral (received, 14 days to answer). Unset fields get sample values. */
  sendInbound(partial: Partial<CoSellDeal> = {}): Referral {
    const now = this.now();
    const deal = completeDeal(
      { ...sampleInbound(), ...partial, direction: "inbound", stage: "received" },
      now,
    );
    const { id: _id, version: _v, ...rest } = deal;
    const body = dealToReferral({ ...rest, crmId: undefined });
    const referral = this.parse({
      ...body,
      id: this.newId(),
      engagementId: this.newEngagementId(),
      externalReferenceId: null,
      createdDateTime: now.toISOString(),
      updatedDateTime: now.toISOString(),
      expirationDateTime: new Date(now.getTime() + RESPONSE_WINDOW_DAYS * DAY_MS).toISOString(),
      ...STAGE_STATUS.received,
      direction: "Incoming",
      inviteContext: {
        ...body.inviteContext,
        invitedBy: { organizationId: MICROSOFT_ORGANIZATION_ID, organizationName: "Microsoft" },
      },
      eTag: this.newETag(),
    });
    this.referrals.set(referral.id, referral);
    return structuredClone(referral);
  }

  /**
   * A Microsoft seller accepts the partner's invitation on deal `id`: the connected referral becomes
   * Active/Accepted and the deal gets Microsoft's opportunity id. Returns the deal's referral.
   */
  engage(id: string): Referral {
    return this.microsoftAction(id, "microsoftEngage", {}, (deal, invitation) => {
      Object.assign(invitation, { status: "Active", substatus: "Accepted" });
      if (!deal.trackingInfo?.microsoftMsxId) {
        deal.trackingInfo = { ...deal.trackingInfo, microsoftMsxId: `7-MSX${deal.id.replace(/\D/g, "")}` };
        this.touch(deal);
      }
    });
  }

  /**
   * Partner Center or a Microsoft seller sets raw referral fields the partner's API cannot
   * (`trackingInfo`, `registrationStatus`, `registrations`, `salesStage`, `favorite`…), deep-merged.
   * An archived referral only takes the registration fields and the star.
   */
  setFields(id: string, changes: Record<string, unknown>): Referral {
    const r = this.mustGet(id);
    const afterClose = ["registrationStatus", "registrations", "favorite"];
    if (
      isArchived(referralToDeal(r, { now: this.now() })) &&
      Object.keys(changes).some((k) => !afterClose.includes(k))
    )
      throw new TransitionError(
        "DEAL_ARCHIVED",
        `Referral ${id} is archived; only ${afterClose.join(", ")} can change.`,
      );
    const next = this.parse(mergeDeep(structuredClone(r) as Record<string, unknown>, changes));
    this.touch(next);
    this.referrals.set(id, next);
    return structuredClone(next);
  }

  /**
   * A Microsoft seller declines the partner's invitation on deal `id`, with a reason: the connected
   * referral closes as declined; the partner's deal stays as it is.
   */
  decline(id: string, reason: string): Referral {
    return this.microsoftAction(id, "microsoftDecline", { reason }, (_deal, invitation) => {
      Object.assign(invitation, { status: "Closed", substatus: "Declined", statusReason: reason });
    });
  }

  /** A Microsoft seller edits the notes. */
  editNotes(id: string, notes: string): Referral {
    const r = this.mustGet(id);
    if (isArchived(referralToDeal(r, { now: this.now() })))
      throw new TransitionError("DEAL_ARCHIVED", `Referral ${id} is archived; its notes cannot change.`);
    r.details = { ...r.details, notes };
    this.touch(r);
    return structuredClone(r);
  }

  /**
   * Expires every received referral whose 14-day window closed by `now`, and every invitation Microsoft
   * left unanswered past its `expirationDateTime`; returns them.
   */
  expireDue(now: Date = this.now()): Referral[] {
    const out: Referral[] = [];
    for (const r of this.referrals.values()) {
      if (isMicrosoftInvitation(r)) {
        if (
          microsoftAnswerOf(r) === "pending" &&
          r.expirationDateTime &&
          now >= new Date(r.expirationDateTime)
        ) {
          Object.assign(r, { status: "Closed", substatus: "Expired" });
          this.touch(r, now);
          out.push(structuredClone(r));
        }
        continue;
      }
      if (!isAwaitingAnswer(r)) continue;
      if (!isPastResponseWindow(referralToDeal(r, { now }), now)) continue;
      Object.assign(r, STAGE_STATUS.expired);
      this.touch(r, now);
      out.push(structuredClone(r));
    }
    return out;
  }

  /** A referral as Partner Center holds it, or `undefined`. */
  get(id: string): Referral | undefined {
    const r = this.referrals.get(id);
    return r && structuredClone(r);
  }

  /** Every referral, oldest first. */
  all(): Referral[] {
    return [...this.referrals.values()].map((r) => structuredClone(r));
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────

  /** Microsoft's seller answers the invitation on deal `id`, as the lifecycle allows. */
  private microsoftAction(
    id: string,
    action: LifecycleAction,
    input: { reason?: string },
    answer: (deal: Referral, invitation: Referral) => void,
  ): Referral {
    this.expireDue();
    const deal = this.mustGet(id);
    const result = transition(this.dealOf(deal), action, input, this.now());
    if (!result.ok) throw result.error;
    const invitation = deal.engagementId ? this.invitationOf(deal.engagementId) : undefined;
    if (!invitation) throw new TransitionError("NOT_INVITED", "Microsoft has not been invited to this deal.");
    answer(deal, invitation);
    this.touch(invitation);
    return structuredClone(deal);
  }

  /** The connected referral inviting Microsoft on an engagement, if there is one. */
  private invitationOf(engagementId: string): Referral | undefined {
    for (const r of this.referrals.values())
      if (r.engagementId === engagementId && isMicrosoftInvitation(r)) return r;
    return undefined;
  }

  /** A deal's referral read with its engagement's invitation, as the engine reads it. */
  private dealOf(r: Referral): CoSellDeal {
    const invitation = r.engagementId ? this.invitationOf(r.engagementId) : undefined;
    return withMicrosoftInvitation(referralToDeal(r, { now: this.now() }), invitation);
  }

  /**
   * What the service checks on a partner's update (PATCH), read from core's lifecycle table: a stage move needs a
   * partner rule with its reason and guard; only the fields that rule (or the current stage) allows
   * may change. Returns the action the update amounts to, if any.
   */
  private checkPartnerUpdate(current: Referral, next: Referral): LifecycleAction | undefined {
    const now = this.now();
    if (isMicrosoftInvitation(current))
      throw badRequest(
        "FIELD_NOT_EDITABLE",
        "An invitation to Microsoft is answered by Microsoft, not edited.",
      );
    const before = this.dealOf(current);
    const after = this.dealOf(next);
    const readOnly = READ_ONLY_PATHS.filter((p) => !isDeepStrictEqual(p.get(current), p.get(next)));
    if (readOnly.length)
      throw badRequest(
        "FIELD_NOT_EDITABLE",
        `${readOnly.map((p) => p.name).join(", ")} ${readOnly.length > 1 ? "are" : "is"} set by Partner Center and cannot be changed by a partner.`,
      );
    if (isArchived(before)) {
      // Archived is read-only, but for what the lifecycle still lets a seller change (the star).
      const changed = CHECKED_FIELDS.filter((f) => !equalField(before, after, f));
      if (before.stage !== after.stage || changed.some((f) => !EDITABLE_FIELDS[before.stage].includes(f)))
        throw badRequest(
          "DEAL_ARCHIVED",
          `Referral ${current.id} is ${before.stage} (archived) and read-only.`,
        );
      return undefined;
    }
    let rule: TransitionRule | undefined;
    if (before.stage !== after.stage) {
      rule = partnerRules(before.stage).find((r) => r.to === after.stage);
      if (!rule)
        throw badRequest(
          "TRANSITION_NOT_ALLOWED",
          `A partner cannot move a referral from ${before.stage} to ${after.stage}.`,
        );
    } else if (
      !equalField(before, after, "invitation") ||
      (current.type !== "Shared" && next.type === "Shared")
    ) {
      // Asking for Microsoft's help (the notes and help type on the deal) is the invitation's first half.
      rule = findRule(before.stage, "inviteMicrosoft");
      if (!rule)
        throw badRequest(
          "TRANSITION_NOT_ALLOWED",
          `Microsoft cannot be invited to a ${before.stage} referral.`,
        );
    }
    if (rule) {
      if (rule.requiresReason && !after.closeReason?.trim())
        throw badRequest("REASON_REQUIRED", `Give a reason to ${rule.action} this referral.`);
      const refused = rule.guard?.(before, now, {
        reason: after.closeReason,
        contact: after.customer.contact,
        consentToShareContact: after.consentToShareContact,
      });
      if (refused) throw badRequest(refused.code, refused.message);
    }
    const allowed = allowedEdits(before.stage, rule?.action);
    const changed = CHECKED_FIELDS.filter((f) => !equalField(before, after, f));
    const refused = changed.filter((f) => !allowed.includes(f));
    if (refused.length)
      throw badRequest(
        "FIELD_NOT_EDITABLE",
        `A ${before.stage} referral does not allow changing ${refused.join(", ")}${rule ? ` while taking ${rule.action}` : ""}.`,
      );
    return rule?.action;
  }

  private parse(raw: unknown): Referral {
    const r = ReferralSchema.safeParse(raw);
    if (!r.success)
      throw badRequest(
        "BAD_REQUEST",
        `The referral is malformed: ${r.error.issues[0]?.message ?? "invalid"}.`,
      );
    return r.data;
  }

  private mustGet(id: string): Referral {
    const r = this.referrals.get(id);
    if (!r) throw new NotFoundError("NOT_FOUND", `Referral ${id} does not exist.`, { status: 404 });
    return r;
  }

  private touch(r: Referral, at: Date = this.now()): void {
    r.updatedDateTime = at.toISOString();
    r.eTag = this.newETag();
  }

  private newId(): string {
    return `ref-${String(this.nextId++).padStart(6, "0")}`;
  }

  /** Each deal starts its own engagement (a connected referral joins its deal's). */
  private newEngagementId(): string {
    return `eng-${String(this.nextEngagement++).padStart(6, "0")}`;
  }

  private newETag(): string {
    return `W/"${this.nextETag++}"`;
  }

  private count(kind: "reads" | "writes"): void {
    this.calls.total++;
    this.calls[kind]++;
  }
}

/**
 * Properties only Partner Center sets (as the emulator: a partner's change of one is refused). The
 * service's real answer to such a patch is undocumented; refusing is the strict reading.
 */
const READ_ONLY_PATHS: readonly { name: string; get: (r: Referral) => unknown }[] = [
  { name: "trackingInfo.microsoftMsxId", get: (r) => r.trackingInfo?.microsoftMsxId ?? undefined },
  { name: "registrationStatus", get: (r) => r.registrationStatus ?? undefined },
  { name: "registrations", get: (r) => r.registrations ?? undefined },
  { name: "inviteContext.invitedBy", get: (r) => r.inviteContext?.invitedBy ?? undefined },
  { name: "expirationDateTime", get: (r) => r.expirationDateTime ?? undefined },
];

function mergeDeep(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const plain = (v: unknown): v is Record<string, unknown> =>
    !!v && typeof v === "object" && !Array.isArray(v);
  for (const [k, v] of Object.entries(patch))
    base[k] =
      plain(v) && plain(base[k]) ? mergeDeep(base[k] as Record<string, unknown>, v) : structuredClone(v);
  return base;
}

function partnerRules(from: CoSellDeal["stage"]): TransitionRule[] {
  return LifecycleActionSchema.options
    .map((a) => findRule(from, a))
    .filter((r): r is TransitionRule => !!r && r.actor === "partner");
}

/** Fields a partner may change in `stage`, while taking `action` if there is one. */
function allowedEdits(stage: CoSellDeal["stage"], action: LifecycleAction | undefined): readonly DealField[] {
  switch (action) {
    case "accept":
      return ACCEPT_FIELDS;
    case "decline":
    case "lose":
      return ["notes"];
    case "win":
      return [];
    case "inviteMicrosoft":
      return [...EDITABLE_FIELDS[stage], "invitation", "customer", "consentToShareContact"];
    default:
      return EDITABLE_FIELDS[stage];
  }
}

function badRequest(code: string, message: string): RemoteApiError {
  return new RemoteApiError(code, message, { status: 400, retryable: false });
}
