import { randomUUID } from "node:crypto";
import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import { stableGuid } from "../ids.js";
import { isLookupRef } from "../store/store.js";
import { boundGlobalOptions } from "./option-sets.js";
import type { ColumnDef, ColumnType, KeyDef, OptionDef, TableDef } from "./types.js";

/**
 * Entity, attribute and key metadata: rendering `EntityDefinitions` JSON and creating custom columns
 * (`POST …/Attributes`) and alternate keys (`POST …/Keys`) the way the metadata Web API does
 * (dynamics.md §4).
 */

type Json = Record<string, unknown>;

/** A `Label` complex value with one en-US localized label. */
export function label(text: string, seed: string): Json {
  const localized = {
    "@odata.type": "#Microsoft.Dynamics.CRM.LocalizedLabel",
    Label: text,
    LanguageCode: 1033,
    IsManaged: false,
    MetadataId: stableGuid(`label:${seed}`),
    HasChanged: null,
  };
  return {
    "@odata.type": "#Microsoft.Dynamics.CRM.Label",
    LocalizedLabels: [localized],
    UserLocalizedLabel: localized,
  };
}

/** The first localized label text of a `Label` payload. */
function labelText(value: unknown): string | undefined {
  const labels = (value as { LocalizedLabels?: { Label?: unknown }[] } | undefined)?.LocalizedLabels;
  const text = labels?.[0]?.Label;
  return typeof text === "string" ? text : undefined;
}

const METADATA_TYPE: Record<ColumnType, string> = {
  Uniqueidentifier: "UniqueIdentifierAttributeMetadata",
  String: "StringAttributeMetadata",
  Memo: "MemoAttributeMetadata",
  Integer: "IntegerAttributeMetadata",
  BigInt: "BigIntAttributeMetadata",
  Decimal: "DecimalAttributeMetadata",
  Money: "MoneyAttributeMetadata",
  Double: "DoubleAttributeMetadata",
  Boolean: "BooleanAttributeMetadata",
  DateTime: "DateTimeAttributeMetadata",
  DateOnly: "DateTimeAttributeMetadata",
  Picklist: "PicklistAttributeMetadata",
  State: "StateAttributeMetadata",
  Status: "StatusAttributeMetadata",
  Lookup: "LookupAttributeMetadata",
  Customer: "LookupAttributeMetadata",
  Owner: "LookupAttributeMetadata",
};

/** The `@odata.type` name (without namespace) of a column's attribute metadata. */
export function attributeMetadataType(col: ColumnDef): string {
  return METADATA_TYPE[col.type];
}

function attributeType(col: ColumnDef): string {
  return col.type === "DateOnly" ? "DateTime" : col.type;
}

function optionSetJson(table: TableDef, col: ColumnDef): Json {
  const options = col.options ?? [];
  if (col.type === "Boolean") {
    const opt = (v: number) => ({
      Value: v,
      Label: label(options.find((o) => o.value === v)?.label ?? (v ? "Yes" : "No"), `${col.metadataId}:${v}`),
    });
    return {
      MetadataId: stableGuid(`optionset:${col.metadataId}`),
      Name: `${table.logicalName}_${col.logicalName}`,
      OptionSetType: "Boolean",
      IsGlobal: false,
      TrueOption: opt(1),
      FalseOption: opt(0),
    };
  }
  return {
    MetadataId: stableGuid(`optionset:${col.metadataId}`),
    Name: `${table.logicalName}_${col.logicalName}`,
    OptionSetType: col.type === "State" ? "State" : col.type === "Status" ? "Status" : "Picklist",
    IsGlobal: false,
    Options: options.map((o) => ({
      Value: o.value,
      Label: label(o.label, `${col.metadataId}:${o.value}`),
      ...(o.state !== undefined ? { State: o.state } : {}),
      ...(o.defaultStatus !== undefined ? { DefaultStatus: o.defaultStatus } : {}),
    })),
  };
}

/** `AttributeMetadata` JSON of a column (`withOptionSet` for `$expand=OptionSet`). */
export function attributeJson(table: TableDef, col: ColumnDef, withOptionSet = false): Json {
  const out: Json = {
    "@odata.type": `#Microsoft.Dynamics.CRM.${attributeMetadataType(col)}`,
    MetadataId: col.metadataId,
    LogicalName: col.logicalName,
    SchemaName: col.schemaName,
    EntityLogicalName: table.logicalName,
    AttributeType: attributeType(col),
    AttributeTypeName: { Value: `${attributeType(col)}Type` },
    IsCustomAttribute: col.custom,
    IsPrimaryId: col.logicalName === table.primaryId,
    IsPrimaryName: col.logicalName === table.primaryName,
    IsValidForCreate: !col.readOnly,
    IsValidForUpdate: !col.readOnly && col.logicalName !== table.primaryId,
    IsValidForRead: true,
    IsSecured: false,
    SourceType: 0,
    RequiredLevel: {
      Value: col.requiredLevel,
      CanBeChanged: col.custom,
      ManagedPropertyLogicalName: "canmodifyrequirementlevelsettings",
    },
    DisplayName: label(col.displayName, `${col.metadataId}:display`),
    Description: label(col.description ?? "", `${col.metadataId}:description`),
  };
  switch (col.type) {
    case "String":
      Object.assign(out, {
        MaxLength: col.maxLength,
        Format: "Text",
        FormatName: { Value: col.format ?? "Text" },
      });
      break;
    case "Memo":
      Object.assign(out, { MaxLength: col.maxLength, Format: "TextArea" });
      break;
    case "Integer":
    case "BigInt":
      Object.assign(out, {
        MinValue: col.minValue ?? -2147483648,
        MaxValue: col.maxValue ?? 2147483647,
        Format: "None",
      });
      break;
    case "Decimal":
    case "Money":
    case "Double":
      Object.assign(out, {
        Precision: col.precision ?? 2,
        MinValue: col.minValue ?? null,
        MaxValue: col.maxValue ?? null,
      });
      break;
    case "Boolean":
      Object.assign(out, { DefaultValue: col.defaultValue === true });
      break;
    case "DateTime":
    case "DateOnly":
      Object.assign(out, {
        Format: col.type === "DateOnly" ? "DateOnly" : "DateAndTime",
        DateTimeBehavior: { Value: col.type === "DateOnly" ? "DateOnly" : "UserLocal" },
      });
      break;
    case "Picklist":
    case "State":
    case "Status":
      Object.assign(out, { DefaultFormValue: typeof col.defaultValue === "number" ? col.defaultValue : -1 });
      break;
    case "Lookup":
    case "Customer":
    case "Owner":
      Object.assign(out, { Targets: [...new Set((col.targets ?? []).map((t) => t.table))] });
      break;
    default:
      break;
  }
  if (withOptionSet && col.options) out.OptionSet = optionSetJson(table, col);
  return out;
}

/** `EntityKeyMetadata` JSON. */
export function keyJson(table: TableDef, key: KeyDef): Json {
  return {
    "@odata.type": "#Microsoft.Dynamics.CRM.EntityKeyMetadata",
    MetadataId: key.metadataId,
    LogicalName: key.logicalName,
    SchemaName: key.schemaName,
    EntityLogicalName: table.logicalName,
    KeyAttributes: [...key.keyAttributes],
    EntityKeyIndexStatus: key.status,
    IsManaged: false,
    IsCustomizable: { Value: true, CanBeChanged: true, ManagedPropertyLogicalName: "iscustomizable" },
    DisplayName: label(key.displayName, `${key.metadataId}:display`),
  };
}

/** `EntityMetadata` JSON (without Attributes/Keys; those are expanded by the route). */
export function entityJson(table: TableDef): Json {
  return {
    MetadataId: table.metadataId,
    LogicalName: table.logicalName,
    SchemaName: table.schemaName,
    EntitySetName: table.entitySetName,
    LogicalCollectionName: table.entitySetName,
    PrimaryIdAttribute: table.primaryId,
    PrimaryNameAttribute: table.primaryName,
    ObjectTypeCode: table.objectTypeCode,
    OwnershipType: table.ownership === "None" ? "None" : `${table.ownership}`,
    IsActivity: table.isActivity,
    IsCustomEntity: false,
    ChangeTrackingEnabled: table.changeTrackingEnabled,
    CanChangeTrackingBeEnabled: {
      Value: true,
      CanBeChanged: false,
      ManagedPropertyLogicalName: "canchangetrackingbeenabled",
    },
    IsOptimisticConcurrencyEnabled: true,
    DisplayName: label(table.displayName, `${table.metadataId}:display`),
  };
}

/** The publisher prefix new schema names must use, checked against `MSCRM.SolutionUniqueName`. */
function checkSchemaName(env: Env, schemaName: unknown, solution: string | undefined, kind: string): string {
  if (typeof schemaName !== "string" || !/^[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+$/.test(schemaName))
    throw dvErrors.badRequest(
      `The ${kind} SchemaName '${String(schemaName)}' is not valid: use '<publisher prefix>_<Name>' with letters, digits and underscores, e.g. 'new_ReferralId'.`,
    );
  const prefix = schemaName.slice(0, schemaName.indexOf("_")).toLowerCase();
  const publishers = [...env.store.all("publisher")];
  if (solution !== undefined) {
    const sol = [...env.store.all("solution")].find(
      (s) => typeof s.uniquename === "string" && s.uniquename.toLowerCase() === solution.toLowerCase(),
    );
    if (!sol)
      throw new DataverseError(
        404,
        "0x80040217",
        `The solution '${solution}' (MSCRM.SolutionUniqueName) does not exist. Create it first (POST solutions) or omit the header.`,
      );
    const pubRef = sol.publisherid;
    const pub = isLookupRef(pubRef) ? env.store.get("publisher", pubRef.id) : undefined;
    const expected =
      typeof pub?.customizationprefix === "string" ? pub.customizationprefix.toLowerCase() : undefined;
    if (expected && expected !== prefix)
      throw dvErrors.badRequest(
        `The ${kind} SchemaName '${schemaName}' must start with '${expected}_', the customization prefix of the publisher of solution '${solution}'.`,
      );
    return prefix;
  }
  if (
    !publishers.some(
      (p) => typeof p.customizationprefix === "string" && p.customizationprefix.toLowerCase() === prefix,
    )
  )
    throw dvErrors.badRequest(
      `The ${kind} SchemaName '${schemaName}' uses the prefix '${prefix}', which belongs to no publisher. Create a publisher with customizationprefix '${prefix}' or use an existing prefix.`,
    );
  return prefix;
}

function optionValuePrefix(env: Env, prefix: string): number {
  const pub = [...env.store.all("publisher")].find(
    (p) => typeof p.customizationprefix === "string" && p.customizationprefix.toLowerCase() === prefix,
  );
  return typeof pub?.customizationoptionvalueprefix === "number" ? pub.customizationoptionvalueprefix : 10000;
}

const CREATABLE: Record<string, ColumnType> = {
  StringAttributeMetadata: "String",
  MemoAttributeMetadata: "Memo",
  BooleanAttributeMetadata: "Boolean",
  DateTimeAttributeMetadata: "DateTime",
  IntegerAttributeMetadata: "Integer",
  PicklistAttributeMetadata: "Picklist",
  MoneyAttributeMetadata: "Money",
  DecimalAttributeMetadata: "Decimal",
  DoubleAttributeMetadata: "Double",
};

const ATTRIBUTE_TYPE_TO_METADATA: Record<string, string> = {
  String: "StringAttributeMetadata",
  Memo: "MemoAttributeMetadata",
  Boolean: "BooleanAttributeMetadata",
  DateTime: "DateTimeAttributeMetadata",
  Integer: "IntegerAttributeMetadata",
  Picklist: "PicklistAttributeMetadata",
  Money: "MoneyAttributeMetadata",
  Decimal: "DecimalAttributeMetadata",
  Double: "DoubleAttributeMetadata",
};

function num(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}

/** Creates a custom column from an `…AttributeMetadata` payload; returns it. */
export function createAttribute(
  env: Env,
  table: TableDef,
  payload: unknown,
  solution: string | undefined,
): ColumnDef {
  if (typeof payload !== "object" || payload === null)
    throw dvErrors.badRequest("The body must be an AttributeMetadata object.");
  const p = payload as Json;
  const odataType =
    typeof p["@odata.type"] === "string"
      ? (p["@odata.type"] as string).replace(/^#?Microsoft\.Dynamics\.CRM\./, "")
      : undefined;
  const metadataType = odataType ?? ATTRIBUTE_TYPE_TO_METADATA[String(p.AttributeType)];
  let type = metadataType ? CREATABLE[metadataType] : undefined;
  if (!type)
    throw dvErrors.badRequest(
      `Creating attributes of type '${odataType ?? String(p.AttributeType)}' is not supported by the sandbox: use String, Memo, Boolean, DateTime, Integer, Picklist, Money, Decimal or Double attribute metadata.`,
    );
  const prefix = checkSchemaName(env, p.SchemaName, solution, "attribute");
  const schemaName = p.SchemaName as string;
  const logicalName = schemaName.toLowerCase();
  if (table.columns.has(logicalName))
    throw dvErrors.badRequest(
      `An attribute with the name '${logicalName}' already exists on entity '${table.logicalName}'.`,
    );
  const required = (p.RequiredLevel as { Value?: unknown } | undefined)?.Value ?? "None";
  if (!["None", "ApplicationRequired", "Recommended"].includes(String(required)))
    throw dvErrors.badRequest(
      `RequiredLevel '${String(required)}' is not valid for a custom attribute: use None, Recommended or ApplicationRequired.`,
    );
  const col: ColumnDef = {
    logicalName,
    schemaName,
    type,
    displayName: labelText(p.DisplayName) ?? schemaName,
    description: labelText(p.Description),
    metadataId: randomUUID(),
    custom: true,
    requiredLevel: required as ColumnDef["requiredLevel"],
    solution,
  };
  switch (type) {
    case "String": {
      col.maxLength = num(p.MaxLength, 100);
      if (col.maxLength < 1 || col.maxLength > 4000)
        throw dvErrors.badRequest("MaxLength of a String attribute must be between 1 and 4000.");
      const fmt = (p.FormatName as { Value?: unknown } | undefined)?.Value;
      col.format = typeof fmt === "string" ? fmt : "Text";
      break;
    }
    case "Memo":
      col.maxLength = num(p.MaxLength, 2000);
      if (col.maxLength < 1 || col.maxLength > 1048576)
        throw dvErrors.badRequest("MaxLength of a Memo attribute must be between 1 and 1048576.");
      break;
    case "Integer":
      col.minValue = num(p.MinValue, -2147483648);
      col.maxValue = num(p.MaxValue, 2147483647);
      break;
    case "Money":
      col.precision = num(p.Precision, 2);
      col.minValue = num(p.MinValue, -922337203685477);
      col.maxValue = num(p.MaxValue, 922337203685477);
      break;
    case "Decimal":
    case "Double":
      col.precision = num(p.Precision, 2);
      col.minValue = num(p.MinValue, -100000000000);
      col.maxValue = num(p.MaxValue, 100000000000);
      break;
    case "Boolean": {
      const os = p.OptionSet as
        | { TrueOption?: { Label?: unknown }; FalseOption?: { Label?: unknown } }
        | undefined;
      col.options = [
        { value: 0, label: labelText(os?.FalseOption?.Label) ?? "No" },
        { value: 1, label: labelText(os?.TrueOption?.Label) ?? "Yes" },
      ];
      col.defaultValue = p.DefaultValue === true;
      break;
    }
    case "DateTime": {
      const behavior = (p.DateTimeBehavior as { Value?: unknown } | undefined)?.Value;
      if (p.Format === "DateOnly" || behavior === "DateOnly") {
        type = "DateOnly";
        col.type = "DateOnly";
        col.format = "DateOnly";
      }
      break;
    }
    case "Picklist": {
      const global = boundGlobalOptions(env, p);
      if (global) {
        col.options = global.options.map((o) => ({ ...o }));
        break;
      }
      const os = p.OptionSet as { Options?: { Value?: unknown; Label?: unknown }[] } | undefined;
      const raw = os?.Options;
      if (!Array.isArray(raw) || raw.length === 0)
        throw dvErrors.badRequest(
          "A Picklist attribute needs OptionSet.Options with at least one option, or GlobalOptionSet@odata.bind naming a global option set.",
        );
      const base = optionValuePrefix(env, prefix) * 10000;
      const options: OptionDef[] = raw.map((o, i) => ({
        value: typeof o.Value === "number" ? o.Value : base + i,
        label: labelText(o.Label) ?? String(typeof o.Value === "number" ? o.Value : base + i),
      }));
      if (new Set(options.map((o) => o.value)).size !== options.length)
        throw dvErrors.badRequest("OptionSet.Options contains the same Value twice.");
      col.options = options;
      if (typeof p.DefaultFormValue === "number" && p.DefaultFormValue >= 0)
        col.defaultValue = p.DefaultFormValue;
      break;
    }
    default:
      break;
  }
  table.columns.set(logicalName, col);
  return col;
}

/**
 * Updates a column from a PUT of its `…AttributeMetadata` (Microsoft Learn, "Update a column"): the
 * type and names cannot change; the labels, the requirement level and a text column's length can.
 * PUT replaces the definition, so a Description left out is cleared; `DisplayName` is required as
 * on create.
 */
export function updateAttribute(col: ColumnDef, payload: unknown): void {
  if (typeof payload !== "object" || payload === null)
    throw dvErrors.badRequest("The body must be an AttributeMetadata object.");
  const p = payload as Json;
  const odataType =
    typeof p["@odata.type"] === "string"
      ? (p["@odata.type"] as string).replace(/^#?Microsoft\.Dynamics\.CRM\./, "")
      : undefined;
  if (odataType !== attributeMetadataType(col))
    throw dvErrors.badRequest(
      `The attribute '${col.logicalName}' is a ${attributeMetadataType(col)}: the body's @odata.type must be 'Microsoft.Dynamics.CRM.${attributeMetadataType(col)}' (the type of a column cannot change).`,
    );
  if (typeof p.SchemaName !== "string" || p.SchemaName.toLowerCase() !== col.schemaName.toLowerCase())
    throw dvErrors.badRequest(
      `SchemaName '${String(p.SchemaName)}' does not match the attribute '${col.schemaName}': the name of a column cannot change.`,
    );
  if (p.LogicalName !== undefined && p.LogicalName !== col.logicalName)
    throw dvErrors.badRequest(
      `LogicalName '${String(p.LogicalName)}' does not match the attribute '${col.logicalName}'.`,
    );
  const display = labelText(p.DisplayName);
  if (!display) throw dvErrors.badRequest("DisplayName is required: give a Label with a LocalizedLabel.");
  const required = (p.RequiredLevel as { Value?: unknown } | undefined)?.Value ?? col.requiredLevel;
  if (!["None", "ApplicationRequired", "Recommended", "SystemRequired"].includes(String(required)))
    throw dvErrors.badRequest(`RequiredLevel '${String(required)}' is not valid.`);
  if (col.custom && required === "SystemRequired")
    throw dvErrors.badRequest("A custom attribute cannot be SystemRequired.");
  let maxLength = col.maxLength;
  if ((col.type === "String" || col.type === "Memo") && p.MaxLength !== undefined) {
    const limit = col.type === "String" ? 4000 : 1048576;
    if (
      typeof p.MaxLength !== "number" ||
      !Number.isInteger(p.MaxLength) ||
      p.MaxLength < 1 ||
      p.MaxLength > limit
    )
      throw dvErrors.badRequest(`MaxLength of a ${col.type} attribute must be between 1 and ${limit}.`);
    maxLength = p.MaxLength;
  }
  col.displayName = display;
  col.description = labelText(p.Description);
  col.requiredLevel = required as ColumnDef["requiredLevel"];
  if (maxLength !== undefined) col.maxLength = maxLength;
}

const KEY_TYPES = new Set<ColumnType>([
  "String",
  "Integer",
  "Decimal",
  "DateTime",
  "DateOnly",
  "Lookup",
  "Customer",
  "Owner",
  "Picklist",
]);

/** Creates an alternate key (index status Pending) from an `EntityKeyMetadata` payload. */
export function createKey(env: Env, table: TableDef, payload: unknown, solution: string | undefined): KeyDef {
  if (typeof payload !== "object" || payload === null)
    throw dvErrors.badRequest("The body must be an EntityKeyMetadata object.");
  const p = payload as Json;
  checkSchemaName(env, p.SchemaName, solution, "key");
  const schemaName = p.SchemaName as string;
  const logicalName = schemaName.toLowerCase();
  const attrs = p.KeyAttributes;
  if (!Array.isArray(attrs) || attrs.length === 0 || attrs.some((a) => typeof a !== "string"))
    throw dvErrors.badRequest("KeyAttributes must list the logical names of the key's columns.");
  if (attrs.length > 16) throw dvErrors.badRequest("An alternate key can have at most 16 columns.");
  for (const a of attrs as string[]) {
    const col = table.columns.get(a);
    if (!col)
      throw dvErrors.badRequest(`The attribute '${a}' does not exist on entity '${table.logicalName}'.`);
    if (!KEY_TYPES.has(col.type))
      throw dvErrors.badRequest(
        `The attribute '${a}' (${col.type}) cannot be part of an alternate key: allowed types are Decimal, Integer, String, DateTime, Lookup and Picklist.`,
      );
  }
  if (table.keys.size >= 10)
    throw dvErrors.badRequest(`Entity '${table.logicalName}' already has the maximum of 10 alternate keys.`);
  if (table.keys.has(logicalName))
    throw dvErrors.badRequest(
      `An alternate key named '${logicalName}' already exists on '${table.logicalName}'.`,
    );
  const wanted = [...(attrs as string[])].sort().join(",");
  const same = [...table.keys.values()].find((k) => [...k.keyAttributes].sort().join(",") === wanted);
  if (same)
    throw dvErrors.badRequest(`The alternate key '${same.logicalName}' already uses the same attributes.`);
  const key: KeyDef = {
    logicalName,
    schemaName,
    displayName: labelText(p.DisplayName) ?? schemaName,
    metadataId: randomUUID(),
    keyAttributes: [...(attrs as string[])],
    status: "Pending",
    createdAtRequest: env.requestCounter,
    createdAtMs: env.clock.now().getTime(),
  };
  table.keys.set(logicalName, key);
  return key;
}
