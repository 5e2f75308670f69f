import { picklistEntries } from "../schema/standard-objects.js";
import type { FieldDef, FieldType, PicklistEntry, SObjectDef } from "../schema/types.js";
import type { Org } from "../store/org.js";
import type { GlobalValueSetDef } from "./global-value-sets.js";
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
  Lookup: "reference",
  MasterDetail: "reference",
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

/** Finds a global value set by name (a picklist bound to one takes its values). */
export type ValueSetLookup = (name: string) => GlobalValueSetDef | undefined;

function picklistValuesOf(
  md: MetadataRecord,
  valueSets: ValueSetLookup,
): { values: PicklistEntry[]; restricted: boolean; valueSetName?: string } {
  const valueSet = record(md, "valueSet");
  const setName = str(valueSet ?? {}, "valueSetName");
  if (setName) {
    const set = valueSets(setName);
    if (!set)
      throw integrity(
        `valueSetName: no global value set named ${setName} exists. Create the GlobalValueSet first.`,
        "valueSet",
      );
    // A picklist that uses a global value set is always restricted (the set is its only source of values).
    return { values: set.values, restricted: true, valueSetName: set.name };
  }
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

/** What a relationship field needs to know of the org's objects. */
export interface RelationshipContext {
  objectName: string;
  object(name: string): SObjectDef | undefined;
  /** Child relationship names already on the parent (a new one must not repeat one of them). */
  childRelationshipNames(parent: string): string[];
}

/**
 * Lookup and MasterDetail: `referenceTo` names an existing object, `relationshipName` the child
 * relationship (queried as `<relationshipName>__r`); a master-detail is required, deletes with its
 * master and needs the detail object's sharing to be ControlledByParent.
 */
function relationshipDef(def: FieldDef, md: MetadataRecord, ctx: RelationshipContext | undefined): void {
  const to = str(md, "referenceTo");
  if (!to)
    throw new MetadataComponentError("REQUIRED_FIELD_MISSING", "Required field is missing: referenceTo", [
      "referenceTo",
    ]);
  const parent = ctx?.object(to);
  if (!ctx || !parent)
    throw integrity(`referenceTo value of '${to}' does not resolve to a valid sObject type`, "referenceTo");
  const rel = str(md, "relationshipName");
  if (!rel)
    throw new MetadataComponentError(
      "REQUIRED_FIELD_MISSING",
      "Required field is missing: relationshipName",
      ["relationshipName"],
    );
  if (!DEVELOPER_NAME.test(rel))
    throw integrity(`The relationship name ${rel} is invalid`, "relationshipName");
  const childName = `${rel}__r`;
  if (ctx.childRelationshipNames(parent.name).some((n) => n.toLowerCase() === childName.toLowerCase()))
    throw new MetadataComponentError(
      "DUPLICATE_DEVELOPER_NAME",
      `There is already a child relationship named ${rel} on ${parent.name}.`,
      ["relationshipName"],
    );
  const master = def.metadataType === "MasterDetail";
  if (master && ctx.object(ctx.objectName)?.sharingModel !== "ControlledByParent")
    throw integrity(
      `A master-detail relationship needs ${ctx.objectName} to have sharingModel ControlledByParent`,
      "type",
    );
  const constraint = str(md, "deleteConstraint") ?? "SetNull";
  if (!master && constraint !== "SetNull" && constraint !== "Restrict")
    throw integrity(
      `deleteConstraint ${constraint} is not supported by the sandbox org (SetNull, Restrict)`,
      "deleteConstraint",
    );
  if (!master && constraint === "SetNull" && def.nillable === false)
    throw integrity(
      "A required lookup cannot clear its value when the parent is deleted (deleteConstraint SetNull)",
      "deleteConstraint",
    );
  def.length = 18;
  def.referenceTo = [parent.name];
  def.relationshipName = def.name.replace(/__c$/, "__r");
  def.childRelationshipName = childName;
  if (master) {
    def.nillable = false;
    def.cascadeDelete = true;
    def.updateable = bool(md, "reparentableMasterDetail") ?? false;
  } else def.deleteConstraint = constraint as "SetNull" | "Restrict";
}

/** Builds the field definition a CustomField component describes, validating it like Salesforce. */
export function customFieldDef(
  fieldName: string,
  md: MetadataRecord,
  valueSets: ValueSetLookup = () => undefined,
  ctx?: RelationshipContext,
): FieldDef {
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
    case "Lookup":
    case "MasterDetail":
      relationshipDef(def, md, ctx);
      break;
    case "Picklist":
    case "MultiselectPicklist": {
      const { values, restricted, valueSetName } = picklistValuesOf(md, valueSets);
      if (!values.length)
        throw integrity("A picklist needs at least one value in valueSet.valueSetDefinition", "valueSet");
      def.picklist = values.length ? values : picklistEntries([]);
      def.restrictedPicklist = restricted;
      if (valueSetName) def.valueSetName = valueSetName;
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
  if (f.valueSetName) md.valueSet = { restricted: true, valueSetName: f.valueSetName };
  else if (Array.isArray(f.picklist))
    md.valueSet = {
      restricted: f.restrictedPicklist ?? false,
      valueSetDefinition: {
        sorted: false,
        value: f.picklist.map((p) => ({ fullName: p.value, default: p.defaultValue, label: p.label })),
      },
    };
  if (f.type === "reference") {
    if (f.deleteConstraint) md.deleteConstraint = f.deleteConstraint;
    md.referenceTo = f.referenceTo?.[0];
    md.relationshipName = f.childRelationshipName?.replace(/__r$/, "");
    if (f.cascadeDelete) md.reparentableMasterDetail = f.updateable;
  }
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
    const def = customFieldDef(fieldName, md, this.valueSets, this.relationshipContext(objectName));
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
    const def = customFieldDef(
      existing.name,
      md,
      this.valueSets,
      this.relationshipContext(objectName, existing.name),
    );
    if (def.metadataType !== existing.metadataType) this.changeType(objectName, existing, def);
    this.org.schema.replaceField(objectName, def);
    if (!(def.externalId || def.unique)) this.org.store.dropIndex(objectName, def.name);
    this.org.indexObject(this.org.object(objectName)!);
  }

  private readonly valueSets: ValueSetLookup = (name) => this.org.globalValueSets.get(name);

  /**
   * A type change (Text to Picklist and back). Salesforce refuses one that breaks a formula using the
   * field (a validation rule comparing it as text once it is a picklist). Stored values: Salesforce lists
   * "Changing from Text to Picklist" among the changes that can lose data without saying which values
   * go (help.salesforce.com, "Considerations for Converting the Field Type of a Custom Field"); the
   * sandbox takes the stricter reading: a value matching one of the list's (whatever its case) is kept
   * under its API name, any other is cleared.
   */
  private changeType(objectName: string, existing: FieldDef, def: FieldDef): void {
    const rules = this.org.validationRules.brokenBy(objectName, def);
    if (rules.length)
      throw integrity(
        `Cannot change the type of ${objectName}.${existing.name} to ${def.metadataType}: it is referenced by Validation Rule ${rules.map((r) => `${objectName}.${r}`).join(", ")} in a way the new type does not allow. Change the rule first.`,
        "type",
      );
    if (def.type !== "picklist") return;
    const values = this.org.schema.picklistValues(def);
    for (const row of [...this.org.store.rows(objectName)]) {
      const raw = row[existing.name];
      if (raw === null || raw === undefined) continue;
      const hit = values.find((v) => v.value.toLowerCase() === String(raw).toLowerCase());
      if (hit?.value !== raw)
        this.org.store.put(objectName, Object.freeze({ ...row, [existing.name]: hit?.value ?? null }));
    }
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

  /** The org's objects and child relationships, leaving out the field being updated. */
  private relationshipContext(objectName: string, self?: string): RelationshipContext {
    return {
      objectName,
      object: (n) => this.org.object(n),
      childRelationshipNames: (parent) =>
        this.org.schema
          .childRelationships(parent)
          .filter((c) => !(c.childSObject === objectName && c.field === self))
          .flatMap((c) => (c.relationshipName ? [c.relationshipName] : [])),
    };
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
