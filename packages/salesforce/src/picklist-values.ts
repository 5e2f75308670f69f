import {
  type Direction,
  DirectionSchema,
  type Stage,
  StageSchema,
  type SyncState,
  SyncStateSchema,
} from "@cosell/core";

/** One value of a set: the API name cosell writes and reads, and what a seller reads. */
export interface PicklistValue {
  value: string;
  label: string;
}

/**
 * A GlobalValueSet component (Metadata API, API 38.0+: fullName, masterLabel and sorted required,
 * description, customValue[] of {fullName, label, default}, at least one value;
 * developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_globalvalueset.htm). A picklist
 * field takes one by `valueSet.valueSetName` and is then always restricted to it.
 */
export interface GlobalValueSetSpec {
  fullName: string;
  masterLabel: string;
  description: string;
  values: readonly PicklistValue[];
}

const STAGE_LABELS: Readonly<Record<Stage, string>> = {
  received: "Received",
  accepted: "Accepted",
  declined: "Declined",
  expired: "Expired",
  won: "Won",
  lost: "Lost",
};

const SYNC_STATE_LABELS: Readonly<Record<SyncState, string>> = {
  synced: "Synced",
  pending: "Pending",
  deferred: "Deferred",
  conflict: "Conflict",
  error: "Error",
  paused: "Paused",
};

const DIRECTION_LABELS: Readonly<Record<Direction, string>> = {
  inbound: "Inbound (sent by Microsoft)",
  outbound: "Outbound (shared by us)",
};

/**
 * Partner Center's `registrationStatus` values. Only `None` and `ReviewPending` are documented or seen
 * in Partner Center's answers (partner-center-api.md); `Approved` and `Rejected` are an assumption (the
 * likely outcomes of a review), not documented. Nothing settles the full list: a value outside it is
 * written as blank (see {@link listedValue}) rather than failing the whole record's write, and an
 * admin who sees one in Partner Center adds it to the `Cosell_Registration_Status` value set.
 */
export const REGISTRATION_STATUSES: readonly PicklistValue[] = [
  { value: "None", label: "None" },
  { value: "ReviewPending", label: "Review pending" },
  { value: "Approved", label: "Approved" },
  { value: "Rejected", label: "Rejected" },
];

const valuesOf = <T extends string>(options: readonly T[], labels: Readonly<Record<T, string>>) =>
  options.map((value) => ({ value, label: labels[value] }));

/**
 * The value lists of cosell's own status fields, shared by every object cosell writes them on: an
 * admin sees and translates each list once (Setup → Picklist Value Sets), and a report groups by the
 * same values everywhere. API names are the spellings cosell's core and Partner Center use.
 */
export const GLOBAL_VALUE_SETS = {
  coSellStage: {
    fullName: "Cosell_Stage",
    masterLabel: "Co-sell Stage",
    description: "Set by cosell: the referral's stage in Partner Center.",
    values: valuesOf(StageSchema.options, STAGE_LABELS),
  },
  syncStatus: {
    fullName: "Cosell_Sync_Status",
    masterLabel: "Co-sell Sync Status",
    description: "Set by cosell: how the record's last sync with Partner Center went.",
    values: valuesOf(SyncStateSchema.options, SYNC_STATE_LABELS),
  },
  direction: {
    fullName: "Cosell_Direction",
    masterLabel: "Co-sell Direction",
    description: "Set by cosell: inbound when Microsoft sent the referral.",
    values: valuesOf(DirectionSchema.options, DIRECTION_LABELS),
  },
  registrationStatus: {
    fullName: "Cosell_Registration_Status",
    masterLabel: "Co-sell Registration Status",
    description: "Set by cosell: Partner Center's registration status of a won deal.",
    values: REGISTRATION_STATUSES,
  },
} as const satisfies Record<string, GlobalValueSetSpec>;

/** The value set a picklist spec names (`valueSet.valueSetName`), if it is one of cosell's. */
export function globalValueSetNamed(name: string | undefined): GlobalValueSetSpec | undefined {
  if (!name) return undefined;
  return Object.values(GLOBAL_VALUE_SETS).find((s) => s.fullName.toLowerCase() === name.toLowerCase());
}

/** The API name in a list matching `value` whatever its case, or null (a restricted picklist refuses others). */
export function listedValue(values: readonly PicklistValue[], value: string | undefined): string | null {
  if (!value) return null;
  return values.find((v) => v.value.toLowerCase() === value.toLowerCase())?.value ?? null;
}
