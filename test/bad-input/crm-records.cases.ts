import { SAMPLE_SELLER } from "@cosell/core/testing";
import type { RecordPatch } from "./fixtures.js";

/**
 * Malformed CRM opportunities, each with the rule code the sync must report for it. A case either
 * stores the bad value in the CRM (`deal`) or makes the adapter report a corrupted record (`patch`,
 * for values a CRM's types would not hold but a broken field map or integration could produce).
 */
export interface CrmCase {
  name: string;
  /** Overrides of the sample deal stored in the in-memory CRM. */
  deal?: Record<string, unknown>;
  /** Corruption applied to the record as the adapter reports it. */
  patch?: RecordPatch;
  /** The rule code the record is marked with. */
  code: string;
}

const asAny = (v: unknown) => v as never;
/** Replaces fields of the record's canonical deal. */
export const withDeal =
  (change: Record<string, unknown>): RecordPatch =>
  (r) => ({ ...r, deal: { ...r.deal, ...(change as object) } });
const mappingIssue =
  (code: string, path: string, message: string): RecordPatch =>
  (r) => ({ ...r, issues: [{ code, path, message }] });

/** Cases the engine already handles: the record is marked with the code and the run goes on. */
export const CRM_CASES: CrmCase[] = [
  // Missing required fields
  { name: "missing deal name", deal: { name: "" }, code: "DEAL_NAME_REQUIRED" },
  { name: "deal name of whitespace only", deal: { name: " \t\u00a0\n" }, code: "DEAL_NAME_REQUIRED" },
  { name: "missing deal value", deal: { value: undefined }, code: "DEAL_VALUE_REQUIRED" },
  { name: "missing close date", deal: { closeDate: undefined }, code: "CLOSE_DATE_REQUIRED" },
  { name: "no team member", deal: { team: [] }, code: "TEAM_REQUIRED" },
  {
    name: "team member without email",
    deal: { team: [{ ...SAMPLE_SELLER, email: "" }] },
    code: "TEAM_MEMBER_INCOMPLETE",
  },
  {
    name: "team member without phone",
    deal: { team: [{ ...SAMPLE_SELLER, phone: "   " }] },
    code: "TEAM_MEMBER_INCOMPLETE",
  },
  { name: "no solution", deal: { solutions: [] }, code: "SOLUTION_REQUIRED" },
  {
    name: "missing customer name",
    deal: { customer: { name: "", address: { country: "US" } } },
    code: "CUSTOMER_NAME_REQUIRED",
  },
  {
    name: "Microsoft's help requested without a customer contact",
    deal: {
      kind: "coSell",
      customer: { name: "Contoso", address: { country: "US" } },
      invitation: { microsoftHelpRequested: true, helpNotes: "Need an architect" },
    },
    code: "CUSTOMER_CONTACT_REQUIRED",
  },
  {
    name: "co-sell deal sharing a contact without consent",
    deal: { kind: "coSell", consentToShareContact: false },
    code: "CONSENT_REQUIRED",
  },
  // Negative and non-numeric values
  {
    name: "negative deal value",
    deal: { value: { amount: -5, currency: "USD" } },
    code: "DEAL_VALUE_NEGATIVE",
  },
  {
    name: "negative value of one cent",
    deal: { value: { amount: -0.01, currency: "EUR" } },
    code: "DEAL_VALUE_NEGATIVE",
  },
  {
    name: "deal value NaN",
    patch: withDeal({ value: { amount: Number.NaN, currency: "USD" } }),
    code: "DEAL_VALUE_INVALID",
  },
  {
    name: "deal value Infinity",
    patch: withDeal({ value: { amount: Number.POSITIVE_INFINITY, currency: "USD" } }),
    code: "DEAL_VALUE_INVALID",
  },
  {
    name: "deal value as a string (wrong type)",
    patch: withDeal({ value: { amount: asAny("50000"), currency: "USD" } }),
    code: "DEAL_VALUE_INVALID",
  },
  // Invalid currency and country codes
  { name: "lower-case currency", deal: { value: { amount: 10, currency: "usd" } }, code: "CURRENCY_INVALID" },
  {
    name: "unassigned currency XYZ",
    deal: { value: { amount: 10, currency: "XYZ" } },
    code: "CURRENCY_INVALID",
  },
  {
    name: "currency symbol instead of code",
    deal: { value: { amount: 10, currency: "$" } },
    code: "CURRENCY_INVALID",
  },
  { name: "empty currency", deal: { value: { amount: 10, currency: "" } }, code: "CURRENCY_INVALID" },
  {
    name: "alpha-3 country code",
    deal: { customer: { name: "Contoso", address: { country: "USA" } } },
    code: "COUNTRY_INVALID",
  },
  {
    name: "unassigned country code XX",
    deal: { customer: { name: "Contoso", address: { country: "XX" } } },
    code: "COUNTRY_INVALID",
  },
  {
    name: "country name instead of code",
    deal: { customer: { name: "Contoso", address: { country: "Germany" } } },
    code: "COUNTRY_INVALID",
  },
  {
    name: "empty country",
    deal: { customer: { name: "Contoso", address: { country: "" } } },
    code: "COUNTRY_INVALID",
  },
  // Malformed contact data
  {
    name: "team member email without a domain",
    deal: { team: [{ ...SAMPLE_SELLER, email: "ann@" }] },
    code: "EMAIL_INVALID",
  },
  {
    name: "team member email with a space",
    deal: { team: [{ ...SAMPLE_SELLER, email: "ann lee@partner.example" }] },
    code: "EMAIL_INVALID",
  },
  // Problems the adapter found while mapping (unknown stage, unmappable picklists)
  {
    name: "unknown CRM stage reported by the adapter",
    patch: mappingIssue("STAGE_UNKNOWN", "stage", 'The stage "Negotiation/Review" has no co-sell stage.'),
    code: "STAGE_UNKNOWN",
  },
  {
    name: "country the adapter could not map",
    patch: mappingIssue("COUNTRY_INVALID", "customer.address.country", 'Cannot map country "Narnia".'),
    code: "COUNTRY_INVALID",
  },
  {
    name: "currency the adapter could not map",
    patch: mappingIssue("CURRENCY_INVALID", "value.currency", 'Cannot map currency "Bitcoin".'),
    code: "CURRENCY_INVALID",
  },
  {
    name: "bad date the adapter could not read",
    patch: mappingIssue("CLOSE_DATE_INVALID", "closeDate", 'Cannot read close date "31/02/2026".'),
    code: "CLOSE_DATE_INVALID",
  },
  // Close dates the rules check (not only the referral mapping).
  { name: "close date month 13", deal: { closeDate: "2026-13-45" }, code: "CLOSE_DATE_INVALID" },
  { name: "close date 30 February", deal: { closeDate: "2026-02-30" }, code: "CLOSE_DATE_INVALID" },
  { name: "close date written dd/mm/yyyy", deal: { closeDate: "30/06/2026" }, code: "CLOSE_DATE_INVALID" },
  { name: "close date with a time", deal: { closeDate: "2026-06-30T00:00:00Z" }, code: "CLOSE_DATE_INVALID" },
  // A deal of the wrong shape is that record's DEAL_MALFORMED, never a crash of the cycle.
  { name: "deal name is a number", patch: withDeal({ name: 42 }), code: "DEAL_MALFORMED" },
  { name: "team is null", patch: withDeal({ team: null }), code: "DEAL_MALFORMED" },
  { name: "customer missing", patch: withDeal({ customer: undefined }), code: "DEAL_MALFORMED" },
  { name: "invitation missing", patch: withDeal({ invitation: undefined }), code: "DEAL_MALFORMED" },
  { name: "solutions is a string", patch: withDeal({ solutions: "sol-1" }), code: "DEAL_MALFORMED" },
  {
    name: "team member email with HTML",
    deal: { team: [{ ...SAMPLE_SELLER, email: "<script>alert(1)</script>@x.example" }] },
    code: "EMAIL_INVALID",
  },
];
