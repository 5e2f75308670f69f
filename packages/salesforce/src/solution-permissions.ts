import type { Row } from "./mapping.js";
import type { ObjectGrant } from "./solution-objects.js";

const yes = (v: unknown) => v === true || v === "true";
const FLAGS = [
  "allowCreate",
  "allowDelete",
  "allowEdit",
  "allowRead",
  "modifyAllRecords",
  "viewAllRecords",
] as const;

/** The permission set's object permissions as read (one element comes back as an object, not a list). */
function currentObjectGrants(ps: Row | undefined): Row[] {
  const v = ps?.objectPermissions;
  return (Array.isArray(v) ? v : [v]).filter((op): op is Row => !!op && typeof op === "object");
}

/** cosell's object grants the permission set lacks or holds differently (by object name). */
export function differingObjectGrants(ps: Row | undefined, wanted: readonly ObjectGrant[]): string[] {
  const have = new Map(currentObjectGrants(ps).map((op) => [String(op.object).toLowerCase(), op] as const));
  return wanted
    .filter((w) => {
      const op = have.get(w.object.toLowerCase());
      return !op || FLAGS.some((k) => yes(op[k]) !== w[k]);
    })
    .map((w) => w.object);
}

/**
 * The FULL object permission list to send back: an update replaces the permission set's contents, so
 * grants on objects that are not cosell's go back as they were, next to cosell's own.
 */
export function fullObjectGrants(ps: Row | undefined, wanted: readonly ObjectGrant[]): Row[] {
  const ours = new Set(wanted.map((w) => w.object.toLowerCase()));
  return [
    ...currentObjectGrants(ps)
      .filter((op) => !ours.has(String(op.object).toLowerCase()))
      .map((op) => ({ object: String(op.object), ...Object.fromEntries(FLAGS.map((k) => [k, yes(op[k])])) })),
    ...wanted,
  ];
}
