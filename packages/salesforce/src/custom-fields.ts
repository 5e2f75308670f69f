import type { SalesforceFieldNames } from "./config.js";

/** A CustomField component for the Metadata API (`Opportunity.<name>`). */
export interface CustomFieldSpec {
  /** Key in the config's `fields` section. */
  key: keyof SalesforceFieldNames;
  fullName: string;
  /** What `setup()` reports, in an admin's words. */
  description: string;
  metadata: Record<string, unknown>;
}

const LONG_TEXT = { type: "LongTextArea", length: 32768, visibleLines: 4 };

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
  ): CustomFieldSpec => ({
    key,
    fullName: `Opportunity.${f[key]}`,
    description: `${label} (Opportunity.${f[key]})`,
    metadata: { fullName: `Opportunity.${f[key]}`, label, description, ...md },
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
    spec("coSellStage", "Co-sell Stage", "The referral's stage in Partner Center (set by cosell).", {
      type: "Text",
      length: 40,
    }),
    spec("helpRequested", "Microsoft Help Requested", "Would you like Microsoft's help?", {
      type: "Checkbox",
      defaultValue: "false",
    }),
    spec("helpNotes", "Microsoft Help Notes", "What help you need from Microsoft.", LONG_TEXT),
    spec(
      "syncStatus",
      "Co-sell Sync Status",
      "synced, deferred, conflict, error or paused (set by cosell).",
      {
        type: "Text",
        length: 40,
      },
    ),
    spec("lastSyncedAt", "Co-sell Last Synced", "When cosell last synced this opportunity.", {
      type: "DateTime",
    }),
    spec("lastError", "Co-sell Last Sync Error", "Why the last sync failed (set by cosell).", LONG_TEXT),
    spec("consent", "Customer Consent to Share Contact", "The customer agreed to share the contact.", {
      type: "Checkbox",
      defaultValue: "false",
    }),
    spec("closeReason", "Co-sell Close Reason", "Why the deal was declined or lost.", {
      type: "Text",
      length: 255,
    }),
    spec(
      "solutions",
      "Co-sell Solutions",
      "One per line: id | name | own, microsoft or thirdParty.",
      LONG_TEXT,
    ),
    spec("direction", "Co-sell Direction", "inbound when Microsoft sent the referral (set by cosell).", {
      type: "Text",
      length: 20,
    }),
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
];
