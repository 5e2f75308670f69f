import type { SchemaRegistry } from "../schema/registry.js";
import { type FieldDef, isFilterable, isSortable, type SObjectDef } from "../schema/types.js";
import type { Org } from "../store/org.js";
import type { Actor } from "../store/security.js";

const SOAP_TYPES: Record<string, string> = {
  id: "tns:ID",
  reference: "tns:ID",
  boolean: "xsd:boolean",
  date: "xsd:date",
  datetime: "xsd:dateTime",
  currency: "xsd:double",
  percent: "xsd:double",
  double: "xsd:double",
  int: "xsd:int",
  address: "urn:address",
};

function objectUrls(name: string, version: string): Record<string, string> {
  const base = `/services/data/v${version}/sobjects/${name}`;
  return {
    compactLayouts: `${base}/describe/compactLayouts`,
    rowTemplate: `${base}/{ID}`,
    describe: `${base}/describe`,
    sobject: base,
    defaultValues: `${base}/defaultValues?recordTypeId&fields`,
    layouts: `${base}/describe/layouts`,
  };
}

/** The describeGlobal entry of an object. */
export function globalEntry(def: SObjectDef, version: string): Record<string, unknown> {
  return {
    activateable: false,
    createable: def.createable,
    custom: def.custom ?? false,
    customSetting: false,
    deepCloneable: false,
    deletable: def.deletable,
    deprecatedAndHidden: false,
    feedEnabled: false,
    hasSubtypes: false,
    isInterface: false,
    isSubtype: false,
    keyPrefix: def.keyPrefix,
    label: def.label,
    labelPlural: def.labelPlural,
    layoutable: def.createable,
    mergeable: false,
    mruEnabled: def.createable,
    name: def.name,
    queryable: def.queryable,
    replicateable: def.createable,
    retrieveable: true,
    searchable: def.createable,
    triggerable: def.createable,
    undeletable: def.deletable,
    updateable: def.updateable,
    urls: objectUrls(def.name, version),
  };
}

function describeField(
  schema: SchemaRegistry,
  def: SObjectDef,
  f: FieldDef,
  writable: boolean,
): Record<string, unknown> {
  const compound = def.fields.find(
    (a) => a.addressPrefix && a !== f && f.name.startsWith(a.addressPrefix) && f.type !== "address",
  );
  const text = f.length !== undefined && f.type !== "reference" && f.type !== "id";
  const numeric = f.type === "currency" || f.type === "percent" || f.type === "double";
  return {
    aggregatable: isFilterable(f) && f.type !== "boolean",
    aiPredictionField: false,
    autoNumber: f.autoNumberFormat !== undefined,
    byteLength: f.length ? f.length * 3 : 0,
    calculated: f.calculated ?? false,
    calculatedFormula: null,
    cascadeDelete: false,
    caseSensitive: f.caseSensitive ?? false,
    compoundFieldName: compound?.name ?? null,
    controllerName: null,
    createable: f.createable && writable,
    custom: f.custom ?? false,
    defaultValue: f.defaultValue ?? null,
    defaultValueFormula: null,
    defaultedOnCreate: f.defaultedOnCreate ?? false,
    dependentPicklist: false,
    deprecatedAndHidden: false,
    digits: f.type === "int" ? (f.precision ?? 9) : 0,
    displayLocationInDecimal: false,
    encrypted: false,
    externalId: f.externalId ?? false,
    extraTypeInfo: f.extraTypeInfo ?? null,
    filterable: isFilterable(f),
    filteredLookupInfo: null,
    formulaTreatNullNumberAsZero: false,
    groupable: isSortable(f) && !numeric && f.type !== "datetime",
    highScaleNumber: false,
    htmlFormatted: false,
    idLookup: f.idLookup ?? f.externalId === true,
    inlineHelpText: null,
    label: f.label,
    length: text ? f.length : f.type === "id" || f.type === "reference" ? 18 : 0,
    mask: null,
    maskType: null,
    name: f.name,
    nameField: f.nameField ?? false,
    namePointing: false,
    nillable: f.nillable,
    permissionable: f.nillable && f.createable,
    picklistValues: f.type === "picklist" || f.type === "multipicklist" ? schema.picklistValues(f) : [],
    polymorphicForeignKey: false,
    precision: numeric ? (f.precision ?? 18) : 0,
    queryByDistance: false,
    referenceTargetField: null,
    referenceTo: f.referenceTo ?? [],
    relationshipName: f.relationshipName ?? null,
    relationshipOrder: null,
    restrictedDelete: false,
    restrictedPicklist: f.restrictedPicklist ?? false,
    scale: numeric ? (f.scale ?? 0) : 0,
    searchPrefilterable: false,
    soapType: SOAP_TYPES[f.type] ?? "xsd:string",
    sortable: isSortable(f),
    type: f.type,
    unique: f.unique ?? false,
    updateable: f.updateable && writable,
    writeRequiresMasterRead: false,
  };
}

/** `GET sobjects/<T>/describe` for `actor`: fields hidden by field-level security are left out. */
export function describeObject(
  org: Org,
  def: SObjectDef,
  actor: Actor,
  version: string,
): Record<string, unknown> {
  const fields = def.fields
    .filter((f) => org.security.canRead(actor, def.name, f))
    .map((f) => describeField(org.schema, def, f, org.security.canEdit(actor, def.name, f)));
  // A child object the user cannot read is left out, as its fields are.
  const childRelationships = org.schema
    .childRelationships(def.name)
    .filter((c) => org.security.canAccessObject(actor, c.childSObject, "read"))
    .map((c) => ({
      cascadeDelete: c.cascadeDelete,
      childSObject: c.childSObject,
      deprecatedAndHidden: false,
      field: c.field,
      junctionIdListNames: [],
      junctionReferenceTo: [],
      relationshipName: c.relationshipName,
      restrictedDelete: org.schema.field(c.childSObject, c.field)?.deleteConstraint === "Restrict",
    }));
  return {
    ...globalEntry(def, version),
    actionOverrides: [],
    childRelationships,
    compactLayoutable: def.createable,
    defaultImplementation: null,
    extendedBy: null,
    extendsInterfaces: null,
    fields,
    implementedBy: null,
    implementsInterfaces: null,
    listviewable: null,
    lookupLayoutable: null,
    namedLayoutInfos: [],
    networkScopeFieldName: null,
    recordTypeInfos: recordTypeInfos(org, def, version),
    searchLayoutable: def.createable,
    sobjectDescribeOption: "FULL",
    supportedScopes: [{ label: "All", name: "everything" }],
  };
}

/** The Master record type's id: every object has it; it stands for "no record type". */
export const MASTER_RECORD_TYPE_ID = "012000000000000AAA";

/**
 * `recordTypeInfos` of a describe: the object's active record types plus Master, the user's default
 * one marked `defaultRecordTypeMapping` (Apex RecordTypeInfo: getDeveloperName, isActive, isAvailable,
 * isDefaultRecordTypeMapping, isMaster). An object without record types lists none here.
 */
function recordTypeInfos(org: Org, def: SObjectDef, version: string): Record<string, unknown>[] {
  const types = [...org.store.rows("RecordType")].filter(
    (r) => r.SobjectType === def.name && r.IsDeleted !== true && r.IsActive !== false,
  );
  if (!types.length) return [];
  const fallback = org.defaultRecordType.get(def.name);
  const info = (id: string, name: string, developerName: string, master: boolean) => ({
    active: true,
    available: true,
    defaultRecordTypeMapping: master ? !fallback : id === fallback,
    developerName,
    master,
    name,
    recordTypeId: id,
    urls: { layout: `/services/data/v${version}/sobjects/${def.name}/describe/layouts/${id}` },
  });
  return [
    ...types.map((r) => info(String(r.Id), String(r.Name), String(r.DeveloperName), false)),
    info(MASTER_RECORD_TYPE_ID, "Master", "Master", true),
  ];
}
