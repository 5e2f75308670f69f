import type { FieldDef, Value } from "../schema/types.js";
import {
  DEVELOPER_NAME,
  list,
  MetadataComponentError,
  type MetadataRecord,
  record,
  SoapFault,
  str,
} from "./metadata-types.js";
import { integrityError, ObjectComponents, type OrgSchemaView } from "./object-components.js";

/**
 * Object-specific QuickAction components (Metadata API QuickAction: fullName `Object.Action`, label,
 * type, optionsCreateFeedItem, fieldOverrides [{field, formula | literalValue}], quickActionLayout
 * {layoutSectionStyle, quickActionLayoutColumns [{quickActionLayoutItems [{field, uiBehavior}]}]},
 * successMessage, description;
 * developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_quickaction.htm).
 *
 * The sandbox invokes `Update` actions only (the REST quick action resource). A field override is
 * a "predefined field value": the page does not say which of `formula` and `literalValue` a field
 * type takes; retrieved actions carry picklist values as `literalValue` and other values as
 * formulas, so both are taken, and a formula must be a literal (TRUE, FALSE, a number or a quoted
 * text) — the sandbox evaluates no other formula here.
 */
export interface QuickActionDef {
  objectName: string;
  name: string;
  label: string;
  type: string;
  /** Field → value set on save before the submitted fields (which win). */
  overrides: { field: string; value: Value }[];
  /** The fields the action's form shows, in order, with their `uiBehavior`. */
  layoutFields: { field: string; uiBehavior: string }[];
  /** The component as created, returned by readMetadata. */
  metadata: MetadataRecord;
}

/** QuickActionType values of the WSDL (an unknown one fails the whole call). */
const TYPES = new Set([
  "Create",
  "VisualforcePage",
  "Post",
  "SendEmail",
  "LogACall",
  "SocialPost",
  "Canvas",
  "Update",
  "LightningComponent",
  "Flow",
  "LightningWebComponent",
  "Mass",
]);
const UI_BEHAVIORS = new Set(["Edit", "Required", "Readonly"]);
/** Salesforce's limits on an action's name and label (the New Action page). */
const MAX_NAME = 40;
const MAX_LABEL = 80;

/** A literal formula's value, or undefined when it is not one. */
function literalFormula(src: string, f: FieldDef): Value | undefined {
  const s = src.trim();
  if (/^(true|false)$/i.test(s)) return f.type === "boolean" ? s.toLowerCase() === "true" : undefined;
  const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(s);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, "$1");
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  return undefined;
}

/** The org's quick actions by lower-case `Object.Action`. */
export class QuickActions extends ObjectComponents<QuickActionDef> {
  constructor(private readonly org: OrgSchemaView) {
    super(org, "QuickAction", "an action", {
      hint: "the sandbox keeps object-specific actions only",
    });
  }

  protected metadataOf(c: QuickActionDef): MetadataRecord {
    return structuredClone(c.metadata);
  }

  private field(objectName: string, name: string, member: string): FieldDef {
    const f = this.org.schema.field(objectName, name);
    if (!f)
      throw new MetadataComponentError(
        "INVALID_CROSS_REFERENCE_KEY",
        `In field: ${member} - no CustomField named ${objectName}.${name} found`,
        [member],
      );
    return f;
  }

  /** Validates a component as Salesforce refuses it and returns its definition. */
  protected compile(md: MetadataRecord, objectName: string, name: string): QuickActionDef {
    if (!DEVELOPER_NAME.test(name) || name.length > MAX_NAME)
      throw integrityError(
        `The action name ${name} is invalid: at most ${MAX_NAME} characters, beginning with a letter, using only letters, digits and single underscores.`,
        "fullName",
      );
    const type = str(md, "type");
    if (!type)
      throw new MetadataComponentError("REQUIRED_FIELD_MISSING", "Required field is missing: type", ["type"]);
    if (!TYPES.has(type))
      throw new SoapFault("soapenv:Client", `'${type}' is not a valid value for the enum 'QuickActionType'`);
    if (type !== "Update")
      throw integrityError(`The sandbox org keeps Update actions only, not ${type}.`, "type");
    const label = str(md, "label");
    if (!label)
      throw new MetadataComponentError("REQUIRED_FIELD_MISSING", "Required field is missing: label", [
        "label",
      ]);
    if (label.length > MAX_LABEL)
      throw integrityError(`The label is longer than ${MAX_LABEL} characters.`, "label");
    const overrides = list(md, "fieldOverrides").map((o) => {
      const f = this.field(objectName, str(o, "field") ?? "", "fieldOverrides");
      // A predefined value is written on save: a field nobody can edit cannot take one.
      if (!f.updateable || f.calculated)
        throw integrityError(
          `${objectName}.${f.name} is read-only: it cannot have a predefined value.`,
          "fieldOverrides",
        );
      const formula = str(o, "formula");
      const literal = typeof o.literalValue === "string" ? o.literalValue : undefined;
      if ((formula === undefined) === (literal === undefined))
        throw integrityError(
          `The predefined value of ${f.name} needs exactly one of formula and literalValue.`,
          "fieldOverrides",
        );
      let value: Value;
      if (formula !== undefined) {
        const v = literalFormula(formula, f);
        if (v === undefined)
          throw integrityError(
            `The sandbox org evaluates literal predefined values only (TRUE, FALSE, a number or "text"), not ${formula} on ${f.name}.`,
            "fieldOverrides",
          );
        value = v;
      } else value = f.type === "boolean" ? /^(true|1)$/i.test(literal!) : literal!;
      return { field: f.name, value };
    });
    const layout = record(md, "quickActionLayout");
    const layoutFields = list(layout, "quickActionLayoutColumns").flatMap((c) =>
      list(c, "quickActionLayoutItems")
        .filter((i) => str(i, "field"))
        .map((i) => {
          const f = this.field(objectName, str(i, "field")!, "quickActionLayout");
          const uiBehavior = str(i, "uiBehavior") ?? "Edit";
          if (!UI_BEHAVIORS.has(uiBehavior))
            throw new SoapFault(
              "soapenv:Client",
              `'${uiBehavior}' is not a valid value for the enum 'UiBehavior'`,
            );
          return { field: f.name, uiBehavior };
        }),
    );
    const seen = new Set<string>();
    for (const l of layoutFields) {
      if (seen.has(l.field.toLowerCase()))
        throw integrityError(`${l.field} is on the action's layout more than once.`, "quickActionLayout");
      seen.add(l.field.toLowerCase());
    }
    return {
      objectName,
      name,
      label,
      type,
      overrides,
      layoutFields,
      metadata: structuredClone({ ...md, fullName: `${objectName}.${name}` }),
    };
  }

  /** An action of this object by its name, with or without the `Object.` prefix. */
  get(objectName: string, name: string): QuickActionDef | undefined {
    const full = name.includes(".") ? name : `${objectName}.${name}`;
    const a = this.find(full);
    return a?.objectName === objectName ? a : undefined;
  }

  /** Full names of the actions whose predefined values or form name this field. */
  referencing(objectName: string, field: string): string[] {
    const f = field.toLowerCase();
    return this.of(objectName)
      .filter(
        (a) =>
          a.overrides.some((o) => o.field.toLowerCase() === f) ||
          a.layoutFields.some((l) => l.field.toLowerCase() === f),
      )
      .map((a) => `${a.objectName}.${a.name}`);
  }

  /** The actions of one object, in creation order. */
  of(objectName: string): QuickActionDef[] {
    return this.all().filter((a) => a.objectName === objectName);
  }

  snapshot(): MetadataRecord[] {
    return this.all().map((a) => structuredClone(a.metadata));
  }

  /** Replaces the actions with saved ones (validated again against the current schema). */
  restore(saved: readonly MetadataRecord[]): void {
    this.clear();
    for (const md of saved) this.create(md);
  }
}
