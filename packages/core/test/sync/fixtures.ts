import {
  type ConflictPolicy,
  type CoSellDeal,
  type CrmRecord,
  dealToReferral,
  type Link,
  type Referral,
  type ResolvedRules,
  referralToDeal,
  STAGE_STATUS,
  SYNC_FIELDS,
} from "../../src/index.js";
import { completeDeal, sampleDeal, sampleInbound } from "../../src/testing/index.js";

export const T0 = new Date("2026-03-01T09:00:00.000Z");
export const NOW = new Date("2026-03-05T09:00:00.000Z");
export const CRM_ID = "006A00000000001";
export const REFERRAL_ID = "ref-000001";

/** An outbound deal both sides agreed on, as synced. */
export function agreedOutbound(overrides: Partial<CoSellDeal> = {}): CoSellDeal {
  return completeDeal({ ...sampleDeal(), id: REFERRAL_ID, crmId: CRM_ID, ...overrides }, T0);
}

/** An inbound deal Microsoft sent (received, 14 days to answer), as the CRM got it. */
export function agreedInbound(overrides: Partial<CoSellDeal> = {}): CoSellDeal {
  return completeDeal(
    {
      ...sampleInbound(),
      id: REFERRAL_ID,
      stage: "received",
      expiresAt: new Date(T0.getTime() + 14 * 86_400_000).toISOString(),
      ...overrides,
    },
    T0,
  );
}

/** The referral Partner Center holds for `deal`. */
export function referralOf(deal: CoSellDeal, extra: Partial<Referral> = {}): Referral {
  const body = dealToReferral({ ...deal, version: undefined });
  return {
    ...body,
    id: deal.id ?? REFERRAL_ID,
    createdDateTime: T0.toISOString(),
    updatedDateTime: (extra.updatedDateTime as string | undefined) ?? T0.toISOString(),
    expirationDateTime: deal.expiresAt ?? null,
    ...STAGE_STATUS[deal.stage],
    direction: deal.direction === "inbound" ? "Incoming" : "Outgoing",
    eTag: 'W/"1"',
    ...extra,
  };
}

/** A CRM record for `deal` (the CRM's own id in `crmId`). */
export function crmOf(deal: CoSellDeal, extra: Partial<CrmRecord> = {}): CrmRecord {
  return {
    crmId: CRM_ID,
    optedIn: true,
    referralId: deal.id,
    deal: { ...deal, crmId: CRM_ID },
    modifiedAt: T0.toISOString(),
    ...extra,
  };
}

/** A linked pair whose baseline is what Partner Center held after the last sync. */
export function linkOf(baseline: CoSellDeal | undefined, extra: Partial<Link> = {}): Link {
  return {
    linkId: "link-1",
    crmId: CRM_ID,
    referralId: REFERRAL_ID,
    direction: baseline?.direction ?? "outbound",
    state: "linked",
    ...(baseline ? { baseline: referralToDeal(referralOf(baseline), { now: T0 }) } : {}),
    createdAt: T0.toISOString(),
    updatedAt: T0.toISOString(),
    ...extra,
  };
}

/** Every field both ways under one policy (what the in-memory adapter allows). */
export function rules(
  overrides: Partial<ResolvedRules["directions"]> = {},
  policy: ConflictPolicy = "crm-wins",
): ResolvedRules {
  const directions = Object.fromEntries(SYNC_FIELDS.map((f) => [f, "both"])) as ResolvedRules["directions"];
  const policies = Object.fromEntries(SYNC_FIELDS.map((f) => [f, policy])) as ResolvedRules["policies"];
  return { directions: { ...directions, ...overrides }, policies };
}
