import { invalidRequest } from "./errors.js";
import { SERVER_OWNED_FIELDS } from "./lifecycle-check.js";

/**
 * One operation of a `PATCH /referrals/{id}` body. JSON Patch (RFC 6902), of which "Update a lead or
 * opportunity" (learn.microsoft.com/partner-center/developer/patch-a-referral) documents `replace`
 * and `add` only: anything else (`remove`, `move`, `copy`, `test`) is refused with 400.
 */
export interface PatchOperation {
  op: "add" | "replace";
  path: string;
  value?: unknown;
}

/**
 * Top-level properties of the Referral resource ("Referral resources", plus those seen in published
 * real answers) that a PATCH may address. A path under any other property is refused with 400:
 * the emulator is at least as strict as the service, which documents no others.
 */
export const PATCHABLE_PROPERTIES: readonly string[] = [
  "name",
  "externalReferenceId",
  "campaignId",
  "status",
  "substatus",
  "statusReason",
  "type",
  "qualification",
  "customerProfile",
  "consent",
  "details",
  "team",
  "inviteContext",
  "target",
  "favorite",
  "salesStage",
  "dealSensitivity",
];

/**
 * Paths (JSON Pointers) Partner Center fills in itself, seen in real answers: Microsoft's opportunity
 * id, the registration after a win, who sent the referral, the respond-by date. What the real service
 * answers to a partner's patch of one is undocumented; the emulator refuses it with 400, the strict
 * (safe) reading: a client that passes here never relies on such a write.
 */
export const READ_ONLY_PATHS: readonly string[] = [
  "/trackingInfo",
  "/registrationStatus",
  "/registrations",
  "/inviteContext/invitedBy",
  "/expirationDateTime",
];

/** The value at a JSON Pointer of `doc`, or `undefined` (null and absent read the same). */
function valueAt(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const seg of pointer(path)) {
    if (!v || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v ?? undefined;
}

/**
 * The read-only paths whose value differs between `current` and the patched `next`: catches what a
 * patch of a parent (`/inviteContext` replaced whole) would change underneath.
 */
export function readOnlyChanges(current: unknown, next: unknown): string[] {
  return READ_ONLY_PATHS.filter(
    (p) => JSON.stringify(valueAt(current, p) ?? null) !== JSON.stringify(valueAt(next, p) ?? null),
  );
}

/** The read-only path `path` is, or lies inside (`/trackingInfo/microsoftMsxId` → `/trackingInfo`). */
export function readOnlyPathOf(path: string): string | undefined {
  return READ_ONLY_PATHS.find((p) => path === p || path.startsWith(`${p}/`));
}

type Container = Record<string, unknown> | unknown[];

function pointer(path: string): string[] {
  if (!path.startsWith("/"))
    throw invalidRequest(`PATCH path "${path}" must start with "/", e.g. "/details/notes".`);
  return path
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parseOps(body: unknown): PatchOperation[] {
  if (!Array.isArray(body))
    throw invalidRequest(
      'A PATCH body is an array of operations, e.g. [{"op":"replace","path":"/details/notes","value":"…"}].',
    );
  return body.map((raw, i) => {
    const o = raw as Partial<PatchOperation> | null;
    if (!o || typeof o !== "object" || !["add", "replace"].includes(String(o.op)))
      throw invalidRequest(
        `PATCH operation ${i}: "op" must be replace or add (got ${JSON.stringify(o?.op)}); to clear a value, replace it with null.`,
        { fields: [`[${i}].op`] },
      );
    if (typeof o.path !== "string")
      throw invalidRequest(`PATCH operation ${i}: "path" is required.`, { fields: [`[${i}].path`] });
    if (!("value" in o))
      throw invalidRequest(`PATCH operation ${i}: "value" is required for ${o.op}.`, {
        fields: [`[${i}].value`],
      });
    return o as PatchOperation;
  });
}

/**
 * Applies a JSON-Patch-style body to a copy of `doc`. Server-owned properties (id, eTag, timestamps…)
 * cannot be patched. Throws a 400 naming the operation that cannot be applied.
 */
export function applyPatch(doc: Record<string, unknown>, body: unknown): Record<string, unknown> {
  const out = structuredClone(doc);
  for (const [i, op] of parseOps(body).entries()) {
    const segments = pointer(op.path);
    const head = segments[0];
    const readOnly = readOnlyPathOf(op.path);
    if (readOnly)
      throw invalidRequest(
        `PATCH operation ${i}: "${op.path}" is set by Partner Center (${readOnly.slice(1).replace(/\//g, ".")}) and cannot be patched by a partner.`,
        { fields: [op.path] },
      );
    if (!head || (SERVER_OWNED_FIELDS as readonly string[]).includes(head))
      throw invalidRequest(
        `PATCH operation ${i}: "${op.path}" is set by Partner Center and cannot be patched.`,
        {
          fields: [op.path],
        },
      );
    if (!PATCHABLE_PROPERTIES.includes(head))
      throw invalidRequest(
        `PATCH operation ${i}: "${op.path}" is not a property of a referral; patch one of ${PATCHABLE_PROPERTIES.join(", ")}.`,
        { fields: [op.path] },
      );
    let parent: Container = out;
    for (const seg of segments.slice(0, -1)) {
      const child: unknown = Array.isArray(parent) ? parent[Number(seg)] : parent[seg];
      if (child === undefined || child === null) {
        if (Array.isArray(parent))
          throw invalidRequest(`PATCH operation ${i}: "${op.path}" does not exist.`, { fields: [op.path] });
        const created: Record<string, unknown> = {};
        parent[seg] = created;
        parent = created;
      } else if (typeof child === "object") parent = child as Container;
      else
        throw invalidRequest(`PATCH operation ${i}: "${op.path}" goes through a non-object.`, {
          fields: [op.path],
        });
    }
    const last = segments[segments.length - 1]!;
    if (Array.isArray(parent)) {
      const index = last === "-" ? parent.length : Number(last);
      if (
        !Number.isInteger(index) ||
        index < 0 ||
        index > parent.length ||
        (op.op === "replace" && index === parent.length)
      )
        throw invalidRequest(`PATCH operation ${i}: index "${last}" is out of range in "${op.path}".`, {
          fields: [op.path],
        });
      if (op.op === "add") parent.splice(index, 0, op.value);
      else parent[index] = op.value;
    } else parent[last] = op.value;
  }
  return out;
}
