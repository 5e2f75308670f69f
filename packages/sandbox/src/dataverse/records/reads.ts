import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import { type FilterNode, FilterSyntaxError, parseFilter } from "../odata/filter.js";
import { compileFilter, type FilterSchema, FilterSemanticError } from "../odata/filter-eval.js";
import { annotationWanted, type ExpandItem, type OrderByItem } from "../odata/query-options.js";
import { edmTypeOf, isLookup } from "../schema/schema.js";
import type { ColumnDef, TableDef } from "../schema/types.js";
import { isLookupRef, type Row, type Stored } from "../store/store.js";
import { formatValue, toJson } from "../values.js";
import { etagOf } from "./writes.js";

/**
 * Reading rows the way the Web API returns them: `$select` / `$expand` validation, JSON shape with
 * `@odata.etag`, lookup properties and annotations, `$filter` compilation and `$orderby` sorting.
 */

const FORMATTED = "OData.Community.Display.V1.FormattedValue";
const NAV_PROPERTY = "Microsoft.Dynamics.CRM.associatednavigationproperty";
const LOOKUP_LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname";

/** How to shape a row: `$select`, `$expand`, annotation patterns. */
export interface ReadOptions {
  select?: string[];
  expand?: ExpandItem[];
  /** Patterns from `odata.include-annotations`. */
  annotations?: string[];
}

/** Throws `Could not find a property named …` for any `$select` name the table lacks. */
export function validateSelect(env: Env, table: TableDef, select: string[] | undefined): void {
  for (const name of select ?? []) {
    if (!env.schema.property(table, name)) throw dvErrors.unknownProperty(name, table.logicalName);
  }
}

/** Checks `$expand` items: navigation properties of the table, nested `$select` of the target. */
export function validateExpand(env: Env, table: TableDef, expand: ExpandItem[] | undefined): void {
  for (const item of expand ?? []) {
    const single = env.schema.navigation(table, item.nav);
    const many = env.schema.collectionNavigation(table, item.nav);
    if (!single && !many) throw dvErrors.unknownProperty(item.nav, table.logicalName);
    const target = env.schema.require(single ? single.targetTable : many!.targetTable);
    validateSelect(env, target, item.select);
    if (item.expand?.length)
      throw dvErrors.badRequest("Nested $expand is not supported by the sandbox.", "0x80060888");
    if (single && (item.filter || item.orderby || item.top !== undefined))
      throw dvErrors.badRequest(
        `The query options $filter, $orderby and $top are only valid on collection-valued navigation properties; '${item.nav}' is single-valued.`,
        "0x80060888",
      );
    if (item.filter) compileRowFilter(env, target, item.filter);
    if (item.orderby) validateOrderBy(env, target, item.orderby);
  }
}

/** Throws `Could not find a property named …` for any `$orderby` name the table lacks. */
export function validateOrderBy(env: Env, table: TableDef, orderby: OrderByItem[] | undefined): void {
  for (const o of orderby ?? []) {
    if (!env.schema.property(table, o.name)) throw dvErrors.unknownProperty(o.name, table.logicalName);
  }
}

/** The value of a query property (`name` or `_x_value`) in a row. */
export function propertyValue(row: Row, name: string): Stored {
  const m = /^_(.+)_value$/.exec(name);
  if (m) {
    const v = row[m[1]!];
    return isLookupRef(v) ? v.id : null;
  }
  return row[name] ?? null;
}

/** Compiles `$filter` text for `table`; syntax and type errors become Dataverse 400s. */
export function compileRowFilter(env: Env, table: TableDef, text: string): (row: Row) => boolean {
  const schema: FilterSchema<Row> = {
    typeOf: (name) => {
      const col = env.schema.property(table, name);
      return col ? edmTypeOf(col) : undefined;
    },
    valueOf: propertyValue,
  };
  try {
    return compileFilter(parseFilter(text), schema);
  } catch (e) {
    if (e instanceof FilterSyntaxError)
      throw dvErrors.badRequest(`Syntax error at position ${e.position} in '${text}'.`, "0x80060888");
    if (e instanceof FilterSemanticError) {
      if (e.reason === "unknownProperty") throw dvErrors.unknownProperty(e.property ?? "", table.logicalName);
      throw new DataverseError(400, "0x80060888", e.message);
    }
    throw e;
  }
}

/**
 * The ids a filter names when it is nothing but `<primary id> eq <guid>` terms joined by `or` (or an
 * `In` of guids on the primary id): the rows it can match are those, found by id instead of by
 * scanning the table. Undefined for any other filter (which then scans). The filter is still
 * applied to the rows found, so this only narrows the scan and never changes an answer.
 */
export function primaryIdsOf(table: TableDef, text: string): string[] | undefined {
  let node: FilterNode;
  try {
    node = parseFilter(text);
  } catch {
    return undefined; // the scan's compile reports the syntax error
  }
  const ids: string[] = [];
  const walk = (n: FilterNode): boolean => {
    if (n.kind === "or") return walk(n.left) && walk(n.right);
    if (n.kind === "in" && n.property === table.primaryId)
      return n.values.every((v) => v.type === "guid" && ids.push(v.value.toLowerCase()) > 0);
    if (n.kind !== "compare" || n.op !== "eq") return false;
    const [prop, lit] = n.left.kind === "property" ? [n.left, n.right] : [n.right, n.left];
    if (prop.kind !== "property" || prop.name !== table.primaryId || lit.kind !== "literal") return false;
    if (lit.literal.type !== "guid") return false;
    ids.push(lit.literal.value.toLowerCase());
    return true;
  };
  return walk(node) ? [...new Set(ids)] : undefined;
}

/** The sort key of a row: its `$orderby` values, then its id (Dataverse's paging tie-breaker). */
export function sortKey(table: TableDef, row: Row, orderby: OrderByItem[]): Stored[] {
  const key: Stored[] = orderby.map((o) => {
    const v = propertyValue(row, o.name);
    // Text sorts case-insensitively (SQL Server collation): fold once here, not per comparison.
    return typeof v === "string" ? v.toLowerCase() : v;
  });
  key.push(String(row[table.primaryId]));
  return key;
}

function compareValues(a: Stored, b: Stored): number {
  // SQL Server order: nulls first ascending.
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  const x = typeof a === "string" ? a : String(a);
  const y = typeof b === "string" ? b : String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Compares two sort keys under `orderby` directions (the trailing id is always ascending). */
export function compareKeys(a: Stored[], b: Stored[], orderby: OrderByItem[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareValues(a[i] ?? null, b[i] ?? null);
    if (c !== 0) return orderby[i]?.descending ? -c : c;
  }
  return 0;
}

/**
 * The `k` smallest items under `cmp`, sorted: a bounded max-heap, so taking one page of a large
 * table costs O(n log k) instead of sorting all n rows for every page.
 */
export function smallestK<T>(items: T[], k: number, cmp: (a: T, b: T) => number): T[] {
  if (k <= 0) return [];
  if (items.length <= k * 2) return [...items].sort(cmp).slice(0, k);
  const heap: T[] = [];
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (cmp(heap[i]!, heap[p]!) <= 0) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && cmp(heap[l]!, heap[m]!) > 0) m = l;
      if (r < heap.length && cmp(heap[r]!, heap[m]!) > 0) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (const item of items) {
    if (heap.length < k) {
      heap.push(item);
      up(heap.length - 1);
    } else if (cmp(item, heap[0]!) < 0) {
      heap[0] = item;
      down(0);
    }
  }
  return heap.sort(cmp);
}

/** Sorts rows by `$orderby`, then id. */
export function sortRows(table: TableDef, rows: Row[], orderby: OrderByItem[]): Row[] {
  const keyed = rows.map((r) => ({ r, k: sortKey(table, r, orderby) }));
  keyed.sort((x, y) => compareKeys(x.k, y.k, orderby));
  return keyed.map((x) => x.r);
}

/** The primary name of the row a lookup points at (its `FormattedValue`). */
function lookupName(env: Env, ref: { id: string; table: string }): string | undefined {
  const t = env.schema.table(ref.table);
  const row = t ? env.store.get(t.logicalName, ref.id) : undefined;
  const name = row && t ? row[t.primaryName] : undefined;
  return typeof name === "string" ? name : undefined;
}

function currencySymbol(env: Env, row: Row): string {
  const ref = row.transactioncurrencyid;
  const c = isLookupRef(ref) ? env.store.get("transactioncurrency", ref.id) : undefined;
  return typeof c?.currencysymbol === "string" ? c.currencysymbol : "$";
}

function columnsFor(env: Env, table: TableDef, select: string[] | undefined): ColumnDef[] {
  if (!select) return [...table.columns.values()];
  const cols = select.map((name) => env.schema.property(table, name)!);
  if (!cols.some((c) => c.logicalName === table.primaryId)) cols.push(table.columns.get(table.primaryId)!);
  return cols;
}

/** The JSON object the Web API returns for `row`. */
export function serializeRow(
  env: Env,
  table: TableDef,
  row: Row,
  options: ReadOptions = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { "@odata.etag": etagOf(row) };
  const wants = (term: string) => annotationWanted(options.annotations, term);
  for (const col of columnsFor(env, table, options.select)) {
    const value = row[col.logicalName] ?? null;
    if (isLookup(col)) {
      const name = `_${col.logicalName}_value`;
      if (isLookupRef(value)) {
        const formatted = lookupName(env, value);
        if (formatted !== undefined && wants(FORMATTED)) out[`${name}@${FORMATTED}`] = formatted;
        const nav = col.targets?.find((t) => t.table === value.table)?.nav;
        if (nav && wants(NAV_PROPERTY)) out[`${name}@${NAV_PROPERTY}`] = nav;
        if (wants(LOOKUP_LOGICAL_NAME)) out[`${name}@${LOOKUP_LOGICAL_NAME}`] = value.table;
      }
      out[name] = toJson(value);
      continue;
    }
    if (value !== null && wants(FORMATTED)) {
      const formatted = formatValue(col, value, col.type === "Money" ? currencySymbol(env, row) : undefined);
      if (formatted !== undefined) out[`${col.logicalName}@${FORMATTED}`] = formatted;
    }
    out[col.logicalName] = toJson(value);
  }
  for (const item of options.expand ?? [])
    out[item.nav] = expandValue(env, table, row, item, options.annotations);
  return out;
}

function expandValue(
  env: Env,
  table: TableDef,
  row: Row,
  item: ExpandItem,
  annotations: string[] | undefined,
): unknown {
  const single = env.schema.navigation(table, item.nav);
  if (single) {
    const ref = row[single.column.logicalName];
    if (!isLookupRef(ref) || ref.table !== single.targetTable) return null;
    const target = env.schema.require(single.targetTable);
    const related = env.store.get(target.logicalName, ref.id);
    return related ? serializeRow(env, target, related, { select: item.select, annotations }) : null;
  }
  const many = env.schema.collectionNavigation(table, item.nav)!;
  const target = env.schema.require(many.targetTable);
  let rows = env.store
    .linked(many.relationship, String(row[table.primaryId]))
    .map((id) => env.store.get(target.logicalName, id))
    .filter((r): r is Row => r !== undefined);
  if (item.filter) rows = rows.filter(compileRowFilter(env, target, item.filter));
  rows = sortRows(target, rows, item.orderby ?? []);
  if (item.top !== undefined) rows = rows.slice(0, item.top);
  return rows.map((r) => serializeRow(env, target, r, { select: item.select, annotations }));
}

/** `opportunities(name,parentaccountid(name))`: the part of `@odata.context` after `#`. */
export function contextPath(
  entitySet: string,
  select: string[] | undefined,
  expand: ExpandItem[] | undefined,
): string {
  const parts = [...(select ?? [])];
  for (const e of expand ?? []) parts.push(`${e.nav}(${(e.select ?? []).join(",")})`);
  return parts.length > 0 ? `${entitySet}(${parts.join(",")})` : entitySet;
}
