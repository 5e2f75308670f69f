import type { z } from "zod";
import { ValidationError, type ValidationIssue } from "../errors.js";
import { isCountryCode, isCurrencyCode } from "./codes.js";
import { type CoSellDeal, CoSellDealSchema, type Person } from "./deal.js";

/**
 * The seed's rules for a deal that is shared with Partner Center (an outbound create, or an inbound
 * deal being accepted). Each rule has a stable code and a message that says how to fix it; the codes
 * are listed in docs/troubleshooting.md.
 */
export const RULES = {
  DEAL_NAME_REQUIRED: "Give the deal a name (the opportunity name in your CRM).",
  DEAL_VALUE_REQUIRED: "Set an estimated deal value (amount and currency).",
  DEAL_VALUE_NEGATIVE: "The estimated deal value cannot be negative.",
  DEAL_VALUE_INVALID: "The estimated deal value must be a number.",
  CURRENCY_INVALID: "Use an ISO 4217 currency code such as USD or EUR.",
  CLOSE_DATE_REQUIRED: "Set an estimated close date.",
  CLOSE_DATE_INVALID: "The close date must be a real calendar date written YYYY-MM-DD.",
  DATE_INVALID: "Dates must be real ISO 8601 date-times.",
  TEAM_REQUIRED: "Add at least one team member (name, phone and email) who works the deal.",
  TEAM_MEMBER_INCOMPLETE: "Every team member needs a first name, last name, phone and email.",
  EMAIL_INVALID: "Use a valid email address such as name@example.com.",
  SOLUTION_REQUIRED: "Add at least one solution (your own, a Microsoft one or a third-party one).",
  CUSTOMER_NAME_REQUIRED: "Name the customer (the account on the opportunity).",
  COUNTRY_INVALID: "Use an ISO 3166-1 alpha-2 country code such as US or DE for the customer's country.",
  CUSTOMER_CONTACT_REQUIRED:
    "Microsoft's help was requested: add a customer contact with first name, last name, phone and email.",
  CONSENT_REQUIRED: "Record the customer's consent before their contact details are shared with Microsoft.",
  DEAL_MALFORMED: "The deal has a field of the wrong type or shape.",
} as const;
export type RuleCode = keyof typeof RULES;

// No whitespace, and none of the characters RFC 5322 reserves (so no markup) outside quotes.
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

/** A real calendar date written `YYYY-MM-DD` (no 30 February, no time part). */
export function isCalendarDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}
const blank = (s: string | undefined) => !s || s.trim() === "";

const issue = (code: RuleCode, path: string, extra = ""): ValidationIssue => ({
  code,
  path,
  message: `${RULES[code]}${extra}`,
});

function personIssues(p: Person, path: string, incompleteCode: RuleCode): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const missing = (["firstName", "lastName", "phone", "email"] as const).filter((k) => blank(p[k]));
  if (missing.length) out.push(issue(incompleteCode, path, ` Missing: ${missing.join(", ")}.`));
  if (!blank(p.email) && !EMAIL.test(p.email.trim()))
    out.push(issue("EMAIL_INVALID", `${path}.email`, ` Got "${p.email}".`));
  return out;
}

/** Every broken rule of `deal` (empty when it may be shared with Partner Center). */
export function validateDeal(deal: CoSellDeal): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  if (blank(deal.name)) out.push(issue("DEAL_NAME_REQUIRED", "name"));
  if (!deal.value) out.push(issue("DEAL_VALUE_REQUIRED", "value"));
  else {
    if (!Number.isFinite(deal.value.amount)) out.push(issue("DEAL_VALUE_INVALID", "value.amount"));
    else if (deal.value.amount < 0)
      out.push(issue("DEAL_VALUE_NEGATIVE", "value.amount", ` Got ${deal.value.amount}.`));
    if (!isCurrencyCode(deal.value.currency))
      out.push(issue("CURRENCY_INVALID", "value.currency", ` Got "${deal.value.currency}".`));
  }
  if (!deal.closeDate) out.push(issue("CLOSE_DATE_REQUIRED", "closeDate"));
  else if (!isCalendarDate(deal.closeDate))
    out.push(issue("CLOSE_DATE_INVALID", "closeDate", ` Got "${deal.closeDate}".`));
  if (deal.team.length === 0) out.push(issue("TEAM_REQUIRED", "team"));
  deal.team.forEach((m, i) => {
    out.push(...personIssues(m, `team.${i}`, "TEAM_MEMBER_INCOMPLETE"));
  });
  if (deal.solutions.length === 0) out.push(issue("SOLUTION_REQUIRED", "solutions"));
  if (blank(deal.customer.name)) out.push(issue("CUSTOMER_NAME_REQUIRED", "customer.name"));
  if (!isCountryCode(deal.customer.address.country))
    out.push(
      issue("COUNTRY_INVALID", "customer.address.country", ` Got "${deal.customer.address.country}".`),
    );
  const contact = deal.customer.contact;
  if (deal.invitation.microsoftHelpRequested) {
    if (!contact) out.push(issue("CUSTOMER_CONTACT_REQUIRED", "customer.contact"));
    else out.push(...personIssues(contact, "customer.contact", "CUSTOMER_CONTACT_REQUIRED"));
  } else if (contact && !blank(contact.email) && !EMAIL.test(contact.email.trim())) {
    out.push(issue("EMAIL_INVALID", "customer.contact.email", ` Got "${contact.email}".`));
  }
  if (contact && deal.kind === "coSell" && !deal.consentToShareContact)
    out.push(issue("CONSENT_REQUIRED", "consentToShareContact"));
  return out;
}

/** Throws a {@link ValidationError} listing every broken rule. */
export function assertValidDeal(deal: CoSellDeal): void {
  const issues = validateDeal(deal);
  if (issues.length) throw new ValidationError(issues, { dealId: deal.id, crmId: deal.crmId });
}

function codeForPath(path: string): RuleCode {
  if (path === "closeDate") return "CLOSE_DATE_INVALID";
  if (/^(createdAt|updatedAt|expiresAt)$/.test(path)) return "DATE_INVALID";
  if (path === "value.amount") return "DEAL_VALUE_INVALID";
  if (path === "value.currency") return "CURRENCY_INVALID";
  return "DEAL_MALFORMED";
}

/** Turns zod issues into named validation issues. */
export function zodIssues(issues: readonly z.core.$ZodIssue[], codeFor = codeForPath): ValidationIssue[] {
  return issues.map((i) => {
    const path = i.path.map(String).join(".");
    const code = codeFor(path);
    return {
      code,
      path,
      message: `${RULES[code as RuleCode] ?? "Invalid value."} (${path || "deal"}: ${i.message})`,
    };
  });
}

/** Parses unknown input into a {@link CoSellDeal}, or throws a {@link ValidationError} naming each bad field. */
export function parseDeal(raw: unknown): CoSellDeal {
  const r = CoSellDealSchema.safeParse(raw);
  if (!r.success) throw new ValidationError(zodIssues(r.error.issues));
  return r.data;
}
