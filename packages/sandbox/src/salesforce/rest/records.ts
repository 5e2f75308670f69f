import { SalesforceApiError } from "../errors.js";
import type { SObjectDef } from "../schema/types.js";
import { attributesOf, type SObjectJson } from "../soql/executor.js";
import { addressOf } from "../soql/resolve.js";
import type { Org } from "../store/org.js";
import type { Row } from "../store/record-store.js";
import type { Actor } from "../store/security.js";

/**
 * Record JSON for sObject GETs and collection retrieves: `attributes` then the requested fields
 * (all readable fields when `fields` is undefined). Unknown or hidden fields are a request error.
 */
export function recordJson(
  org: Org,
  def: SObjectDef,
  row: Row,
  actor: Actor,
  version: string,
  fields?: string[],
): SObjectJson {
  const out: SObjectJson = { attributes: attributesOf(def.name, row.Id as string, version) };
  const list = fields
    ? fields.map((name) => {
        const f = org.schema.field(def.name, name);
        if (!f || !org.security.canRead(actor, def.name, f))
          throw new SalesforceApiError(
            400,
            "INVALID_FIELD",
            `No such column '${name}' on entity '${def.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
          );
        return f;
      })
    : def.fields.filter((f) => org.security.canRead(actor, def.name, f));
  for (const f of list)
    out[f.name] = f.type === "address" ? addressOf(row, f.addressPrefix ?? "") : (row[f.name] ?? null);
  return out;
}

/** Splits `?fields=a,b` (or a JSON array) into names. */
export function fieldList(raw: string | null | undefined): string[] | undefined {
  if (raw === null || raw === undefined || raw.trim() === "") return undefined;
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}
