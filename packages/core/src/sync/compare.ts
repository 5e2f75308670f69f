import { hash } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { CoSellDeal, Person } from "../domain/deal.js";
import type { SyncField } from "./types.js";

/** Drops `undefined` and empty-string members so "absent" and "" compare equal. */
function clean(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clean);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const c = clean(x);
      if (c !== undefined && c !== "") out[k] = c;
    }
    return out;
  }
  return v === "" ? undefined : v;
}

const byEmail = (a: Person, b: Person) => a.email.toLowerCase().localeCompare(b.email.toLowerCase());

/** The comparable form of one field: order-insensitive lists, no empty members. */
export function fieldValue(deal: CoSellDeal, field: SyncField): unknown {
  switch (field) {
    case "team":
      return clean([...deal.team].sort(byEmail));
    case "microsoftTeam":
      return clean([...(deal.microsoftTeam ?? [])].sort(byEmail));
    case "solutions":
      return clean([...deal.solutions].sort((a, b) => a.id.localeCompare(b.id)));
    case "stage":
      // A reason belongs to a declined or lost deal only: one left on a won or open opportunity is
      // not a difference worth a write.
      return clean({
        stage: deal.stage,
        closeReason: deal.stage === "declined" || deal.stage === "lost" ? deal.closeReason : undefined,
      });
    case "invitation":
      // The seller's request; Microsoft's answer is a field of its own (`microsoftAnswer`).
      return clean({
        microsoftHelpRequested: deal.invitation.microsoftHelpRequested,
        helpNotes: deal.invitation.helpNotes,
        helpType: deal.invitation.helpType,
      });
    case "registration":
      return clean({ status: deal.registrationStatus, registrations: deal.registrations });
    case "consentToContact":
      return deal.consentToContact ?? false;
    case "expiresAt":
      // Partner Center sends milliseconds; CRMs keep whole seconds (Dataverse's date and time column).
      return deal.expiresAt ? wholeSeconds(deal.expiresAt) : undefined;
    default:
      return clean(deal[field]);
  }
}

/** The members of `deal` that make up one sync field (`stage` with its reason, `registration`'s two). */
export function fieldMembers(deal: CoSellDeal, field: SyncField): Partial<CoSellDeal> {
  switch (field) {
    case "stage":
      return { stage: deal.stage, closeReason: deal.closeReason };
    case "registration":
      return { registrationStatus: deal.registrationStatus, registrations: deal.registrations };
    default:
      return { [field]: deal[field] } as Partial<CoSellDeal>;
  }
}

/**
 * Compares a field as the CRM can hold it. Inside object fields (customer, value) members the CRM
 * side does not have are not compared, so a CRM without, say, a DUNS field does not see a permanent
 * difference. Clearing such a member in the CRM is therefore not propagated (documented in
 * the mapping sections of docs/salesforce.md and docs/dynamics.md).
 */
export function sameField(crm: CoSellDeal, other: CoSellDeal, field: SyncField): boolean {
  const a = fieldValue(crm, field);
  const b = fieldValue(other, field);
  if (field === "customer" || field === "value") return isDeepStrictEqual(a, project(b, a));
  // A CRM without a help-type field never shows one: the other side's is not a difference (as a
  // missing DUNS field above), or every referral from Microsoft would look edited in the CRM.
  if (field === "invitation" && crm.invitation.helpType === undefined)
    return isDeepStrictEqual(a, withoutKey(b, "helpType"));
  // A CRM has one "closed lost" for a declined referral and a lost deal: they are the same stage to it,
  // or a declined referral would be rewritten to the CRM every cycle (and read back as lost).
  if (field === "stage") return isDeepStrictEqual(closedLost(a), closedLost(b));
  // Partner Center's own texts are cut to the CRM field's length: the cut copy is the same value.
  if (
    (field === "microsoftOpportunityId" || field === "sentBy") &&
    typeof a === "string" &&
    typeof b === "string"
  )
    return b.startsWith(a);
  return isDeepStrictEqual(a, b);
}

function wholeSeconds(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

function closedLost(stage: unknown): unknown {
  const s = stage as { stage?: string };
  return s?.stage === "declined" ? { ...s, stage: "lost" } : stage;
}

function withoutKey(v: unknown, key: string): unknown {
  if (!v || typeof v !== "object") return v;
  const { [key]: _drop, ...rest } = v as Record<string, unknown>;
  return rest;
}

/** `b` restricted to the keys present in `shape` (recursively for objects). */
function project(b: unknown, shape: unknown): unknown {
  if (!shape || typeof shape !== "object" || Array.isArray(shape) || !b || typeof b !== "object") return b;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(shape)) {
    const v = (b as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = project(v, (shape as Record<string, unknown>)[k]);
  }
  return out;
}

/** Equality of two deals on one field regardless of which side they came from. */
export function equalField(a: CoSellDeal, b: CoSellDeal, field: SyncField): boolean {
  return isDeepStrictEqual(fieldValue(a, field), fieldValue(b, field));
}

/**
 * Stable hash of a field's comparable value, for the write ledger. The one-shot `hash` gives the same
 * digest as `createHash().update().digest()` at a quarter of the cost (no Hash object per call); it
 * runs for every field of every record the ledger holds, so it shows in a backfill's profile.
 */
export function fieldHash(deal: CoSellDeal, field: SyncField): string {
  return hash("sha256", stableJson(fieldValue(deal, field)), "base64url").slice(0, 22);
}

/** JSON with sorted keys, so equal values hash equally. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v) ?? "null";
}
