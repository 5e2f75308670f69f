import {
  CLOSE_REASON_LABELS,
  type CloseReason,
  type HelpType,
  MICROSOFT_ANSWER_LABELS,
  type MicrosoftAnswer,
  type SalesStage,
  SELLER_RESPONSE_LABELS,
  type SellerResponse,
  type SyncState,
} from "@cosell/core";

/**
 * The custom columns cosell adds to `opportunity`, named from the publisher prefix (`cosell_…`).
 * Seller-facing: the sync flag, Microsoft help (and its kind), the two consents, favorite, Partner
 * Center's sales stage, the co-sell stage, direction and registration (choices, choice-columns.ts), the
 * seller's response to an inbound referral, the close reason (a choice) and its details. Written by
 * cosell only: referral id/link, sync status, last sync, last error, and Partner Center's own facts
 * (respond by, Microsoft's opportunity id, Microsoft's answer to an invitation, registration, who
 * sent it). Solutions and Microsoft's team are rows of cosell's own tables (solution-tables.ts); the
 * `solutions` memo column is only read once, by setup, to move an earlier version's JSON into rows.
 */
export interface CosellColumns {
  referralId: string;
  referralLink: string;
  direction: string;
  syncFlag: string;
  helpRequested: string;
  helpNotes: string;
  /** Consent to share the contact's details with others (`consentToToShareInfoWithOthers`). */
  consent: string;
  consentToContact: string;
  favorite: string;
  salesStage: string;
  helpType: string;
  respondBy: string;
  microsoftOpportunityId: string;
  microsoftAnswer: string;
  /** Partner Center's exact registration status (text, read-only). */
  registrationStatus: string;
  /** The registration status as a choice to filter on (choice-columns.ts). */
  registrationStatusCode: string;
  registrations: string;
  sentBy: string;
  /** The co-sell stage, a choice (choice-columns.ts); named after the text column it replaced. */
  coSellStatus: string;
  /** The seller's answer to an inbound referral (a choice: accept, decline). */
  response: string;
  /** Why the deal was declined or lost, picked from a list (a choice). */
  closeReasonCode: string;
  /** The close reason's details: the seller's own words (the whole reason when the code is Other). */
  closeReason: string;
  solutions: string;
  team: string;
  syncStatus: string;
  lastSyncOn: string;
  lastSyncError: string;
  /** SchemaName of the alternate key on the referral id. */
  referralKey: string;
}

/** The option value prefix of the publisher setup creates, unless configured (`crm.optionValuePrefix`). */
export const DEFAULT_OPTION_VALUE_PREFIX = 18342;

/** Logical names of the custom columns for a prefix. */
export function columnsFor(prefix: string): CosellColumns {
  const c = (n: string) => `${prefix}_${n}`;
  return {
    referralId: c("referralid"),
    referralLink: c("referrallink"),
    // Choices since they replaced the text columns referraldirection and cosellstatus (choice-columns.ts).
    direction: c("direction"),
    syncFlag: c("syncwithpartnercenter"),
    helpRequested: c("microsofthelprequested"),
    helpNotes: c("helpnotes"),
    consent: c("consenttosharecontact"),
    consentToContact: c("consenttocontact"),
    favorite: c("favorite"),
    salesStage: c("salesstage"),
    helpType: c("helptype"),
    respondBy: c("respondby"),
    microsoftOpportunityId: c("microsoftopportunityid"),
    microsoftAnswer: c("microsoftanswer"),
    registrationStatus: c("registrationstatus"),
    registrationStatusCode: c("registrationstatuscode"),
    registrations: c("registrations"),
    sentBy: c("sentby"),
    coSellStatus: c("cosellstage"),
    response: c("response"),
    closeReasonCode: c("closereasoncode"),
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

/**
 * The Web API reads and writes a choice as its integer value, so every choice cosell defines maps
 * each canonical value to a fixed offset from the publisher's option value prefix (value = prefix ×
 * 10000 + offset). Offsets are spelled out rather than taken from list order: a value once written
 * to an environment must keep its meaning when a new one is added.
 */
export interface Choice<T extends string> {
  /** Offset of each canonical value. */
  offsets: Readonly<Record<T, number>>;
  /** English label of each canonical value (what the seller sees). */
  labels: Readonly<Record<T, string>>;
}

/** Partner Center's sales stage (`…_salesstage`). */
export const SALES_STAGE_CHOICE: Choice<SalesStage> = {
  offsets: { qualify: 0, develop: 1, propose: 2, close: 3 },
  labels: { qualify: "Qualify", develop: "Develop", propose: "Propose", close: "Close" },
};

/** The kind of help asked of Microsoft (`…_helptype`): `inviteContext.assistanceRequestCode`. */
export const HELP_TYPE_CHOICE: Choice<HelpType> = {
  offsets: {
    Unknown: 0,
    GeneralOrOther: 1,
    CustomerTechnicalArchitecture: 2,
    ProofOfConceptOrDemo: 3,
    QuotesOrLicensing: 4,
    PostSalesCustomerSuccess: 5,
    WorkloadSpecificValueProposition: 6,
  },
  labels: {
    Unknown: "Not specified",
    GeneralOrOther: "General or other",
    CustomerTechnicalArchitecture: "Customer technical architecture",
    ProofOfConceptOrDemo: "Proof of concept or demo",
    QuotesOrLicensing: "Quotes or licensing",
    PostSalesCustomerSuccess: "Post-sales customer success",
    WorkloadSpecificValueProposition: "Workload-specific value proposition",
  },
};

/** Microsoft's answer to the partner's invitation (`…_microsoftanswer`), read from the connected referral. */
export const MICROSOFT_ANSWER_CHOICE: Choice<MicrosoftAnswer> = {
  offsets: { pending: 0, accepted: 1, declined: 2, expired: 3 },
  labels: MICROSOFT_ANSWER_LABELS,
};

/** The seller's response to an inbound referral (`…_response`). */
export const SELLER_RESPONSE_CHOICE: Choice<SellerResponse> = {
  offsets: { accept: 0, decline: 1 },
  labels: SELLER_RESPONSE_LABELS,
};

/** Why a deal was declined or lost (`…_closereasoncode`); the text column holds the details. */
export const CLOSE_REASON_CHOICE: Choice<CloseReason> = {
  offsets: {
    noCapacity: 0,
    notAFit: 1,
    customerUnreachable: 2,
    duplicate: 3,
    lostToCompetitor: 4,
    noBudgetOrTiming: 5,
    other: 6,
  },
  labels: CLOSE_REASON_LABELS,
};

/** Option value of a canonical value. */
export function choiceValue<T extends string>(choice: Choice<T>, optionValuePrefix: number, v: T): number {
  return optionValuePrefix * 10000 + choice.offsets[v];
}

/** Canonical value of an option value; undefined when the environment holds one cosell does not know. */
export function choiceOf<T extends string>(
  choice: Choice<T>,
  optionValuePrefix: number,
  value: number,
): T | undefined {
  const offset = value - optionValuePrefix * 10000;
  return (Object.keys(choice.offsets) as T[]).find((k) => choice.offsets[k] === offset);
}

/** The option values (and labels) of a choice, as `…AttributeMetadata.OptionSet.Options`. */
export function choiceOptions<T extends string>(
  choice: Choice<T>,
  optionValuePrefix: number,
): { value: number; label: string }[] {
  return (Object.keys(choice.offsets) as T[]).map((k) => ({
    value: choiceValue(choice, optionValuePrefix, k),
    label: choice.labels[k],
  }));
}

export const label = (text: string) => ({
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

/** Length of the registrations memo column. */
export const REGISTRATIONS_MAX_LENGTH = 10000;

/** One column setup creates: its logical name and the metadata POSTed for it. */
export interface ColumnDefinition {
  logicalName: string;
  display: string;
  payload: Record<string, unknown>;
  /**
   * Descriptions an earlier setup gave the column, when its meaning has changed since: setup
   * rewrites them on existing environments. Any other description is the admin's and kept.
   */
  earlierDescriptions?: readonly string[];
}

/**
 * Builders of column metadata (`…AttributeMetadata` payloads) named from the publisher prefix: the
 * opportunity columns below and the columns of cosell's own tables use the same ones.
 */
export function columnBuilders(prefix: string) {
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
  const picklist = (
    n: string,
    display: string,
    description: string,
    options: { value: number; label: string }[],
  ) => ({
    logicalName: schema(n).toLowerCase(),
    display,
    payload: {
      ...base("Picklist", "PicklistType", schema(n), display, description),
      // A local choice: these columns are opportunity's alone. Values are given explicitly so they
      // are the same in every environment (the Web API reads and writes the integer).
      OptionSet: {
        "@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata",
        IsGlobal: false,
        OptionSetType: "Picklist",
        Options: options.map((o) => ({ Value: o.value, Label: label(o.label) })),
      },
    },
  });
  return { string, memo, boolean, dateTime, picklist };
}

/** Attribute metadata (dynamics.md §4) of every custom column, for `setup()`. */
export function columnDefinitions(prefix: string, optionValuePrefix: number): ColumnDefinition[] {
  const { string, memo, boolean, dateTime, picklist } = columnBuilders(prefix);
  const readOnly = "Set by Partner Center and written by cosell; read-only: an edit here is overwritten.";
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
    boolean(
      "SyncWithPartnerCenter",
      "Sync with Partner Center",
      "Seller opts the opportunity into co-sell sync.",
    ),
    boolean("MicrosoftHelpRequested", "Microsoft help requested", "Would you like Microsoft's help?"),
    memo("HelpNotes", "How can Microsoft help?", "What help the seller needs from Microsoft.", 2000),
    {
      ...boolean(
        "ConsentToShareContact",
        "Consent to share contact",
        "The customer agreed that their contact details may be shared with others (Partner Center's consentToToShareInfoWithOthers). Whether the deal is shared with Microsoft's sellers is set by Microsoft help requested.",
      ),
      // It meant "share the contact with Microsoft" before consent to contact got its own column.
      earlierDescriptions: ["The customer agreed to share the contact with Microsoft."],
    },
    boolean(
      "ConsentToContact",
      "Consent to contact",
      "The customer agreed to be contacted (Partner Center's consentToContact).",
    ),
    boolean("Favorite", "Co-sell favorite", "Partner Center's favorite flag; synced both ways."),
    picklist(
      "SalesStage",
      "Co-sell sales stage",
      "Partner Center's sales stage of the deal (Qualify, Develop, Propose, Close); synced both ways. The opportunity's own Sales Stage is left to your sales process.",
      choiceOptions(SALES_STAGE_CHOICE, optionValuePrefix),
    ),
    picklist(
      "HelpType",
      "Kind of help from Microsoft",
      "What kind of help is asked of Microsoft (Partner Center's assistanceRequestCode).",
      choiceOptions(HELP_TYPE_CHOICE, optionValuePrefix),
    ),
    dateTime(
      "RespondBy",
      "Respond by",
      `When an inbound referral expires unless accepted or declined. ${readOnly}`,
    ),
    string(
      "MicrosoftOpportunityId",
      "Microsoft opportunity id",
      `Microsoft's opportunity id (MSX) for this deal. ${readOnly}`,
      100,
    ),
    picklist(
      "MicrosoftAnswer",
      "Microsoft's answer",
      `Microsoft's answer to the invitation to co-sell this deal. ${readOnly}`,
      choiceOptions(MICROSOFT_ANSWER_CHOICE, optionValuePrefix),
    ),
    string(
      "RegistrationStatus",
      "Registration status",
      `Partner Center's registration status (e.g. None, ReviewPending). ${readOnly}`,
      100,
    ),
    memo(
      "Registrations",
      "Registrations",
      `Partner Center's registrations after a win, one line per registration. ${readOnly}`,
      REGISTRATIONS_MAX_LENGTH,
    ),
    string("SentBy", "Sent by", `Who sent the referral (the inviting organization). ${readOnly}`, 200),
    picklist(
      "Response",
      "Co-sell response",
      "Your answer to a referral sent to you: Accept or Decline (then pick a close reason). Synced to Partner Center; moving the stage works too.",
      choiceOptions(SELLER_RESPONSE_CHOICE, optionValuePrefix),
    ),
    picklist(
      "CloseReasonCode",
      "Co-sell close reason",
      "Why the referral was declined or the deal lost; Partner Center receives the label (and the details). Required to decline.",
      choiceOptions(CLOSE_REASON_CHOICE, optionValuePrefix),
    ),
    {
      ...string(
        "CloseReason",
        "Co-sell close reason details",
        "Details of the close reason, in your words (the whole reason when the close reason is Other).",
        500,
      ),
      // It held the whole reason as free text before the close reason became a choice.
      earlierDescriptions: ["Why the referral was declined or lost."],
    },
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
    picklist(
      "SyncStatus",
      "Sync status",
      "Co-sell sync state (written by cosell).",
      SYNC_STATES.map((st) => ({ value: syncStateValue(optionValuePrefix, st), label: stateLabels[st] })),
    ),
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
