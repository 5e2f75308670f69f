import { nextAutoNumber } from "../schema/auto-number.js";
import { customObjectStandardFields } from "../schema/standard-objects.js";
import type { SObjectDef } from "../schema/types.js";
import type { Org } from "../store/org.js";
import {
  DEVELOPER_NAME,
  MetadataComponentError,
  type MetadataRecord,
  record,
  str,
} from "./metadata-types.js";

/** CustomObject `sharingModel` values the Metadata API accepts. */
const SHARING_MODELS = new Set([
  "Private",
  "Read",
  "ReadWrite",
  "ReadWriteTransfer",
  "FullAccess",
  "ControlledByParent",
]);

const required = (field: string) =>
  new MetadataComponentError("REQUIRED_FIELD_MISSING", `Required field is missing: ${field}`, [field]);

/** Key prefixes of custom objects: `a00`, `a01`, … as Salesforce hands them out. */
function nextKeyPrefix(org: Org): string {
  const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  for (const a of digits.slice(0, 10))
    for (const b of digits) {
      const prefix = `a${a}${b}`;
      if (!org.schema.objectByPrefix(prefix)) return prefix;
    }
  throw new MetadataComponentError("LIMIT_EXCEEDED", "Too many custom objects in the sandbox org", []);
}

/**
 * CustomObject components: an object `Name__c` with Salesforce's standard fields (Id, Name, owner
 * unless controlled by a master, audit fields); its custom fields come as CustomField components, as
 * when they are created one by one. Validated like the Metadata API: label, pluralLabel, nameField
 * (Text), deploymentStatus and sharingModel are required.
 */
export class CustomObjects {
  constructor(private readonly org: Org) {}

  exists(fullName: string): boolean {
    return this.org.object(fullName)?.custom === true;
  }

  private compile(md: MetadataRecord, keyPrefix: string): SObjectDef {
    const fullName = str(md, "fullName") ?? "";
    if (!/__c$/.test(fullName) || !DEVELOPER_NAME.test(fullName.slice(0, -3)))
      throw new MetadataComponentError(
        "FIELD_INTEGRITY_EXCEPTION",
        `The API name ${fullName} is invalid: a custom object name ends with __c, begins with a letter and uses only letters, digits and single underscores.`,
        ["fullName"],
      );
    const label = str(md, "label");
    if (!label) throw required("label");
    const pluralLabel = str(md, "pluralLabel");
    if (!pluralLabel) throw required("pluralLabel");
    const nameField = record(md, "nameField");
    const nameLabel = nameField ? str(nameField, "label") : undefined;
    if (!nameField || !nameLabel) throw required("nameField");
    const nameType = str(nameField, "type");
    if (nameType !== "Text" && nameType !== "AutoNumber")
      throw new MetadataComponentError(
        "FIELD_INTEGRITY_EXCEPTION",
        "A name field is Text or AutoNumber (nameField.type)",
        ["nameField"],
      );
    // AutoNumber: displayFormat is required and holds one {0…} number placeholder (e.g. DS-{000000});
    // startingNumber is optional (CustomField displayFormat, startingNumber:
    // developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/customfield.htm). The records'
    // Name is then read-only: an insert or update that sets it is refused.
    const displayFormat = nameType === "AutoNumber" ? str(nameField, "displayFormat") : undefined;
    if (nameType === "AutoNumber" && !(displayFormat && /\{0+\}/.test(displayFormat)))
      throw new MetadataComponentError(
        "FIELD_INTEGRITY_EXCEPTION",
        "An AutoNumber name field needs a displayFormat with a number placeholder such as {0000}",
        ["nameField"],
      );
    const startingNumber =
      nameType === "AutoNumber" ? Number(str(nameField, "startingNumber") ?? "0") : undefined;
    if (!str(md, "deploymentStatus")) throw required("deploymentStatus");
    const sharingModel = str(md, "sharingModel");
    if (!sharingModel) throw required("sharingModel");
    if (!SHARING_MODELS.has(sharingModel))
      throw new MetadataComponentError(
        "FIELD_INTEGRITY_EXCEPTION",
        `'${sharingModel}' is not a valid value for the enum 'SharingModel'`,
        ["sharingModel"],
      );
    return {
      name: fullName,
      label,
      labelPlural: pluralLabel,
      keyPrefix,
      createable: true,
      updateable: true,
      deletable: true,
      queryable: true,
      custom: true,
      sharingModel,
      ...(str(md, "description") ? { description: str(md, "description") } : {}),
      fields: customObjectStandardFields(nameLabel, sharingModel !== "ControlledByParent", displayFormat),
      ...(startingNumber !== undefined
        ? { autoNumberNext: Number.isInteger(startingNumber) ? startingNumber : 0 }
        : {}),
    };
  }

  create(md: MetadataRecord): void {
    const fullName = str(md, "fullName") ?? "";
    if (this.org.object(fullName))
      throw new MetadataComponentError(
        "DUPLICATE_DEVELOPER_NAME",
        `There is already an object named ${fullName}.`,
        ["fullName"],
      );
    const def = this.compile(md, nextKeyPrefix(this.org));
    this.org.schema.addObject(def);
    this.org.indexObject(def);
  }

  update(md: MetadataRecord): void {
    const fullName = str(md, "fullName") ?? "";
    const existing = this.org.object(fullName);
    if (!existing?.custom) throw this.notFound(fullName);
    const next = this.compile({ ...md, fullName: existing.name }, existing.keyPrefix);
    const hasDetail = existing.fields.some((f) => f.custom && f.cascadeDelete);
    if (hasDetail && next.sharingModel !== "ControlledByParent")
      throw new MetadataComponentError(
        "FIELD_INTEGRITY_EXCEPTION",
        "An object with a master-detail relationship must have sharingModel ControlledByParent",
        ["sharingModel"],
      );
    existing.label = next.label;
    existing.labelPlural = next.labelPlural;
    existing.sharingModel = next.sharingModel;
    existing.description = next.description;
    const name = existing.fields.find((f) => f.nameField);
    const nextName = next.fields.find((f) => f.nameField)!;
    if (name && name.autoNumberFormat === nextName.autoNumberFormat) name.label = nextName.label;
    else if (name) {
      // Text ↔ AutoNumber: Salesforce numbers the existing records when a name becomes auto-number.
      existing.fields[existing.fields.indexOf(name)] = nextName;
      existing.autoNumberNext = next.autoNumberNext;
      if (nextName.autoNumberFormat)
        for (const row of [...this.org.store.rows(existing.name)])
          this.org.store.put(
            existing.name,
            Object.freeze({ ...row, Name: nextAutoNumber(existing) ?? null }),
          );
    }
  }

  delete(fullName: string): void {
    const existing = this.org.object(fullName);
    if (!existing?.custom) throw this.notFound(fullName);
    const referencing = this.org.schema
      .childRelationships(existing.name)
      .filter((c) => c.childSObject !== existing.name);
    if (referencing.length)
      throw new MetadataComponentError(
        "FIELD_INTEGRITY_EXCEPTION",
        `This object is referenced elsewhere in salesforce.com: ${referencing.map((c) => `${c.childSObject}.${c.field}`).join(", ")}. Delete those fields first.`,
        ["fullName"],
      );
    this.org.schema.removeObject(existing.name);
    for (const row of [...this.org.store.rows(existing.name)])
      this.org.store.remove(existing.name, String(row.Id));
    this.org.security.invalidate();
  }

  read(fullName: string): MetadataRecord | null {
    const def = this.org.object(fullName);
    if (!def?.custom) return null;
    const name = def.fields.find((f) => f.nameField);
    return {
      fullName: def.name,
      deploymentStatus: "Deployed",
      ...(def.description ? { description: def.description } : {}),
      label: def.label,
      nameField: name?.autoNumberFormat
        ? { displayFormat: name.autoNumberFormat, label: name.label, type: "AutoNumber" }
        : { label: name?.label ?? "Name", type: "Text" },
      pluralLabel: def.labelPlural,
      sharingModel: def.sharingModel ?? "ReadWrite",
    };
  }

  names(): string[] {
    return this.org.schema
      .all()
      .filter((d) => d.custom)
      .map((d) => d.name);
  }

  private notFound(fullName: string): MetadataComponentError {
    return new MetadataComponentError(
      "INVALID_CROSS_REFERENCE_KEY",
      `In field: fullName - no CustomObject named ${fullName} found`,
      ["fullName"],
    );
  }
}
