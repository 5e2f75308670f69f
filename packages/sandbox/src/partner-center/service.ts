import { randomUUID } from "node:crypto";
import {
  type CoSellDeal,
  type HelpType,
  HelpTypeSchema,
  INITIAL_STAGE,
  INVITATION_WINDOW_DAYS,
  isArchived,
  isAwaitingAnswer,
  isMicrosoftInvitation,
  isPastResponseWindow,
  type LifecycleAction,
  MICROSOFT_TARGET,
  microsoftAnswerOf,
  RESPONSE_WINDOW_DAYS,
  type Referral,
  referralToDeal,
  STAGE_STATUS,
  type TransitionInput,
  transition,
  withMicrosoftInvitation,
} from "@cosell/core";
import type { SandboxClock } from "../kit/index.js";
import { invalidRequest, lifecycleViolation, notFound, PartnerCenterError } from "./errors.js";
import {
  checkNewInvitation,
  checkNewReferral,
  checkPartnerUpdate,
  SERVER_OWNED_FIELDS,
} from "./lifecycle-check.js";
import { UpdatedIndex } from "./list-index.js";
import { applyPatch, readOnlyChanges } from "./patch.js";
import { type ListPage, type ListQuery, runListQuery } from "./query.js";
import { deepMerge, type ReferralOverrides, sampleInboundReferral } from "./samples.js";
import { requireObject, validateReferral } from "./validate.js";
import type { WebhookEventName } from "./webhooks.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/** What the service tells the outside world when a referral is created or changes. */
export type ReferralEventSink = (event: WebhookEventName, referral: Referral) => void;

export interface ReferralServiceOptions {
  clock: SandboxClock;
  onEvent?: ReferralEventSink;
}

/** `salesStage` values a partner may write (real answers also carry numeric ones Microsoft sets). */
const SALES_STAGES = ["Qualify", "Develop", "Propose", "Close"];

/**
 * Values a partner writes that must be one of the documented ones: `salesStage` and
 * `inviteContext.assistanceRequestCode` (partner-center-api.md). An unchanged odd value Partner
 * Center itself stored ("100") is left alone.
 */
function checkPartnerValues(current: Referral, next: Record<string, unknown>): void {
  const stage = next.salesStage;
  if (
    stage !== current.salesStage &&
    stage !== null &&
    stage !== undefined &&
    !SALES_STAGES.includes(String(stage))
  )
    throw invalidRequest(
      `Field "salesStage" must be one of ${SALES_STAGES.join(", ")} (got ${JSON.stringify(stage)}).`,
      {
        fields: ["salesStage"],
      },
    );
  const code = (next.inviteContext as Record<string, unknown> | null | undefined)?.assistanceRequestCode;
  if (
    code !== current.inviteContext?.assistanceRequestCode &&
    code !== null &&
    code !== undefined &&
    !HelpTypeSchema.options.includes(code as HelpType)
  )
    throw invalidRequest(
      `Field "inviteContext.assistanceRequestCode" must be one of ${HelpTypeSchema.options.join(", ")} (got ${JSON.stringify(code)}).`,
      { fields: ["inviteContext.assistanceRequestCode"] },
    );
}

/** Strips quotes and a weak marker so `"abc"`, `W/"abc"` and `abc` compare equal. */
const bareETag = (e: string) =>
  e
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1");

/**
 * Partner Center's referrals, in memory: the state behind the HTTP emulator and the control API.
 * Every write stamps `updatedDateTime` from the sandbox clock and gets a new quoted eTag; partner
 * writes are checked against core's lifecycle (see `lifecycle-check.ts`); Microsoft's side acts through
 * core's `transition`. Inbound referrals waiting for an answer (New/Pending/Incoming) expire once the clock passes their 14-day window: checked
 * lazily by every call and whenever the clock is moved through the sandbox.
 */
export class ReferralService {
  private readonly referrals = new Map<string, Referral>();
  private readonly clock: SandboxClock;
  private onEvent: ReferralEventSink;
  private inboundCount = 0;

  constructor(options: ReferralServiceOptions) {
    this.clock = options.clock;
    this.onEvent = options.onEvent ?? (() => {});
  }

  /** Sets where events go (the webhook hub). */
  setEventSink(sink: ReferralEventSink): void {
    this.onEvent = sink;
  }

  private now(): Date {
    return this.clock.now();
  }

  private newETag(): string {
    return `"${randomUUID()}"`;
  }

  private stamp(r: Referral, at: Date = this.now()): Referral {
    r.updatedDateTime = at.toISOString();
    r.eTag = this.newETag();
    return r;
  }

  private mustGet(id: string): Referral {
    const r = this.referrals.get(id);
    if (!r) throw notFound(id);
    return r;
  }

  private save(r: Referral, event: WebhookEventName): Referral {
    this.referrals.set(r.id, r);
    this.indexAwaiting(r);
    if (isMicrosoftInvitation(r) && r.engagementId) this.invitations.set(r.engagementId, r.id);
    this.updated.put(r);
    this.onEvent(event, structuredClone(r));
    return structuredClone(r);
  }

  // ── time ──────────────────────────────────────────────────────────────────────────────────────

  /**
   * The ids of the referrals still waiting for an answer (New/Pending, direction Incoming): the only
   * ones that can expire. Kept with every save, because the expiry check runs on every API call and
   * must not walk every referral (a 100,000-referral backfill would pay it 100,000 times).
   */
  private readonly awaiting = new Set<string>();
  /** The referrals in (updatedDateTime, id) order, for lists by updatedDateTime. */
  private readonly updated = new UpdatedIndex();

  /** The connected referral inviting Microsoft on each engagement, by engagement id. */
  private readonly invitations = new Map<string, string>();

  private indexAwaiting(r: Referral): void {
    if (isAwaitingAnswer(r) || (isMicrosoftInvitation(r) && microsoftAnswerOf(r) === "pending"))
      this.awaiting.add(r.id);
    else this.awaiting.delete(r.id);
  }

  /** The connected referral inviting Microsoft onto `engagementId`, if the partner sent one. */
  private invitationOf(engagementId: string | null | undefined): Referral | undefined {
    const id = engagementId ? this.invitations.get(engagementId) : undefined;
    return id ? this.referrals.get(id) : undefined;
  }

  /** A deal's referral as the engagement makes it: with Microsoft's answer when it was invited. */
  private dealOf(r: Referral, now: Date): CoSellDeal {
    return withMicrosoftInvitation(referralToDeal(r, { now }), this.invitationOf(r.engagementId));
  }

  /** Expires every received referral whose response window has closed; returns them. */
  expireDue(): Referral[] {
    const now = this.now();
    const expired: Referral[] = [];
    for (const id of [...this.awaiting]) {
      const r = this.referrals.get(id);
      if (r && isMicrosoftInvitation(r)) {
        // Microsoft's sellers had INVITATION_WINDOW_DAYS to answer; an unanswered invitation expires.
        if (microsoftAnswerOf(r) !== "pending") this.awaiting.delete(id);
        else if (r.expirationDateTime && now.getTime() >= Date.parse(r.expirationDateTime)) {
          Object.assign(r, { status: "Closed", substatus: "Expired" });
          this.stamp(r, now);
          expired.push(this.save(r, "referral-updated"));
        }
        continue;
      }
      if (!r || !isAwaitingAnswer(r)) {
        this.awaiting.delete(id);
        continue;
      }
      const deal = referralToDeal(r, { now });
      if (!isPastResponseWindow(deal, now)) continue;
      const result = transition(deal, "expire", {}, now);
      if (!result.ok) continue;
      Object.assign(r, STAGE_STATUS[result.deal.stage]);
      this.stamp(r, now);
      expired.push(this.save(r, "referral-updated"));
    }
    return expired;
  }

  // ── the partner's API ─────────────────────────────────────────────────────────────────────────

  list(q: ListQuery): ListPage {
    const page =
      q.orderBy.field === "updatedDateTime"
        ? this.updated.run(q, (id) => this.referrals.get(id))
        : runListQuery(this.referrals.values(), q);
    return { ...page, items: page.items.map((r) => structuredClone(r)) };
  }

  get(id: string): Referral {
    return structuredClone(this.mustGet(id));
  }

  /**
   * `POST /referrals`: the partner's new referral, Active/Accepted (Shared = a co-sell deal), or the
   * connected referral that invites Microsoft onto one of its deals' engagements.
   */
  create(body: unknown): Referral {
    const raw = requireObject(body, "a referral");
    if (isMicrosoftInvitation(raw as Referral)) return this.createInvitation(raw);
    const now = this.now();
    const at = now.toISOString();
    const candidate: Record<string, unknown> = { ...raw };
    for (const f of SERVER_OWNED_FIELDS) delete candidate[f];
    const start = STAGE_STATUS[INITIAL_STAGE.outbound];
    Object.assign(candidate, {
      id: randomUUID(),
      engagementId: randomUUID(),
      createdDateTime: at,
      updatedDateTime: at,
      acceptedDateTime: at,
      direction: "Outgoing",
      status: raw.status ?? start.status,
      substatus: raw.substatus ?? start.substatus,
      eTag: this.newETag(),
    });
    const referral = validateReferral(candidate);
    checkNewReferral(referral, now);
    return this.save(referral, "referral-created");
  }

  /**
   * The partner invites Microsoft: a connected referral on the engagement of one of its Shared deals,
   * targeting Microsoft (documented shape, see core's `engagement.ts`). New/Pending until Microsoft's
   * seller answers, within INVITATION_WINDOW_DAYS.
   */
  private createInvitation(raw: Record<string, unknown>): Referral {
    const now = this.now();
    const at = now.toISOString();
    const engagementId = raw.engagementId;
    if (typeof engagementId !== "string" || !engagementId)
      throw invalidRequest(
        'A referral targeting Microsoft joins a deal\'s engagement: give the "engagementId" of your Shared referral.',
        { fields: ["engagementId"] },
      );
    const deal =
      [...this.referrals.values()].find(
        (r) => r.engagementId === engagementId && !isMicrosoftInvitation(r) && r.direction === "Outgoing",
      ) ??
      [...this.referrals.values()].find((r) => r.engagementId === engagementId && !isMicrosoftInvitation(r));
    if (!deal)
      throw invalidRequest(`No referral of this partner has engagementId ${engagementId}.`, {
        fields: ["engagementId"],
      });
    const candidate: Record<string, unknown> = { ...raw };
    for (const f of SERVER_OWNED_FIELDS) delete candidate[f];
    Object.assign(candidate, {
      id: randomUUID(),
      engagementId,
      target: [{ ...MICROSOFT_TARGET }],
      createdDateTime: at,
      updatedDateTime: at,
      expirationDateTime: new Date(now.getTime() + INVITATION_WINDOW_DAYS * DAY_MS).toISOString(),
      direction: "Outgoing",
      status: "New",
      substatus: "Pending",
      eTag: this.newETag(),
    });
    const invitation = validateReferral(candidate);
    checkPartnerValues(deal, invitation as Record<string, unknown>);
    checkNewInvitation(deal, this.dealOf(deal, now), invitation, now);
    return this.save(invitation, "referral-created");
  }

  private checkIfMatch(current: Referral, ifMatch: string | undefined): void {
    if (ifMatch === undefined || ifMatch.trim() === "") return;
    if (ifMatch.trim() === "*") return;
    if (bareETag(ifMatch) !== bareETag(current.eTag ?? ""))
      throw new PartnerCenterError(
        412,
        "preconditionFailed",
        `Referral ${current.id} was changed since it was read (If-Match ${ifMatch}, current eTag ${current.eTag}). Read it again, re-apply the change and send the new eTag.`,
      );
  }

  /** Runs a partner's patched referral through validation and the lifecycle, and stores it. */
  private write(current: Referral, body: Record<string, unknown>): Referral {
    const now = this.now();
    if (body.id !== undefined && body.id !== null && body.id !== current.id)
      throw invalidRequest(
        `Field "id" is ${JSON.stringify(body.id)} but the URL names referral ${current.id}.`,
        {
          fields: ["id"],
        },
      );
    const candidate: Record<string, unknown> = { ...body };
    for (const f of SERVER_OWNED_FIELDS) {
      const v = (current as Record<string, unknown>)[f];
      if (v === undefined || f === "links") delete candidate[f];
      else candidate[f] = v;
    }
    // Who invited whom is Partner Center's fact (readOnlyChanges refuses a patch of it).
    const invite = (candidate.inviteContext ?? null) as Record<string, unknown> | null;
    if (invite || current.inviteContext)
      candidate.inviteContext = {
        ...(invite ?? {}),
        invitedBy: current.inviteContext?.invitedBy ?? undefined,
      };
    if (isMicrosoftInvitation(current))
      throw lifecycleViolation(
        "FIELD_NOT_EDITABLE",
        `Referral ${current.id} invites Microsoft onto engagement ${current.engagementId}: Microsoft answers it; the partner cannot change it.`,
      );
    const next = validateReferral(candidate);
    const verdict = checkPartnerUpdate(current, next, now, this.invitationOf(current.engagementId));
    if (verdict.unchanged) return structuredClone(current);
    const at = now.toISOString();
    if (verdict.action === "accept") next.acceptedDateTime = at;
    // A won deal goes to Microsoft's registration review (`registrationStatus`, seen in real answers);
    // the registrations themselves are Microsoft's (set through the control API).
    if (verdict.action === "win" && (!next.registrationStatus || next.registrationStatus === "None"))
      next.registrationStatus = "ReviewPending";
    this.stamp(next, now);
    return this.save(next, "referral-updated");
  }

  /**
   * `PATCH /referrals/{id}` with a JSON Patch array (replace/add); `If-Match` is optional as
   * documented, and checked when sent (412 on a stale eTag).
   */
  patch(id: string, body: unknown, ifMatch: string | undefined): Referral {
    const current = this.mustGet(id);
    this.checkIfMatch(current, ifMatch);
    const next = applyPatch(structuredClone(current) as Record<string, unknown>, body);
    const readOnly = readOnlyChanges(current, next);
    if (readOnly.length)
      throw invalidRequest(
        `${readOnly.join(", ")} ${readOnly.length > 1 ? "are" : "is"} set by Partner Center and cannot be patched by a partner.`,
        { fields: readOnly },
      );
    checkPartnerValues(current, next);
    return this.write(current, next);
  }

  /**
   * Someone else changed the referral (an injected 412): a new eTag and updatedDateTime, no field
   * change. Returns false when `id` is unknown.
   */
  touchBySomeoneElse(id: string): boolean {
    const r = this.referrals.get(id);
    if (!r) return false;
    this.stamp(r);
    this.save(r, "referral-updated");
    return true;
  }

  // ── Microsoft's side ──────────────────────────────────────────────────────────────────────────

  /**
   * A Microsoft seller sends the partner a referral: New/Pending, 14 days to answer
   * (`expirationDateTime`), direction Incoming. `overrides` are laid over a realistic sample.
   */
  sendInboundReferral(overrides: ReferralOverrides = {}): Referral {
    const now = this.now();
    const at = now.toISOString();
    const sample = sampleInboundReferral(this.inboundCount++, now);
    const merged = deepMerge(sample, overrides as Record<string, unknown>);
    const received = STAGE_STATUS.received;
    const candidate: Record<string, unknown> = {
      ...merged,
      id: randomUUID(),
      engagementId: (overrides.engagementId as string | undefined) ?? randomUUID(),
      createdDateTime: at,
      updatedDateTime: at,
      expirationDateTime:
        (overrides.expirationDateTime as string | undefined) ??
        new Date(now.getTime() + RESPONSE_WINDOW_DAYS * DAY_MS).toISOString(),
      status: received.status,
      substatus: received.substatus,
      direction: "Incoming",
      eTag: this.newETag(),
    };
    delete candidate.acceptedDateTime;
    delete candidate.links;
    return this.save(validateReferral(candidate), "referral-created");
  }

  /**
   * Microsoft's seller answers the partner's invitation on deal `id` (or on the invitation itself), as
   * core's lifecycle allows (`microsoftEngage`/`microsoftDecline`: only a pending invitation).
   */
  private microsoftAnswer(
    id: string,
    action: LifecycleAction,
    input: TransitionInput,
    answer: (invitation: Referral, deal: Referral) => void,
  ): Referral {
    this.expireDue();
    const now = this.now();
    const named = this.mustGet(id);
    const invitation = isMicrosoftInvitation(named) ? named : this.invitationOf(named.engagementId);
    const deal = isMicrosoftInvitation(named)
      ? [...this.referrals.values()].find(
          (r) => r.engagementId === named.engagementId && !isMicrosoftInvitation(r),
        )
      : named;
    if (!deal) throw notFound(id);
    const result = transition(this.dealOf(deal, now), action, input, now);
    if (!result.ok)
      throw lifecycleViolation(result.error.code, `Referral ${deal.id}: ${result.error.message}`);
    if (!invitation)
      throw lifecycleViolation("NOT_INVITED", `Referral ${deal.id}: Microsoft was not invited.`);
    const nextDeal = structuredClone(deal);
    const nextInvitation = structuredClone(invitation);
    answer(nextInvitation, nextDeal);
    this.stamp(nextInvitation, now);
    this.save(nextInvitation, "referral-updated");
    if (JSON.stringify(nextDeal) !== JSON.stringify(deal)) {
      this.stamp(nextDeal, now);
      this.save(nextDeal, "referral-updated");
    }
    return structuredClone(this.mustGet(deal.id));
  }

  /**
   * A Microsoft seller accepts the partner's co-sell invitation: the connected referral becomes
   * Active/Accepted, and the deal now has an opportunity in Microsoft's own CRM
   * (`trackingInfo.microsoftMsxId` on the partner's referral). Returns the partner's referral.
   */
  engage(id: string): Referral {
    return this.microsoftAnswer(id, "microsoftEngage", {}, (invitation, deal) => {
      Object.assign(invitation, { status: "Active", substatus: "Accepted" });
      // Microsoft's seller joins the referral they answered (how cosell reads Microsoft's team).
      invitation.team = [...(invitation.team ?? []), microsoftSellerFor(invitation.id ?? id)];
      if (!deal.trackingInfo?.microsoftMsxId)
        deal.trackingInfo = {
          ...deal.trackingInfo,
          microsoftMsxId: `7-${randomUUID().slice(0, 10).toUpperCase()}`,
        };
    });
  }

  /**
   * Partner Center or a Microsoft seller changes fields the partner's API cannot (or that a seller
   * set in Partner Center's own UI): `trackingInfo`, `registrationStatus`, `registrations`,
   * `salesStage` (numeric values included), `favorite`… `changes` are deep-merged, with no lifecycle
   * check but the archived rule: an archived referral only takes the registration fields (a win's
   * registration is reviewed after the deal closed) and the star.
   */
  setFields(id: string, changes: Record<string, unknown>): Referral {
    const now = this.now();
    const current = this.mustGet(id);
    const owned = ["id", "eTag", "createdDateTime", "updatedDateTime", "status", "substatus", "direction"];
    const refused = Object.keys(changes).filter((k) => owned.includes(k));
    if (refused.length)
      throw invalidRequest(`${refused.join(", ")} cannot be set this way: use the lifecycle's actions.`, {
        fields: refused,
      });
    const afterClose = ["registrationStatus", "registrations", "favorite"];
    if (
      isArchived(referralToDeal(current, { now })) &&
      Object.keys(changes).some((k) => !afterClose.includes(k))
    )
      throw lifecycleViolation(
        "DEAL_ARCHIVED",
        `Referral ${id} is ${current.status}/${current.substatus} (archived); only ${afterClose.join(", ")} can change.`,
      );
    const next = validateReferral(deepMerge(structuredClone(current) as Record<string, unknown>, changes));
    this.stamp(next, now);
    return this.save(next, "referral-updated");
  }

  /**
   * A Microsoft seller declines the partner's invitation: the connected referral closes as
   * Closed/Declined with `statusReason`; the partner's deal stays as it is. Returns the partner's referral.
   */
  decline(id: string, reason: string): Referral {
    return this.microsoftAnswer(id, "microsoftDecline", { reason }, (invitation) => {
      Object.assign(invitation, { status: "Closed", substatus: "Declined", statusReason: reason });
    });
  }

  /** A Microsoft seller edits the referral's notes (not on an archived referral). */
  updateNotes(id: string, notes: string): Referral {
    const now = this.now();
    const current = this.mustGet(id);
    if (isArchived(referralToDeal(current, { now })))
      throw lifecycleViolation(
        "DEAL_ARCHIVED",
        `Referral ${id} is ${current.status}/${current.substatus} (archived); its notes cannot change.`,
      );
    const next = structuredClone(current);
    next.details = { ...next.details, notes };
    this.stamp(next, now);
    return this.save(next, "referral-updated");
  }

  // ── inspection and snapshots ──────────────────────────────────────────────────────────────────

  /** Every referral, oldest first. */
  all(): Referral[] {
    return [...this.referrals.values()]
      .sort((a, b) => a.createdDateTime.localeCompare(b.createdDateTime) || a.id.localeCompare(b.id))
      .map((r) => structuredClone(r));
  }

  /** A referral, or `undefined`. */
  find(id: string): Referral | undefined {
    const r = this.referrals.get(id);
    return r && structuredClone(r);
  }

  /** Replaces the whole state (from a snapshot). */
  restore(referrals: readonly Referral[], inboundCount = referrals.length): void {
    this.referrals.clear();
    this.awaiting.clear();
    this.invitations.clear();
    this.updated.clear();
    for (const r of referrals) {
      const copy = structuredClone(r);
      this.referrals.set(r.id, copy);
      this.indexAwaiting(copy);
      if (isMicrosoftInvitation(copy) && copy.engagementId) this.invitations.set(copy.engagementId, copy.id);
      this.updated.put(copy);
    }
    this.inboundCount = inboundCount;
  }

  /** How many inbound referrals Microsoft has sent (picks the next sample). */
  inboundSent(): number {
    return this.inboundCount;
  }
}

/** The Microsoft seller who engages on an invitation (a stable person per invitation). */
function microsoftSellerFor(invitationId: string) {
  const n = (Number.parseInt(invitationId.replace(/[^0-9a-f]/gi, "").slice(0, 6) || "0", 16) % 90) + 10;
  return {
    firstName: "Morgan",
    lastName: `Seller${n}`,
    email: `morgan.seller${n}@microsoft.com`,
    phoneNumber: `+1 425 555 01${n}`,
  };
}
