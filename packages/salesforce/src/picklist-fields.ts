import { RemoteApiError, type VerifyReport } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { SalesforceConfig } from "./config.js";
import { type CustomFieldSpec, customFieldSpecs } from "./custom-fields.js";
import type { Row } from "./mapping.js";
import { metadataErrorText } from "./metadata-components.js";
import { globalValueSetNamed } from "./picklist-values.js";
import { declineRuleSpec } from "./validation-rule.js";
import { soqlString } from "./writer.js";

/** A spec's picklist values (its own list or its global value set's); empty for other fields. */
export function picklistValuesOf(md: Record<string, unknown>): string[] {
  const valueSet = md.valueSet as
    | { valueSetName?: string; valueSetDefinition?: { value?: { fullName: string }[] } }
    | undefined;
  const set = globalValueSetNamed(valueSet?.valueSetName);
  if (set) return set.values.map((v) => v.value);
  return (valueSet?.valueSetDefinition?.value ?? []).map((v) => v.fullName);
}

const valueSetNameOf = (md: Row | Record<string, unknown> | undefined): string | undefined => {
  const name = (md?.valueSet as { valueSetName?: unknown } | undefined)?.valueSetName;
  return typeof name === "string" && name !== "" ? name : undefined;
};

/** A field an earlier setup created as text (or bound to another list) that is to become cosell's picklist. */
export interface PicklistUpgrade {
  spec: CustomFieldSpec;
  present: Row;
}

/**
 * The existing fields whose type or value set differs from the spec's picklist: an earlier setup made
 * co-sell stage, sync status, direction and registration status Text fields.
 */
export function picklistUpgrades(specs: CustomFieldSpec[], present: Map<string, Row>): PicklistUpgrade[] {
  return specs.flatMap((spec) => {
    const md = present.get(spec.fullName);
    if (!md || spec.metadata.type !== "Picklist") return [];
    const wantSet = valueSetNameOf(spec.metadata);
    const isPicklist = String(md.type ?? "") === "Picklist";
    const sameSet = !wantSet || valueSetNameOf(md)?.toLowerCase() === wantSet.toLowerCase();
    return isPicklist && sameSet ? [] : [{ spec, present: md }];
  });
}

/** Metadata API limit: components per call. */
const METADATA_CHUNK = 10;

/**
 * Changes the fields to restricted picklists in place (the Metadata API's updateMetadata with the new
 * type; the field keeps its id, its data and the layouts, views and permission sets naming it).
 *
 * Stored values outside the list: Salesforce's "Considerations for Converting the Field Type of a
 * Custom Field" lists Text to Picklist among the changes that can lose data, without saying which
 * values go. Either reading is fine here: cosell wrote these fields, with values from the list, and
 * rewrites its own at the next sync; the reader takes a value outside the list as absent. The
 * progress line names the records holding such values, so that an admin knows before they may go.
 *
 * The decline rule names the co-sell stage as text in orgs set up earlier: it is narrowed first
 * ({@link declineRuleSpec}'s `whileUpgrading`) so the change is not refused under it, and setup puts
 * the full rule back after the fields.
 */
export async function upgradeToPicklists(
  client: SalesforceClient,
  config: SalesforceConfig,
  upgrades: PicklistUpgrade[],
): Promise<string[]> {
  if (!upgrades.length) return [];
  const lines: string[] = [];
  const rule = declineRuleSpec(config.fields, true);
  const [read] = await client.readMetadata("ValidationRule", [rule.fullName]);
  const ruleNames = (name: string) =>
    String(read?.errorConditionFormula ?? "")
      .toLowerCase()
      .includes(name);
  if (read?.fullName && upgrades.some((u) => ruleNames(u.spec.fullName.split(".")[1]!.toLowerCase()))) {
    const [r] = await client.saveMetadata("update", "ValidationRule", [{ ...rule }]);
    if (!r?.success)
      throw new RemoteApiError(
        "SALESFORCE_SETUP_FAILED",
        `Updating the validation rule ${rule.fullName} before the picklist change failed: ${metadataErrorText(r?.errors)}. Deactivate it in Setup → Object Manager → Opportunity → Validation Rules, then run \`cosell setup\` again.`,
      );
  }
  const outside = new Map<string, string>();
  for (const u of upgrades) outside.set(u.spec.fullName, await valuesOutside(client, u.spec));
  for (let i = 0; i < upgrades.length; i += METADATA_CHUNK) {
    const part = upgrades.slice(i, i + METADATA_CHUNK);
    const res = await client.saveMetadata(
      "update",
      "CustomField",
      part.map((u) => metadataFor(u)),
    );
    res.forEach((r, k) => {
      const u = part[k]!;
      if (!r.success)
        throw new RemoteApiError(
          "SALESFORCE_SETUP_FAILED",
          `Changing ${u.spec.fullName} to a restricted picklist failed: ${metadataErrorText(r.errors)}. Remove what the message names as referring to the field as text (a formula, a validation rule), then run \`cosell setup\` again.`,
        );
      const set = valueSetNameOf(u.spec.metadata);
      lines.push(
        `Field ${u.spec.description}: ${String(u.present.type ?? "Text")} → restricted picklist${set ? ` of the global value set ${set}` : ""}${outside.get(u.spec.fullName)}`,
      );
    });
  }
  return lines;
}

/**
 * The field as sent: cosell's picklist definition. A description or help text the admin wrote is
 * kept (as for any field setup does not own whole); the text field's length does not apply any more.
 */
function metadataFor(u: PicklistUpgrade): Row {
  const keep = (k: string) =>
    typeof u.present[k] === "string" && u.present[k] !== "" ? { [k]: u.present[k] } : {};
  return { ...u.spec.metadata, ...keep("description"), ...keep("inlineHelpText") };
}

/** How many records hold values outside the list, as a suffix of the progress line ("" when none). */
async function valuesOutside(client: SalesforceClient, spec: CustomFieldSpec): Promise<string> {
  const field = spec.fullName.split(".")[1]!;
  const allowed = picklistValuesOf(spec.metadata);
  const rows = await client
    .query(
      `SELECT Id, ${field} FROM Opportunity WHERE ${field} != null AND ${field} NOT IN (${allowed.map(soqlString).join(", ")}) LIMIT 200`,
    )
    // Only a note for the admin: a field the integration user cannot read yet does not stop the change.
    .catch(() => [] as Row[]);
  if (!rows.length) return "";
  const values = [...new Set(rows.map((r) => String(r[field])))].slice(0, 5);
  return ` (${rows.length}${rows.length === 200 ? "+" : ""} record(s) held values outside the list, e.g. ${values.map((v) => `"${v}"`).join(", ")}: Salesforce may clear them; cosell rewrites its own at the next sync)`;
}

/**
 * Doctor's checks of the picklists: each is a restricted picklist holding every value cosell writes.
 * Salesforce refuses any other value, which would fail the whole record's write; a field changed back
 * to text takes any value again, and views and rules built for a picklist misread it. Values an admin
 * added are fine (the reader takes them as absent, with a warning).
 */
export function picklistChecks(byName: Map<string, Row>, config: SalesforceConfig): VerifyReport["checks"] {
  const out: VerifyReport["checks"] = [];
  for (const s of customFieldSpecs(config.fields)) {
    const wanted = picklistValuesOf(s.metadata);
    const field = byName.get(s.fullName.split(".")[1]!.toLowerCase());
    if (!wanted.length || !field) continue;
    const name = `picklist ${s.fullName}`;
    if (field.type !== "picklist" || field.restrictedPicklist !== true) {
      out.push({
        name,
        ok: false,
        detail: `${s.fullName} is ${field.type === "picklist" ? "an unrestricted picklist" : `a ${String(field.type)} field`}, not a restricted picklist: it takes values cosell cannot read, and the co-sell views and rules expect a picklist.`,
        fix: "Run `cosell setup` (changes it to a restricted picklist in place, keeping its data).",
      });
      continue;
    }
    const have = new Set(
      (Array.isArray(field.picklistValues) ? (field.picklistValues as Row[]) : [])
        .filter((p) => p.active !== false)
        .map((p) => String(p.value).toLowerCase()),
    );
    const lacking = wanted.filter((v) => !have.has(v.toLowerCase()));
    const set = valueSetNameOf(s.metadata);
    out.push({
      name,
      ok: !lacking.length,
      detail: lacking.length
        ? `${s.fullName} lacks the active values ${lacking.join(", ")}: cosell's writes of them would fail.`
        : `${s.fullName} is a restricted picklist with all ${wanted.length} values cosell writes.`,
      ...(lacking.length
        ? {
            fix: set
              ? `Run \`cosell setup\` (adds them to the global value set ${set}), or add (or reactivate) ${lacking.join(", ")} under Setup → Picklist Value Sets → ${set}, with exactly these API names.`
              : `Add (or reactivate) ${lacking.join(", ")} under Setup → Object Manager → Opportunity → ${s.fullName.split(".")[1]} → Values, with exactly these API names.`,
          }
        : {}),
    });
  }
  return out;
}
