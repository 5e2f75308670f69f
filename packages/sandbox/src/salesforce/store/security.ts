import type { FieldDef } from "../schema/types.js";
import type { RecordStore } from "./record-store.js";

/** Who a request acts as. `system` (control API, org setup) bypasses field-level security. */
export interface Actor {
  userId: string;
  system: boolean;
}

/** One `fieldPermissions` entry of a permission set (Metadata API shape). */
export interface FieldPermission {
  /** `Object.Field__c` */
  field: string;
  readable: boolean;
  editable: boolean;
}

/** The parts of a permission set that only the Metadata API sees. */
export interface PermissionSetDetails {
  fieldPermissions: FieldPermission[];
  objectPermissions: Record<string, unknown>[];
  userPermissions: Record<string, unknown>[];
}

interface Access {
  read: boolean;
  edit: boolean;
}

/**
 * Field-level security as salesforce.md §6 describes it: custom fields created through the
 * Metadata API are invisible to the integration user (INVALID_FIELD in SOQL and DML, absent from
 * describe) until a permission set granting them is assigned to that user. Standard fields are
 * always accessible (their writability comes from the field definition).
 */
export class FieldSecurity {
  private readonly cache = new Map<string, Map<string, Access>>();

  constructor(
    private readonly store: RecordStore,
    /** Permission set details by PermissionSet record id. */
    private readonly details: Map<string, PermissionSetDetails>,
  ) {}

  /** Forget cached grants (after a permission set or an assignment changed). */
  invalidate(): void {
    this.cache.clear();
  }

  canRead(actor: Actor, objectName: string, f: FieldDef): boolean {
    if (actor.system || !f.custom) return true;
    return this.grants(actor.userId).get(`${objectName}.${f.name}`.toLowerCase())?.read ?? false;
  }

  canEdit(actor: Actor, objectName: string, f: FieldDef): boolean {
    if (actor.system || !f.custom) return true;
    return this.grants(actor.userId).get(`${objectName}.${f.name}`.toLowerCase())?.edit ?? false;
  }

  private grants(userId: string): Map<string, Access> {
    const cached = this.cache.get(userId);
    if (cached) return cached;
    const out = new Map<string, Access>();
    for (const assignmentId of this.store.lookup("PermissionSetAssignment", "AssigneeId", userId) ?? []) {
      const a = this.store.get("PermissionSetAssignment", assignmentId);
      const psId = a?.PermissionSetId;
      if (typeof psId !== "string") continue;
      for (const fp of this.details.get(psId)?.fieldPermissions ?? []) {
        const k = fp.field.toLowerCase();
        const prev = out.get(k) ?? { read: false, edit: false };
        out.set(k, { read: prev.read || fp.readable || fp.editable, edit: prev.edit || fp.editable });
      }
    }
    this.cache.set(userId, out);
    return out;
  }
}
