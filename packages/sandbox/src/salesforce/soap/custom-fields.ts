import { picklistEntries } from "../schema/standard-objects.js";
import type { FieldDef, FieldType, PicklistEntry } from "../schema/types.js";
import type { Org } from "../store/org.js";
import {
  bool,
  DEVELOPER_NAME,
  list,
  MetadataComponentError,
  type MetadataRecord,
  num,
  record,
  str,
} from "./metadata-types.js";

/** Metadata API field types the sandbox can create, and their describe types. */
const FIELD_TYPES: Record<string, FieldType> = {
  Text: "string",
  TextArea: "textarea",
  LongTextArea: "textarea",
  Checkbox: "boolean",
  Date: "date",
  DateTime: "datetime",
  Url: "url",
  Email: "email",
  Phone: "phone",
  Picklist: "picklist",
  MultiselectPicklist: "multipicklist",
  Number: "double",
  Currency: "currency",
  Percent: "percent",
};

const EXTERNAL_ID_TYPES = new Set(["Text", "Number", "Email"]);

const integrity = (message: string, field?: string) =>
  new MetadataComponentError("FIELD_INTEGRITY_EXCEPTION", message, field ? [field] : []);

/** Splits `Opportunity.MS_Referral_Id__c` into the object's and the field's canonical names. */
export function splitFieldName(org: Org, fullName: string): { objectName: string; fieldName: string } {
  const dot = fullName.indexOf(".");
  const objectPart = dot < 0 ? "" : fullName.slice(0, dot);
  const fieldName = dot < 0 ? fullName : fullName.slice(dot + 1);
  const def = org.object(objectPart);
  if (!def)
    throw new MetadataComponentError(
      "INVALID_CROSS_REFERENCE_KEY",
      `In field: fullName - no CustomObject named ${objectPart || fullName} found`,
      ["fullName"],
    );
  return { objectName: def.name, fieldName };
}

function picklistValuesOf(md: MetadataRecord): { values: PicklistEntry[]; restricted: boolean } {
  const valueSet = record(md, "valueSet");
  const definition = record(valueSet, "valueSetDefinition");
  const values = list(definition, "value").map((v) => {
    const name = str(v, "fullName") ?? "";
    return {
      value: name,
      label: str(v, "label") ?? name,
      active: bool(v, "isActive") ?? true,
      defaultValue: bool(v, "default") ?? false,
    };
  });
  return { values, restricted: bool(valueSet ?? {}, "restricted") ?? false };
}

/** Builds the field definition a CustomField component describes, validating it like Salesforce. */
export function customFieldDef(fieldName: string, md: MetadataRecord): FieldDef {
  if (!/__c$/.test(fieldName) || !DEVELOPER_NAME.test(fieldName.slice(0, -3)))
    throw integrity(
      `The API name ${fieldName} is invalid: a custom field name ends with __c, begins with a letter and uses only letters, digits and single underscores.`,
      "fullName",
    );
  const label = str(md, "label");
  if (!label)
    throw new MetadataComponentError("REQUIRED_FIELD_MISSING", "Required field is missing: label", ["label"]);
  const mdType = str(md, "type");
  if (!mdType)
    throw new MetadataComponentError("REQUIRED_FIELD_MISSING", "Required field is missing: type", ["type"]);
  const type = FIELD_TYPES[mdType];
  if (!type)
    throw integrity(
      `Field type ${mdType} is not supported by the sandbox org (supported: ${Object.keys(FIELD_TYPES).join(", ")})`,
      "type",
    );
  const externalId = bool(md, "externalId") ?? false;
  const unique = bool(md, "unique") ?? false;
  if ((externalId || unique) && !EXTERNAL_ID_TYPES.has(mdType))
    throw integrity(
      "External ID and unique are only valid for Text, Number and Email fields",
      externalId ? "externalId" : "unique",
    );
  const def: FieldDef = {
    name: fieldName,
    label,
    type,
    nillable: !(bool(md, "required") ?? false),
    createable: true,
    updateable: true,
    custom: true,
    metadataType: mdType,
    externalId,
    unique,
    caseSensitive: unique ? (bool(md, "caseSensitive") ?? false) : false,
    description: str(md, "description"),
    inlineHelpText: str(md, "inlineHelpText"),
  };
  const length = num(md, "length");
  switch (mdType) {
    case "Text":
      if (length === undefined) throw integrity("Length: You must enter a value", "length");
      if (length < 1 || length > 255) throw integrity("Length must be between 1 and 255", "length");
      def.length = length;
      break;
    case "LongTextArea": {
      if (length === undefined) throw integrity("Length: You must enter a value", "length");
      if (length < 256 || length > 131072)
        throw integrity("Length must be between 256 and 131,072", "length");
      const visibleLines = num(md, "visibleLines");
      if (visibleLines === undefined)
        throw integrity("Visible Lines: You must enter a value", "visibleLines");
      def.length = length;
      def.visibleLines = visibleLines;
      def.extraTypeInfo = "plaintextarea";
      break;
    }
    case "TextArea":
    case "Url":
      def.length = 255;
      break;
    case "Email":
      def.length = 80;
      break;
    case "Phone":
      def.length = 40;
      break;
    case "Checkbox": {
      const dv = str(md, "defaultValue");
      if (dv !== "true" && dv !== "false")
        throw integrity("Must specify 'defaultValue' for a CustomField of type Checkbox", "defaultValue");
      def.nillable = false;
      def.defaultedOnCreate = true;
      def.defaultValue = dv === "true";
      break;
    }
    case "Number":
    case "Currency":
    case "Percent": {
      const precision = num(md, "precision");
      const scale = num(md, "scale") ?? 0;
      if (precision === undefined) throw integrity("Precision: You must enter a value", "precision");
      if (precision < 1 || precision > 18) throw integrity("Precision must be between 1 and 18", "precision");
      if (scale < 0 || scale > precision)
        throw integrity("Scale must be between 0 and the precision", "scale");
      def.precision = precision;
      def.scale = scale;
      break;
    }
    case "Picklist":
    case "MultiselectPicklist": {
      const { values, restricted } = picklistValuesOf(md);
      if (!values.length)
        throw integrity("A picklist needs at least one value in valueSet.valueSetDefinition", "valueSet");
      def.picklist = values.length ? values : picklistEntries([]);
      def.restrictedPicklist = restricted;
      def.length = 255;
      break;
    }
  }
  return def;
}

/** Reads a custom field back as the Metadata API shows it (properties in alphabetical order). */
export function customFieldMetadata(objectName: string, f: FieldDef): MetadataRecord {
  const md: MetadataRecord = { fullName: `${objectName}.${f.name}` };
  if (f.unique) md.caseSensitive = f.caseSensitive ?? false;
  if (f.type === "boolean") md.defaultValue = String(f.defaultValue ?? false);
  if (f.description) md.description = f.description;
  md.externalId = f.externalId ?? false;
  if (f.inlineHelpText) md.inlineHelpText = f.inlineHelpText;
  md.label = f.label;
  if (f.metadataType === "Text" || f.metadataType === "LongTextArea") md.length = f.length;
  if (f.precision !== undefined) md.precision = f.precision;
  md.required = !f.nillable && f.type !== "boolean";
  if (f.scale !== undefined) md.scale = f.scale;
  md.trackTrending = false;
  md.type = f.metadataType ?? "Text";
  if (f.metadataType === "Text" || f.metadataType === "Number" || f.metadataType === "Email")
    md.unique = f.unique ?? false;
  if (Array.isArray(f.picklist))
    md.valueSet = {
      restricted: f.restrictedPicklist ?? false,
      valueSetDefinition: {
        sorted: false,
        value: f.picklist.map((p) => ({ fullName: p.value, default: p.defaultValue, label: p.label })),
      },
    };
  if (f.visibleLines !== undefined) md.visibleLines = f.visibleLines;
  return md;
}

/** Creates, updates and deletes custom fields; the fields then exist for describe, SOQL and DML. */
export class CustomFields {
  constructor(private readonly org: Org) {}

  exists(fullName: string): boolean {
    try {
      const { objectName, fieldName } = splitFieldName(this.org, fullName);
      return this.org.schema.field(objectName, fieldName)?.custom === true;
    } catch {
      return false;
    }
  }

  create(md: MetadataRecord): void {
    const { objectName, fieldName } = splitFieldName(this.org, str(md, "fullName") ?? "");
    if (this.org.schema.field(objectName, fieldName))
      throw new MetadataComponentError(
        "DUPLICATE_DEVELOPER_NAME",
        `There is already a field named ${fieldName} on ${objectName}.`,
        ["fullName"],
      );
    const def = customFieldDef(fieldName, md);
    this.org.schema.addField(objectName, def);
    this.org.indexObject(this.org.object(objectName)!);
    this.backfill(objectName, def);
  }

  update(md: MetadataRecord): void {
    const fullName = str(md, "fullName") ?? "";
    const { objectName, fieldName } = splitFieldName(this.org, fullName);
    const existing = this.org.schema.field(objectName, fieldName);
    if (!existing?.custom)
      throw new MetadataComponentError(
        "INVALID_CROSS_REFERENCE_KEY",
        `In field: fullName - no CustomField named ${fullName} found`,
        ["fullName"],
      );
    const def = customFieldDef(existing.name, md);
    this.org.schema.replaceField(objectName, def);
    if (!(def.externalId || def.unique)) this.org.store.dropIndex(objectName, def.name);
    this.org.indexObject(this.org.object(objectName)!);
  }

  delete(fullName: string): void {
    const { objectName, fieldName } = splitFieldName(this.org, fullName);
    const existing = this.org.schema.field(objectName, fieldName);
    if (!existing?.custom)
      throw new MetadataComponentError(
        "INVALID_CROSS_REFERENCE_KEY",
        `In field: fullName - no CustomField named ${fullName} found`,
        ["fullName"],
      );
    const rules = this.org.validationRules.referencing(objectName, existing.name);
    if (rules.length)
      throw new MetadataComponentError(
        "FIELD_INTEGRITY_EXCEPTION",
        `This custom field is referenced elsewhere in salesforce.com: Validation Rule ${rules.map((r) => `${objectName}.${r}`).join(", ")}. Change or delete the rule first.`,
        ["fullName"],
      );
    const actions = this.org.quickActions.referencing(objectName, existing.name);
    if (actions.length)
      throw new MetadataComponentError(
        "FIELD_INTEGRITY_EXCEPTION",
        `This custom field is referenced elsewhere in salesforce.com: Quick Action ${actions.join(", ")}. Change or delete the action first.`,
        ["fullName"],
      );
    // Deleting a field takes it off the page layouts (they do not block the delete).
    this.org.layouts.dropField(objectName, existing.name);
    this.org.schema.removeField(objectName, existing.name);
    this.org.store.dropIndex(objectName, existing.name);
    const key = `${objectName}.${existing.name}`.toLowerCase();
    for (const details of this.org.permissionSetDetails.values())
      details.fieldPermissions = details.fieldPermissions.filter((fp) => fp.field.toLowerCase() !== key);
    this.org.security.invalidate();
  }

  read(fullName: string): MetadataRecord | null {
    if (!this.exists(fullName)) return null;
    const { objectName, fieldName } = splitFieldName(this.org, fullName);
    return customFieldMetadata(objectName, this.org.schema.field(objectName, fieldName)!);
  }

  /** Existing rows get the new field's default (checkboxes), without touching their timestamps. */
  private backfill(objectName: string, def: FieldDef): void {
    if (def.defaultValue === undefined || def.defaultValue === null) return;
    for (const row of [...this.org.store.rows(objectName)])
      this.org.store.put(objectName, Object.freeze({ ...row, [def.name]: def.defaultValue }));
  }

  /** `Object.Field__c` names of every custom field. */
  names(): string[] {
    return Object.entries(this.org.schema.customFields()).flatMap(([o, fs]) =>
      fs.map((f) => `${o}.${f.name}`),
    );
  }
}
