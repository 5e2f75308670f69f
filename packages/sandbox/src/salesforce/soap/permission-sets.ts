import { RecordError } from "../errors.js";
import type { Dml } from "../store/dml.js";
import type { Org } from "../store/org.js";
import { type FieldPermission, isUniversallyRequired, type PermissionSetDetails } from "../store/security.js";
import {
  bool,
  DEVELOPER_NAME,
  list,
  MetadataComponentError,
  type MetadataRecord,
  str,
} from "./metadata-types.js";

/**
 * PermissionSet components: each is a `PermissionSet` record (so REST can assign it) plus details
 * (field permissions etc.) that only the Metadata API sees. An update replaces the field permissions
 * with the ones it lists: a field left out loses its grant (Salesforce's PermissionSet docs: deploy
 * "all of its metadata to avoid accidentally overwriting the permission set's contents",
 * developer.salesforce.com/docs/platform/api-metadata/references/meta-types/metadata-permissionset.html). Object and
 * user permissions left out of an update are kept.
 */
export class PermissionSets {
  constructor(
    private readonly org: Org,
    private readonly dml: Dml,
  ) {}

  idOf(fullName: string): string | undefined {
    const [id] = this.org.store.lookup("PermissionSet", "Name", fullName) ?? [];
    return id;
  }

  exists(fullName: string): boolean {
    return this.idOf(fullName) !== undefined;
  }

  private fieldPermissions(md: MetadataRecord): FieldPermission[] {
    return list(md, "fieldPermissions").map((fp) => {
      const field = str(fp, "field") ?? "";
      const readable = bool(fp, "readable") ?? false;
      const editable = bool(fp, "editable") ?? false;
      const [objectName, fieldName] = field.split(".");
      const def = objectName && fieldName ? this.org.schema.field(objectName, fieldName) : undefined;
      if (!def)
        throw new MetadataComponentError(
          "INVALID_CROSS_REFERENCE_KEY",
          `In field: field - no CustomField named ${field} found`,
          ["field"],
        );
      if (isUniversallyRequired(def))
        throw new MetadataComponentError(
          "FIELD_INTEGRITY_EXCEPTION",
          `You cannot deploy to a required field: ${field}`,
          ["fieldPermissions"],
        );
      if (editable && !readable)
        throw new MetadataComponentError(
          "FIELD_INTEGRITY_EXCEPTION",
          `Permission Edit ${field} depends on permission(s): Read ${field}`,
          ["fieldPermissions"],
        );
      return { field: `${this.org.object(objectName!)!.name}.${def.name}`, readable, editable };
    });
  }

  /** Object permissions name existing objects; each allow flag as a boolean. */
  private objectPermissions(md: MetadataRecord): Record<string, unknown>[] {
    return list(md, "objectPermissions").map((op) => {
      const object = str(op, "object") ?? "";
      const def = this.org.object(object);
      if (!def)
        throw new MetadataComponentError(
          "INVALID_CROSS_REFERENCE_KEY",
          `In field: object - no CustomObject named ${object} found`,
          ["object"],
        );
      const flags = [
        "allowCreate",
        "allowDelete",
        "allowEdit",
        "allowRead",
        "modifyAllRecords",
        "viewAllRecords",
      ];
      const out: Record<string, unknown> = { object: def.name };
      for (const k of flags) out[k] = bool(op, k) ?? false;
      // Salesforce's object permission dependencies: Create and Edit need Read; Delete needs Read and Edit.
      const needs: [string, string[]][] = [
        ["allowCreate", ["allowRead"]],
        ["allowEdit", ["allowRead"]],
        ["allowDelete", ["allowRead", "allowEdit"]],
      ];
      for (const [perm, deps] of needs) {
        const lacking = deps.filter((d) => !out[d]);
        if (out[perm] && lacking.length)
          throw new MetadataComponentError(
            "FIELD_INTEGRITY_EXCEPTION",
            `Permission ${perm.slice(5)} ${def.name} depends on permission(s): ${lacking.map((d) => `${d.slice(5)} ${def.name}`).join(", ")}`,
            ["objectPermissions"],
          );
      }
      return out;
    });
  }

  private validate(md: MetadataRecord): { fullName: string; label: string } {
    const fullName = str(md, "fullName") ?? "";
    if (!DEVELOPER_NAME.test(fullName))
      throw new MetadataComponentError(
        "FIELD_INTEGRITY_EXCEPTION",
        `The API name ${fullName} is invalid: it must begin with a letter and use only letters, digits and single underscores.`,
        ["fullName"],
      );
    const label = str(md, "label");
    if (!label)
      throw new MetadataComponentError("REQUIRED_FIELD_MISSING", "Required field is missing: label", [
        "label",
      ]);
    return { fullName, label };
  }

  create(md: MetadataRecord): void {
    const { fullName, label } = this.validate(md);
    if (this.idOf(fullName))
      throw new MetadataComponentError(
        "DUPLICATE_DEVELOPER_NAME",
        `A permission set named ${fullName} already exists.`,
        ["fullName"],
      );
    const details: PermissionSetDetails = {
      fieldPermissions: this.fieldPermissions(md),
      objectPermissions: this.objectPermissions(md),
      userPermissions: list(md, "userPermissions"),
    };
    let id: string;
    try {
      id = this.dml.insert(
        "PermissionSet",
        { Name: fullName, Label: label, Description: str(md, "description") ?? null },
        this.org.systemActor(),
      );
    } catch (e) {
      if (e instanceof RecordError) throw new MetadataComponentError(e.statusCode, e.message, e.fields);
      throw e;
    }
    this.org.permissionSetDetails.set(id, details);
    this.org.security.invalidate();
  }

  update(md: MetadataRecord): void {
    const { fullName, label } = this.validate(md);
    const id = this.idOf(fullName);
    if (!id)
      throw new MetadataComponentError(
        "INVALID_CROSS_REFERENCE_KEY",
        `In field: fullName - no PermissionSet named ${fullName} found`,
        ["fullName"],
      );
    const incoming = this.fieldPermissions(md);
    const current = this.org.permissionSetDetails.get(id) ?? {
      fieldPermissions: [],
      objectPermissions: [],
      userPermissions: [],
    };
    const replaced = new Map(incoming.map((fp) => [fp.field.toLowerCase(), fp]));
    this.org.permissionSetDetails.set(id, {
      fieldPermissions: md.fieldPermissions === undefined ? current.fieldPermissions : [...replaced.values()],
      objectPermissions:
        md.objectPermissions === undefined ? current.objectPermissions : this.objectPermissions(md),
      userPermissions:
        md.userPermissions === undefined ? current.userPermissions : list(md, "userPermissions"),
    });
    this.dml.update(
      "PermissionSet",
      id,
      {
        Label: label,
        ...(md.description === undefined ? {} : { Description: str(md, "description") ?? null }),
      },
      this.org.systemActor(),
    );
    this.org.security.invalidate();
  }

  delete(fullName: string): void {
    const id = this.idOf(fullName);
    if (!id)
      throw new MetadataComponentError(
        "INVALID_CROSS_REFERENCE_KEY",
        `In field: fullName - no PermissionSet named ${fullName} found`,
        ["fullName"],
      );
    this.dml.delete("PermissionSet", id, this.org.systemActor());
  }

  read(fullName: string): MetadataRecord | null {
    const id = this.idOf(fullName);
    const row = id ? this.org.store.get("PermissionSet", id) : undefined;
    if (!id || !row) return null;
    const details = this.org.permissionSetDetails.get(id);
    const md: MetadataRecord = { fullName: row.Name as string };
    if (row.Description) md.description = row.Description as string;
    md.fieldPermissions = [...(details?.fieldPermissions ?? [])]
      .sort((a, b) => a.field.localeCompare(b.field))
      .map((fp) => ({ editable: fp.editable, field: fp.field, readable: fp.readable }));
    md.hasActivationRequired = false;
    md.label = row.Label as string;
    md.objectPermissions = details?.objectPermissions ?? [];
    md.userPermissions = details?.userPermissions ?? [];
    return md;
  }

  names(): string[] {
    return [...this.org.store.rows("PermissionSet")].map((r) => r.Name as string);
  }
}
