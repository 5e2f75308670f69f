import { RemoteApiError } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { Row } from "./mapping.js";
import { metadataByName, metadataErrorText } from "./metadata-components.js";
import { GLOBAL_VALUE_SETS, type GlobalValueSetSpec, type PicklistValue } from "./picklist-values.js";

const customValues = (values: readonly PicklistValue[]) =>
  values.map((v) => ({ fullName: v.value, label: v.label, default: false }));

const asList = (v: unknown): Row[] =>
  (v === undefined || v === null || v === "" ? [] : Array.isArray(v) ? v : [v]).filter(
    (x): x is Row => !!x && typeof x === "object",
  );

/** A set as created, for setup, a deploy or a metadata package. */
export function globalValueSetMetadata(s: GlobalValueSetSpec): Row {
  return {
    fullName: s.fullName,
    masterLabel: s.masterLabel,
    description: s.description,
    sorted: false,
    customValue: customValues(s.values),
  };
}

/**
 * Creates the sets that are missing and adds to existing ones the values they lack (an update
 * replaces the whole list, so the values an admin added go back too, and labels an admin changed are
 * kept). Runs before the fields: Salesforce refuses a picklist naming a set that does not exist.
 */
export async function ensureGlobalValueSets(
  client: SalesforceClient,
): Promise<{ created: string[]; unchanged: string[] }> {
  const specs = Object.values(GLOBAL_VALUE_SETS) as GlobalValueSetSpec[];
  const read = await client.readMetadata(
    "GlobalValueSet",
    specs.map((s) => s.fullName),
  );
  const created: string[] = [];
  const unchanged: string[] = [];
  const toCreate: Row[] = [];
  const toUpdate: { row: Row; added: string[] }[] = [];
  for (const s of specs) {
    const md = metadataByName(read, s.fullName);
    if (!md) {
      toCreate.push(globalValueSetMetadata(s));
      continue;
    }
    const current = asList(md.customValue);
    const have = new Set(current.map((v) => String(v.fullName).toLowerCase()));
    const lacking = s.values.filter((v) => !have.has(v.value.toLowerCase()));
    if (!lacking.length) {
      unchanged.push(`Global value set ${s.fullName}`);
      continue;
    }
    const kept = current.map((v) => ({
      fullName: String(v.fullName),
      label: String(v.label ?? v.fullName),
      default: v.default === true || v.default === "true",
      ...(v.isActive === false || v.isActive === "false" ? { isActive: false } : {}),
    }));
    toUpdate.push({
      row: {
        fullName: s.fullName,
        masterLabel: String(md.masterLabel ?? s.masterLabel),
        ...(md.description ? { description: String(md.description) } : {}),
        sorted: md.sorted === true || md.sorted === "true",
        customValue: [...kept, ...customValues(lacking)],
      },
      added: lacking.map((v) => v.value),
    });
  }
  const save = async (op: "create" | "update", rows: Row[]) => {
    if (!rows.length) return;
    const res = await client.saveMetadata(op, "GlobalValueSet", rows);
    res.forEach((r, k) => {
      if (!r.success)
        throw new RemoteApiError(
          "SALESFORCE_SETUP_FAILED",
          `${op === "create" ? "Creating" : "Updating"} the global value set ${String(rows[k]!.fullName)} failed: ${metadataErrorText(r.errors)}. The integration user needs "Modify Metadata Through Metadata API Functions" (or "Modify All Data").`,
        );
    });
  };
  await save("create", toCreate);
  await save(
    "update",
    toUpdate.map((u) => u.row),
  );
  created.push(
    ...toCreate.map((r) => `Global value set ${String(r.fullName)} "${String(r.masterLabel)}"`),
    ...toUpdate.map((u) => `Global value set ${String(u.row.fullName)}: added ${u.added.join(", ")}`),
  );
  return { created, unchanged };
}
