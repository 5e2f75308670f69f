import { describe, expect, it } from "vitest";
import {
  assertValidDeal,
  type CoSellDeal,
  CoSellError,
  parseDeal,
  RULES,
  type RuleCode,
  ValidationError,
  type ValidationIssue,
  validateDeal,
} from "../../src/index.js";
import { customer, person, validDeal } from "./factory.js";

/** Every broken rule as `CODE@path`, so a failure shows both at a glance. */
const tags = (issues: readonly ValidationIssue[]) => issues.map((i) => `${i.code}@${i.path}`);

/** What the rules say about a deal: business rules on a typed deal, or parse + rules on raw input. */
type Probe = () => string[];

/** Business rules (`validateDeal`) on the valid deal with `patch` applied. */
const rules =
  (patch: Partial<CoSellDeal>): Probe =>
  () =>
    tags(validateDeal(validDeal(patch)));

type Raw = Record<string, unknown> & { customer: Record<string, unknown>; value: Record<string, unknown> };
const rawDeal = (): Raw => JSON.parse(JSON.stringify(validDeal())) as Raw;

/** `parseDeal` on the valid deal as JSON with `mutate` applied, then the business rules if it parsed. */
const parsed =
  (mutate: (raw: Raw) => void): Probe =>
  () => {
    const raw = rawDeal();
    mutate(raw);
    try {
      return tags(validateDeal(parseDeal(raw)));
    } catch (e) {
      if (e instanceof ValidationError) return tags(e.issues);
      throw e;
    }
  };

interface RuleCases {
  /** Deals that satisfy the rule (and every other rule). */
  passes: Record<string, Probe>;
  /** Deals that break only this rule: [probe, expected path]. */
  fails: Record<string, [Probe, string]>;
}

const helpRequested = { kind: "coSell", invitation: { microsoftHelpRequested: true } } as const;

/**
 * One entry per code in `RULES`: typed as `Record<RuleCode, …>`, so a new rule does not compile until
 * it has cases here, and the first test checks the same at run time.
 */
const CASES: Record<RuleCode, RuleCases> = {
  DEAL_NAME_REQUIRED: {
    passes: { "a name": rules({ name: "Contoso supply chain" }) },
    fails: {
      "an empty name": [rules({ name: "" }), "name"],
      "a blank name": [rules({ name: "   " }), "name"],
    },
  },
  DEAL_VALUE_REQUIRED: {
    passes: { "a value": rules({ value: { amount: 1, currency: "USD" } }) },
    fails: { "no value": [rules({ value: undefined }), "value"] },
  },
  DEAL_VALUE_NEGATIVE: {
    passes: {
      "a value of 0": rules({ value: { amount: 0, currency: "USD" } }),
      "a positive value": rules({ value: { amount: 0.01, currency: "USD" } }),
    },
    fails: { "a value of -0.01": [rules({ value: { amount: -0.01, currency: "USD" } }), "value.amount"] },
  },
  DEAL_VALUE_INVALID: {
    passes: { "a decimal amount": rules({ value: { amount: 50_000.5, currency: "USD" } }) },
    fails: {
      NaN: [rules({ value: { amount: Number.NaN, currency: "USD" } }), "value.amount"],
      Infinity: [rules({ value: { amount: Number.POSITIVE_INFINITY, currency: "USD" } }), "value.amount"],
      "an amount as text (parseDeal)": [parsed((r) => (r.value.amount = "50000")), "value.amount"],
    },
  },
  CURRENCY_INVALID: {
    passes: {
      USD: rules({ value: { amount: 1, currency: "USD" } }),
      EUR: rules({ value: { amount: 1, currency: "EUR" } }),
    },
    fails: {
      "usd (lower case)": [rules({ value: { amount: 1, currency: "usd" } }), "value.currency"],
      "XYZ (not assigned)": [rules({ value: { amount: 1, currency: "XYZ" } }), "value.currency"],
      "US (too short)": [rules({ value: { amount: 1, currency: "US" } }), "value.currency"],
      "840 as a number (parseDeal)": [parsed((r) => (r.value.currency = 840)), "value.currency"],
    },
  },
  CLOSE_DATE_REQUIRED: {
    passes: { "a close date": rules({ closeDate: "2026-06-30" }) },
    fails: { "no close date": [rules({ closeDate: undefined }), "closeDate"] },
  },
  CLOSE_DATE_INVALID: {
    passes: {
      "2026-06-30": parsed((r) => (r.closeDate = "2026-06-30")),
      "2024-02-29 (a leap day)": parsed((r) => (r.closeDate = "2024-02-29")),
    },
    fails: {
      "2025-02-30 (no such day)": [parsed((r) => (r.closeDate = "2025-02-30")), "closeDate"],
      "2026-13-01 (no such month)": [parsed((r) => (r.closeDate = "2026-13-01")), "closeDate"],
      "30/06/2026 (not ISO)": [parsed((r) => (r.closeDate = "30/06/2026")), "closeDate"],
      "a date-time instead of a date": [parsed((r) => (r.closeDate = "2026-06-30T00:00:00Z")), "closeDate"],
    },
  },
  DATE_INVALID: {
    passes: {
      "a date-time with an offset": parsed((r) => (r.createdAt = "2026-03-01T14:00:00+02:00")),
      "Partner Center's 7 fractional digits": parsed((r) => (r.updatedAt = "2018-11-06T18:40:42.6178337Z")),
    },
    fails: {
      "createdAt 'yesterday'": [parsed((r) => (r.createdAt = "yesterday")), "createdAt"],
      "createdAt on 30 February": [parsed((r) => (r.createdAt = "2026-02-30T00:00:00Z")), "createdAt"],
      "updatedAt without an offset": [parsed((r) => (r.updatedAt = "2026-03-01T12:00:00")), "updatedAt"],
      "expiresAt 'soon'": [parsed((r) => (r.expiresAt = "soon")), "expiresAt"],
    },
  },
  TEAM_REQUIRED: {
    passes: { "one team member": rules({ team: [person()] }) },
    fails: { "no team member": [rules({ team: [] }), "team"] },
  },
  TEAM_MEMBER_INCOMPLETE: {
    passes: { "two complete members": rules({ team: [person(), person({ email: "joe@contoso.com" })] }) },
    fails: {
      "a member without a first name": [rules({ team: [person({ firstName: "" })] }), "team.0"],
      "a member without a last name": [rules({ team: [person({ lastName: "" })] }), "team.0"],
      "a member without a phone": [rules({ team: [person({ phone: "" })] }), "team.0"],
      "a member with a blank phone": [rules({ team: [person({ phone: "  " })] }), "team.0"],
      "a member without an email": [rules({ team: [person({ email: "" })] }), "team.0"],
      "the second member without a phone": [rules({ team: [person(), person({ phone: "" })] }), "team.1"],
    },
  },
  EMAIL_INVALID: {
    passes: { "name@example.com": rules({ team: [person({ email: "name@example.com" })] }) },
    fails: {
      "a member's 'not-an-email'": [rules({ team: [person({ email: "not-an-email" })] }), "team.0.email"],
      "a member's email without a dot in the domain": [
        rules({ team: [person({ email: "ann@partner" })] }),
        "team.0.email",
      ],
      "a member's email with a space": [
        rules({ team: [person({ email: "ann lee@x.com" })] }),
        "team.0.email",
      ],
      "the customer contact's 'x@'": [
        rules({ customer: customer({ contact: person({ email: "x@" }) }) }),
        "customer.contact.email",
      ],
      "the customer contact's bad email when help is requested": [
        rules({ ...helpRequested, customer: customer({ contact: person({ email: "x@" }) }) }),
        "customer.contact.email",
      ],
    },
  },
  SOLUTION_REQUIRED: {
    passes: {
      "the partner's own solution": rules({ solutions: [{ id: "s", name: "S", kind: "own" }] }),
      "a third-party solution": rules({ solutions: [{ id: "s", name: "S", kind: "thirdParty" }] }),
    },
    fails: { "no solution": [rules({ solutions: [] }), "solutions"] },
  },
  CUSTOMER_NAME_REQUIRED: {
    passes: { "a customer name": rules({ customer: customer({ name: "Fabrikam" }) }) },
    fails: {
      "an empty customer name": [rules({ customer: customer({ name: "" }) }), "customer.name"],
      "a blank customer name": [rules({ customer: customer({ name: " " }) }), "customer.name"],
    },
  },
  COUNTRY_INVALID: {
    passes: {
      US: rules({ customer: customer({ address: { country: "US" } }) }),
      DE: rules({ customer: customer({ address: { country: "DE" } }) }),
    },
    fails: {
      "USA (alpha-3)": [
        rules({ customer: customer({ address: { country: "USA" } }) }),
        "customer.address.country",
      ],
      "us (lower case)": [
        rules({ customer: customer({ address: { country: "us" } }) }),
        "customer.address.country",
      ],
      "XX (not assigned)": [
        rules({ customer: customer({ address: { country: "XX" } }) }),
        "customer.address.country",
      ],
      "an empty country": [
        rules({ customer: customer({ address: { country: "" } }) }),
        "customer.address.country",
      ],
    },
  },
  CUSTOMER_CONTACT_REQUIRED: {
    passes: {
      "help requested with a complete contact": rules({ ...helpRequested }),
      "no help requested and no contact": rules({ customer: customer({ contact: undefined }) }),
    },
    fails: {
      "help requested without a contact": [
        rules({ ...helpRequested, customer: customer({ contact: undefined }) }),
        "customer.contact",
      ],
      ...Object.fromEntries(
        (["firstName", "lastName", "phone", "email"] as const).map((field) => [
          `help requested, contact without ${field}`,
          [
            rules({ ...helpRequested, customer: customer({ contact: person({ [field]: "" }) }) }),
            "customer.contact",
          ],
        ]),
      ),
    },
  },
  CONSENT_REQUIRED: {
    passes: {
      "co-sell with consent": rules({ kind: "coSell", consentToShareContact: true }),
      "private pipeline without consent (nothing is shared)": rules({
        kind: "privatePipeline",
        consentToShareContact: false,
      }),
      "co-sell without a contact needs no consent": rules({
        kind: "coSell",
        consentToShareContact: false,
        customer: customer({ contact: undefined }),
      }),
    },
    fails: {
      "co-sell contact without consent": [
        rules({ kind: "coSell", consentToShareContact: false }),
        "consentToShareContact",
      ],
    },
  },
  DEAL_MALFORMED: {
    passes: { "the valid deal as JSON": parsed(() => {}) },
    fails: {
      "an unknown stage": [parsed((r) => (r.stage = "negotiating")), "stage"],
      "no customer object": [parsed((r) => delete (r as Record<string, unknown>).customer), "customer"],
      "team as an object": [parsed((r) => (r.team = { firstName: "Ann" })), "team"],
      "favorite as text": [parsed((r) => (r.favorite = "yes")), "favorite"],
      "a contact without an email field": [
        parsed((r) => (r.customer.contact = { firstName: "Sue", lastName: "Smith", phone: "1" })),
        "customer.contact.email",
      ],
      "an unknown solution kind": [
        parsed((r) => (r.solutions = [{ id: "s", name: "S", kind: "partner" }])),
        "solutions.0.kind",
      ],
      "no invitation object": [parsed((r) => delete r.invitation), "invitation"],
    },
  },
};

const passing = Object.entries(CASES).flatMap(([code, c]) =>
  Object.entries(c.passes).map(([label, probe]) => [code, label, probe] as const),
);
const failing = Object.entries(CASES).flatMap(([code, c]) =>
  Object.entries(c.fails).map(([label, [probe, path]]) => [code, label, probe, path] as const),
);

describe("validation: every rule in RULES", () => {
  it("has passing and failing cases for every code", () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(RULES).sort());
    for (const [code, c] of Object.entries(CASES)) {
      expect(Object.keys(c.passes).length, code).toBeGreaterThan(0);
      expect(Object.keys(c.fails).length, code).toBeGreaterThan(0);
    }
  });

  it("the valid-deal factory breaks no rule", () => {
    expect(validateDeal(validDeal())).toEqual([]);
  });

  it.each(passing)("%s passes: %s", (_code, _label, probe) => {
    expect(probe()).toEqual([]);
  });

  it.each(failing)("%s fails: %s", (code, _label, probe, path) => {
    expect(probe()).toEqual([`${code}@${path}`]);
  });

  it("every message says how to fix the problem", () => {
    for (const [code, message] of Object.entries(RULES)) {
      expect(code).toMatch(/^[A-Z][A-Z_]+$/);
      expect(message, code).toMatch(/^[A-Z].{20,}\.$/);
    }
  });
});

describe("validation: issue messages", () => {
  it("an incomplete member's message names the missing fields", () => {
    const [issue] = validateDeal(validDeal({ team: [person({ phone: "", email: "" })] }));
    expect(issue?.message).toBe(`${RULES.TEAM_MEMBER_INCOMPLETE} Missing: phone, email.`);
  });

  it("a bad value's message quotes it", () => {
    const [issue] = validateDeal(validDeal({ value: { amount: 1, currency: "usd" } }));
    expect(issue?.message).toBe(`${RULES.CURRENCY_INVALID} Got "usd".`);
  });

  it("reports every broken rule at once, in the order of the deal's fields", () => {
    const issues = validateDeal(validDeal({ name: "", team: [], solutions: [] }));
    expect(tags(issues)).toEqual([
      "DEAL_NAME_REQUIRED@name",
      "TEAM_REQUIRED@team",
      "SOLUTION_REQUIRED@solutions",
    ]);
  });
});

describe("ValidationError", () => {
  const three = validateDeal(validDeal({ name: "", team: [], solutions: [] }));

  it("is a CoSellError whose code is the first issue's", () => {
    const e = new ValidationError(three);
    expect(e).toBeInstanceOf(CoSellError);
    expect(e.name).toBe("ValidationError");
    expect(e.code).toBe("DEAL_NAME_REQUIRED");
    expect(e.issues).toEqual(three);
    expect(e.details.issues).toEqual(three);
  });

  it("its message is the first rule's fix and '(and N more)'", () => {
    expect(new ValidationError(three).message).toBe(`${RULES.DEAL_NAME_REQUIRED} (and 2 more)`);
  });

  it("with one issue, the message is that issue's alone", () => {
    expect(new ValidationError(three.slice(0, 1)).message).toBe(RULES.DEAL_NAME_REQUIRED);
  });

  it("with no issues, it still has a code and a message", () => {
    const e = new ValidationError([]);
    expect(e.code).toBe("VALIDATION_FAILED");
    expect(e.message).toBe("Invalid input.");
  });

  it("assertValidDeal throws it with the deal's ids, and passes a valid deal", () => {
    expect(() => assertValidDeal(validDeal())).not.toThrow();
    const deal = validDeal({ solutions: [] });
    const thrown = (() => {
      try {
        assertValidDeal(deal);
      } catch (e) {
        return e;
      }
    })();
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).details).toMatchObject({ dealId: deal.id, crmId: deal.crmId });
    expect((thrown as ValidationError).code).toBe("SOLUTION_REQUIRED");
  });
});

describe("parseDeal on malformed input", () => {
  /** Runs parseDeal and returns the ValidationError it must throw. */
  function parseError(raw: unknown): ValidationError {
    try {
      parseDeal(raw);
    } catch (e) {
      if (e instanceof ValidationError) return e;
      throw e;
    }
    throw new Error("parseDeal accepted malformed input");
  }

  it("returns the typed deal for well-formed input", () => {
    expect(parseDeal(rawDeal())).toEqual(validDeal());
  });

  it.each([
    ["null", null],
    ["a string", "deal"],
    ["an array", []],
  ])("%s is a malformed deal at the root", (_label, raw) => {
    const e = parseError(raw);
    expect(tags(e.issues)).toEqual(["DEAL_MALFORMED@"]);
    expect(e.issues[0]?.message).toContain("(deal: ");
  });

  it("an empty object: one issue per missing field, each naming its path", () => {
    const e = parseError({});
    expect(e.issues.map((i) => i.path).sort()).toEqual(
      [
        "consentToShareContact",
        "createdAt",
        "customer",
        "direction",
        "favorite",
        "invitation",
        "kind",
        "name",
        "solutions",
        "stage",
        "team",
        "updatedAt",
      ].sort(),
    );
    expect(e.message).toContain(`(and ${e.issues.length - 1} more)`);
  });

  it("the error message is the first issue's fix, with the path and what was wrong", () => {
    const raw = rawDeal();
    raw.closeDate = "2025-02-30";
    raw.createdAt = "yesterday";
    const e = parseError(raw);
    expect(e.code).toBe(e.issues[0]?.code);
    expect(e.message.startsWith(RULES[e.issues[0]?.code as RuleCode])).toBe(true);
    expect(e.message).toContain("(and 1 more)");
    const close = e.issues.find((i) => i.path === "closeDate");
    expect(close?.message).toMatch(/^The close date must be .*\(closeDate: .+\)$/);
  });

  it("a wrong type deep inside names the full path", () => {
    const raw = rawDeal();
    raw.team = [{ firstName: "Ann", lastName: "Lee", email: "a@b.co", phone: 5 }];
    expect(tags(parseError(raw).issues)).toEqual(["DEAL_MALFORMED@team.0.phone"]);
  });
});
