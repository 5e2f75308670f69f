import { describe, expect, it } from "vitest";
import { equalField, fieldHash, sameField, stableJson } from "../../src/index.js";
import { completeDeal, sampleDeal } from "../../src/testing/index.js";
import { agreedOutbound } from "./fixtures.js";

describe("compare", () => {
  const d = agreedOutbound();

  it("a CRM's closed lost is the same stage as a declined referral (same reason), not as another stage", () => {
    const crm = { ...d, stage: "lost" as const, closeReason: "No budget" };
    expect(sameField(crm, { ...d, stage: "declined", closeReason: "No budget" }, "stage")).toBe(true);
    expect(sameField(crm, { ...d, stage: "declined", closeReason: "Other" }, "stage")).toBe(false);
    expect(sameField(crm, { ...d, stage: "expired" }, "stage")).toBe(false);
    // Partner Center's own comparison keeps the two apart (declined and lost are different transitions).
    expect(equalField(crm, { ...d, stage: "declined", closeReason: "No budget" }, "stage")).toBe(false);
  });

  it("lists compare regardless of order; absent and empty compare equal", () => {
    const b = {
      ...d,
      team: [...d.team, { firstName: "Bo", lastName: "Ek", email: "bo@x.example", phone: "1" }],
    };
    const c = { ...b, team: [...b.team].reverse(), notes: "" };
    expect(sameField(b, c, "team")).toBe(true);
    expect(sameField({ ...d, notes: undefined }, { ...d, notes: "" }, "notes")).toBe(true);
    expect(fieldHash(b, "team")).toBe(fieldHash(c, "team"));
  });

  it("object fields compare only what the CRM side holds (no DUNS in the CRM is not a difference)", () => {
    const pc = { ...d, customer: { ...d.customer, duns: "123456789" } };
    const crm = { ...d, customer: { ...d.customer, duns: undefined } };
    expect(sameField(crm, pc, "customer")).toBe(true);
    expect(sameField(pc, crm, "customer")).toBe(false);
  });

  it("stableJson sorts keys", () => {
    expect(stableJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
  });
});

describe("stage comparison and close reasons", () => {
  it("a reason left on a won or open deal is no difference; on a lost deal it is", () => {
    const at = new Date("2026-03-01T00:00:00Z");
    const deal = (stage: "won" | "accepted" | "lost", closeReason?: string) =>
      completeDeal(sampleDeal({ stage, ...(closeReason ? { closeReason } : {}) }), at);
    expect(sameField(deal("won", "Customer chose another vendor"), deal("won"), "stage")).toBe(true);
    expect(sameField(deal("accepted", "left over"), deal("accepted"), "stage")).toBe(true);
    expect(sameField(deal("lost", "Budget cut"), deal("lost", "No budget"), "stage")).toBe(false);
  });
});

describe("Partner Center's own facts as a CRM holds them", () => {
  const d = agreedOutbound();
  it("respond-by compares in whole seconds: a CRM without milliseconds shows the same date", () => {
    const pc = { ...d, expiresAt: "2026-12-20T01:43:54.163Z" };
    expect(sameField({ ...d, expiresAt: "2026-12-20T01:43:54.000Z" }, pc, "expiresAt")).toBe(true);
    expect(sameField({ ...d, expiresAt: "2026-12-20T01:43:55.000Z" }, pc, "expiresAt")).toBe(false);
    expect(sameField({ ...d, expiresAt: undefined }, pc, "expiresAt")).toBe(false);
  });

  it("a text cut to the CRM field's length is the same value; another text is not", () => {
    const name = `Contoso ${"x".repeat(300)}`;
    expect(sameField({ ...d, sentBy: name.slice(0, 255) }, { ...d, sentBy: name }, "sentBy")).toBe(true);
    expect(sameField({ ...d, sentBy: "Fabrikam" }, { ...d, sentBy: name }, "sentBy")).toBe(false);
    expect(
      sameField(
        { ...d, microsoftOpportunityId: "7-A" },
        { ...d, microsoftOpportunityId: "7-B" },
        "microsoftOpportunityId",
      ),
    ).toBe(false);
  });
});
