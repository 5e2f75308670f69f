import type { SchemaRegistry } from "../schema/registry.js";
import type { FieldDef, Value } from "../schema/types.js";
import type { Org } from "../store/org.js";
import type { Row } from "../store/record-store.js";
import type { Actor } from "../store/security.js";
import type { FieldPath } from "./ast.js";
import { SoqlError } from "./errors.js";

/** One lookup traversed by a relationship path (`Account` in `Account.Name`). */
export interface Hop {
  /** The lookup field (AccountId). */
  field: FieldDef;
  /** Its relationship name as the result shows it (Account). */
  relationshipName: string;
  /** Object the lookup points at. */
  target: string;
}

/** A field reference resolved against the schema: canonical names, the lookups to follow, the field. */
export interface ResolvedField {
  hops: Hop[];
  field: FieldDef;
  /** Object that owns `field`. */
  owner: string;
  /** Canonical dotted name, e.g. `Account.Name`. */
  key: string;
}

/** Compound address value as the REST API returns it. */
export interface AddressValue {
  street: Value;
  city: Value;
  state: Value;
  postalCode: Value;
  country: Value;
  latitude: Value;
  longitude: Value;
  geocodeAccuracy: null;
}

export const noSuchColumn = (name: string, objectName: string, pos?: number) =>
  new SoqlError(
    "INVALID_FIELD",
    `No such column '${name}' on entity '${objectName}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
    pos,
  );

/** Resolves `Account.Owner.Email` from `objectName`, honouring field-level security. */
export function resolveField(org: Org, objectName: string, fp: FieldPath, actor: Actor): ResolvedField {
  const schema: SchemaRegistry = org.schema;
  let segments = fp.path;
  if (
    segments.length > 1 &&
    segments[0]!.toLowerCase() === objectName.toLowerCase() &&
    !schema.relationship(objectName, segments[0]!)
  )
    segments = segments.slice(1);
  const hops: Hop[] = [];
  let current = objectName;
  for (const seg of segments.slice(0, -1)) {
    const f = schema.relationship(current, seg);
    if (!f || !org.security.canRead(actor, current, f))
      throw new SoqlError(
        "INVALID_FIELD",
        `Didn't understand relationship '${seg}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
        fp.pos,
      );
    const target = f.referenceTo?.[0] ?? "";
    hops.push({ field: f, relationshipName: f.relationshipName ?? seg, target });
    current = target;
  }
  const last = segments[segments.length - 1]!;
  const field = schema.field(current, last);
  if (!field || !org.security.canRead(actor, current, field))
    throw noSuchColumn(fp.path.join("."), current, fp.pos);
  return { hops, field, owner: current, key: [...hops.map((h) => h.relationshipName), field.name].join(".") };
}

/** The row at the end of the lookups, or undefined when a lookup is empty or dangling. */
export function followHops(org: Org, row: Row, hops: Hop[]): Row | undefined {
  let cur: Row | undefined = row;
  for (const h of hops) {
    const id = cur?.[h.field.name];
    if (typeof id !== "string") return undefined;
    cur = org.store.get(h.target, id);
    if (!cur) return undefined;
  }
  return cur;
}

export function addressOf(row: Row, prefix: string): AddressValue | null {
  const v = (k: string): Value => row[`${prefix}${k}`] ?? null;
  const a: AddressValue = {
    street: v("Street"),
    city: v("City"),
    state: v("State"),
    postalCode: v("PostalCode"),
    country: v("Country"),
    latitude: v("Latitude"),
    longitude: v("Longitude"),
    geocodeAccuracy: null,
  };
  return Object.values(a).every((x) => x === null) ? null : a;
}

/** A resolved field's value on `row` (scalar fields only; addresses are projected separately). */
export function fieldValue(org: Org, row: Row, rf: ResolvedField): Value {
  const target = rf.hops.length ? followHops(org, row, rf.hops) : row;
  return target?.[rf.field.name] ?? null;
}
