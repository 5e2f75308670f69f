import { createHash } from "node:crypto";

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `s` is a GUID in the 8-4-4-4-12 form Dataverse uses. */
export function isGuid(s: string): boolean {
  return GUID_RE.test(s);
}

/**
 * A GUID derived from `name` (SHA-1, RFC 4122 version-5 layout), so seed rows get the same ids on
 * every run and Dataverse rows can point at Graph users without a shared table of ids.
 */
export function stableGuid(name: string): string {
  const h = createHash("sha1").update(`cosell-sandbox:${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
