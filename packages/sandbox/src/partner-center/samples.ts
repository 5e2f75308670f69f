import { MICROSOFT_ORGANIZATION_ID, type Referral } from "@cosell/core";

/** A referral with every property optional at every depth: what a test overrides. */
export type DeepPartial<T> = T extends (infer U)[]
  ? U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | null }
    : T;

export type ReferralOverrides = DeepPartial<Referral> & Record<string, unknown>;

const isPlain = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === "object" && !Array.isArray(v);

/** `base` with `patch` laid over it: objects merge key by key, arrays and values replace. */
export function deepMerge<T extends Record<string, unknown>>(base: T, patch: Record<string, unknown>): T {
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    out[k] =
      isPlain(v) && isPlain(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : structuredClone(v);
  }
  return out as T;
}

/** Customers the Microsoft seller cycles through, modelled on the documented examples. */
const CUSTOMERS = [
  {
    customer: "Fabrikam Inc",
    address: {
      addressLine1: "500 Pine St",
      city: "Seattle",
      state: "WA",
      postalCode: "98101",
      country: "US",
    },
    size: "100to500employees",
    contact: {
      firstName: "Raj",
      lastName: "Patel",
      email: "raj.patel@fabrikam.example",
      phoneNumber: "2065550199",
    },
    deal: "Fabrikam data platform modernization",
    value: 120_000,
    industry: "Manufacturing",
    product: "Azure",
    solution: { id: "AzureDataPlatform", name: "Azure data platform", type: "Category" },
    notes:
      "Customer asked Microsoft for a partner with data platform skills to move their warehouse to Azure.",
    help: "CustomerTechnicalArchitecture",
  },
  {
    customer: "Contoso Customer Inc",
    address: {
      addressLine1: "One Microsoft Way",
      addressLine2: "34",
      city: "Redmond",
      state: "WA",
      postalCode: "98052",
      country: "US",
    },
    size: "10to50employees",
    contact: {
      firstName: "Sue",
      lastName: "Smith",
      email: "sue.smith@contoso.example",
      phoneNumber: "1234567890",
    },
    deal: "Contoso supply chain on Dynamics 365",
    value: 50_000,
    industry: "Manufacturing",
    product: "Dynamics365Enterprise",
    solution: { id: "Dynamics365forFieldService", name: "Dynamics 365 for Field Service", type: "Category" },
    notes:
      "Customer is looking to leverage Dynamics 365 to manage their supply chain, with custom apps for their business processes.",
    help: "GeneralOrOther",
  },
  {
    customer: "Northwind Traders",
    address: { addressLine1: "12 Harbour Rd", city: "London", postalCode: "E14 5AB", country: "GB" },
    size: "50to100employees",
    contact: {
      firstName: "Ana",
      lastName: "Silva",
      email: "ana.silva@northwind.example",
      phoneNumber: "442079460000",
    },
    deal: "Northwind Microsoft 365 rollout",
    value: 35_000,
    industry: "Retail",
    product: "Microsoft365",
    solution: { id: "Microsoft365Copilot", name: "Microsoft 365 Copilot", type: "Category" },
    notes: "Needs help deploying Microsoft 365 and training their store staff.",
    help: "PostSalesCustomerSuccess",
  },
] as const;

/**
 * A realistic referral sent by a Microsoft seller (before the server assigns id, eTag and times):
 * customer with address and contact, consent, deal value, requirements with a Microsoft solution, the
 * Microsoft seller on the team, `inviteContext.invitedBy` Microsoft (`msft`, organizationName
 * "Microsoft") with an `assistanceRequestCode`, not starred, `registrationStatus: None`. `n` picks the
 * customer so that successive referrals differ.
 */
export function sampleInboundReferral(n: number, now: Date): Record<string, unknown> {
  const c = CUSTOMERS[n % CUSTOMERS.length]!;
  const closing = new Date(now.getTime() + 90 * 24 * 60 * 60 * 1000);
  closing.setUTCHours(0, 0, 0, 0);
  return {
    name: c.deal,
    externalReferenceId: null,
    status: "New",
    substatus: "Pending",
    qualification: "SalesQualified",
    type: "Shared",
    customerProfile: {
      name: c.customer,
      address: { ...c.address },
      size: c.size,
      team: [{ contactPreference: { locale: "en-US", disableNotifications: false }, ...c.contact }],
      ids: {},
    },
    consent: {
      consentToShareReferralWithMicrosoftSellers: true,
      consentToToShareInfoWithOthers: true,
      consentToContact: true,
    },
    details: {
      notes: c.notes,
      dealValue: c.value,
      currency: "USD",
      closingDateTime: closing.toISOString(),
      requirements: {
        industries: [{ id: c.industry }],
        products: [{ id: c.product }],
        solutions: [{ ...c.solution }],
      },
    },
    team: [
      {
        contactPreference: { locale: "en-US", disableNotifications: false },
        firstName: "John",
        lastName: "Doe",
        phoneNumber: "1231231234",
        email: "john.doe@microsoft.com",
      },
    ],
    inviteContext: {
      notes: `Hi partner, hoping you can help ${c.customer}. Thanks, John @ Microsoft`,
      assistanceRequestCode: c.help,
      invitedBy: { organizationId: MICROSOFT_ORGANIZATION_ID, organizationName: "Microsoft" },
    },
    // As real answers carry them: not starred, no registration yet, Microsoft's sales stage.
    favorite: false,
    salesStage: "Qualify",
    registrationStatus: "None",
  };
}
