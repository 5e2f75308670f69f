/** Field types as `describe` reports them. */
export type FieldType =
  | "id"
  | "string"
  | "textarea"
  | "picklist"
  | "multipicklist"
  | "combobox"
  | "reference"
  | "boolean"
  | "date"
  | "datetime"
  | "currency"
  | "percent"
  | "double"
  | "int"
  | "email"
  | "phone"
  | "url"
  | "address";

/** A stored field value. Dates are `YYYY-MM-DD`, datetimes `YYYY-MM-DDTHH:mm:ss.SSS+0000`. */
export type Value = string | number | boolean | null;

export interface PicklistEntry {
  value: string;
  label: string;
  active: boolean;
  defaultValue: boolean;
}

/** Where a picklist's values come from: fixed, the org's opportunity stages, or its currencies. */
export type PicklistSource = PicklistEntry[] | "stages" | "currencies";

export interface FieldDef {
  name: string;
  label: string;
  type: FieldType;
  /** Max characters for text types. */
  length?: number;
  precision?: number;
  scale?: number;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  /** Filled by the system when not given (so not "required" even if not nillable). */
  defaultedOnCreate?: boolean;
  /** Default value for new rows (checkboxes, custom fields with a default). */
  defaultValue?: Value;
  referenceTo?: string[];
  relationshipName?: string;
  /** Name of the child relationship this lookup creates on its parent (`OpportunityContactRoles`). */
  childRelationshipName?: string;
  /** Deleting the parent deletes rows pointing at it through this field. */
  cascadeDelete?: boolean;
  /** Custom lookup: deleting the parent clears this field (SetNull) or is refused (Restrict). */
  deleteConstraint?: "SetNull" | "Restrict";
  picklist?: PicklistSource;
  restrictedPicklist?: boolean;
  /** The global value set a custom picklist takes its values from (Metadata API `valueSetName`). */
  valueSetName?: string;
  externalId?: boolean;
  unique?: boolean;
  caseSensitive?: boolean;
  custom?: boolean;
  calculated?: boolean;
  nameField?: boolean;
  /** An auto-number field's display format (`DS-{000000}`): the org numbers records on insert; read-only. */
  autoNumberFormat?: string;
  idLookup?: boolean;
  /** Compound address field: the prefix of its component fields (`Billing`). */
  addressPrefix?: string;
  /** Extra describe hint, e.g. `plaintextarea` for long text. */
  extraTypeInfo?: string;
  /** Visible lines (long text custom fields). */
  visibleLines?: number;
  /** Metadata API type of a custom field (`Text`, `Checkbox`…), for readMetadata. */
  metadataType?: string;
  description?: string;
  inlineHelpText?: string;
}

export interface SObjectDef {
  name: string;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  createable: boolean;
  updateable: boolean;
  deletable: boolean;
  queryable: boolean;
  fields: FieldDef[];
  /** Created through the Metadata API (`Name__c`), with its Metadata API settings. */
  custom?: boolean;
  /** CustomObject `sharingModel` (`ControlledByParent` on a detail object). */
  sharingModel?: string;
  /** CustomObject `description`. */
  description?: string;
  /** The next number an auto-number name field hands out (CustomObject nameField `startingNumber`, then +1). */
  autoNumberNext?: number;
}

/** Whether a field can appear in WHERE (long text and compound fields cannot). */
export function isFilterable(f: FieldDef): boolean {
  if (f.type === "address") return false;
  if (f.type === "textarea" && (f.length ?? 255) > 255) return false;
  return true;
}

/** Whether a field can appear in ORDER BY. */
export function isSortable(f: FieldDef): boolean {
  return isFilterable(f) && f.type !== "multipicklist";
}

/** Text-like types whose values are strings compared case-insensitively. */
export function isTextType(t: FieldType): boolean {
  return (
    t === "string" ||
    t === "textarea" ||
    t === "picklist" ||
    t === "multipicklist" ||
    t === "combobox" ||
    t === "email" ||
    t === "phone" ||
    t === "url"
  );
}

export function isNumberType(t: FieldType): boolean {
  return t === "currency" || t === "percent" || t === "double" || t === "int";
}

export function isIdType(t: FieldType): boolean {
  return t === "id" || t === "reference";
}
