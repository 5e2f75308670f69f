import { type CoSellDeal, emptyDeal, type Person } from "../domain/deal.js";

/** A team member who passes every validation rule. */
export const SAMPLE_SELLER: Person = {
  firstName: "Ann",
  lastName: "Lee",
  email: "ann@partner.example",
  phone: "+1 206 555 0101",
};

/** A customer contact who passes every validation rule. */
export const SAMPLE_CONTACT: Person = {
  firstName: "Sue",
  lastName: "Smith",
  email: "sue@contoso.example",
  phone: "+1 425 555 0100",
};

/**
 * The fields a seller fills in for a deal that may be shared with Partner Center (every rule of
 * `validateDeal` holds). Tests override one thing at a time. Only fields a CRM can hold are set:
 * no referral id, eTag or timestamps.
 */
export function sampleDeal(overrides: Partial<CoSellDeal> = {}): Partial<CoSellDeal> {
  return {
    direction: "outbound",
    kind: "privatePipeline",
    name: "Contoso supply chain",
    value: { amount: 50_000, currency: "USD" },
    closeDate: "2026-06-30",
    notes: "Wants Dynamics 365 for field service.",
    customer: {
      name: "Contoso Ltd",
      address: { street: "1 Main St", city: "Redmond", state: "WA", postalCode: "98052", country: "US" },
      contact: { ...SAMPLE_CONTACT },
    },
    consentToShareContact: true,
    team: [{ ...SAMPLE_SELLER }],
    solutions: [{ id: "sol-field-service", name: "Field Service Accelerator", kind: "own" }],
    invitation: { microsoftHelpRequested: false },
    stage: "accepted",
    ...overrides,
  };
}

/** What Microsoft fills in on a referral it sends to the partner (inbound, waiting for an answer). */
export function sampleInbound(overrides: Partial<CoSellDeal> = {}): Partial<CoSellDeal> {
  return {
    direction: "inbound",
    kind: "coSell",
    name: "Fabrikam data platform",
    value: { amount: 120_000, currency: "USD" },
    closeDate: "2026-09-30",
    notes: "Customer asked Microsoft for a partner with data platform skills.",
    customer: {
      name: "Fabrikam Inc",
      address: { city: "Seattle", state: "WA", postalCode: "98101", country: "US" },
      contact: {
        firstName: "Raj",
        lastName: "Patel",
        email: "raj@fabrikam.example",
        phone: "+1 206 555 0199",
      },
    },
    consentToShareContact: true,
    team: [],
    solutions: [{ id: "sol-azure-data", name: "Azure data platform", kind: "microsoft" }],
    invitation: { microsoftHelpRequested: false },
    ...overrides,
  };
}

/**
 * A complete canonical deal from a partial one: the blanks a new record starts with, then `partial`.
 * Used by the in-memory CRM and Partner Center to store whole deals.
 */
export function completeDeal(partial: Partial<CoSellDeal>, now: Date): CoSellDeal {
  return { ...emptyDeal(now, partial.direction), ...structuredClone(partial) };
}
