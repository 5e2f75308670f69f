import type { CoSellDeal } from "../../src/index.js";

export const T0 = new Date("2026-03-01T12:00:00.000Z");

/** A deal that passes every rule; tests break one thing at a time. */
export function validDeal(overrides: Partial<CoSellDeal> = {}): CoSellDeal {
  return {
    id: "ref-1",
    direction: "outbound",
    kind: "privatePipeline",
    name: "Contoso supply chain",
    value: { amount: 50_000, currency: "USD" },
    closeDate: "2026-06-30",
    crmId: "0065g00000AbCdEAAA",
    campaignId: "7015g000000XyZAAA",
    notes: "Wants Dynamics 365 for field service.",
    customer: {
      name: "Contoso Ltd",
      address: { street: "1 Main St", city: "Redmond", state: "WA", postalCode: "98052", country: "US" },
      duns: "123456789",
      contact: { firstName: "Sue", lastName: "Smith", email: "sue@contoso.com", phone: "+1 425 555 0100" },
    },
    consentToShareContact: true,
    team: [{ firstName: "Ann", lastName: "Lee", email: "ann@partner.example", phone: "+1 206 555 0101" }],
    solutions: [{ id: "sol-1", name: "Field Service Accelerator", kind: "own" }],
    invitation: { microsoftHelpRequested: false },
    stage: "accepted",
    favorite: false,
    createdAt: T0.toISOString(),
    updatedAt: T0.toISOString(),
    ...overrides,
  };
}

/** Deep-freezes a value so a test can prove a function did not mutate it. */
export function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object") {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
