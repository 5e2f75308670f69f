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

/**
 * One of Microsoft's people on an engaged deal, read from the connected referral that invited
 * Microsoft (see `engagement.ts`). Partner Center's `Member` documents names, email and phone only;
 * `role` is kept when an answer carries one and is otherwise absent.
 */
export const MicrosoftTeamMemberSchema = PersonSchema.extend({ role: z.string().optional() });
export type MicrosoftTeamMember = z.infer<typeof MicrosoftTeamMemberSchema>;

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

/**
 * The kind of help asked of Microsoft: Partner Center's `inviteContext.assistanceRequestCode` values
 * (partner-center-api.md, fields seen in real answers), in Microsoft's own spelling.
 */
export const HelpTypeSchema = z.enum([
  "Unknown",
  "GeneralOrOther",
  "CustomerTechnicalArchitecture",
  "ProofOfConceptOrDemo",
  "QuotesOrLicensing",
  "PostSalesCustomerSuccess",
  "WorkloadSpecificValueProposition",
]);
export type HelpType = z.infer<typeof HelpTypeSchema>;

/**
 * Partner Center's `salesStage` (Qualify/Develop/Propose/Close). Real answers also carry numeric
 * strings such as `"100"`: those are not one of these and map to "absent", never to an error.
 */
export const SalesStageSchema = z.enum(["qualify", "develop", "propose", "close"]);
export type SalesStage = z.infer<typeof SalesStageSchema>;

/**
 * One entry of Partner Center's `registrations[]` after a win. Microsoft does not document its
 * members, so it is kept as sent; adapters show a one-line summary and never write it back.
 */
export const RegistrationSchema = z.record(z.string(), z.unknown());
export type Registration = z.infer<typeof RegistrationSchema>;

export const InvitationSchema = z.object({
  /** The seller toggled "Would you like Microsoft's help?". */
  microsoftHelpRequested: z.boolean(),
  /** What help is needed (the seed asks sellers to say so in the notes). */
  helpNotes: z.string().optional(),
  /** The kind of help (`inviteContext.assistanceRequestCode`). */
  helpType: HelpTypeSchema.optional(),
});
export type Invitation = z.infer<typeof InvitationSchema>;

/**
 * Microsoft's answer to the partner's invitation, read from the connected referral the partner sent
 * to Microsoft on the same engagement (partner-center-api.md, Corrections: "inviting Microsoft").
 * Microsoft documents no status table for that referral; `engagement.ts` says how each is read.
 */
export const MicrosoftAnswerSchema = z.enum(["pending", "accepted", "declined", "expired"]);
export type MicrosoftAnswer = z.infer<typeof MicrosoftAnswerSchema>;

/** What a seller reads for each answer, in every CRM (the value stays the canonical one). */
export const MICROSOFT_ANSWER_LABELS: Readonly<Record<MicrosoftAnswer, string>> = {
  pending: "Waiting for Microsoft",
  accepted: "Accepted by Microsoft",
  declined: "Declined by Microsoft",
  expired: "Expired unanswered",
};

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
  /**
   * The customer agreed that their contact details may be shared with others
   * (`consent.consentToToShareInfoWithOthers`, Microsoft's spelling). Whether the deal is shared with
   * Microsoft's sellers at all is `kind` (`consentToShareReferralWithMicrosoftSellers`).
   */
  consentToShareContact: z.boolean(),
  /** The customer agreed to be contacted (`consent.consentToContact`). Absent reads as `false`. */
  consentToContact: z.boolean().optional(),
  team: z.array(PersonSchema),
  solutions: z.array(SolutionSchema),
  invitation: InvitationSchema,
  stage: StageSchema,
  /** Why the deal was declined or lost. */
  closeReason: z.string().optional(),
  /** Partner Center's own favorite flag (the seed's Favorites tab); synced both ways. */
  favorite: z.boolean(),
  /** Partner Center's sales stage of the deal, beside the lifecycle `stage`. */
  salesStage: SalesStageSchema.optional(),
  /** Microsoft's opportunity id (`trackingInfo.microsoftMsxId`); Partner Center's, read-only. */
  microsoftOpportunityId: z.string().optional(),
  /**
   * Microsoft's answer to the partner's invitation (absent until Microsoft is invited); Partner
   * Center's, read-only: it comes from the connected referral, never from the partner's own.
   */
  microsoftAnswer: MicrosoftAnswerSchema.optional(),
  /** Microsoft's people on the deal once Microsoft engaged (Partner Center's, read-only). */
  microsoftTeam: z.array(MicrosoftTeamMemberSchema).optional(),
  /** Partner Center's `registrationStatus` (e.g. `None`, `ReviewPending`); read-only. */
  registrationStatus: z.string().optional(),
  /** Partner Center's `registrations[]` after a win, as sent; read-only. */
  registrations: z.array(RegistrationSchema).optional(),
  /** Who sent an inbound referral (`inviteContext.invitedBy.organizationName`); read-only. */
  sentBy: z.string().optional(),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
  /** "Respond by": when an unanswered inbound deal expires (`expirationDateTime`); read-only. */
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
  "consentToContact",
  "team",
  "solutions",
  "invitation",
  "favorite",
  "salesStage",
]);
export type DealField = z.infer<typeof DealFieldSchema>;
