import { RemoteApiError } from "@cosell/core";

/**
 * Values that reach a Dataverse URL, `$filter` or `$batch` request line only after they were checked
 * here: primary keys are GUIDs (`00000000-0000-0000-0000-000000000000`, the form the Web API writes
 * them in), ETags are `W/"…"` or `"…"` without quotes or line breaks inside.
 */
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ETAG = /^(?:W\/)?"[\x21\x23-\x7e]*"$/;

/** True when `id` is a GUID as Dataverse writes primary keys. */
export const isGuid = (id: unknown): id is string => typeof id === "string" && GUID.test(id);

/** Why `id` cannot be an opportunity id (a Dataverse GUID), or `undefined` when it can. */
export function opportunityIdProblem(id: string): string | undefined {
  return isGuid(id)
    ? undefined
    : "a Dataverse opportunity id is a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301.";
}

/** `id` itself when it is a GUID; otherwise throws, naming what it was for. */
export function guid(id: unknown, what: string): string {
  if (isGuid(id)) return id;
  throw new RemoteApiError(
    "DATAVERSE_VALUE_INVALID",
    `${what}: ${JSON.stringify(String(id).slice(0, 60))} is not a GUID; nothing was sent for this record.`,
  );
}

/** `etag` itself when it is an ETag (RFC 9110 entity-tag); `*` when there is none; otherwise throws. */
export function etagOrAny(etag: unknown): string {
  if (etag === undefined || etag === null) return "*";
  if (typeof etag === "string" && ETAG.test(etag)) return etag;
  throw new RemoteApiError(
    "DATAVERSE_VALUE_INVALID",
    `${JSON.stringify(String(etag).slice(0, 60))} is not an ETag; nothing was sent for this record.`,
  );
}
