import type { Direction, Stage } from "@cosell/core";
import {
  type Choice,
  type ColumnDefinition,
  choiceOptions,
  choiceValue,
  columnBuilders,
  label,
} from "./columns.js";

/**
 * The choices that replaced text columns: co-sell stage, direction and registration status. Each is
 * a global choice (`GlobalOptionSetDefinitions`) because its value list is Partner Center's
 * vocabulary, shared by the opportunity column, the views' filters and any cosell table that needs
 * it later; a column bound to a global choice keeps the same values in every environment. (Sync
 * status stayed the local choice it already was: Dataverse cannot turn a local choice into a global one.)
 */

/** The co-sell stage (`…_cosellstage`): the lifecycle stage of the deal in Partner Center. */
export const COSELL_STAGE_CHOICE: Choice<Stage> = {
  offsets: { received: 0, accepted: 1, declined: 2, expired: 3, won: 4, lost: 5 },
  labels: {
    received: "Received",
    accepted: "Accepted",
    declined: "Declined",
    expired: "Expired",
    won: "Won",
    lost: "Lost",
  },
};

/** Who started the deal (`…_direction`): Microsoft or another partner (inbound), or you (outbound). */
export const DIRECTION_CHOICE: Choice<Direction> = {
  offsets: { inbound: 0, outbound: 1 },
  labels: { inbound: "Inbound (sent to you)", outbound: "Outbound (shared by you)" },
};

/**
 * Partner Center's `registrationStatus`. Microsoft documents no list of values (partner-center-api.md
 * names `None` and `ReviewPending`), so any other value reads as `Other` here and the exact word
 * stays in the read-only text column `…_registrationstatus` beside it.
 */
export type RegistrationState = "None" | "ReviewPending" | "Other";
export const REGISTRATION_STATUS_CHOICE: Choice<RegistrationState> = {
  offsets: { None: 0, ReviewPending: 1, Other: 2 },
  labels: { None: "None", ReviewPending: "Review pending", Other: "Other (see Registration status)" },
};

/** The option of a registration status as Partner Center spells it. */
export function registrationState(status: string | undefined): RegistrationState | undefined {
  if (!status) return undefined;
  return status === "None" || status === "ReviewPending" ? status : "Other";
}

/** One choice column that replaces a text column: its global choice and the text it replaces. */
export interface ChoiceColumn {
  /** The global option set's `Name` (`<prefix>_…`, lower case). */
  optionSetName: string;
  column: ColumnDefinition;
  /** The option set's `OptionSetMetadata` payload (POST GlobalOptionSetDefinitions). */
  optionSet: Record<string, unknown>;
  /** The text column an earlier setup created, copied into this one and then left unused. */
  textColumn: string;
  /** The option value of what a text row holds (undefined: leave the row's choice empty). */
  valueOfText(text: string, optionValuePrefix: number): number | undefined;
}

/** The choice columns setup creates on opportunity, each bound to its global choice. */
export function choiceColumns(prefix: string, optionValuePrefix: number): ChoiceColumn[] {
  const { picklist } = columnBuilders(prefix);
  const readOnly = "Set by Partner Center and written by cosell; read-only: an edit here is overwritten.";
  const make = <T extends string>(
    name: string,
    display: string,
    description: string,
    choice: Choice<T>,
    textColumn: string,
    parse: (text: string) => T | undefined,
  ): ChoiceColumn => {
    const optionSetName = `${prefix}_${name}`.toLowerCase();
    const options = choiceOptions(choice, optionValuePrefix);
    const local = picklist(name, display, description, options);
    // The column carries no OptionSet of its own: setup binds it to the global choice
    // ("GlobalOptionSet@odata.bind") once that exists and knows its MetadataId.
    const { OptionSet: _local, ...payload } = local.payload;
    return {
      optionSetName,
      column: { ...local, payload },
      optionSet: {
        "@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata",
        Name: optionSetName,
        DisplayName: label(display),
        Description: label(description),
        IsGlobal: true,
        OptionSetType: "Picklist",
        Options: options.map((o) => ({ Value: o.value, Label: label(o.label) })),
      },
      textColumn: `${prefix}_${textColumn}`,
      valueOfText: (text, ovp) => {
        const key = parse(text);
        return key === undefined ? undefined : choiceValue(choice, ovp, key);
      },
    };
  };
  const stages = Object.keys(COSELL_STAGE_CHOICE.offsets) as Stage[];
  return [
    make(
      "CoSellStage",
      "Co-sell stage",
      `The deal's stage in Partner Center (Received, Accepted, Declined, Expired, Won, Lost). ${readOnly} To answer a referral, set Co-sell response.`,
      COSELL_STAGE_CHOICE,
      "cosellstatus",
      (t) => stages.find((s) => s === t.trim().toLowerCase()),
    ),
    make(
      "Direction",
      "Co-sell direction",
      `Inbound when Microsoft or another partner sent the referral; outbound when you shared it. ${readOnly}`,
      DIRECTION_CHOICE,
      "referraldirection",
      (t) => (t.trim().toLowerCase() === "inbound" ? "inbound" : t.trim() ? "outbound" : undefined),
    ),
    make(
      "RegistrationStatusCode",
      "Registration",
      `Partner Center's registration status after a win, as a choice to filter on; Registration status holds Partner Center's exact word. ${readOnly}`,
      REGISTRATION_STATUS_CHOICE,
      "registrationstatus",
      (t) => registrationState(t.trim()),
    ),
  ];
}
