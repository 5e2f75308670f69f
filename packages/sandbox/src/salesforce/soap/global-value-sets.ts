import type { FieldDef, PicklistEntry } from "../schema/types.js";
import {
  bool,
  DEVELOPER_NAME,
  list,
  MetadataComponentError,
  type MetadataRecord,
  str,
} from "./metadata-types.js";

/**
 * A global value set (Metadata API GlobalValueSet, API 38.0+: fullName, masterLabel (required),
 * description, sorted (required), customValue[] with fullName, label, default, isActive; "requires at
 * least one value", up to 1,000 values inclusive of inactive ones;
 * developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_globalvalueset.htm).
 */
export interface GlobalValueSetDef {
  name: string;
  masterLabel: string;
  description?: string;
  sorted: boolean;
  values: PicklistEntry[];
}

/** Salesforce's limits: 1,000 values per set, a description of 255 characters. */
const MAX_VALUES = 1000;
const MAX_DESCRIPTION = 255;

const integrity = (message: string, field: string) =>
  new MetadataComponentError("FIELD_INTEGRITY_EXCEPTION", message, [field]);

/**
 * The org's global value sets, by lower-case name. Picklist fields bound to one
 * (`valueSet.valueSetName`) take its values; `onChange` tells the org to refresh them after an update.
 */
export class GlobalValueSets {
  private readonly sets = new Map<string, GlobalValueSetDef>();

  constructor(
    /** Names of the fields (`Object.Field__c`) bound to a set, which block its delete. */
    private readonly boundFields: (setName: string) => string[],
    private readonly onChange: (set: GlobalValueSetDef) => void,
  ) {}

  get(name: string): GlobalValueSetDef | undefined {
    return this.sets.get(name.toLowerCase());
  }

  exists(fullName: string): boolean {
    return this.sets.has(fullName.toLowerCase());
  }

  create(md: MetadataRecord): void {
    const name = str(md, "fullName") ?? "";
    if (this.exists(name))
      throw new MetadataComponentError(
        "DUPLICATE_DEVELOPER_NAME",
        `There is already a global value set named ${name}.`,
        ["fullName"],
      );
    const def = compile(name, md);
    this.sets.set(name.toLowerCase(), def);
  }

  /**
   * Replaces the set's values. A value left out of the update stays on the records that hold it; the
   * page does not say whether Salesforce deletes or deactivates it, so the sandbox drops it from the
   * list (a restricted field then refuses it on the next write, as either reading would).
   */
  update(md: MetadataRecord): void {
    const name = str(md, "fullName") ?? "";
    const existing = this.get(name);
    if (!existing) throw notFound(name);
    const def = compile(existing.name, md);
    this.sets.set(name.toLowerCase(), def);
    this.onChange(def);
  }

  delete(fullName: string): void {
    const existing = this.get(fullName);
    if (!existing) throw notFound(fullName);
    const fields = this.boundFields(existing.name);
    if (fields.length)
      throw new MetadataComponentError(
        "FIELD_INTEGRITY_EXCEPTION",
        `This global value set is referenced elsewhere in salesforce.com: ${fields.join(", ")}. Change or delete those fields first.`,
        ["fullName"],
      );
    this.sets.delete(fullName.toLowerCase());
  }

  read(fullName: string): MetadataRecord | null {
    const s = this.get(fullName);
    return s ? metadataOf(s) : null;
  }

  names(): string[] {
    return [...this.sets.values()].map((s) => s.name);
  }

  /** Every set as its component (for a state export). */
  snapshot(): MetadataRecord[] {
    return [...this.sets.values()].map(metadataOf);
  }

  /** Replaces the sets with saved ones (the fields bound to them keep the values they were saved with). */
  restore(components: readonly MetadataRecord[]): void {
    this.sets.clear();
    for (const md of components) this.create(md);
  }
}

function notFound(name: string): MetadataComponentError {
  return new MetadataComponentError(
    "INVALID_CROSS_REFERENCE_KEY",
    `In field: fullName - no GlobalValueSet named ${name} found`,
    ["fullName"],
  );
}

/** Validates a component like Salesforce (name, required members, limits, duplicate values). */
function compile(name: string, md: MetadataRecord): GlobalValueSetDef {
  if (!DEVELOPER_NAME.test(name))
    throw integrity(
      `The value set name ${name || "(blank)"} is invalid: it begins with a letter and uses only letters, digits and single underscores.`,
      "fullName",
    );
  const masterLabel = str(md, "masterLabel");
  if (!masterLabel)
    throw new MetadataComponentError("REQUIRED_FIELD_MISSING", "Required field is missing: masterLabel", [
      "masterLabel",
    ]);
  const sorted = bool(md, "sorted");
  if (sorted === undefined)
    throw new MetadataComponentError("REQUIRED_FIELD_MISSING", "Required field is missing: sorted", [
      "sorted",
    ]);
  const description = str(md, "description");
  if (description && description.length > MAX_DESCRIPTION)
    throw integrity(`The description is longer than ${MAX_DESCRIPTION} characters.`, "description");
  const values = list(md, "customValue").map((v) => {
    const value = str(v, "fullName") ?? "";
    if (!value) throw integrity("Each customValue needs a fullName (its API name).", "customValue");
    return {
      value,
      label: str(v, "label") ?? value,
      active: bool(v, "isActive") ?? true,
      defaultValue: bool(v, "default") ?? false,
    };
  });
  if (!values.length) throw integrity("A global value set requires at least one value.", "customValue");
  if (values.length > MAX_VALUES)
    throw integrity(`A global value set can have up to ${MAX_VALUES} values.`, "customValue");
  const seen = new Set<string>();
  for (const v of values) {
    const key = v.value.toLowerCase();
    if (seen.has(key))
      throw new MetadataComponentError(
        "DUPLICATE_VALUE",
        `Duplicate value ${v.value} in the global value set ${name}.`,
        ["customValue"],
      );
    seen.add(key);
  }
  if (values.filter((v) => v.defaultValue).length > 1)
    throw integrity("Only one value of a global value set can be the default.", "customValue");
  const ordered = sorted ? [...values].sort((a, b) => a.label.localeCompare(b.label)) : values;
  return { name, masterLabel, ...(description ? { description } : {}), sorted, values: ordered };
}

/** A set as readMetadata returns it (properties in alphabetical order). */
function metadataOf(s: GlobalValueSetDef): MetadataRecord {
  return {
    fullName: s.name,
    customValue: s.values.map((v) => ({
      fullName: v.value,
      default: v.defaultValue,
      ...(v.active ? {} : { isActive: false }),
      label: v.label,
    })),
    ...(s.description ? { description: s.description } : {}),
    masterLabel: s.masterLabel,
    sorted: s.sorted,
  };
}

/** The custom picklist fields bound to a set, with their objects. */
export function fieldsBoundTo(
  customFields: Record<string, FieldDef[]>,
  setName: string,
): { objectName: string; field: FieldDef }[] {
  const want = setName.toLowerCase();
  return Object.entries(customFields).flatMap(([objectName, fields]) =>
    fields.filter((f) => f.valueSetName?.toLowerCase() === want).map((field) => ({ objectName, field })),
  );
}
