import type { Env } from "./env.js";
import { stableGuid } from "./ids.js";
import { activatePendingKeys } from "./records/alternate-keys.js";
import { createRow } from "./records/writes.js";
import { createAttribute, createKey } from "./schema/metadata.js";
import { SEED_IDS } from "./seed.js";

/**
 * The custom columns and alternate key this sandbox assumes a cosell Dynamics adapter creates on
 * `opportunity` (publisher prefix `cosell`, solution `cosell`). They are ordinary metadata payloads:
 * the same JSON the adapter would POST to `EntityDefinitions(LogicalName='opportunity')/Attributes`
 * and `/Keys`, so `installCosellSetup()` exercises the same code path as a real `setup()`.
 * The adapter may choose other names; the emulator accepts any valid custom column.
 */

export const COSELL_PUBLISHER = {
  uniqueName: "cosell",
  friendlyName: "cosell",
  customizationPrefix: "cosell",
  /** Picklist values of `cosell_` columns start at this × 10000. */
  optionValuePrefix: 18342,
} as const;

/** The unmanaged solution the cosell columns are created in (`MSCRM.SolutionUniqueName`). */
export const COSELL_SOLUTION = {
  uniqueName: "cosell",
  friendlyName: "cosell co-sell connector",
  version: "1.0.0.0",
} as const;

const label = (text: string) => ({
  "@odata.type": "Microsoft.Dynamics.CRM.Label",
  LocalizedLabels: [
    { "@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", Label: text, LanguageCode: 1033 },
  ],
});

const string = (schemaName: string, display: string, maxLength: number, format = "Text") => ({
  "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
  AttributeType: "String",
  AttributeTypeName: { Value: "StringType" },
  SchemaName: schemaName,
  MaxLength: maxLength,
  FormatName: { Value: format },
  RequiredLevel: {
    Value: "None",
    CanBeChanged: true,
    ManagedPropertyLogicalName: "canmodifyrequirementlevelsettings",
  },
  DisplayName: label(display),
  Description: label(display),
});

const memo = (schemaName: string, display: string, maxLength: number) => ({
  "@odata.type": "Microsoft.Dynamics.CRM.MemoAttributeMetadata",
  AttributeType: "Memo",
  AttributeTypeName: { Value: "MemoType" },
  SchemaName: schemaName,
  MaxLength: maxLength,
  RequiredLevel: { Value: "None" },
  DisplayName: label(display),
});

const boolean = (schemaName: string, display: string) => ({
  "@odata.type": "Microsoft.Dynamics.CRM.BooleanAttributeMetadata",
  AttributeType: "Boolean",
  AttributeTypeName: { Value: "BooleanType" },
  SchemaName: schemaName,
  DefaultValue: false,
  RequiredLevel: { Value: "None" },
  OptionSet: { TrueOption: { Value: 1, Label: label("Yes") }, FalseOption: { Value: 0, Label: label("No") } },
  DisplayName: label(display),
});

const dateTime = (schemaName: string, display: string) => ({
  "@odata.type": "Microsoft.Dynamics.CRM.DateTimeAttributeMetadata",
  AttributeType: "DateTime",
  AttributeTypeName: { Value: "DateTimeType" },
  SchemaName: schemaName,
  Format: "DateAndTime",
  DateTimeBehavior: { Value: "UserLocal" },
  RequiredLevel: { Value: "None" },
  DisplayName: label(display),
});

/** Sync status choices of `cosell_syncstatus`. */
export const COSELL_SYNC_STATUS = {
  pending: 183420000,
  synced: 183420001,
  error: 183420002,
  conflict: 183420003,
} as const;

const picklist = (schemaName: string, display: string, options: [number, string][]) => ({
  "@odata.type": "Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
  AttributeType: "Picklist",
  AttributeTypeName: { Value: "PicklistType" },
  SchemaName: schemaName,
  RequiredLevel: { Value: "None" },
  DisplayName: label(display),
  OptionSet: {
    "@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata",
    IsGlobal: false,
    OptionSetType: "Picklist",
    Options: options.map(([value, text]) => ({ Value: value, Label: label(text) })),
  },
});

/** Attribute metadata payloads for the opportunity's cosell columns (logical name = lower-cased SchemaName). */
export const COSELL_OPPORTUNITY_ATTRIBUTES = [
  string("cosell_ReferralId", "Referral Identifier", 100),
  string("cosell_EngagementId", "Engagement Identifier", 100),
  string("cosell_ReferralLink", "Referral Link", 500, "Url"),
  boolean("cosell_SyncWithPartnerCenter", "Sync with Partner Center"),
  boolean("cosell_MicrosoftHelpRequested", "Microsoft help requested"),
  memo("cosell_HelpNotes", "How can Microsoft help?", 2000),
  boolean("cosell_ConsentToShareContact", "Consent to share contact"),
  string("cosell_CoSellStatus", "Co-sell status", 50),
  picklist("cosell_SyncStatus", "Sync status", [
    [COSELL_SYNC_STATUS.pending, "Pending"],
    [COSELL_SYNC_STATUS.synced, "Synced"],
    [COSELL_SYNC_STATUS.error, "Error"],
    [COSELL_SYNC_STATUS.conflict, "Conflict"],
  ]),
  dateTime("cosell_LastSyncOn", "Last sync"),
  memo("cosell_LastSyncError", "Last sync error", 4000),
  dateTime("cosell_InvitedOn", "Microsoft invited on"),
  string("cosell_CloseReason", "Close reason", 500),
  string("cosell_SolutionIds", "Co-sell solutions", 1000),
] as const;

/** The alternate key on the referral id that upserts use: `opportunities(cosell_referralid='…')`. */
export const COSELL_REFERRAL_KEY = {
  SchemaName: "cosell_ReferralIdKey",
  DisplayName: label("Referral Identifier key"),
  KeyAttributes: ["cosell_referralid"],
} as const;

/**
 * Creates the cosell publisher and solution, the columns of {@link COSELL_OPPORTUNITY_ATTRIBUTES}
 * and the key {@link COSELL_REFERRAL_KEY} (made Active at once). Idempotent.
 */
export function installCosellSetup(env: Env): void {
  const opportunity = env.schema.require("opportunity");
  const caller = { userId: SEED_IDS.systemUser };
  const publisherId = stableGuid("publisher:cosell");
  env.store.transaction(() => {
    if (!env.store.get("publisher", publisherId))
      createRow(
        env,
        env.schema.require("publisher"),
        {
          uniquename: COSELL_PUBLISHER.uniqueName,
          friendlyname: COSELL_PUBLISHER.friendlyName,
          customizationprefix: COSELL_PUBLISHER.customizationPrefix,
          customizationoptionvalueprefix: COSELL_PUBLISHER.optionValuePrefix,
        },
        caller,
        { id: publisherId },
      );
    const solutionId = stableGuid("solution:cosell");
    if (!env.store.get("solution", solutionId))
      createRow(
        env,
        env.schema.require("solution"),
        {
          uniquename: COSELL_SOLUTION.uniqueName,
          friendlyname: COSELL_SOLUTION.friendlyName,
          version: COSELL_SOLUTION.version,
          "publisherid@odata.bind": `/publishers(${publisherId})`,
        },
        caller,
        { id: solutionId },
      );
  });
  for (const payload of COSELL_OPPORTUNITY_ATTRIBUTES)
    if (!opportunity.columns.has(payload.SchemaName.toLowerCase()))
      createAttribute(env, opportunity, payload, COSELL_SOLUTION.uniqueName);
  if (!opportunity.keys.has(COSELL_REFERRAL_KEY.SchemaName.toLowerCase()))
    createKey(env, opportunity, COSELL_REFERRAL_KEY, COSELL_SOLUTION.uniqueName);
  activatePendingKeys(env, true);
}
