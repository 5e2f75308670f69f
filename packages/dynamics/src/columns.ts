import type { SyncState } from "@cosell/core";

/**
 * The custom columns cosell adds to `opportunity`, named from the publisher prefix (`cosell_…`).
 * Seller-facing: the sync flag, Microsoft help, consent, co-sell status (also how a seller accepts an
 * inbound referral) and close reason. Written by cosell only: referral id/link, sync status, last
 * sync, last error. Solutions are kept as JSON in one memo column (see docs/dynamics.md for why).
 */
export interface CosellColumns {
  referralId: string;
  referralLink: string;
  direction: string;
  syncFlag: string;
  helpRequested: string;
  helpNotes: string;
  consent: string;
  coSellStatus: string;
  closeReason: string;
  solutions: string;
  team: string;
  syncStatus: string;
  lastSyncOn: string;
  lastSyncError: string;
  /** SchemaName of the alternate key on the referral id. */
  referralKey: string;
}

/** Logical names of the custom columns for a prefix. */
export function columnsFor(prefix: string): CosellColumns {
  const c = (n: string) => `${prefix}_${n}`;
  return {
    referralId: c("referralid"),
    referralLink: c("referrallink"),
    direction: c("referraldirection"),
    syncFlag: c("syncwithpartnercenter"),
    helpRequested: c("microsofthelprequested"),
    helpNotes: c("helpnotes"),
    consent: c("consenttosharecontact"),
    coSellStatus: c("cosellstatus"),
    closeReason: c("closereason"),
    solutions: c("solutions"),
    team: c("team"),
    syncStatus: c("syncstatus"),
    lastSyncOn: c("lastsyncon"),
    lastSyncError: c("lastsyncerror"),
    referralKey: `${prefix}_ReferralIdKey`,
  };
}

/** Sync states in the order of the `…_syncstatus` choice's options (value = prefix × 10000 + index). */
export const SYNC_STATES: readonly SyncState[] = [
  "pending",
  "synced",
  "error",
  "conflict",
  "deferred",
  "paused",
];

/** Option value of a sync state. */
export function syncStateValue(optionValuePrefix: number, state: SyncState): number {
  return optionValuePrefix * 10000 + SYNC_STATES.indexOf(state);
}

/** Sync state of an option value (undefined when unknown). */
export function syncStateOf(optionValuePrefix: number, value: unknown): SyncState | undefined {
  if (typeof value !== "number") return undefined;
  return SYNC_STATES[value - optionValuePrefix * 10000];
}

const label = (text: string) => ({
  "@odata.type": "Microsoft.Dynamics.CRM.Label",
  LocalizedLabels: [
    { "@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", Label: text, LanguageCode: 1033 },
  ],
});

const base = (type: string, typeName: string, schemaName: string, display: string, description: string) => ({
  "@odata.type": `Microsoft.Dynamics.CRM.${type}AttributeMetadata`,
  AttributeType: type,
  AttributeTypeName: { Value: typeName },
  SchemaName: schemaName,
  RequiredLevel: {
    Value: "None",
    CanBeChanged: true,
    ManagedPropertyLogicalName: "canmodifyrequirementlevelsettings",
  },
  DisplayName: label(display),
  Description: label(description),
});

/** One column setup creates: its logical name and the metadata POSTed for it. */
export interface ColumnDefinition {
  logicalName: string;
  display: string;
  payload: Record<string, unknown>;
}

/** Attribute metadata (dynamics.md §4) of every custom column, for `setup()`. */
export function columnDefinitions(prefix: string, optionValuePrefix: number): ColumnDefinition[] {
  const schema = (n: string) => `${prefix}_${n}`;
  const string = (n: string, display: string, description: string, maxLength: number, format = "Text") => ({
    logicalName: schema(n).toLowerCase(),
    display,
    payload: {
      ...base("String", "StringType", schema(n), display, description),
      MaxLength: maxLength,
      FormatName: { Value: format },
    },
  });
  const memo = (n: string, display: string, description: string, maxLength: number) => ({
    logicalName: schema(n).toLowerCase(),
    display,
    payload: { ...base("Memo", "MemoType", schema(n), display, description), MaxLength: maxLength },
  });
  const boolean = (n: string, display: string, description: string) => ({
    logicalName: schema(n).toLowerCase(),
    display,
    payload: {
      ...base("Boolean", "BooleanType", schema(n), display, description),
      DefaultValue: false,
      OptionSet: {
        TrueOption: { Value: 1, Label: label("Yes") },
        FalseOption: { Value: 0, Label: label("No") },
      },
    },
  });
  const dateTime = (n: string, display: string, description: string) => ({
    logicalName: schema(n).toLowerCase(),
    display,
    payload: {
      ...base("DateTime", "DateTimeType", schema(n), display, description),
      Format: "DateAndTime",
      DateTimeBehavior: { Value: "UserLocal" },
    },
  });
  const stateLabels: Record<SyncState, string> = {
    pending: "Pending",
    synced: "Synced",
    error: "Error",
    conflict: "Conflict",
    deferred: "Deferred",
    paused: "Paused",
  };
  return [
    string("ReferralId", "Referral Identifier", "Partner Center referral id (written by cosell).", 100),
    string(
      "ReferralLink",
      "Referral Link",
      "Link to the referral in Partner Center (written by cosell).",
      500,
      "Url",
    ),
    string(
      "ReferralDirection",
      "Referral direction",
      "inbound when Microsoft sent the referral (written by cosell).",
      20,
    ),
    boolean(
      "SyncWithPartnerCenter",
      "Sync with Partner Center",
      "Seller opts the opportunity into co-sell sync.",
    ),
    boolean("MicrosoftHelpRequested", "Microsoft help requested", "Would you like Microsoft's help?"),
    memo("HelpNotes", "How can Microsoft help?", "What help the seller needs from Microsoft.", 2000),
    boolean(
      "ConsentToShareContact",
      "Consent to share contact",
      "The customer agreed to share the contact with Microsoft.",
    ),
    string(
      "CoSellStatus",
      "Co-sell status",
      "Co-sell stage in Partner Center; set Accepted to accept an inbound referral.",
      50,
    ),
    string("CloseReason", "Co-sell close reason", "Why the referral was declined or lost.", 500),
    memo(
      "Solutions",
      "Co-sell solutions",
      "Solutions on the referral (JSON list of {id, name, kind}).",
      4000,
    ),
    memo(
      "Team",
      "Co-sell team",
      "Team members on the referral besides the owner (JSON list of people).",
      4000,
    ),
    {
      logicalName: schema("SyncStatus").toLowerCase(),
      display: "Sync status",
      payload: {
        ...base(
          "Picklist",
          "PicklistType",
          schema("SyncStatus"),
          "Sync status",
          "Co-sell sync state (written by cosell).",
        ),
        OptionSet: {
          "@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata",
          IsGlobal: false,
          OptionSetType: "Picklist",
          Options: SYNC_STATES.map((s) => ({
            Value: syncStateValue(optionValuePrefix, s),
            Label: label(stateLabels[s]),
          })),
        },
      },
    },
    dateTime(
      "LastSyncOn",
      "Last sync",
      "When the record last synced with Partner Center (written by cosell).",
    ),
    memo("LastSyncError", "Last sync error", "Why the last sync failed (written by cosell).", 4000),
  ];
}

/** Alternate key metadata on the referral id (upserts use `opportunities(<prefix>_referralid='…')`). */
export function referralKeyDefinition(prefix: string): Record<string, unknown> {
  return {
    SchemaName: `${prefix}_ReferralIdKey`,
    DisplayName: label("Referral Identifier key"),
    KeyAttributes: [`${prefix}_referralid`],
  };
}
