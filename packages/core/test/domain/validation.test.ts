import { describe, expect, it } from "vitest";
import { type CoSellDeal, parseDeal, RULES, ValidationError, validateDeal } from "../../src/index.js";
import { validDeal } from "./factory.js";

const codes = (d: CoSellDeal) => validateDeal(d).map((i) => `${i.code}@${i.path}`);
const contact = validDeal().customer.contact!;

describe("validation rules from the seed", () => {
  it("a complete deal passes every rule", () => {
    expect(validateDeal(validDeal())).toEqual([]);
  });

  it.each<[string, Partial<CoSellDeal>, string]>([
    ["name missing", { name: "  " }, "DEAL_NAME_REQUIRED@name"],
    ["value missing", { value: undefined }, "DEAL_VALUE_REQUIRED@value"],
    ["value negative", { value: { amount: -0.01, currency: "USD" } }, "DEAL_VALUE_NEGATIVE@value.amount"],
    [
      "value not a number",
      { value: { amount: Number.NaN, currency: "USD" } },
      "DEAL_VALUE_INVALID@value.amount",
    ],
    ["currency lower case", { value: { amount: 1, currency: "usd" } }, "CURRENCY_INVALID@value.currency"],
    ["currency unknown", { value: { amount: 1, currency: "XYZ" } }, "CURRENCY_INVALID@value.currency"],
    ["currency too short", { value: { amount: 1, currency: "US" } }, "CURRENCY_INVALID@value.currency"],
    ["close date missing", { closeDate: undefined }, "CLOSE_DATE_REQUIRED@closeDate"],
    ["no team", { team: [] }, "TEAM_REQUIRED@team"],
    ["team member without phone", { team: [{ ...contact, phone: "" }] }, "TEAM_MEMBER_INCOMPLETE@team.0"],
    ["team member without email", { team: [{ ...contact, email: "" }] }, "TEAM_MEMBER_INCOMPLETE@team.0"],
    [
      "team member without first name",
      { team: [{ ...contact, firstName: "" }] },
      "TEAM_MEMBER_INCOMPLETE@team.0",
    ],
    [
      "team member without last name",
      { team: [{ ...contact, lastName: "" }] },
      "TEAM_MEMBER_INCOMPLETE@team.0",
    ],
    [
      "team member with a bad email",
      { team: [{ ...contact, email: "not-an-email" }] },
      "EMAIL_INVALID@team.0.email",
    ],
    ["no solution", { solutions: [] }, "SOLUTION_REQUIRED@solutions"],
    [
      "customer unnamed",
      { customer: { ...validDeal().customer, name: "" } },
      "CUSTOMER_NAME_REQUIRED@customer.name",
    ],
    [
      "country as a name",
      { customer: { ...validDeal().customer, address: { country: "USA" } } },
      "COUNTRY_INVALID@customer.address.country",
    ],
    [
      "country lower case",
      { customer: { ...validDeal().customer, address: { country: "us" } } },
      "COUNTRY_INVALID@customer.address.country",
    ],
    [
      "country unassigned",
      { customer: { ...validDeal().customer, address: { country: "XX" } } },
      "COUNTRY_INVALID@customer.address.country",
    ],
    [
      "help requested without a customer contact",
      {
        kind: "coSell",
        invitation: { microsoftHelpRequested: true },
        customer: { ...validDeal().customer, contact: undefined },
      },
      "CUSTOMER_CONTACT_REQUIRED@customer.contact",
    ],
    [
      "help requested with an incomplete contact",
      {
        kind: "coSell",
        invitation: { microsoftHelpRequested: true },
        customer: { ...validDeal().customer, contact: { ...contact, phone: "" } },
      },
      "CUSTOMER_CONTACT_REQUIRED@customer.contact",
    ],
    [
      "co-sell contact shared without consent",
      { kind: "coSell", consentToShareContact: false },
      "CONSENT_REQUIRED@consentToShareContact",
    ],
    [
      "customer contact with a bad email",
      { customer: { ...validDeal().customer, contact: { ...contact, email: "x@" } } },
      "EMAIL_INVALID@customer.contact.email",
    ],
  ])("%s fails with its code", (_name, patch, expected) => {
    expect(codes(validDeal(patch))).toEqual([expected]);
  });

  it.each<[string, Partial<CoSellDeal>]>([
    ["value 0", { value: { amount: 0, currency: "EUR" } }],
    ["country DE", { customer: { ...validDeal().customer, address: { country: "DE" } } }],
    [
      "private pipeline contact without consent (not shared)",
      { kind: "privatePipeline", consentToShareContact: false },
    ],
    [
      "no customer contact when no help is requested",
      { customer: { ...validDeal().customer, contact: undefined } },
    ],
    [
      "help requested with a full contact and consent",
      { kind: "coSell", invitation: { microsoftHelpRequested: true } },
    ],
  ])("%s passes", (_name, patch) => {
    expect(validateDeal(validDeal(patch))).toEqual([]);
  });

  it("every rule code has a message that says how to fix it", () => {
    for (const [code, message] of Object.entries(RULES)) {
      expect(code).toMatch(/^[A-Z_]+$/);
      expect(message.length).toBeGreaterThan(20);
    }
  });

  it("reports every broken rule at once, first one in the message", () => {
    const issues = validateDeal(validDeal({ name: "", team: [], solutions: [] }));
    expect(issues.map((i) => i.code)).toEqual(["DEAL_NAME_REQUIRED", "TEAM_REQUIRED", "SOLUTION_REQUIRED"]);
    const e = new ValidationError(issues);
    expect(e.code).toBe("DEAL_NAME_REQUIRED");
    expect(e.message).toBe(`${RULES.DEAL_NAME_REQUIRED} (and 2 more)`);
  });
});

describe("parseDeal: malformed input gets named errors", () => {
  const raw = () => JSON.parse(JSON.stringify(validDeal())) as Record<string, unknown>;

  it("accepts a well-formed deal", () => {
    expect(parseDeal(raw()).name).toBe("Contoso supply chain");
  });

  it.each<[string, (r: Record<string, unknown>) => void, string, string]>([
    ["an impossible date", (r) => (r.closeDate = "2025-02-30"), "CLOSE_DATE_INVALID", "closeDate"],
    ["a date in the wrong format", (r) => (r.closeDate = "30/06/2026"), "CLOSE_DATE_INVALID", "closeDate"],
    ["a non-ISO timestamp", (r) => (r.createdAt = "yesterday"), "DATE_INVALID", "createdAt"],
    [
      "an amount as text",
      (r) => (r.value = { amount: "50000", currency: "USD" }),
      "DEAL_VALUE_INVALID",
      "value.amount",
    ],
    ["an unknown stage", (r) => (r.stage = "negotiating"), "DEAL_MALFORMED", "stage"],
    ["a missing customer", (r) => delete r.customer, "DEAL_MALFORMED", "customer"],
    ["team as an object", (r) => (r.team = { firstName: "x" }), "DEAL_MALFORMED", "team"],
  ])("%s", (_name, mutate, code, path) => {
    const r = raw();
    mutate(r);
    try {
      parseDeal(r);
      expect.unreachable("parseDeal should have thrown");
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      const issue = (e as ValidationError).issues.find((i) => i.path === path);
      expect(issue?.code).toBe(code);
    }
  });
});
