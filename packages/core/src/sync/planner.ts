import { z } from "zod";
import { type CoSellDeal, CoSellDealSchema, type Stage } from "../domain/deal.js";
import {
  ACCEPT_FIELDS,
  EDITABLE_FIELDS,
  findRule,
  INITIAL_STAGE,
  isArchived,
  type LifecycleAction,
  TRANSITIONS,
  type TransitionInput,
  transition,
} from "../domain/lifecycle.js";
import { validateDeal, zodIssues } from "../domain/validation.js";
import type { ValidationIssue } from "../errors.js";
import { withMicrosoftInvitation } from "../partner-center/engagement.js";
import { referralToDeal } from "../partner-center/mapping.js";
import type { Referral } from "../partner-center/referral.js";
import { equalField, fieldHash, fieldMembers, sameField } from "./compare.js";
import type {
  ConflictPolicy,
  CrmRecord,
  EchoSeen,
  FieldDirection,
  Link,
  Plan,
  PlanStep,
  Side,
  SyncField,
} from "./types.js";
import { PARTNER_CENTER_OWNED_FIELDS, SYNC_FIELDS } from "./types.js";

/**
 * The planner: a pure function from "what both sides look like now, what they last agreed on, and
 * what we wrote ourselves" to a list of steps, each with its reason. No I/O, so `cosell plan` can
 * show exactly what `cosell sync` would do, and tests can drive it with plain data.
 */

/** Everything known about one CRM record / referral pair. */
export interface PairState {
  /** Stable key for the pair: the link id, or `crm:<id>` / `referral:<id>` before a link exists. */
  key: string;
  link?: Link;
  /** Current CRM state (from this cycle's changes, or the last snapshot when unchanged). */
  crm?: CrmRecord;
  /** Current referral (from this cycle's changes, or the last snapshot when unchanged). */
  referral?: Referral;
  /**
   * The connected referral inviting Microsoft onto the referral's engagement, when this cycle read it
   * (Microsoft's answer comes from it). Without it, the answer last known (the link's baseline) holds.
   */
  invitation?: Referral;
  /** The pair is parked under the `manual` policy. */
  parked?: boolean;
}

export interface ResolvedRules {
  directions: Record<SyncField, FieldDirection>;
  policies: Record<SyncField, ConflictPolicy>;
}

export interface PlannerOptions {
  now: Date;
  rules: ResolvedRules;
  /** True when `side` reporting this value for `field` is the echo of our own write. */
  isEcho(side: Side, recordId: string, field: SyncField, deal: CoSellDeal): boolean;
}

type Way = "toPartnerCenter" | "toCrm";

const canFlow = (dir: FieldDirection, way: Way) => dir === "both" || dir === way;

/**
 * Which partner actions take a referral from `from` to the stage the CRM shows, found by walking the
 * lifecycle's transition table (no second copy of the lifecycle here). A CRM only knows "closed lost":
 * before an accept that means declining the referral, after it losing the deal.
 */
export function actionsBetween(from: Stage, to: Stage): LifecycleAction[] | undefined {
  const goal: Stage = to === "lost" || to === "declined" ? (from === "received" ? "declined" : "lost") : to;
  const queue: { stage: Stage; path: LifecycleAction[] }[] = [{ stage: from, path: [] }];
  const visited = new Set<Stage>([from]);
  while (queue.length) {
    const { stage, path } = queue.shift()!;
    if (stage === goal) return path;
    for (const rule of TRANSITIONS) {
      if (rule.from !== stage || rule.actor !== "partner" || rule.to === stage || visited.has(rule.to))
        continue;
      visited.add(rule.to);
      queue.push({ stage: rule.to, path: [...path, rule.action] });
    }
  }
  return undefined;
}

/**
 * The shape an adapter must hand the engine: every field of the right type. Timestamps and the close
 * date are only required to be strings here (CRMs spell them their own way; the rules judge the close
 * date), so a record is refused for its shape only when code downstream could not read it.
 */
const CrmDealShape = CoSellDealSchema.extend({
  closeDate: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  expiresAt: z.string().optional(),
});

/** Shape problems of a CRM deal as named issues (DEAL_MALFORMED, DEAL_VALUE_INVALID…), empty when well-formed. */
function shapeIssues(deal: unknown): ValidationIssue[] {
  const r = CrmDealShape.safeParse(deal);
  return r.success ? [] : zodIssues(r.error.issues);
}

export function planPairs(pairs: readonly PairState[], opts: PlannerOptions): Plan {
  const steps: PlanStep[] = [];
  const echoes: EchoSeen[] = [];
  for (const pair of pairs) {
    const r = planPair(pair, opts);
    steps.push(...r.steps);
    echoes.push(...r.echoes);
  }
  return { steps, echoes };
}

export function planPair(pair: PairState, opts: PlannerOptions): Plan {
  const { key, link, crm, referral } = pair;
  const steps: PlanStep[] = [];
  const echoes: EchoSeen[] = [];
  const skip = (reason: string): Plan => ({ steps: [{ kind: "skip", pairKey: key, reason }], echoes });

  if (pair.parked)
    return skip(
      "Parked: both sides changed the same field under the manual policy; resolve it with `cosell resolve`.",
    );
  if (crm?.deleted)
    return link
      ? skip("Deleted in the CRM; the referral in Partner Center is left as it is.")
      : { steps, echoes };
  // What the adapter could not map, else what has the wrong shape: that record's error, nothing written.
  const unusable = crm?.issues?.length
    ? { issues: crm.issues, why: "cannot be mapped" }
    : { issues: crm ? shapeIssues(crm.deal) : [], why: "cannot be synced" };
  if (crm && unusable.issues.length)
    return {
      steps: [
        {
          kind: "invalid",
          pairKey: key,
          crmId: crm.crmId,
          referralId: referral?.id,
          issues: unusable.issues,
          reason: `The CRM record ${unusable.why}: ${unusable.issues.map((i) => i.message).join(" ")}`,
        },
      ],
      echoes,
    };
  if (crm && !crm.optedIn && link)
    return skip("Sync is turned off on this record (opted out); nothing is written.");
  if (crm && !crm.optedIn && !referral) return { steps, echoes };

  const pcDeal = referral
    ? withMicrosoftInvitation(referralToDeal(referral, { now: opts.now }), pair.invitation, link?.baseline)
    : undefined;

  // 1. Nothing on the Partner Center side yet: create the referral from the CRM record.
  if (crm && !pcDeal) {
    // A new referral starts where the lifecycle starts outbound deals; a CRM stage beyond it (won,
    // lost) is reached by the transitions the executor plans right after the create.
    const deal: CoSellDeal = {
      ...crm.deal,
      crmId: crm.crmId,
      direction: "outbound",
      stage: INITIAL_STAGE.outbound,
      closeReason: undefined,
    };
    const issues = validateDeal(deal);
    if (issues.length)
      return {
        steps: [
          {
            kind: "invalid",
            pairKey: key,
            crmId: crm.crmId,
            issues,
            reason: `Not shared with Partner Center: ${issues.map((i) => i.message).join(" ")}`,
          },
        ],
        echoes,
      };
    return {
      steps: [
        {
          kind: "create",
          side: "partnerCenter",
          pairKey: key,
          deal,
          reason: "Opted in and not yet in Partner Center.",
        },
      ],
      echoes,
    };
  }
  if (!pcDeal) return { steps, echoes };

  // 2. Nothing on the CRM side yet: create the opportunity from the referral.
  if (!crm) {
    if (isArchived(pcDeal))
      return skip(`The referral was already ${pcDeal.stage} before it was linked; not created in the CRM.`);
    return {
      steps: [
        {
          kind: "create",
          side: "crm",
          pairKey: key,
          deal: pcDeal,
          reason:
            pcDeal.direction === "inbound"
              ? "New referral from Microsoft."
              : "Referral created in Partner Center.",
        },
      ],
      echoes,
    };
  }

  // 3. Both sides exist: field-by-field three-way merge against the last agreed state.
  const crmDeal = crm.deal;
  const baseline = link?.baseline;
  const toPc: SyncField[] = [];
  const toCrm: SyncField[] = [];
  /** Partner Center's own facts edited in the CRM, put back (said apart in the reason). */
  const restored: SyncField[] = [];
  const conflicts: SyncField[] = [];
  for (const field of SYNC_FIELDS) {
    const dir = opts.rules.directions[field];
    if (dir === "none") continue;
    if (sameField(crmDeal, pcDeal, field)) {
      // Both sides agree. If one shows a value we wrote, that is our echo arriving: report it so its
      // ledger entry is consumed now. Left in the ledger, it would later swallow a seller's edit back
      // to that same value as if it were our echo.
      if (opts.isEcho("crm", crm.crmId, field, crmDeal))
        echoes.push({ side: "crm", recordId: crm.crmId, field, valueHash: fieldHash(crmDeal, field) });
      if (referral && opts.isEcho("partnerCenter", referral.id, field, pcDeal))
        echoes.push({
          side: "partnerCenter",
          recordId: referral.id,
          field,
          valueHash: fieldHash(pcDeal, field),
        });
      continue;
    }
    let crmChanged: boolean;
    let pcChanged: boolean;
    if (baseline) {
      // The baseline came from Partner Center, so the CRM side is compared only on what it can hold.
      crmChanged = !sameField(crmDeal, baseline, field);
      pcChanged = !equalField(pcDeal, baseline, field);
      if (crmChanged && opts.isEcho("crm", crm.crmId, field, crmDeal)) {
        crmChanged = false;
        echoes.push({ side: "crm", recordId: crm.crmId, field, valueHash: fieldHash(crmDeal, field) });
      }
      if (pcChanged && referral && opts.isEcho("partnerCenter", referral.id, field, pcDeal)) {
        pcChanged = false;
        echoes.push({
          side: "partnerCenter",
          recordId: referral.id,
          field,
          valueHash: fieldHash(pcDeal, field),
        });
      }
    } else {
      // First time the two are compared: the side the deal came from is the source.
      crmChanged = pcDeal.direction === "outbound";
      pcChanged = !crmChanged;
    }
    let way: Way | "conflict" | undefined;
    // A one-way field (Partner Center's own facts, or one the config sends one way) has only one side
    // that can be right: no policy can send it the other way.
    if (crmChanged && pcChanged)
      way =
        dir === "toCrm" || dir === "toPartnerCenter"
          ? dir
          : resolve(opts.rules.policies[field], crm, referral);
    // Partner Center's own facts are never the seller's to change: an edit in the CRM is put back
    // at once rather than left to disagree until Partner Center next moves the field.
    else if (crmChanged && PARTNER_CENTER_OWNED_FIELDS.includes(field)) {
      way = "toCrm";
      restored.push(field);
    } else if (crmChanged) way = "toPartnerCenter";
    else if (pcChanged) way = "toCrm";
    if (way === "conflict") {
      if (dir === "toCrm" || dir === "toPartnerCenter") way = dir;
      else {
        conflicts.push(field);
        continue;
      }
    }
    // Partner Center owns the lifecycle: a stage it already archived cannot be overridden.
    if (field === "stage" && way === "toPartnerCenter" && isArchived(pcDeal))
      way = canFlow(dir, "toCrm") ? "toCrm" : undefined;
    if (way && canFlow(dir, way)) (way === "toCrm" ? toCrm : toPc).push(field);
  }

  if (conflicts.length) {
    const pick = (d: CoSellDeal) =>
      Object.assign({}, ...conflicts.map((f) => (f === "stage" ? { stage: d.stage } : fieldMembers(d, f))));
    return {
      steps: [
        {
          kind: "conflict",
          pairKey: key,
          fields: conflicts,
          crm: pick(crmDeal),
          partnerCenter: pick(pcDeal),
          reason: `Both sides changed ${conflicts.join(", ")} since the last sync; the manual policy parks the pair until someone picks a side.`,
        },
      ],
      echoes,
    };
  }

  if (toCrm.length) {
    const changed = toCrm.filter((f) => !restored.includes(f));
    const target: CoSellDeal = { ...crmDeal };
    for (const f of toCrm) copyField(target, pcDeal, f);
    steps.push({
      kind: "update",
      side: "crm",
      pairKey: key,
      fields: toCrm,
      deal: target,
      reason: [
        changed.length ? `Changed in Partner Center: ${changed.join(", ")}.` : "",
        restored.length ? `Set by Partner Center, edited in the CRM: ${restored.join(", ")} put back.` : "",
      ]
        .filter(Boolean)
        .join(" "),
    });
  }
  if (toPc.length) steps.push(...planPartnerCenterWrites(key, crm, pcDeal, toPc, opts.now));
  return { steps, echoes };
}

function resolve(policy: ConflictPolicy, crm: CrmRecord, referral: Referral | undefined): Way | "conflict" {
  switch (policy) {
    case "crm-wins":
      return "toPartnerCenter";
    case "partner-center-wins":
      return "toCrm";
    case "newest-wins":
      return Date.parse(crm.modifiedAt) >= Date.parse(referral?.updatedDateTime ?? "")
        ? "toPartnerCenter"
        : "toCrm";
    case "manual":
      return "conflict";
  }
}

function copyField(target: CoSellDeal, source: CoSellDeal, field: SyncField): void {
  if (field === "stage") {
    target.stage = source.stage;
    target.closeReason = source.closeReason;
  } else if (field === "invitation") {
    target.invitation = { ...source.invitation };
  } else {
    Object.assign(target, fieldMembers(source, field));
  }
}

/**
 * Turns the CRM's changes into Partner Center steps the lifecycle allows now: edits allowed in the
 * referral's stage, a stage change as its lifecycle action(s), an invitation as `inviteMicrosoft`;
 * edits not allowed yet are deferred to the outbox, edits never allowed are skipped with the reason.
 */
function planPartnerCenterWrites(
  key: string,
  crm: CrmRecord,
  pcDeal: CoSellDeal,
  fields: SyncField[],
  now: Date,
): PlanStep[] {
  const steps: PlanStep[] = [];
  const target: CoSellDeal = { ...pcDeal };
  for (const f of fields) copyField(target, crm.deal, f);
  const wantsStage = fields.includes("stage") ? crm.deal.stage : undefined;
  const actions = wantsStage ? actionsBetween(pcDeal.stage, wantsStage) : [];
  const edits = fields.filter((f) => f !== "stage" && f !== "invitation");

  if (wantsStage && actions === undefined)
    steps.push({
      kind: "skip",
      pairKey: key,
      reason: `The CRM shows ${wantsStage} but Partner Center's referral is ${pcDeal.stage}; the lifecycle has no way between them.`,
    });

  let current = pcDeal;
  const editable = (stage: Stage) => EDITABLE_FIELDS[stage] as readonly string[];
  const accepting = actions?.[0] === "accept";
  // Edits that the accept carries with it.
  const carried = accepting ? edits.filter((f) => (ACCEPT_FIELDS as readonly string[]).includes(f)) : [];

  const transitionStep = (action: LifecycleAction): boolean => {
    const input: TransitionInput = {};
    if (action === "accept") {
      const accept: NonNullable<TransitionInput["accept"]> = {};
      for (const f of carried) Object.assign(accept, { [f]: target[f as keyof CoSellDeal] });
      input.accept = accept;
    }
    if (action === "decline" || action === "lose") input.reason = crm.deal.closeReason;
    const r = transition(current, action, input, now);
    if (!r.ok) {
      const reasonMissing = r.error.code === "REASON_REQUIRED";
      steps.push(
        reasonMissing
          ? {
              kind: "invalid",
              pairKey: key,
              crmId: crm.crmId,
              referralId: pcDeal.id,
              issues: [{ code: "REASON_REQUIRED", path: "closeReason", message: r.error.message }],
              reason: `Set a ${action === "decline" ? "decline" : "loss"} reason on the opportunity; Partner Center requires one.`,
            }
          : { kind: "skip", pairKey: key, reason: `Cannot ${action} in Partner Center: ${r.error.message}` },
      );
      return false;
    }
    steps.push({
      kind: "transition",
      side: "partnerCenter",
      pairKey: key,
      action,
      input,
      reason: `Changed in the CRM: stage ${current.stage} → ${r.deal.stage}.`,
    });
    current = r.deal;
    return true;
  };

  // An accept goes first (it unlocks edits); win/lose go last (they archive the referral).
  let ok = true;
  if (accepting) ok = transitionStep("accept");
  // Where this plan leaves the referral: what is not possible now is never possible once it closes
  // (a decline from received), so it is skipped rather than deferred to an accept that won't come.
  let end = current.stage;
  for (const a of (actions ?? []).filter((x) => x !== "accept")) end = findRule(end, a)?.to ?? end;
  const archivedAtEnd = isArchived({ stage: end });
  if (
    ok &&
    fields.includes("invitation") &&
    crm.deal.invitation.microsoftHelpRequested &&
    !current.microsoftAnswer
  ) {
    const input: TransitionInput = {
      notes: crm.deal.invitation.helpNotes,
      helpType: crm.deal.invitation.helpType,
      contact: crm.deal.customer.contact,
      consentToShareContact: crm.deal.consentToShareContact,
    };
    const r = transition(current, "inviteMicrosoft", input, now);
    if (r.ok) {
      steps.push({
        kind: "transition",
        side: "partnerCenter",
        pairKey: key,
        action: "inviteMicrosoft",
        input,
        reason: "Microsoft's help was requested in the CRM.",
      });
      current = r.deal;
    } else if (current.stage === "received" && !archivedAtEnd) {
      steps.push({
        kind: "defer",
        side: "partnerCenter",
        pairKey: key,
        fields: ["invitation"],
        action: "inviteMicrosoft",
        reason: "Microsoft can be invited once the referral is accepted.",
      });
    } else {
      // Judged in the stage this plan ends in, so the next cycle (referral archived) says the same.
      const atEnd = archivedAtEnd ? transition({ ...current, stage: end }, "inviteMicrosoft", input, now) : r;
      const why = atEnd.ok ? r.error.message : atEnd.error.message;
      steps.push({ kind: "skip", pairKey: key, reason: `Cannot invite Microsoft: ${why}` });
    }
  }

  const remaining = edits.filter((f) => !carried.includes(f));
  const now_ = remaining.filter((f) => editable(current.stage).includes(f));
  const later = remaining.filter((f) => !now_.includes(f));
  if (now_.length && ok) {
    const deal: CoSellDeal = { ...current };
    for (const f of now_) copyField(deal, crm.deal, f);
    steps.push({
      kind: "update",
      side: "partnerCenter",
      pairKey: key,
      fields: now_,
      deal,
      reason: `Changed in the CRM: ${now_.join(", ")}.`,
    });
  }
  if (later.length) {
    if ((current.stage === "received" && !archivedAtEnd) || !ok)
      steps.push({
        kind: "defer",
        side: "partnerCenter",
        pairKey: key,
        fields: later,
        reason: `Partner Center accepts ${later.join(", ")} once the referral is accepted; queued until then.`,
      });
    else {
      // The CRM id is bookkeeping: a referral archived before it got it (declined, expired) is nothing
      // the seller can or must act on, so it is not reported on the record.
      const shown = archivedAtEnd ? later.filter((f) => f !== "crmId") : later;
      if (shown.length)
        steps.push({
          kind: "skip",
          pairKey: key,
          reason: archivedAtEnd
            ? `The referral is ${end} (archived) in Partner Center; ${shown.join(", ")} can no longer change there.`
            : `Partner Center does not allow changing ${shown.join(", ")} on a ${current.stage} referral.`,
        });
    }
  }
  for (const action of (actions ?? []).filter((a) => a !== "accept")) if (ok) ok = transitionStep(action);
  return steps;
}
