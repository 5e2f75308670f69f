import {
  CLOSE_REASON_LABELS,
  CloseReasonSchema,
  type HelpType,
  HelpTypeSchema,
  MICROSOFT_ANSWER_LABELS,
  MicrosoftAnswerSchema,
  type SalesStage,
  SELLER_RESPONSE_LABELS,
  SellerResponseSchema,
} from "@cosell/core";
import type { SalesforceFieldNames } from "./config.js";
import { GLOBAL_VALUE_SETS, type GlobalValueSetSpec } from "./picklist-values.js";

/** A CustomField component for the Metadata API (`Opportunity.<name>`). */
export interface CustomFieldSpec {
  /** Key in the config's `fields` section. */
  key: keyof SalesforceFieldNames;
  fullName: string;
  /** What `setup()` reports, in an admin's words. */
  description: string;
  metadata: Record<string, unknown>;
  /**
   * Descriptions an earlier version of setup gave the field, when its meaning has changed since:
   * setup replaces them (and the help text) on existing orgs. Anything else is the admin's and kept.
   */
  earlierDescriptions?: readonly string[];
}

const LONG_TEXT = { type: "LongTextArea", length: 32768, visibleLines: 4 };

/** Length of the registrations field: Salesforce's largest long text, so a long list still fits. */
export const REGISTRATIONS_LENGTH = 131072;

/** Sales stage picklist values (API names) in Partner Center's spelling, in order. */
export const SALES_STAGE_VALUES: Readonly<Record<SalesStage, string>> = {
  qualify: "Qualify",
  develop: "Develop",
  propose: "Propose",
  close: "Close",
};

/**
 * Help type picklist: the API names are Microsoft's `assistanceRequestCode` values (what is sent to
 * Partner Center), the labels what a seller reads.
 */
export const HELP_TYPE_LABELS: Readonly<Record<HelpType, string>> = {
  GeneralOrOther: "General or other",
  CustomerTechnicalArchitecture: "Customer technical architecture",
  ProofOfConceptOrDemo: "Proof of concept or demo",
  QuotesOrLicensing: "Quotes or licensing",
  PostSalesCustomerSuccess: "Post-sales customer success",
  WorkloadSpecificValueProposition: "Workload-specific value proposition",
  Unknown: "Not specified",
};

/**
 * A restricted picklist: Salesforce refuses any other value on write, so only values cosell can map are
 * ever stored (an admin can still add some later: the adapter reads those as absent and warns).
 */
function restrictedPicklist(values: readonly { value: string; label: string }[]): Record<string, unknown> {
  return {
    type: "Picklist",
    valueSet: {
      restricted: true,
      valueSetDefinition: {
        sorted: false,
        value: values.map((v) => ({ fullName: v.value, label: v.label, default: false })),
      },
    },
  };
}

/**
 * A picklist taking its values from one of cosell's global value sets: always restricted to the set
 * (global-value-sets.ts), which setup creates before the fields.
 */
function globalPicklist(set: GlobalValueSetSpec): Record<string, unknown> {
  return { type: "Picklist", valueSet: { restricted: true, valueSetName: set.fullName } };
}

/** What a seller reads on the fields only cosell writes (Partner Center's own facts). */
const SET_BY_PARTNER_CENTER =
  "Set by cosell from Partner Center; read-only: a change made here is overwritten at the next sync.";

/**
 * The custom fields `setup()` creates on Opportunity, under the names the config gives them. The
 * referral id is a unique, case-sensitive external ID: inbound creates upsert on it, so a retried
 * create never duplicates an opportunity.
 */
export function customFieldSpecs(f: SalesforceFieldNames): CustomFieldSpec[] {
  const spec = (
    key: keyof SalesforceFieldNames,
    label: string,
    description: string,
    md: Record<string, unknown>,
    inlineHelpText?: string,
  ): CustomFieldSpec => ({
    key,
    fullName: `Opportunity.${f[key]}`,
    description: `${label} (Opportunity.${f[key]})`,
    metadata: {
      fullName: `Opportunity.${f[key]}`,
      label,
      description,
      ...(inlineHelpText ? { inlineHelpText } : {}),
      ...md,
    },
  });
  const out = [
    spec("optIn", "Co-sell Sync", "Tick to share this opportunity with Microsoft Partner Center.", {
      type: "Checkbox",
      defaultValue: "false",
    }),
    spec("referralId", "Co-sell Referral Id", "Partner Center referral id (set by cosell).", {
      type: "Text",
      length: 80,
      externalId: true,
      unique: true,
      caseSensitive: true,
    }),
    spec("referralLink", "Co-sell Referral Link", "Opens the referral in Partner Center.", { type: "Url" }),
    spec(
      "coSellStage",
      "Co-sell Stage",
      "The referral's stage in Partner Center (set by cosell).",
      globalPicklist(GLOBAL_VALUE_SETS.coSellStage),
    ),
    spec("helpRequested", "Microsoft Help Requested", "Would you like Microsoft's help?", {
      type: "Checkbox",
      defaultValue: "false",
    }),
    spec("helpNotes", "Microsoft Help Notes", "What help you need from Microsoft.", LONG_TEXT),
    spec(
      "syncStatus",
      "Co-sell Sync Status",
      "synced, deferred, conflict, error or paused (set by cosell).",
      globalPicklist(GLOBAL_VALUE_SETS.syncStatus),
    ),
    spec("lastSyncedAt", "Co-sell Last Synced", "When cosell last synced this opportunity.", {
      type: "DateTime",
    }),
    spec("lastError", "Co-sell Last Sync Error", "Why the last sync failed (set by cosell).", LONG_TEXT),
    {
      ...spec(
        "consent",
        "Customer Consent to Share Contact",
        "The customer agreed that their contact details may be shared with others (Partner Center: consent to share info with others).",
        { type: "Checkbox", defaultValue: "false" },
        "Tick when the customer agreed that their contact details may be shared with others working on this deal.",
      ),
      // It meant "share the contact with Microsoft" before consent to contact got its own field.
      earlierDescriptions: ["The customer agreed to share the contact."],
    },
    spec(
      "consentToContact",
      "Customer Consent to Be Contacted",
      "The customer agreed to be contacted (Partner Center: consent to contact).",
      { type: "Checkbox", defaultValue: "false" },
      "Tick when the customer agreed to be contacted about this deal.",
    ),
    spec(
      "favorite",
      "Co-sell Favorite",
      "Partner Center's favorite flag (its Favorites tab); synced both ways.",
      { type: "Checkbox", defaultValue: "false" },
      "Tick to mark this co-sell deal as a favorite in Partner Center too.",
    ),
    spec(
      "salesStage",
      "Co-sell Sales Stage",
      "Partner Center's sales stage of the deal: Qualify, Develop, Propose or Close.",
      restrictedPicklist(Object.values(SALES_STAGE_VALUES).map((v) => ({ value: v, label: v }))),
      "Where the deal stands in Partner Center's sales cycle; synced both ways.",
    ),
    spec(
      "helpType",
      "Microsoft Help Type",
      "The kind of help asked of Microsoft (Partner Center's assistance request code).",
      restrictedPicklist(HelpTypeSchema.options.map((v) => ({ value: v, label: HELP_TYPE_LABELS[v] }))),
      "What kind of help you need from Microsoft, with Microsoft Help Requested and Microsoft Help Notes.",
    ),
    spec(
      "respondBy",
      "Co-sell Respond By",
      "When an inbound referral expires unless answered (set by cosell).",
      { type: "DateTime" },
      `Accept or decline the referral before this time, or it expires. ${SET_BY_PARTNER_CENTER}`,
    ),
    spec(
      "microsoftOpportunityId",
      "Microsoft Opportunity Id",
      "Microsoft's own opportunity id for this deal (set by cosell).",
      { type: "Text", length: 80 },
      `Microsoft's opportunity id, to quote when talking to Microsoft's sellers. ${SET_BY_PARTNER_CENTER}`,
    ),
    spec(
      "microsoftAnswer",
      "Microsoft's Answer",
      "Microsoft's answer to the invitation to co-sell this deal (set by cosell).",
      restrictedPicklist(
        MicrosoftAnswerSchema.options.map((v) => ({ value: v, label: MICROSOFT_ANSWER_LABELS[v] })),
      ),
      `Whether Microsoft's seller took up your invitation. ${SET_BY_PARTNER_CENTER}`,
    ),
    spec(
      "registrationStatus",
      "Co-sell Registration Status",
      "Partner Center's registration status, e.g. None or ReviewPending (set by cosell).",
      globalPicklist(GLOBAL_VALUE_SETS.registrationStatus),
      `The deal's registration status in Partner Center. ${SET_BY_PARTNER_CENTER}`,
    ),
    spec(
      "registrations",
      "Co-sell Registrations",
      "Partner Center's registrations after a win, one per line as Partner Center sent it (set by cosell).",
      { type: "LongTextArea", length: REGISTRATIONS_LENGTH, visibleLines: 4 },
      `The deal's registrations in Partner Center, one per line. ${SET_BY_PARTNER_CENTER}`,
    ),
    spec(
      "sentBy",
      "Co-sell Sent By",
      "The organization that sent an inbound referral (set by cosell).",
      { type: "Text", length: 255 },
      `Who sent this referral. ${SET_BY_PARTNER_CENTER}`,
    ),
    spec(
      "response",
      "Co-sell Response",
      "The seller's answer to a referral Microsoft sent: accept or decline; synced both ways.",
      restrictedPicklist(
        SellerResponseSchema.options.map((v) => ({ value: v, label: SELLER_RESPONSE_LABELS[v] })),
      ),
      "Pick Accept or Decline to answer a referral Microsoft sent you (moving the stage works too). To decline, also pick a Co-sell Close Reason.",
    ),
    spec(
      "closeReasonCode",
      "Co-sell Close Reason",
      "Why the referral was declined or the deal lost, from a list; Partner Center receives its label.",
      restrictedPicklist(CloseReasonSchema.options.map((v) => ({ value: v, label: CLOSE_REASON_LABELS[v] }))),
      "Why you decline the referral or lost the deal. With Other, write the reason in Co-sell Close Reason Details.",
    ),
    {
      ...spec(
        "closeReason",
        "Co-sell Close Reason Details",
        "More about why the deal was declined or lost; sent after the reason's label (alone with Other).",
        { type: "Text", length: 255 },
        "Your own words on why the referral was declined or the deal lost (required with the reason Other).",
      ),
      // The whole reason, typed freely, before the listed reason (Co-sell Close Reason) came.
      earlierDescriptions: ["Why the deal was declined or lost."],
    },
    spec(
      "solutions",
      "Co-sell Solutions",
      "One per line: id | name | own, microsoft or thirdParty.",
      LONG_TEXT,
    ),
    spec(
      "direction",
      "Co-sell Direction",
      "inbound when Microsoft sent the referral (set by cosell).",
      globalPicklist(GLOBAL_VALUE_SETS.direction),
    ),
  ];
  if (f.campaign.endsWith("__c"))
    out.push(
      spec("campaign", "Co-sell Campaign Id", "The marketing campaign ID.", { type: "Text", length: 80 }),
    );
  return out;
}

/** Fields cosell writes but sellers should not edit (read-only in the permission set would block cosell too). */
export const STATUS_KEYS: readonly (keyof SalesforceFieldNames)[] = [
  "referralId",
  "referralLink",
  "coSellStage",
  "syncStatus",
  "lastSyncedAt",
  "lastError",
  "direction",
  "respondBy",
  "microsoftOpportunityId",
  "microsoftAnswer",
  "registrationStatus",
  "registrations",
  "sentBy",
];
