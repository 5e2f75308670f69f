/**
 * Malformed referrals as Partner Center could list them. `raw` starts from a well-formed inbound
 * referral and breaks one thing; `field` is the path core's client names (inside the list page).
 */
export interface ReferralCase {
  name: string;
  raw: (ok: Record<string, unknown>) => unknown;
  /** The field named by the error, relative to the referral (e.g. `status`). */
  field: string;
}

const without =
  (key: string) =>
  (ok: Record<string, unknown>): unknown => {
    const { [key]: _gone, ...rest } = ok;
    return rest;
  };
const set =
  (key: string, value: unknown) =>
  (ok: Record<string, unknown>): unknown => ({ ...ok, [key]: value });
const setDetails =
  (key: string, value: unknown) =>
  (ok: Record<string, unknown>): unknown => ({ ...ok, details: { ...(ok.details as object), [key]: value } });

/** Referrals that break the Referral resource's shape (missing required fields, wrong types, unknown enums). */
export const SCHEMA_CASES: ReferralCase[] = [
  { name: "missing id", raw: without("id"), field: "id" },
  { name: "numeric id", raw: set("id", 12345), field: "id" },
  { name: "missing createdDateTime", raw: without("createdDateTime"), field: "createdDateTime" },
  { name: "missing updatedDateTime", raw: without("updatedDateTime"), field: "updatedDateTime" },
  { name: "missing status", raw: without("status"), field: "status" },
  { name: "unknown status", raw: set("status", "Open"), field: "status" },
  { name: "unknown substatus", raw: set("substatus", "Qualified"), field: "substatus" },
  { name: "lower-case substatus", raw: set("substatus", "received"), field: "substatus" },
  { name: "unknown referral type", raw: set("type", "Partner"), field: "type" },
  { name: "dealValue as a string", raw: setDetails("dealValue", "50000"), field: "details.dealValue" },
  { name: "notes as an object", raw: setDetails("notes", { text: "hi" }), field: "details.notes" },
  { name: "team as an object", raw: set("team", { firstName: "Ann" }), field: "team" },
  { name: "eTag as a number", raw: set("eTag", 7), field: "eTag" },
  {
    name: "solution without id",
    raw: setDetails("requirements", { solutions: [{ name: "Azure" }] }),
    field: "details.requirements.solutions.0.id",
  },
  {
    name: "consent flag as a string",
    raw: set("consent", { consentToShareReferralWithMicrosoftSellers: "yes" }),
    field: "consent.consentToShareReferralWithMicrosoftSellers",
  },
  { name: "referral that is null", raw: () => null, field: "" },
];
