import { invalidRequest } from "./errors.js";
import { SERVER_OWNED_FIELDS } from "./lifecycle-check.js";

/** One operation of a `PATCH /referrals/{id}` body (JSON Patch, RFC 6902: add, replace, remove). */
export interface PatchOperation {
  op: "add" | "replace" | "remove";
  path: string;
  value?: unknown;
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
    if (!o || typeof o !== "object" || !["add", "replace", "remove"].includes(String(o.op)))
      throw invalidRequest(`PATCH operation ${i}: "op" must be add, replace or remove.`, {
        fields: [`[${i}].op`],
      });
    if (typeof o.path !== "string")
      throw invalidRequest(`PATCH operation ${i}: "path" is required.`, { fields: [`[${i}].path`] });
    if (o.op !== "remove" && !("value" in o))
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
    if (!head || (SERVER_OWNED_FIELDS as readonly string[]).includes(head))
      throw invalidRequest(
        `PATCH operation ${i}: "${op.path}" is set by Partner Center and cannot be patched.`,
        {
          fields: [op.path],
        },
      );
    let parent: Container = out;
    for (const seg of segments.slice(0, -1)) {
      const child: unknown = Array.isArray(parent) ? parent[Number(seg)] : parent[seg];
      if (child === undefined || child === null) {
        if (op.op === "remove" || Array.isArray(parent))
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
      if (!Number.isInteger(index) || index < 0 || index > parent.length)
        throw invalidRequest(`PATCH operation ${i}: index "${last}" is out of range in "${op.path}".`, {
          fields: [op.path],
        });
      if (op.op === "add") parent.splice(index, 0, op.value);
      else if (op.op === "replace") parent[index] = op.value;
      else parent.splice(index, 1);
    } else if (op.op === "remove") {
      if (!(last in parent))
        throw invalidRequest(`PATCH operation ${i}: "${op.path}" does not exist.`, { fields: [op.path] });
      delete parent[last];
    } else parent[last] = op.value;
  }
  return out;
}
