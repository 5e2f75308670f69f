import { isDeepStrictEqual } from "node:util";
import type { Referral } from "./referral.js";

/**
 * The body of an update: a JSON Patch (RFC 6902) array. "Update a lead or opportunity"
 * (learn.microsoft.com/partner-center/developer/patch-a-referral) documents `replace` and `add` only;
 * cosell never sends anything else (a cleared value is a `replace` with `null`).
 */
export interface ReferralPatchOperation {
  op: "replace" | "add";
  /** JSON Pointer, e.g. `/details/notes`. */
  path: string;
  value: unknown;
}

/**
 * Properties Partner Center sets itself: never part of a patch (the service refuses them, and sending
 * back what it stamped would only fail). `direction` and the timestamps follow from the lifecycle.
 */
export const REFERRAL_SERVER_FIELDS: readonly string[] = [
  "id",
  "engagementId",
  "createdDateTime",
  "updatedDateTime",
  "acceptedDateTime",
  "expirationDateTime",
  "closedDateTime",
  "direction",
  "eTag",
  "links",
];

const isPlain = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === "object" && !Array.isArray(v);

/** One JSON Pointer segment (`~` → `~0`, `/` → `~1`). */
const segment = (key: string) => key.replace(/~/g, "~0").replace(/\//g, "~1");

/**
 * The operations that turn `base` into `next`: only the paths whose value changed. Objects are
 * compared key by key (an untouched neighbour is never sent); arrays and scalars are replaced whole;
 * a property `base` lacks is `add`ed; one `next` dropped is replaced with `null` (no `remove`).
 */
export function referralPatch(base: Referral, next: Referral): ReferralPatchOperation[] {
  const ops: ReferralPatchOperation[] = [];
  const walk = (a: Record<string, unknown>, b: Record<string, unknown>, prefix: string, top: boolean) => {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (top && REFERRAL_SERVER_FIELDS.includes(key)) continue;
      const path = `${prefix}/${segment(key)}`;
      const had = Object.hasOwn(a, key) && a[key] !== undefined;
      const before = a[key];
      const after = b[key] === undefined ? (had ? null : undefined) : b[key];
      if (after === undefined || isDeepStrictEqual(before, after)) continue;
      if (!had) ops.push({ op: "add", path, value: after });
      else if (isPlain(before) && isPlain(after)) walk(before, after, path, false);
      else ops.push({ op: "replace", path, value: after });
    }
  };
  walk(base as Record<string, unknown>, next as Record<string, unknown>, "", true);
  return ops;
}

const unescapeSegment = (s: string) => s.replace(/~1/g, "/").replace(/~0/g, "~");

/**
 * `doc` with `ops` applied (a copy): what a service makes of {@link referralPatch}'s output. Missing
 * parents of an `add` are created as objects. Used by test doubles of Partner Center.
 */
export function applyReferralPatch<T extends object>(doc: T, ops: readonly ReferralPatchOperation[]): T {
  const out = structuredClone(doc) as Record<string, unknown>;
  for (const op of ops) {
    const keys = op.path.split("/").slice(1).map(unescapeSegment);
    const last = keys.pop();
    if (last === undefined) continue;
    let parent = out;
    for (const k of keys) {
      if (!isPlain(parent[k])) parent[k] = {};
      parent = parent[k] as Record<string, unknown>;
    }
    parent[last] = structuredClone(op.value);
  }
  return out as T;
}
