import { dvErrors } from "./errors.js";
import { isGuid } from "./ids.js";
import { edmTypeOf } from "./schema/schema.js";
import type { ColumnDef, TableDef } from "./schema/types.js";
import { isLookupRef, type Stored } from "./store/store.js";

/**
 * Conversion between Web API JSON values and stored values, with Dataverse's validation (types,
 * lengths, ranges, option values) and its display formatting for `FormattedValue` annotations.
 */

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** `2025-06-30T10:00:00.123Z` → `2025-06-30T10:00:00Z` (Dataverse keeps whole seconds, in UTC). */
export function toDataverseDateTime(d: Date | number | string): string {
  const date = d instanceof Date ? d : new Date(d);
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** Validates and converts a JSON value for `col`; throws the Web API's error when it does not fit. */
export function coerceInput(table: TableDef, col: ColumnDef, value: unknown): Stored {
  if (value === null) return null;
  const edm = edmTypeOf(col);
  const bad = () => dvErrors.badLiteral(value, edm);
  switch (col.type) {
    case "String":
    case "Memo": {
      if (typeof value !== "string") throw bad();
      if (col.maxLength !== undefined && value.length > col.maxLength)
        throw dvErrors.validation(
          `The length of the '${col.logicalName}' attribute of the '${table.logicalName}' entity exceeded the maximum allowed length of '${col.maxLength}'.`,
        );
      return value;
    }
    case "Integer":
    case "BigInt":
    case "Decimal":
    case "Money":
    case "Double": {
      if (typeof value !== "number" || !Number.isFinite(value)) throw bad();
      if ((col.type === "Integer" || col.type === "BigInt") && !Number.isInteger(value)) throw bad();
      if (
        (col.minValue !== undefined && value < col.minValue) ||
        (col.maxValue !== undefined && value > col.maxValue)
      )
        throw dvErrors.validation(
          `The value ${value} of '${col.logicalName}' on record of type '${table.logicalName}' is outside the valid range. Accepted range: ${col.minValue} to ${col.maxValue}`,
        );
      return col.precision !== undefined ? Number(value.toFixed(col.precision)) : value;
    }
    case "Boolean":
      if (typeof value !== "boolean") throw bad();
      return value;
    case "DateTime":
      if (typeof value !== "string" || !DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) throw bad();
      return toDataverseDateTime(value);
    case "DateOnly":
      if (
        typeof value !== "string" ||
        !DATE_ONLY.test(value) ||
        Number.isNaN(Date.parse(`${value}T00:00:00Z`))
      )
        throw bad();
      return value;
    case "Picklist":
    case "State":
    case "Status": {
      if (typeof value !== "number" || !Number.isInteger(value)) throw bad();
      const options = col.options ?? [];
      if (!options.some((o) => o.value === value))
        throw dvErrors.validation(
          `The value ${value} of '${col.logicalName}' on record of type '${table.logicalName}' is outside the valid range. Accepted Values: ${options.map((o) => o.value).join(",")}`,
        );
      return value;
    }
    case "Uniqueidentifier":
      if (typeof value !== "string" || !isGuid(value)) throw bad();
      return value.toLowerCase();
    case "Lookup":
    case "Customer":
    case "Owner":
      // Lookups are written through navigation properties; the caller handles them.
      throw dvErrors.lookupValueWrite();
  }
}

/** The JSON value of a stored value (lookups become their id). */
export function toJson(value: Stored | undefined): string | number | boolean | null {
  if (value === undefined || value === null) return null;
  if (isLookupRef(value)) return value.id;
  return value;
}

const numberFormat = new Intl.NumberFormat("en-US");

/**
 * The `OData.Community.Display.V1.FormattedValue` of a value, as an en-US user would see it.
 * `currencySymbol` is used for Money columns.
 */
export function formatValue(col: ColumnDef, value: Stored, currencySymbol = "$"): string | undefined {
  if (value === null || isLookupRef(value)) return undefined;
  switch (col.type) {
    case "Picklist":
    case "State":
    case "Status":
      return col.options?.find((o) => o.value === value)?.label;
    case "Boolean":
      return col.options?.find((o) => o.value === (value ? 1 : 0))?.label ?? (value ? "Yes" : "No");
    case "Money":
      return `${currencySymbol}${Number(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
    case "Integer":
    case "BigInt":
    case "Decimal":
    case "Double":
      return numberFormat.format(Number(value));
    case "DateOnly": {
      const [y, m, d] = String(value).split("-");
      return `${Number(m)}/${Number(d)}/${y}`;
    }
    case "DateTime": {
      const d = new Date(String(value));
      const h = d.getUTCHours();
      const mm = String(d.getUTCMinutes()).padStart(2, "0");
      return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${h % 12 === 0 ? 12 : h % 12}:${mm} ${h < 12 ? "AM" : "PM"}`;
    }
    default:
      return undefined;
  }
}
