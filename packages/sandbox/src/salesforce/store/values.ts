import { RecordError } from "../errors.js";
import { keyPrefixOf, toId18 } from "../ids.js";
import type { SchemaRegistry } from "../schema/registry.js";
import { type FieldDef, isTextType, type Value } from "../schema/types.js";
import { formatDateTime, isDate, parseDateTime } from "../time.js";

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function show(raw: unknown): string {
  return typeof raw === "string" ? raw : JSON.stringify(raw);
}

function wrongType(f: FieldDef, raw: unknown): RecordError {
  return new RecordError(
    "INVALID_TYPE_ON_FIELD_IN_RECORD",
    `${f.label}: value not of required type: ${show(raw)}`,
    [f.name],
  );
}

function toNumber(f: FieldDef, raw: unknown): number {
  const n =
    typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n)) throw wrongType(f, raw);
  if (f.type === "int" && !Number.isInteger(n)) throw wrongType(f, raw);
  const scale = f.scale ?? 0;
  const intDigits = (f.precision ?? 18) - scale;
  const rounded = f.type === "int" ? n : Number(n.toFixed(scale));
  if (Math.abs(Math.trunc(rounded)).toString().length > intDigits)
    throw new RecordError(
      "NUMBER_OUTSIDE_VALID_RANGE",
      `${f.label}: value outside of valid range on numeric field: ${show(raw)}`,
      [f.name],
    );
  return rounded;
}

function toText(f: FieldDef, raw: unknown, schema: SchemaRegistry): string | null {
  if (typeof raw === "number") raw = String(raw);
  if (typeof raw !== "string") throw wrongType(f, raw);
  // Salesforce stores empty text as null.
  if (raw === "") return null;
  if (f.length !== undefined && raw.length > f.length)
    throw new RecordError(
      "STRING_TOO_LONG",
      `${f.label}: data value too large: ${raw} (max length=${f.length})`,
      [f.name],
    );
  if (f.type === "email" && !EMAIL_RE.test(raw))
    throw new RecordError("INVALID_EMAIL_ADDRESS", `${f.label}: invalid email address: ${raw}`, [f.name]);
  if (f.type === "picklist" && f.restrictedPicklist) {
    const hit = schema.picklistValues(f).find((p) => p.active && p.value.toLowerCase() === raw.toLowerCase());
    if (!hit)
      throw new RecordError(
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        `${f.label}: bad value for restricted picklist field: ${raw}`,
        [f.name],
      );
    return hit.value;
  }
  return raw;
}

/**
 * Checks and converts one JSON value written to `f`, the way the REST API does: numbers as numbers,
 * dates as `YYYY-MM-DD`, datetimes normalised to UTC, ids to their 18-char form. Existence of a
 * referenced record is checked later by the DML engine (it needs the store).
 */
export function coerceFieldValue(f: FieldDef, raw: unknown, schema: SchemaRegistry): Value {
  if (raw === null || raw === undefined) return f.type === "boolean" ? false : null;
  if (isTextType(f.type)) return toText(f, raw, schema);
  switch (f.type) {
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "false") return raw === "true";
      throw wrongType(f, raw);
    case "date":
      if (typeof raw === "string" && isDate(raw)) return raw;
      throw wrongType(f, raw);
    case "datetime": {
      const ms = typeof raw === "string" ? parseDateTime(raw) : undefined;
      if (ms === undefined) throw wrongType(f, raw);
      return formatDateTime(ms);
    }
    case "currency":
    case "percent":
    case "double":
    case "int":
      return toNumber(f, raw);
    case "id":
    case "reference": {
      if (typeof raw !== "string") throw wrongType(f, raw);
      if (raw === "") return null;
      const id = toId18(raw);
      if (!id)
        throw new RecordError("MALFORMED_ID", `${f.label}: id value of incorrect type: ${raw}`, [f.name]);
      const targets = (f.referenceTo ?? []).map((t) => schema.object(t)?.keyPrefix);
      if (f.type === "reference" && !targets.includes(keyPrefixOf(id)))
        throw new RecordError("FIELD_INTEGRITY_EXCEPTION", `${f.label}: id value of incorrect type: ${raw}`, [
          f.name,
        ]);
      return id;
    }
    default:
      throw wrongType(f, raw);
  }
}
