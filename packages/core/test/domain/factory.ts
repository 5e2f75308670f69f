import type { CoSellDeal, Customer, MicrosoftAnswer, Person } from "../../src/index.js";
import { responseDeadline } from "../../src/index.js";

/** The tests' fixed "now": every clock is injected, nothing reads the wall clock. */
export const T0 = new Date("2026-03-01T12:00:00.000Z");
export const SECOND = 1000;
export const DAY = 24 * 60 * 60 * SECOND;

/** `T0` shifted by `ms`. */
export const at = (ms: number): Date => new Date(T0.getTime() + ms);

/** A complete person; tests blank one field at a time. */
export function person(overrides: Partial<Person> = {}): Person {
  return {
    firstName: "Sue",
    lastName: "Smith",
    email: "sue@contoso.com",
    phone: "+1 425 555 0100",
    ...overrides,
  };
}

/** A customer with a full address, a DUNS number and a complete contact. */
export function customer(overrides: Partial<Customer> = {}): Customer {
  return {
    name: "Contoso Ltd",
    address: { street: "1 Main St", city: "Redmond", state: "WA", postalCode: "98052", country: "US" },
    duns: "123456789",
    contact: person(),
    ...overrides,
  };
}

/**
 * An outbound private-pipeline deal in `accepted` that passes every validation rule and could invite
 * Microsoft (contact, consent and a solution are there). Tests break one thing at a time.
 */
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
    customer: customer(),
    consentToShareContact: true,
    team: [
      person({ firstName: "Ann", lastName: "Lee", email: "ann@partner.example", phone: "+1 206 555 0101" }),
    ],
    solutions: [{ id: "sol-1", name: "Field Service Accelerator", kind: "own" }],
    invitation: { microsoftHelpRequested: false },
    stage: "accepted",
    favorite: false,
    createdAt: T0.toISOString(),
    updatedAt: T0.toISOString(),
    ...overrides,
  };
}

/** An inbound co-sell deal received at `receivedAt`, expiring after the 14-day response window. */
export function receivedDeal(receivedAt: Date = T0, overrides: Partial<CoSellDeal> = {}): CoSellDeal {
  return validDeal({
    direction: "inbound",
    kind: "coSell",
    stage: "received",
    invitation: { microsoftHelpRequested: true },
    createdAt: receivedAt.toISOString(),
    updatedAt: receivedAt.toISOString(),
    expiresAt: responseDeadline(receivedAt).toISOString(),
    ...overrides,
  });
}

/** An accepted outbound deal on which the partner invited Microsoft; Microsoft's answer is `answer`. */
export function invitedDeal(
  answer: MicrosoftAnswer = "pending",
  overrides: Partial<CoSellDeal> = {},
): CoSellDeal {
  return validDeal({
    kind: "coSell",
    invitation: { microsoftHelpRequested: true, helpNotes: "Need an Azure architect" },
    microsoftAnswer: answer,
    ...overrides,
  });
}

/** Deep-freezes a value so a test can prove a function did not mutate it. */
export function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object") {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
