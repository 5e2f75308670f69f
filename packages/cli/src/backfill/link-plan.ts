import {
  type CoSellDeal,
  type CrmRecord,
  emptyDeal,
  fieldValue,
  planPair,
  type Referral,
  type ResolvedRules,
  referralToDeal,
  SYNC_FIELDS,
  type SyncField,
  sameField,
} from "@cosell/core";

/** Who wins one field of a backfill link, and what each side holds now. */
export interface LinkFieldOutcome {
  field: SyncField;
  crm: string;
  partnerCenter: string;
  /** `none`: the field stays different (its direction or the lifecycle lets nothing flow). */
  winner: "crm" | "partnerCenter" | "manual" | "none";
}

/** The baseline a backfill link starts from, and what the first sync will then do field by field. */
export interface LinkPlan {
  baseline: CoSellDeal;
  fields: LinkFieldOutcome[];
}

function copyField(target: CoSellDeal, source: CoSellDeal, field: SyncField): void {
  if (field === "stage") {
    target.stage = source.stage;
    target.closeReason = source.closeReason;
  } else Object.assign(target, { [field]: structuredClone(source[field as keyof CoSellDeal]) });
}

const shown = (deal: CoSellDeal, field: SyncField): string => {
  const v = fieldValue(deal, field);
  if (v === undefined) return "—";
  if (field === "stage") return (v as { stage: string }).stage;
  if (field === "value") {
    const m = v as { amount?: number; currency?: string };
    return `${m.amount ?? ""} ${m.currency ?? ""}`.trim();
  }
  return typeof v === "string" ? v : JSON.stringify(v);
};

/**
 * Linking an existing opportunity to an existing referral: nothing says which side is older, so a
 * field that differs is a conflict, settled by the field's conflict policy (`sync.conflictPolicy`,
 * `sync.fieldPolicies`) — never "the referral is the source" as for a deal cosell created itself.
 *
 * The planner resolves a field by comparing each side with the link's baseline (the last agreed
 * state). The baseline built here holds, per differing field, the loser's value (so the winner reads
 * as the side that changed it); under `manual`, a blank value (both changed, so the pair is parked).
 * The outcome shown is then read from the real planner run on that baseline, so the approval prompt
 * and `--dry-run` say exactly what the first sync will do.
 */
export function planLink(crm: CrmRecord, referral: Referral, rules: ResolvedRules, now: Date): LinkPlan {
  const pc = referralToDeal(referral, { now });
  const baseline: CoSellDeal = structuredClone(pc);
  const blank = emptyDeal(now, pc.direction);
  const differing = SYNC_FIELDS.filter((f) => rules.directions[f] !== "none" && !sameField(crm.deal, pc, f));
  for (const f of differing) {
    const policy = rules.policies[f];
    const crmWins =
      policy === "crm-wins" ||
      (policy === "newest-wins" && Date.parse(crm.modifiedAt) >= Date.parse(referral.updatedDateTime ?? ""));
    if (policy === "manual") copyField(baseline, blank, f);
    else if (!crmWins) copyField(baseline, crm.deal, f);
    // crm wins: the baseline keeps Partner Center's value, so the CRM's reads as the change.
  }
  const { steps } = planPair(
    {
      key: `backfill:${crm.crmId}`,
      link: {
        linkId: "backfill",
        crmId: crm.crmId,
        referralId: referral.id,
        direction: pc.direction,
        state: "linked",
        baseline,
        referral,
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
      },
      crm,
      referral,
    },
    { now, rules, isEcho: () => false },
  );
  const winner = new Map<SyncField, LinkFieldOutcome["winner"]>();
  for (const s of steps) {
    if (s.kind === "update" || s.kind === "defer")
      for (const f of s.fields) winner.set(f, s.side === "crm" ? "partnerCenter" : "crm");
    else if (s.kind === "transition") {
      // The accept carries the CRM's edits with it (ACCEPT_FIELDS).
      winner.set("stage", "crm");
      for (const f of Object.keys(s.input.accept ?? {})) winner.set(f as SyncField, "crm");
    } else if (s.kind === "conflict") for (const f of s.fields) winner.set(f, "manual");
  }
  return {
    baseline,
    fields: differing.map((field) => ({
      field,
      crm: shown(crm.deal, field),
      partnerCenter: shown(pc, field),
      winner: winner.get(field) ?? "none",
    })),
  };
}

/** `Partner Center`, `CRM`… for the tables. */
export const WINNER_TEXT: Record<LinkFieldOutcome["winner"], string> = {
  crm: "CRM wins",
  partnerCenter: "Partner Center wins",
  manual: "you decide (manual policy)",
  none: "stays different",
};
