import { forecastCategoryApiValue, type StageDefinition } from "./stages.js";
import { CURRENCY_OBJECTS, STANDARD_OBJECTS } from "./standard-objects.js";
import type { FieldDef, PicklistEntry, SObjectDef } from "./types.js";

export interface ChildRelationship {
  childSObject: string;
  field: string;
  relationshipName: string | null;
  cascadeDelete: boolean;
}

export interface SchemaOptions {
  multiCurrency: boolean;
  /** ISO codes of active currencies; the first is the corporate currency. */
  currencies: string[];
  stages: readonly StageDefinition[];
}

const lower = (s: string) => s.toLowerCase();

/**
 * The org's objects and fields: the standard ones plus custom fields created through the Metadata
 * API. Lookups are case-insensitive like Salesforce's; answers carry the canonical spelling.
 */
export class SchemaRegistry {
  private readonly objects = new Map<string, SObjectDef>();
  private readonly fieldMaps = new Map<string, Map<string, FieldDef>>();
  private readonly byPrefix = new Map<string, SObjectDef>();
  readonly stages: readonly StageDefinition[];
  readonly currencies: readonly string[];
  readonly multiCurrency: boolean;

  constructor(options: SchemaOptions) {
    this.stages = options.stages;
    this.currencies = options.currencies;
    this.multiCurrency = options.multiCurrency;
    for (const def of STANDARD_OBJECTS) {
      const copy: SObjectDef = { ...def, fields: def.fields.map((f) => ({ ...f })) };
      if (options.multiCurrency && CURRENCY_OBJECTS.has(def.name)) {
        const at = copy.fields.findIndex((f) => f.name === "OwnerId" || f.name === "CreatedDate");
        copy.fields.splice(at < 0 ? copy.fields.length : at, 0, {
          name: "CurrencyIsoCode",
          label: "Currency ISO Code",
          type: "picklist",
          length: 3,
          nillable: false,
          createable: true,
          updateable: true,
          defaultedOnCreate: true,
          defaultValue: options.currencies[0] ?? "USD",
          picklist: "currencies",
          restrictedPicklist: true,
        });
      }
      this.objects.set(lower(def.name), copy);
      this.byPrefix.set(def.keyPrefix, copy);
      this.reindex(copy);
    }
  }

  private reindex(def: SObjectDef): void {
    this.fieldMaps.set(lower(def.name), new Map(def.fields.map((f) => [lower(f.name), f])));
  }

  all(): SObjectDef[] {
    return [...this.objects.values()];
  }

  object(name: string): SObjectDef | undefined {
    return this.objects.get(lower(name));
  }

  objectByPrefix(prefix: string): SObjectDef | undefined {
    return this.byPrefix.get(prefix);
  }

  field(objectName: string, fieldName: string): FieldDef | undefined {
    return this.fieldMaps.get(lower(objectName))?.get(lower(fieldName));
  }

  /** The lookup field behind a parent relationship name (`Account` → `AccountId`). */
  relationship(objectName: string, relationshipName: string): FieldDef | undefined {
    const want = lower(relationshipName);
    return this.object(objectName)?.fields.find(
      (f) => f.type === "reference" && f.relationshipName && lower(f.relationshipName) === want,
    );
  }

  /** Every lookup from any object that points at `objectName`. */
  childRelationships(objectName: string): ChildRelationship[] {
    const target = this.object(objectName)?.name;
    if (!target) return [];
    const out: ChildRelationship[] = [];
    for (const child of this.objects.values()) {
      for (const f of child.fields) {
        if (f.type === "reference" && f.referenceTo?.includes(target)) {
          out.push({
            childSObject: child.name,
            field: f.name,
            relationshipName: f.childRelationshipName ?? null,
            cascadeDelete: f.cascadeDelete ?? false,
          });
        }
      }
    }
    return out;
  }

  childRelationship(objectName: string, relationshipName: string): ChildRelationship | undefined {
    const want = lower(relationshipName);
    return this.childRelationships(objectName).find(
      (c) => c.relationshipName !== null && lower(c.relationshipName) === want,
    );
  }

  picklistValues(f: FieldDef): PicklistEntry[] {
    if (f.picklist === "stages")
      return this.stages.map((s) => ({
        value: s.apiName,
        label: s.label ?? s.apiName,
        active: s.isActive ?? true,
        defaultValue: false,
      }));
    if (f.picklist === "currencies")
      return this.currencies.map((c, i) => ({ value: c, label: c, active: true, defaultValue: i === 0 }));
    return f.picklist ?? [];
  }

  stage(apiName: string): StageDefinition | undefined {
    const want = lower(apiName);
    return this.stages.find((s) => lower(s.apiName) === want);
  }

  forecastCategory(name: string): string {
    return forecastCategoryApiValue(name);
  }

  /** Adds a custom object (created through the Metadata API) with its standard fields. */
  addObject(def: SObjectDef): void {
    this.objects.set(lower(def.name), def);
    this.byPrefix.set(def.keyPrefix, def);
    this.reindex(def);
  }

  /** Removes a custom object. */
  removeObject(name: string): void {
    const def = this.object(name);
    if (!def?.custom) return;
    this.objects.delete(lower(def.name));
    this.byPrefix.delete(def.keyPrefix);
    this.fieldMaps.delete(lower(def.name));
  }

  /** Custom objects with their standard fields only (custom fields are in {@link customFields}), for saving the org's state. */
  customObjects(): SObjectDef[] {
    return this.all()
      .filter((d) => d.custom)
      .map((d) => ({ ...d, fields: d.fields.filter((f) => !f.custom).map((f) => ({ ...f })) }));
  }

  /** Adds a custom field (created through the Metadata API). */
  addField(objectName: string, f: FieldDef): void {
    const def = this.object(objectName);
    if (!def) throw new Error(`no object ${objectName}`);
    const at = def.fields.findIndex((x) => x.name === "CreatedDate" || x.name === "SystemModstamp");
    def.fields.splice(at < 0 ? def.fields.length : at, 0, f);
    this.reindex(def);
  }

  replaceField(objectName: string, f: FieldDef): void {
    const def = this.object(objectName);
    if (!def) throw new Error(`no object ${objectName}`);
    const at = def.fields.findIndex((x) => lower(x.name) === lower(f.name));
    if (at < 0) throw new Error(`no field ${objectName}.${f.name}`);
    def.fields[at] = f;
    this.reindex(def);
  }

  removeField(objectName: string, fieldName: string): void {
    const def = this.object(objectName);
    if (!def) return;
    def.fields = def.fields.filter((x) => lower(x.name) !== lower(fieldName));
    this.reindex(def);
  }

  /** Custom fields per object, for saving the org's state. */
  customFields(): Record<string, FieldDef[]> {
    const out: Record<string, FieldDef[]> = {};
    for (const def of this.objects.values()) {
      const custom = def.fields.filter((f) => f.custom);
      if (custom.length) out[def.name] = custom.map((f) => ({ ...f }));
    }
    return out;
  }
}
