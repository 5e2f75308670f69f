import { CLOSE_REASON_REQUIRED, RemoteApiError, type VerifyReport } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { SalesforceFieldNames } from "./config.js";
import type { Row } from "./mapping.js";
import { metadataErrorText } from "./metadata-components.js";

/** The rule's name on Opportunity (a developer name: letters, digits, single underscores). */
export const DECLINE_RULE_NAME = "Cosell_Decline_Needs_Reason";

/**
 * A ValidationRule component (Metadata API: fullName `Object.Rule`, active, description,
 * errorConditionFormula, errorDisplayField, errorMessage;
 * developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_validationformulas.htm).
 */
export interface ValidationRuleSpec {
  fullName: string;
  active: boolean;
  description: string;
  errorConditionFormula: string;
  errorDisplayField: string;
  errorMessage: string;
}

/**
 * The rule that refuses a decline without a reason when the seller saves it, so that the seller is
 * told on the page rather than by a sync error later. `NOT(ISPICKVAL(Cosell_Stage__c, "declined"))` lets
 * cosell itself write a decline Partner Center already holds without a reason: it writes the co-sell
 * stage in the same update (a rule sees the record's values after the save, as one). The co-sell stage
 * is a picklist, usable in a formula only inside ISPICKVAL, TEXT or CASE.
 *
 * `whileUpgrading`: the rule without that clause, for the moment setup turns a text co-sell stage into
 * a picklist: the old `Cosell_Stage__c <> "declined"` is wrong for a picklist and Salesforce may refuse
 * the type change under it, while `ISPICKVAL` is refused on text. Setup puts the full rule back right after.
 */
export function declineRuleSpec(f: SalesforceFieldNames, whileUpgrading = false): ValidationRuleSpec {
  return {
    fullName: `Opportunity.${DECLINE_RULE_NAME}`,
    active: true,
    description:
      "Set by cosell: a declined co-sell referral needs a close reason (and details with Other), which Partner Center receives.",
    errorConditionFormula: [
      "AND(",
      `ISPICKVAL(${f.response}, "decline"),`,
      ...(whileUpgrading ? [] : [`NOT(ISPICKVAL(${f.coSellStage}, "declined")),`]),
      `OR(ISBLANK(TEXT(${f.closeReasonCode})), AND(ISPICKVAL(${f.closeReasonCode}, "other"), ISBLANK(${f.closeReason})))`,
      ")",
    ].join(" "),
    errorDisplayField: f.closeReasonCode,
    errorMessage: CLOSE_REASON_REQUIRED,
  };
}

const yes = (v: unknown) => v === true || v === "true";
const squash = (v: unknown) => String(v ?? "").replace(/\s+/g, "");

/** What of the rule as read differs from cosell's (formula spacing aside), in an admin's words. */
function differences(read: Row, want: ValidationRuleSpec): string[] {
  const out: string[] = [];
  if (!yes(read.active)) out.push("inactive");
  if (squash(read.errorConditionFormula) !== squash(want.errorConditionFormula)) out.push("another formula");
  if (String(read.errorDisplayField ?? "").toLowerCase() !== want.errorDisplayField.toLowerCase())
    out.push("the error on another field");
  if (String(read.errorMessage ?? "") !== want.errorMessage) out.push("another message");
  return out;
}

/**
 * Creates the rule, or puts cosell's version back when it was changed or deactivated (setup makes the
 * org what cosell needs; a rule cosell does not own has another name). Returns the report line.
 */
export async function ensureDeclineRule(
  client: SalesforceClient,
  f: SalesforceFieldNames,
): Promise<{ changed: boolean; line: string }> {
  const want = declineRuleSpec(f);
  const [read] = await client.readMetadata("ValidationRule", [want.fullName]);
  const present = typeof read?.fullName === "string" && read.fullName !== "";
  const diff = present ? differences(read!, want) : [];
  if (present && !diff.length) return { changed: false, line: `Validation rule ${want.fullName}` };
  const op = present ? "update" : "create";
  const [r] = await client.saveMetadata(op, "ValidationRule", [{ ...want }]);
  if (!r?.success)
    throw new RemoteApiError(
      "SALESFORCE_SETUP_FAILED",
      `${present ? "Updating" : "Creating"} the validation rule ${want.fullName} failed: ${metadataErrorText(r?.errors)}. The integration user needs "Modify Metadata Through Metadata API Functions" (or "Modify All Data"), and the fields it names must exist.`,
    );
  return {
    changed: true,
    line: present
      ? `Validation rule ${want.fullName}: restored (it was ${diff.join(", ")})`
      : `Validation rule ${want.fullName} (a decline needs a close reason)`,
  };
}

/** Doctor's check: the rule exists, is active and is cosell's. Changes nothing. */
export async function verifyDeclineRule(
  client: SalesforceClient,
  f: SalesforceFieldNames,
): Promise<VerifyReport["checks"][number]> {
  const want = declineRuleSpec(f);
  const name = "decline reason rule";
  const fix = `Run \`cosell setup\` (creates or restores ${want.fullName}).`;
  try {
    const [read] = await client.readMetadata("ValidationRule", [want.fullName]);
    if (typeof read?.fullName !== "string" || read.fullName === "")
      return {
        name,
        ok: false,
        detail: `${want.fullName} is missing: a seller can decline a referral without a reason (the sync then marks the record instead).`,
        fix,
      };
    const diff = differences(read, want);
    return diff.length
      ? { name, ok: false, detail: `${want.fullName} differs from cosell's: ${diff.join(", ")}.`, fix }
      : { name, ok: true, detail: `${want.fullName} is active: a decline needs a close reason.` };
  } catch (e) {
    return {
      name,
      ok: false,
      detail: `Could not read ${want.fullName}: ${(e as Error).message}`,
      fix: 'Give the integration user "Modify Metadata Through Metadata API Functions" (or "Modify All Data").',
    };
  }
}
