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

/** What an object permission allows. */
export type ObjectOp = "read" | "create" | "edit" | "delete";

const OBJECT_OPS: [string, ObjectOp][] = [
  ["allowRead", "read"],
  ["allowCreate", "create"],
  ["allowEdit", "edit"],
  ["allowDelete", "delete"],
];

/**
 * A required custom field (master-detail, required lookup or text): Salesforce shows it to everyone
 * who can see the object and takes no field permissions on it.
 */
export const isUniversallyRequired = (f: FieldDef): boolean =>
  f.custom === true && !f.nillable && !f.defaultedOnCreate;

const isCustomObject = (name: string) => name.toLowerCase().endsWith("__c");

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
  private readonly objectCache = new Map<string, Map<string, Set<ObjectOp>>>();

  constructor(
    private readonly store: RecordStore,
    /** Permission set details by PermissionSet record id. */
    private readonly details: Map<string, PermissionSetDetails>,
  ) {}

  /** Forget cached grants (after a permission set or an assignment changed). */
  invalidate(): void {
    this.cache.clear();
    this.objectCache.clear();
  }

  canRead(actor: Actor, objectName: string, f: FieldDef): boolean {
    if (actor.system) return true;
    if (isCustomObject(objectName) && !this.canAccessObject(actor, objectName, "read")) return false;
    if (!f.custom || isUniversallyRequired(f)) return true;
    return this.grants(actor.userId).get(`${objectName}.${f.name}`.toLowerCase())?.read ?? false;
  }

  canEdit(actor: Actor, objectName: string, f: FieldDef): boolean {
    if (actor.system) return true;
    if (
      isCustomObject(objectName) &&
      !this.canAccessObject(actor, objectName, "create") &&
      !this.canAccessObject(actor, objectName, "edit")
    )
      return false;
    if (!f.custom || isUniversallyRequired(f)) return true;
    return this.grants(actor.userId).get(`${objectName}.${f.name}`.toLowerCase())?.edit ?? false;
  }

  /**
   * Object permissions: a custom object is out of reach of a user until an assigned permission set
   * grants it (`objectPermissions` allowRead/allowCreate/allowEdit/allowDelete); standard objects are open.
   */
  canAccessObject(actor: Actor, objectName: string, op: ObjectOp): boolean {
    if (actor.system || !isCustomObject(objectName)) return true;
    this.grants(actor.userId);
    return this.objectCache.get(actor.userId)?.get(objectName.toLowerCase())?.has(op) ?? false;
  }

  private grants(userId: string): Map<string, Access> {
    const cached = this.cache.get(userId);
    if (cached) return cached;
    const out = new Map<string, Access>();
    const objects = new Map<string, Set<ObjectOp>>();
    for (const assignmentId of this.store.lookup("PermissionSetAssignment", "AssigneeId", userId) ?? []) {
      const a = this.store.get("PermissionSetAssignment", assignmentId);
      const psId = a?.PermissionSetId;
      if (typeof psId !== "string") continue;
      for (const op of this.details.get(psId)?.objectPermissions ?? []) {
        const name = String(op.object ?? "").toLowerCase();
        const set = objects.get(name) ?? new Set<ObjectOp>();
        for (const [key, granted] of OBJECT_OPS) if (op[key] === true || op[key] === "true") set.add(granted);
        objects.set(name, set);
      }
      for (const fp of this.details.get(psId)?.fieldPermissions ?? []) {
        const k = fp.field.toLowerCase();
        const prev = out.get(k) ?? { read: false, edit: false };
        out.set(k, { read: prev.read || fp.readable || fp.editable, edit: prev.edit || fp.editable });
      }
    }
    this.cache.set(userId, out);
    this.objectCache.set(userId, objects);
    return out;
  }
}
