import type { Env } from "../env.js";
import type { OrderByItem } from "../odata/query-options.js";
import { compareKeys, sortKey } from "../records/reads.js";
import { isLookup } from "../schema/schema.js";
import type { ColumnDef, TableDef } from "../schema/types.js";
import { isLookupRef, type Row, type Stored } from "../store/store.js";
import { parseXml, type XmlElement, XmlSyntaxError } from "./xml.js";

/**
 * FetchXml, the query language of saved views
 * (learn.microsoft.com/power-apps/developer/data-platform/fetchxml/overview), as far as a co-sell
 * view needs it: one `<entity>`, its `<attribute>`s (or `<all-attributes>`), `<order>`s and nested
 * `<filter type="and|or">`s of `<condition>`s with the operators eq, ne, null, not-null, in and
 * not-in (learn.microsoft.com/power-apps/developer/data-platform/fetchxml/reference/operators).
 * Every other element or operator — `link-entity`, aggregates, date operators — is refused with a
 * message saying the sandbox does not run it: the emulator may refuse more than Dataverse, never less.
 */

/** A FetchXml the sandbox cannot accept; the caller turns it into the Web API error. */
export class FetchXmlError extends Error {}

type Predicate = (row: Row) => boolean;

/** A parsed, validated FetchXml query. */
export interface FetchQuery {
  table: TableDef;
  /** The columns the query returns (the primary id is always returned too). */
  columns: ColumnDef[];
  orderby: OrderByItem[];
  filter: Predicate;
  /** Every column the query names (attributes, conditions, orders), by logical name. */
  named: string[];
  top?: number;
}

const FETCH_ATTRIBUTES = new Set([
  "version",
  "mapping",
  "distinct",
  "output-format",
  "no-lock",
  "top",
  "count",
  "page",
  "returntotalrecordcount",
]);
const OPERATORS = new Set(["eq", "ne", "null", "not-null", "in", "not-in"]);

function only(el: XmlElement, allowed: string[]): void {
  for (const a of Object.keys(el.attributes))
    if (!allowed.includes(a))
      throw new FetchXmlError(`The attribute '${a}' of <${el.name}> is not supported by the sandbox.`);
}

function columnOf(table: TableDef, name: string | undefined, where: string): ColumnDef {
  if (!name) throw new FetchXmlError(`<${where}> needs an attribute name.`);
  const col = table.columns.get(name);
  if (!col)
    throw new FetchXmlError(`'${table.logicalName}' entity doesn't contain attribute with Name = '${name}'.`);
  return col;
}

/** The stored form of a condition value for `col`; throws when the text is not a value of its type. */
function conditionValue(col: ColumnDef, text: string): Stored {
  const bad = () =>
    new FetchXmlError(
      `The value '${text}' of a condition on '${col.logicalName}' is not a valid ${col.type}.`,
    );
  switch (col.type) {
    case "String":
    case "Memo":
      return text.toLowerCase();
    case "Boolean":
      if (text === "1" || text === "true") return true;
      if (text === "0" || text === "false") return false;
      throw bad();
    case "DateTime":
    case "DateOnly": {
      const t = Date.parse(text);
      if (Number.isNaN(t)) throw bad();
      return t;
    }
    case "Uniqueidentifier":
    case "Lookup":
    case "Customer":
    case "Owner": {
      const id = text.replace(/^\{|\}$/g, "").toLowerCase();
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw bad();
      return id;
    }
    default: {
      if (text.trim() === "" || Number.isNaN(Number(text))) throw bad();
      return Number(text);
    }
  }
}

/** A stored value in the form {@link conditionValue} returns, for comparison. */
function comparable(col: ColumnDef, v: Stored | undefined): Stored {
  if (v === undefined || v === null) return null;
  if (isLookupRef(v)) return v.id.toLowerCase();
  if (typeof v === "string") {
    if (col.type === "DateTime" || col.type === "DateOnly") return Date.parse(v);
    return v.toLowerCase();
  }
  return v;
}

function condition(table: TableDef, el: XmlElement, named: string[]): Predicate {
  only(el, ["attribute", "operator", "value"]);
  const col = columnOf(table, el.attributes.attribute, "condition");
  named.push(col.logicalName);
  const op = el.attributes.operator;
  if (!op) throw new FetchXmlError(`The condition on '${col.logicalName}' needs an operator.`);
  if (!OPERATORS.has(op))
    throw new FetchXmlError(
      `The condition operator '${op}' is not supported by the sandbox (it runs ${[...OPERATORS].join(", ")}).`,
    );
  for (const child of el.children)
    if (child.name !== "value") throw new FetchXmlError(`<condition> cannot contain <${child.name}>.`);
  const get = (row: Row) => comparable(col, row[col.logicalName]);
  if (op === "null" || op === "not-null") {
    if (el.attributes.value !== undefined || el.children.length)
      throw new FetchXmlError(`The operator '${op}' takes no value.`);
    return op === "null" ? (row) => get(row) === null : (row) => get(row) !== null;
  }
  if (op === "in" || op === "not-in") {
    if (el.attributes.value !== undefined || !el.children.length)
      throw new FetchXmlError(`The operator '${op}' takes its values as <value> elements.`);
    const values = el.children.map((v) => conditionValue(col, v.text));
    // SQL semantics: a null column matches neither `in` nor `not in`.
    return (row) => {
      const v = get(row);
      return v !== null && values.includes(v) === (op === "in");
    };
  }
  if (el.attributes.value === undefined || el.children.length)
    throw new FetchXmlError(`The operator '${op}' takes one value in the value attribute.`);
  const value = conditionValue(col, el.attributes.value);
  // SQL semantics: `col <> x` is not true for a null column. Microsoft's operator reference does not
  // say either way; views that want nulls add an `or` with `null`.
  return op === "eq"
    ? (row) => get(row) === value
    : (row) => {
        const v = get(row);
        return v !== null && v !== value;
      };
}

function filter(table: TableDef, el: XmlElement, named: string[]): Predicate {
  only(el, ["type"]);
  const type = el.attributes.type ?? "and";
  if (type !== "and" && type !== "or")
    throw new FetchXmlError(`The filter type '${type}' is not valid: use 'and' or 'or'.`);
  const parts = el.children.map((child) => {
    if (child.name === "condition") return condition(table, child, named);
    if (child.name === "filter") return filter(table, child, named);
    throw new FetchXmlError(`<filter> cannot contain <${child.name}>.`);
  });
  return type === "and" ? (row) => parts.every((p) => p(row)) : (row) => parts.some((p) => p(row));
}

/**
 * Parses and validates `text` against the emulator's schema: well-formed, a known entity, every
 * attribute, condition and order column on it, supported operators. Throws {@link FetchXmlError}.
 */
export function parseFetchXml(env: Env, text: string): FetchQuery {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw new FetchXmlError(`The FetchXml is not well-formed: ${e.message}`);
    throw e;
  }
  if (root.name !== "fetch")
    throw new FetchXmlError(`The FetchXml root element must be <fetch>, not <${root.name}>.`);
  for (const a of Object.keys(root.attributes))
    if (!FETCH_ATTRIBUTES.has(a))
      throw new FetchXmlError(`The attribute '${a}' of <fetch> is not supported.`);
  if (root.attributes.page !== undefined || root.attributes.count !== undefined)
    throw new FetchXmlError("A saved view cannot page: remove the page and count attributes of <fetch>.");
  const [entity, ...more] = root.children;
  if (entity?.name !== "entity" || more.length)
    throw new FetchXmlError("The FetchXml needs exactly one <entity> inside <fetch>.");
  only(entity, ["name"]);
  const table = env.schema.table(entity.attributes.name ?? "");
  if (!table) throw new FetchXmlError(`The entity '${entity.attributes.name ?? ""}' does not exist.`);
  const named: string[] = [];
  const columns: ColumnDef[] = [];
  const orderby: OrderByItem[] = [];
  const filters: Predicate[] = [];
  let all = false;
  for (const child of entity.children) {
    switch (child.name) {
      case "attribute": {
        only(child, ["name"]);
        const col = columnOf(table, child.attributes.name, "attribute");
        named.push(col.logicalName);
        if (!columns.includes(col)) columns.push(col);
        break;
      }
      case "all-attributes":
        all = true;
        break;
      case "order": {
        only(child, ["attribute", "descending"]);
        const col = columnOf(table, child.attributes.attribute, "order");
        named.push(col.logicalName);
        const desc = child.attributes.descending ?? "false";
        if (desc !== "true" && desc !== "false")
          throw new FetchXmlError(`descending must be 'true' or 'false', not '${desc}'.`);
        // A lookup sorts by the id here; Dataverse sorts it by the related row's name. The co-sell
        // views never sort by a lookup.
        orderby.push({
          name: isLookup(col) ? `_${col.logicalName}_value` : col.logicalName,
          descending: desc === "true",
        });
        break;
      }
      case "filter":
        filters.push(filter(table, child, named));
        break;
      case "link-entity":
        throw new FetchXmlError("<link-entity> is not supported by the sandbox.");
      default:
        throw new FetchXmlError(`<entity> cannot contain <${child.name}>.`);
    }
  }
  const top = root.attributes.top === undefined ? undefined : Number(root.attributes.top);
  if (top !== undefined && !(Number.isInteger(top) && top > 0 && top <= 5000))
    throw new FetchXmlError(`top must be a whole number from 1 to 5000, not '${root.attributes.top}'.`);
  return {
    table,
    columns: all ? [...table.columns.values()] : columns,
    orderby,
    filter: (row) => filters.every((f) => f(row)),
    named,
    ...(top !== undefined ? { top } : {}),
  };
}

/** The rows `q` selects, in its order (then by id, Dataverse's tie-breaker). */
export function runFetch(env: Env, q: FetchQuery): Row[] {
  const keyed = [...env.store.all(q.table.logicalName)]
    .filter(q.filter)
    .map((row) => ({ row, key: sortKey(q.table, row, q.orderby) }));
  keyed.sort((a, b) => compareKeys(a.key, b.key, q.orderby));
  const rows = keyed.map((k) => k.row);
  return q.top === undefined ? rows : rows.slice(0, q.top);
}
