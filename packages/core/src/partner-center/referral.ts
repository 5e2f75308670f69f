import { z } from "zod";

/**
 * The Partner Center Referral resource (GET/POST/PUT /v1.0/engagements/referrals), as documented in
 * "Referral resources" and "Create a referral" (shared/reference/partner-center-api.md).
 *
 * Every object is `.loose()`: fields we do not model (requirements.industries, target, links,
 * contactPreference, fields Microsoft adds later) are kept and sent back on update untouched.
 * Most properties are optional because Microsoft's own referrals arrive sparse (the documented list
 * example has neither `name` nor `dealValue`).
 */

/** [doc] ReferralStatus. */
export const ReferralStatusSchema = z.enum(["None", "New", "Active", "Closed"]);
/**
 * [doc] ReferralSubstatus: None, Pending, Received, Accepted, Won, Lost, Declined, Expired. `Engaged`
 * and `Error` are in no documented list; they are accepted when read (older answers) and never written.
 */
export const ReferralSubstatusSchema = z.enum([
  "None",
  "Pending",
  "Received",
  "Accepted",
  "Engaged",
  "Declined",
  "Expired",
  "Lost",
  "Won",
  "Error",
]);
/** [doc] ReferralType: Independent = private pipeline, Shared = co-sell. */
export const ReferralTypeSchema = z.enum(["Independent", "Shared"]);
export type ReferralStatus = z.infer<typeof ReferralStatusSchema>;
export type ReferralSubstatus = z.infer<typeof ReferralSubstatusSchema>;
export type ReferralType = z.infer<typeof ReferralTypeSchema>;

export const MemberSchema = z
  .object({
    firstName: z.string().nullish(),
    lastName: z.string().nullish(),
    phoneNumber: z.string().nullish(),
    email: z.string().nullish(),
  })
  .loose();
export type Member = z.infer<typeof MemberSchema>;

export const ReferralAddressSchema = z
  .object({
    addressLine1: z.string().nullish(),
    addressLine2: z.string().nullish(),
    city: z.string().nullish(),
    state: z.string().nullish(),
    postalCode: z.string().nullish(),
    country: z.string().nullish(),
    region: z.string().nullish(),
  })
  .loose();

/** [doc] SolutionTag; `type` is the documented SolutionType (None, Category, Name). */
export const SolutionTagSchema = z
  .object({ id: z.string(), name: z.string().nullish(), type: z.string().nullish() })
  .loose();
export type SolutionTag = z.infer<typeof SolutionTagSchema>;

export const ReferralSchema = z
  .object({
    id: z.string(),
    engagementId: z.string().nullish(),
    name: z.string().nullish(),
    externalReferenceId: z.string().nullish(),
    /** The seed's "marketing campaign ID": top-level, as Microsoft's connector contract defines it. */
    campaignId: z.string().nullish(),
    createdDateTime: z.string(),
    updatedDateTime: z.string(),
    expirationDateTime: z.string().nullish(),
    acceptedDateTime: z.string().nullish(),
    status: ReferralStatusSchema,
    substatus: ReferralSubstatusSchema,
    statusReason: z.string().nullish(),
    type: ReferralTypeSchema.nullish(),
    /** Newer API versions say which way the referral travels; older ones leave it to inviteContext. */
    direction: z.enum(["Incoming", "Outgoing"]).nullish(),
    qualification: z.string().nullish(),
    customerProfile: z
      .object({
        name: z.string().nullish(),
        address: ReferralAddressSchema.nullish(),
        size: z.string().nullish(),
        team: z.array(MemberSchema).nullish(),
        /** Documented as an array in examples and as {duns, external} in the table: accept both. */
        ids: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]).nullish(),
      })
      .loose()
      .nullish(),
    consent: z
      .object({
        consentToShareReferralWithMicrosoftSellers: z.boolean().nullish(),
        consentToToShareInfoWithOthers: z.boolean().nullish(),
        consentToContact: z.boolean().nullish(),
      })
      .loose()
      .nullish(),
    details: z
      .object({
        notes: z.string().nullish(),
        dealValue: z.number().nullish(),
        currency: z.string().nullish(),
        closingDateTime: z.string().nullish(),
        /** Older spelling of the campaign id, still read (top-level `campaignId` wins). */
        campaignId: z.string().nullish(),
        requirements: z
          .object({ solutions: z.array(SolutionTagSchema).nullish() })
          .loose()
          .nullish(),
      })
      .loose()
      .nullish(),
    team: z.array(MemberSchema).nullish(),
    inviteContext: z
      .object({
        notes: z.string().nullish(),
        /** The kind of help asked of the invited side (seen in real answers; see `HelpTypeSchema`). */
        assistanceRequestCode: z.string().nullish(),
        invitedBy: z
          .object({ organizationId: z.string().nullish(), organizationName: z.string().nullish() })
          .loose()
          .nullish(),
      })
      .loose()
      .nullish(),
    /**
     * Who the referral is for (documented ReferralTarget): `SolutionProfile` entries on a co-sell deal,
     * `{type: "BusinessProfileLocation", id: "msft"}` on the connected referral that invites Microsoft.
     */
    target: z.array(z.object({ type: z.string().nullish(), id: z.string().nullish() }).loose()).nullish(),
    /** Partner Center's own favorite flag (seen in real answers). */
    favorite: z.boolean().nullish(),
    /**
     * Qualify/Develop/Propose/Close in real answers, but numeric values (`"100"`) occur too: any
     * string or number is accepted here and an unknown one maps to no sales stage, never to an error.
     */
    salesStage: z.union([z.string(), z.number()]).nullish(),
    /** Set by Partner Center (e.g. `None`, `ReviewPending`); read-only for cosell. */
    registrationStatus: z.string().nullish(),
    /** The deal registrations after a win; their members are undocumented, kept as sent. */
    registrations: z.array(z.unknown()).nullish(),
    /** Microsoft's own tracking: `microsoftMsxId` is Microsoft's opportunity id once its seller engages. */
    trackingInfo: z.object({ microsoftMsxId: z.string().nullish() }).loose().nullish(),
    eTag: z.string().nullish(),
  })
  .loose();
export type Referral = z.infer<typeof ReferralSchema>;

/** A referral as sent in a create (POST): no server-assigned fields yet. */
export type NewReferral = Omit<
  Referral,
  "id" | "createdDateTime" | "updatedDateTime" | "eTag" | "status" | "substatus"
> &
  Partial<Pick<Referral, "status" | "substatus">>;

/** [doc] A list page: `value` plus `@odata.nextLink` when there are more (follow it as given). */
export const ReferralPageSchema = z
  .object({
    value: z.array(ReferralSchema),
    "@odata.nextLink": z.string().nullish(),
    "@odata.count": z.number().nullish(),
  })
  .loose();
export type ReferralPage = z.infer<typeof ReferralPageSchema>;

/** A list page whose referrals are validated one by one (a bad one is reported, not fatal). */
export const ReferralPageEnvelopeSchema = z
  .object({
    value: z.array(z.unknown()),
    "@odata.nextLink": z.string().nullish(),
    "@odata.count": z.number().nullish(),
  })
  .loose();
export type ReferralPageEnvelope = z.infer<typeof ReferralPageEnvelopeSchema>;

/** [doc] Partner API error body. */
export const ApiErrorBodySchema = z.object({
  error: z
    .object({
      code: z.string(),
      message: z.string(),
      target: z.string().nullish(),
      innerError: z.unknown().optional(),
    })
    .loose(),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBodySchema>;

/** The organisation id Microsoft uses in `inviteContext.invitedBy` [doc example]. */
export const MICROSOFT_ORGANIZATION_ID = "msft";
