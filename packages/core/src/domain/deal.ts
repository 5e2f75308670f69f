import { z } from "zod";

/**
 * The canonical co-sell deal. Both sides are mapped into this shape (Partner Center referrals by
 * `partner-center/mapping.ts`, CRM records by each adapter's field map), compared here, and mapped
 * back. The schema checks *shape*; the seed's business rules live in `validation.ts` so that each
 * broken rule gets its own named code.
 */

/** The seed's lifecycle stages. `declined`, `expired`, `won` and `lost` are archived. */
export const StageSchema = z.enum(["received", "accepted", "declined", "expired", "won", "lost"]);
export type Stage = z.infer<typeof StageSchema>;

/** Inbound: sent to the partner by Microsoft or another partner. Outbound: created by the partner. */
export const DirectionSchema = z.enum(["inbound", "outbound"]);
export type Direction = z.infer<typeof DirectionSchema>;

/** Co-sell: Microsoft sellers help. Private pipeline: tracked by the partner alone, details not shared. */
export const DealKindSchema = z.enum(["coSell", "privatePipeline"]);
export type DealKind = z.infer<typeof DealKindSchema>;

/** Whose solution it is: the partner's own co-sell-ready one, Microsoft's, or another partner's. */
export const SolutionKindSchema = z.enum(["own", "microsoft", "thirdParty"]);
export type SolutionKind = z.infer<typeof SolutionKindSchema>;

/** A person on the deal: a member of the partner's team or the customer's contact. */
export const PersonSchema = z.object({
  firstName: z.string(),
  lastName: z.string(),
  email: z.string(),
  phone: z.string(),
});
export type Person = z.infer<typeof PersonSchema>;

export const MoneySchema = z.object({
  /** Estimated deal value. Must be ≥ 0 (checked by the rules, so the error is named). */
  amount: z.number().finite(),
  /** ISO 4217 code, e.g. `USD`. */
  currency: z.string(),
});
export type Money = z.infer<typeof MoneySchema>;

export const AddressSchema = z.object({
  street: z.string().optional(),
  street2: z.string().optional(),
  city: z.string().optional(),
  state: z.string().optional(),
  postalCode: z.string().optional(),
  /** ISO 3166-1 alpha-2, e.g. `US`. */
  country: z.string(),
});
export type Address = z.infer<typeof AddressSchema>;

export const CustomerSchema = z.object({
  name: z.string(),
  address: AddressSchema,
  /** Dun & Bradstreet number: tells apart legal entities that share a location. */
  duns: z.string().optional(),
  /** Primary customer contact. Optional, but required when Microsoft's help is requested. */
  contact: PersonSchema.optional(),
});
export type Customer = z.infer<typeof CustomerSchema>;

export const SolutionSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: SolutionKindSchema,
});
export type Solution = z.infer<typeof SolutionSchema>;

export const InvitationSchema = z.object({
  /** The seller toggled "Would you like Microsoft's help?". */
  microsoftHelpRequested: z.boolean(),
  /** What help is needed (the seed asks sellers to say so in the notes). */
  helpNotes: z.string().optional(),
  /** When Microsoft was invited; Microsoft has 14 days from here to engage. */
  invitedAt: z.iso.datetime({ offset: true }).optional(),
  /** When a Microsoft seller engaged, if they did. */
  engagedAt: z.iso.datetime({ offset: true }).optional(),
});
export type Invitation = z.infer<typeof InvitationSchema>;

const isoDate = z.iso.date();
const isoDateTime = z.iso.datetime({ offset: true });

export const CoSellDealSchema = z.object({
  /** Partner Center referral id; absent until the referral exists. */
  id: z.string().min(1).optional(),
  /** Partner Center engagement id shared by the referrals of one deal. */
  engagementId: z.string().optional(),
  direction: DirectionSchema,
  kind: DealKindSchema,
  /** Deal name. Required by the rules, but inbound referrals may arrive without one. */
  name: z.string(),
  value: MoneySchema.optional(),
  /** Estimated close date, `YYYY-MM-DD`. */
  closeDate: isoDate.optional(),
  /** The opportunity id in the partner's CRM. */
  crmId: z.string().optional(),
  /** The marketing campaign that produced the deal. */
  campaignId: z.string().optional(),
  notes: z.string().optional(),
  customer: CustomerSchema,
  /** The partner has the customer's consent to share the contact with Microsoft. */
  consentToShareContact: z.boolean(),
  team: z.array(PersonSchema),
  solutions: z.array(SolutionSchema),
  invitation: InvitationSchema,
  stage: StageSchema,
  /** Why the deal was declined or lost. */
  closeReason: z.string().optional(),
  favorite: z.boolean(),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
  /** When an unanswered inbound deal expires (received + 14 days). */
  expiresAt: isoDateTime.optional(),
  /** Concurrency token of the remote copy (Partner Center eTag). */
  version: z.string().optional(),
});
export type CoSellDeal = z.infer<typeof CoSellDealSchema>;

/**
 * A deal with every required field blank, stamped `at`: what a new record starts from before its
 * fields are filled in (and the placeholder an adapter reports for a record known only as deleted).
 */
export function emptyDeal(at: Date, direction: Direction = "outbound"): CoSellDeal {
  const stamp = at.toISOString();
  return {
    direction,
    kind: "privatePipeline",
    name: "",
    customer: { name: "", address: { country: "" } },
    consentToShareContact: false,
    team: [],
    solutions: [],
    invitation: { microsoftHelpRequested: false },
    stage: direction === "inbound" ? "received" : "accepted",
    favorite: false,
    createdAt: stamp,
    updatedAt: stamp,
  };
}

/** The fields of a deal that a lifecycle stage may allow editing (see `editableFields`). */
export const DealFieldSchema = z.enum([
  "name",
  "value",
  "closeDate",
  "crmId",
  "campaignId",
  "notes",
  "customer",
  "consentToShareContact",
  "team",
  "solutions",
  "invitation",
  "favorite",
]);
export type DealField = z.infer<typeof DealFieldSchema>;
