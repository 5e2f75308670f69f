import type { VerifyReport } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { SalesforceFieldNames } from "./config.js";
import type { Row } from "./mapping.js";
import { ensureOwnedComponents, type OwnedComponents, verifyOwnedComponents } from "./metadata-components.js";

/**
 * The one-click actions on an opportunity. A QuickAction component (Metadata API: fullName
 * `Object.Action`, label, type, optionsCreateFeedItem, fieldOverrides [{field, formula |
 * literalValue}], quickActionLayout {layoutSectionStyle, quickActionLayoutColumns
 * [{quickActionLayoutItems [{emptySpace, field, uiBehavior}]}]}, successMessage, description;
 * developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_quickaction.htm).
 *
 * - `Update` actions change the record they are launched from; the field overrides are the
 *   action's "predefined field values", written on save.
 * - The page does not say which of `formula` and `literalValue` a field type takes. cosell sends a
 *   picklist value as `literalValue` and a checkbox as the formula `true`, and reads either form as
 *   the same value.
 * - A decline's close reason is shown as Edit, not Required: the validation rule refuses a decline
 *   without a reason with its own message next to the field (and also covers Other without details).
 * - Members go in the order of the WSDL (alphabetical after fullName).
 */
export interface QuickActionSpec {
  fullName: string;
  name: string;
  label: string;
  description: string;
  successMessage: string;
  overrides: { field: string; literalValue?: string; formula?: string }[];
  fields: { field: string; uiBehavior: "Edit" | "Required" }[];
}

/** The four actions, built from the configured field names. */
export function quickActionSpecs(f: SalesforceFieldNames): QuickActionSpec[] {
  const action = (
    name: string,
    label: string,
    description: string,
    successMessage: string,
    overrides: QuickActionSpec["overrides"],
    fields: string[],
  ): QuickActionSpec => ({
    fullName: `Opportunity.${name}`,
    name,
    label,
    description,
    successMessage,
    overrides,
    fields: fields.map((field) => ({ field, uiBehavior: "Edit" })),
  });
  return [
    action(
      "Cosell_Accept_Referral",
      "Accept co-sell referral",
      "Set by cosell: answers the referral Microsoft sent with Accept (sent to Partner Center at the next sync).",
      "Accepted: Partner Center receives it at the next sync.",
      [{ field: f.response, literalValue: "accept" }],
      [f.salesStage],
    ),
    action(
      "Cosell_Decline_Referral",
      "Decline co-sell referral",
      "Set by cosell: declines the referral Microsoft sent, with a close reason (sent to Partner Center at the next sync).",
      "Declined: Partner Center receives it at the next sync.",
      [{ field: f.response, literalValue: "decline" }],
      [f.closeReasonCode, f.closeReason],
    ),
    action(
      "Cosell_Invite_Microsoft",
      "Invite Microsoft",
      "Set by cosell: asks for Microsoft's help on the deal (Partner Center invites Microsoft at the next sync).",
      "Microsoft is invited at the next sync; its answer shows in Microsoft's Answer.",
      [{ field: f.helpRequested, formula: "true" }],
      [f.helpType, f.helpNotes],
    ),
    action(
      "Cosell_Favorite",
      "Co-sell favorite",
      "Set by cosell: marks or unmarks the deal as a favorite (Partner Center's Favorites too).",
      "Saved: Partner Center's favorite follows at the next sync.",
      [],
      [f.favorite],
    ),
  ];
}

const asList = (v: unknown): Row[] =>
  (v === undefined || v === null || v === "" ? [] : Array.isArray(v) ? v : [v]).filter(
    (x): x is Row => !!x && typeof x === "object",
  );

/** A predefined value as a comparable text: `literalValue` or a literal formula (`true`, `"accept"`). */
const overrideValue = (o: Row) =>
  String(o.literalValue ?? o.formula ?? "")
    .trim()
    .replace(/^"(.*)"$/, "$1")
    .toLowerCase();

/** What of an action as read differs from cosell's, in an admin's words. */
export function quickActionDifferences(read: Row, want: QuickActionSpec): string[] {
  const out: string[] = [];
  if (String(read.label ?? "") !== want.label) out.push("another label");
  if (String(read.type ?? "") !== "Update") out.push("another type");
  const overrides = asList(read.fieldOverrides)
    .map((o) => `${String(o.field ?? "").toLowerCase()}=${overrideValue(o)}`)
    .sort();
  const wantOverrides = want.overrides.map((o) => `${o.field.toLowerCase()}=${overrideValue(o)}`).sort();
  if (overrides.join("|") !== wantOverrides.join("|")) out.push("other predefined values");
  const layout = (read.quickActionLayout ?? {}) as Row;
  const fields = asList(layout.quickActionLayoutColumns)
    .flatMap((c) => asList(c.quickActionLayoutItems))
    .filter((i) => i.field)
    .map((i) => `${String(i.field).toLowerCase()}:${String(i.uiBehavior ?? "Edit")}`);
  if (fields.join("|") !== want.fields.map((x) => `${x.field.toLowerCase()}:${x.uiBehavior}`).join("|"))
    out.push("other fields");
  return out;
}

/** The component sent on create and update. */
function metadataOf(s: QuickActionSpec): Row {
  return {
    fullName: s.fullName,
    description: s.description,
    ...(s.overrides.length
      ? {
          fieldOverrides: s.overrides.map((o) => ({
            field: o.field,
            ...(o.formula !== undefined ? { formula: o.formula } : {}),
            ...(o.literalValue !== undefined ? { literalValue: o.literalValue } : {}),
          })),
        }
      : {}),
    label: s.label,
    optionsCreateFeedItem: false,
    quickActionLayout: {
      layoutSectionStyle: "TwoColumnsLeftToRight",
      quickActionLayoutColumns: [
        {
          quickActionLayoutItems: s.fields.map((x) => ({
            emptySpace: false,
            field: x.field,
            uiBehavior: x.uiBehavior,
          })),
        },
      ],
    },
    successMessage: s.successMessage,
    type: "Update",
  };
}

/** The actions as components, for a deploy or a metadata package. */
export function quickActionMetadata(f: SalesforceFieldNames): Row[] {
  return quickActionSpecs(f).map(metadataOf);
}

const components = (f: SalesforceFieldNames): OwnedComponents<QuickActionSpec> => ({
  type: "QuickAction",
  noun: "Quick action",
  specs: quickActionSpecs(f),
  differences: quickActionDifferences,
  metadataOf,
});

/**
 * Creates the co-sell quick actions that are missing and puts cosell's version back on those that were changed;
 * leaves equal ones alone. Needs the fields they name to exist.
 */
export function ensureQuickActions(
  client: SalesforceClient,
  f: SalesforceFieldNames,
): Promise<{ created: string[]; unchanged: string[] }> {
  return ensureOwnedComponents(client, components(f));
}

/** Doctor's check: every one exists and is cosell's. Changes nothing. */
export function verifyQuickActions(
  client: SalesforceClient,
  f: SalesforceFieldNames,
): Promise<VerifyReport["checks"][number]> {
  return verifyOwnedComponents(client, {
    ...components(f),
    checkName: "seller quick actions",
    plural: "co-sell quick actions",
    lacking: "sellers lack the one-click co-sell actions on the opportunity.",
    fix: "Run `cosell setup` (creates or restores the co-sell quick actions on Opportunity and adds them to the layouts in crm.layouts).",
  });
}
