import { RecordError, SalesforceApiError } from "../errors.js";
import { toId18 } from "../ids.js";
import { nextAutoNumber } from "../schema/auto-number.js";
import type { FieldDef, SObjectDef, Value } from "../schema/types.js";
import type { Org } from "./org.js";
import type { Row } from "./record-store.js";
import { type MutableRow, OBJECT_RULES } from "./rules.js";
import type { Actor } from "./security.js";
import { coerceFieldValue } from "./values.js";

type Mode = "insert" | "update";

/** Result of an upsert of one record. */
export interface UpsertOutcome {
  id: string;
  created: boolean;
}

/** The object named `type`, or the request-level error Salesforce gives for an unknown one. */
export function requireObject(org: Org, type: string): SObjectDef {
  const def = org.object(type);
  if (!def) throw new SalesforceApiError(404, "NOT_FOUND", `The requested resource does not exist`);
  return def;
}

/**
 * Inserts, updates, deletes and upserts records with Salesforce's validation: unknown or hidden
 * fields, read-only fields, types and lengths, restricted picklists, required fields, lookups to
 * missing or deleted records, validation rules, unique values, derived fields and audit stamps. Every failure is a
 * {@link RecordError} carrying the status code Salesforce would put in the SaveResult.
 */
export class Dml {
  constructor(private readonly org: Org) {}

  insert(type: string, input: Record<string, unknown>, actor: Actor): string {
    const def = requireObject(this.org, type);
    if (!def.createable)
      throw new RecordError("INVALID_TYPE_FOR_OPERATION", `entity type cannot be inserted: ${def.label}`);
    this.objectAccess(def, actor, "create");
    this.scriptedFault(def, undefined, undefined);
    if (Object.keys(input).some((k) => k.toLowerCase() === "id"))
      throw new RecordError("INVALID_FIELD", "cannot specify Id in an insert call");
    const values = this.parseInput(def, input, "insert", actor);
    const now = this.org.now();
    const row: MutableRow = {};
    for (const f of def.fields) row[f.name] = f.defaultValue ?? (f.type === "boolean" ? false : null);
    for (const [k, v] of values) row[k] = v;
    if ("OwnerId" in row && row.OwnerId === null) row.OwnerId = actor.userId;
    if ("RecordTypeId" in row && row.RecordTypeId === null)
      row.RecordTypeId = this.org.defaultRecordType.get(def.name) ?? null;
    row.Id = this.org.ids.next(def.keyPrefix);
    this.stamp(def, row, now, actor, true);
    return this.save(def, row, undefined, new Set(values.keys()));
  }

  update(type: string, id: string, input: Record<string, unknown>, actor: Actor): void {
    const def = requireObject(this.org, type);
    const prev = this.existing(def, id);
    if (!def.updateable)
      throw new RecordError("INVALID_TYPE_FOR_OPERATION", `entity type cannot be updated: ${def.label}`);
    this.scriptedFault(def, prev.Id as string, undefined);
    const values = this.parseInput(def, input, "update", actor);
    const row: MutableRow = { ...prev };
    for (const [k, v] of values) row[k] = v;
    this.stamp(def, row, this.org.now(), actor, false);
    this.save(def, row, prev, new Set(values.keys()));
  }

  /** Deletes a record (soft when the object has IsDeleted, so queryAll and getDeleted see it) and its cascade. */
  delete(type: string, id: string, actor: Actor): void {
    const def = requireObject(this.org, type);
    const prev = this.existing(def, id);
    if (!def.deletable)
      throw new RecordError("INVALID_TYPE_FOR_OPERATION", `entity type cannot be deleted: ${def.label}`);
    this.objectAccess(def, actor, "delete");
    this.scriptedFault(def, prev.Id as string, undefined);
    this.checkRestrictedChildren(def, prev.Id as string);
    this.deleteRow(def, prev, this.org.now(), actor);
  }

  /**
   * A custom object's create and delete need the object permission. Salesforce's wording for this
   * refusal is not documented for every API: the status code is the one its insufficient-access errors use.
   */
  private objectAccess(def: SObjectDef, actor: Actor, op: "create" | "delete"): void {
    if (!this.org.security.canAccessObject(actor, def.name, op))
      throw new RecordError(
        "INSUFFICIENT_ACCESS_OR_READONLY",
        `insufficient access rights on object: ${op} is not granted on ${def.name}`,
      );
  }

  /** Custom lookups with deleteConstraint Restrict refuse the delete of a parent that still has rows. */
  private checkRestrictedChildren(def: SObjectDef, id: string): void {
    for (const child of this.org.schema.childRelationships(def.name)) {
      if (this.org.schema.field(child.childSObject, child.field)?.deleteConstraint !== "Restrict") continue;
      const live = (this.org.store.lookup(child.childSObject, child.field, id) ?? []).filter(
        (c) => this.org.store.get(child.childSObject, c)?.IsDeleted !== true,
      );
      if (live.length)
        throw new RecordError(
          "DELETE_FAILED",
          `Your attempt to delete ${def.label} could not be completed because it is associated with the following ${child.childSObject} records: ${live.join(", ")}`,
        );
    }
  }

  /**
   * Upsert by external id: no live match inserts, one match updates, several throw
   * `MULTIPLE_CHOICES` (the REST layer answers 300 with the matching record URLs).
   */
  upsert(
    type: string,
    extField: string,
    extValue: string,
    input: Record<string, unknown>,
    actor: Actor,
  ): UpsertOutcome {
    const def = requireObject(this.org, type);
    const f = this.externalIdField(def, extField, actor);
    this.scriptedFault(def, undefined, extValue);
    const matches = this.matchExternal(def, f, extValue);
    if (matches.length > 1)
      throw new RecordError(
        "MULTIPLE_CHOICES",
        `${f.name}: more than one record found for external id field: [${matches.join(", ")}]`,
        [f.name],
        300,
      );
    const body = Object.fromEntries(
      Object.entries(input).filter(([k]) => k.toLowerCase() !== f.name.toLowerCase()),
    );
    if (matches.length === 1) {
      this.update(def.name, matches[0]!, body, actor);
      return { id: matches[0]!, created: false };
    }
    if (f.type === "id") throw new RecordError("NOT_FOUND", "The requested resource does not exist", [], 404);
    return { id: this.insert(def.name, { ...body, [f.name]: extValue }, actor), created: true };
  }

  /** The field usable as an upsert key, or Salesforce's 404 for anything else. */
  externalIdField(def: SObjectDef, name: string, actor: Actor): FieldDef {
    const f = this.org.schema.field(def.name, name);
    if (!f || !(f.externalId || f.type === "id") || !this.org.security.canRead(actor, def.name, f))
      throw new SalesforceApiError(
        404,
        "NOT_FOUND",
        `Provided external ID field does not exist or is not accessible: ${name}`,
      );
    return f;
  }

  /** Ids of live records whose `f` equals `value`. */
  matchExternal(def: SObjectDef, f: FieldDef, value: string): string[] {
    if (f.type === "id") {
      const id = toId18(value);
      const row = id ? this.org.store.get(def.name, id) : undefined;
      return row && row.IsDeleted !== true ? [id!] : [];
    }
    const indexed = this.org.store.lookup(def.name, f.name, value);
    if (indexed) return indexed;
    const want = value.toLowerCase();
    const out: string[] = [];
    for (const row of this.org.store.rows(def.name))
      if (row.IsDeleted !== true && String(row[f.name] ?? "").toLowerCase() === want)
        out.push(row.Id as string);
    return out;
  }

  private existing(def: SObjectDef, rawId: string): Row {
    const id = toId18(rawId);
    const row = id ? this.org.store.get(def.name, id) : undefined;
    if (!id) throw new RecordError("MALFORMED_ID", `malformed id ${rawId}`, [], 400);
    if (!row) throw new RecordError("NOT_FOUND", "The requested resource does not exist", [], 404);
    if (row.IsDeleted === true) throw new RecordError("ENTITY_IS_DELETED", "entity is deleted", [], 404);
    return row;
  }

  private scriptedFault(def: SObjectDef, id: string | undefined, externalId: string | undefined): void {
    const f = this.org.takeFault(def.name, id, externalId);
    if (f) throw new RecordError(f.statusCode, f.message, f.fields ?? []);
  }

  private parseInput(
    def: SObjectDef,
    input: Record<string, unknown>,
    mode: Mode,
    actor: Actor,
  ): Map<string, Value> {
    const out = new Map<string, Value>();
    const readOnly: string[] = [];
    let firstError: RecordError | undefined;
    for (const [key, raw] of Object.entries(input)) {
      if (key === "attributes" || (mode === "update" && key.toLowerCase() === "id")) continue;
      const f = this.org.schema.field(def.name, key);
      if (!f || !this.org.security.canRead(actor, def.name, f))
        throw new RecordError("INVALID_FIELD", `No such column '${key}' on sobject of type ${def.name}`);
      const writable = mode === "insert" ? f.createable : f.updateable;
      if (!writable || !this.org.security.canEdit(actor, def.name, f)) {
        readOnly.push(f.name);
        continue;
      }
      try {
        out.set(f.name, coerceFieldValue(f, raw, this.org.schema));
      } catch (e) {
        if (!(e instanceof RecordError)) throw e;
        firstError ??= e;
      }
    }
    if (readOnly.length)
      throw new RecordError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        `Unable to create/update fields: ${readOnly.join(", ")}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
        readOnly,
      );
    if (firstError) throw firstError;
    return out;
  }

  private stamp(def: SObjectDef, row: MutableRow, now: string, actor: Actor, created: boolean): void {
    const has = (n: string) => this.org.schema.field(def.name, n) !== undefined;
    if (created && has("CreatedDate")) {
      row.CreatedDate = now;
      row.CreatedById = actor.userId;
    }
    if (has("LastModifiedDate")) {
      row.LastModifiedDate = now;
      row.LastModifiedById = actor.userId;
    }
    if (has("SystemModstamp")) row.SystemModstamp = now;
  }

  private save(def: SObjectDef, row: MutableRow, prev: Row | undefined, changed: Set<string>): string {
    if (!prev) {
      const numbered = nextAutoNumber(def);
      if (numbered !== undefined) row.Name = numbered;
    }
    const rules = OBJECT_RULES[def.name];
    rules?.derive?.(row, prev, changed, this.org);
    this.checkRequired(def, row, prev);
    this.checkReferences(def, row, prev, changed);
    this.org.validationRules.check(def.name, row);
    this.checkUnique(def, row, prev);
    rules?.validate?.(row, prev, this.org);
    const frozen = Object.freeze(row);
    this.org.store.put(def.name, frozen);
    rules?.afterWrite?.(frozen, prev, this.org);
    return row.Id as string;
  }

  private checkRequired(def: SObjectDef, row: MutableRow, prev: Row | undefined): void {
    const missing = def.fields
      .filter(
        (f) =>
          !f.nillable &&
          !f.defaultedOnCreate &&
          (prev ? f.updateable : f.createable) &&
          (row[f.name] === null || row[f.name] === undefined),
      )
      .map((f) => f.name);
    if (missing.length)
      throw new RecordError(
        "REQUIRED_FIELD_MISSING",
        `Required fields are missing: [${missing.join(", ")}]`,
        missing,
      );
  }

  /** Lookups the caller wrote must point at live records (system-set ones like CreatedById are trusted). */
  private checkReferences(
    def: SObjectDef,
    row: MutableRow,
    prev: Row | undefined,
    changed: Set<string>,
  ): void {
    for (const f of def.fields) {
      if (f.type !== "reference" || !changed.has(f.name)) continue;
      const v = row[f.name];
      if (typeof v !== "string" || (prev && prev[f.name] === v)) continue;
      const target = this.org.typeOfId(v);
      const parent = target ? this.org.store.get(target, v) : undefined;
      if (!parent)
        throw new RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name]);
      if (parent.IsDeleted === true)
        throw new RecordError("ENTITY_IS_DELETED", "entity is deleted", [f.name]);
      if (f.name === "OwnerId" && parent.IsActive === false)
        throw new RecordError(
          "INACTIVE_OWNER_OR_USER",
          `operation performed with inactive user [${v}] as owner of ${def.label.toLowerCase()}`,
          [f.name],
        );
    }
  }

  private checkUnique(def: SObjectDef, row: MutableRow, prev: Row | undefined): void {
    for (const f of def.fields) {
      if (!f.unique || f.name === "Username") continue;
      const v = row[f.name];
      if (v === null || v === undefined || (prev && prev[f.name] === v)) continue;
      const other = (this.org.store.lookup(def.name, f.name, v) ?? []).find((id) => id !== row.Id);
      if (other)
        throw new RecordError(
          "DUPLICATE_VALUE",
          `duplicate value found: ${f.name} duplicates value on record with id: ${other}`,
          [f.name],
        );
    }
  }

  /** A custom lookup whose parent was deleted is cleared (deleteConstraint SetNull), its stamps left as they are. */
  private clearLookups(type: string, field: string, parentId: string): void {
    for (const childId of this.org.store.lookup(type, field, parentId) ?? []) {
      const row = this.org.store.get(type, childId);
      if (row) this.org.store.put(type, Object.freeze({ ...row, [field]: null }));
    }
  }

  private deleteRow(def: SObjectDef, row: Row, now: string, actor: Actor): void {
    const id = row.Id as string;
    const soft = this.org.schema.field(def.name, "IsDeleted") !== undefined;
    if (soft) {
      const deleted: MutableRow = { ...row, IsDeleted: true };
      this.stamp(def, deleted, now, actor, false);
      this.org.store.put(def.name, Object.freeze(deleted));
    } else this.org.store.remove(def.name, id);
    OBJECT_RULES[def.name]?.afterDelete?.(row, this.org);
    for (const child of this.org.schema.childRelationships(def.name)) {
      if (this.org.schema.field(child.childSObject, child.field)?.deleteConstraint === "SetNull")
        this.clearLookups(child.childSObject, child.field, id);
      if (!child.cascadeDelete) continue;
      const childDef = this.org.object(child.childSObject);
      if (!childDef) continue;
      for (const childId of this.org.store.lookup(childDef.name, child.field, id) ?? []) {
        const childRow = this.org.store.get(childDef.name, childId);
        if (childRow && childRow.IsDeleted !== true) this.deleteRow(childDef, childRow, now, actor);
      }
    }
  }
}
