import type { SandboxResponse } from "../../kit/index.js";
import { notFound, SalesforceApiError, sfJson } from "../errors.js";
import type { SObjectDef } from "../schema/types.js";
import { type FieldDef, isNumberType, isSortable, type Value } from "../schema/types.js";
import type { ListViewDef, ListViewFilterDef, ResolvedField } from "../soap/list-views.js";
import type { Row } from "../store/record-store.js";
import { parseDateTime } from "../time.js";
import { methodNotAllowed, type RestCall } from "./call.js";

/**
 * `sobjects/<T>/listviews` (List Views for an Object), `…/listviews/<id>` (List View Basic
 * Information) and `…/listviews/<id>/results` (List View Results: the view's query run for the
 * caller), developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_listviews.htm,
 * …/resources_listview.htm and …/resources_listviewresults.htm. The sandbox serves the views created
 * through the Metadata API; the standard views of a real org (All Opportunities…) are not there.
 */
export function handleListViews(call: RestCall, def: SObjectDef): SandboxResponse {
  const { req, ctx, segments } = call;
  if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET", "HEAD"]);
  const views = ctx.org.listViews;
  if (segments.length === 3) {
    const listviews = views.of(def.name).map((v) => basicInfo(call, v));
    return sfJson(200, { done: true, listviews, nextRecordsUrl: null, size: listviews.length });
  }
  const view = views.get(def.name, segments[3]!);
  if (!view) throw notFound();
  if (segments.length === 4) return sfJson(200, basicInfo(call, view));
  if (segments.length === 5 && segments[4] === "results") return sfJson(200, results(call, def, view));
  throw notFound();
}

function basicInfo(call: RestCall, v: ListViewDef) {
  const base = `/services/data/v${call.version}/sobjects/${v.objectName}/listviews/${v.id}`;
  return {
    describeUrl: `${base}/describe`,
    developerName: v.name,
    id: v.id,
    label: v.label,
    resultsUrl: `${base}/results`,
    soqlCompatible: true,
    url: base,
  };
}

/** `limit` 1–2000 (default 25) and `offset` (default 0), as the results resource takes them. */
function paging(call: RestCall): { limit: number; offset: number } {
  const p = call.req.url.searchParams;
  const limit = p.has("limit") ? Number(p.get("limit")) : 25;
  const offset = p.has("offset") ? Number(p.get("offset")) : 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > 2000)
    throw new SalesforceApiError(400, "INVALID_QUERY_PARAMETER_VALUE", "limit must be between 1 and 2000");
  if (!Number.isInteger(offset) || offset < 0)
    throw new SalesforceApiError(400, "INVALID_QUERY_PARAMETER_VALUE", "offset must be 0 or more");
  return { limit, offset };
}

/** Columns every result carries after the view's own, hidden (as in the documented example). */
const HIDDEN = ["Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"];

function results(call: RestCall, def: SObjectDef, view: ListViewDef) {
  const { ctx, actor } = call;
  const { org } = ctx;
  const { limit, offset } = paging(call);
  const resolve = (name: string) => org.listViews.resolve(def.name, name)!;
  // A column on a field the caller cannot read is left out, as the UI leaves it out.
  const shown = view.columns
    .map(resolve)
    .filter((c) =>
      c.via
        ? org.security.canRead(actor, def.name, c.via) &&
          org.security.canRead(actor, c.via.referenceTo![0]!, c.field)
        : org.security.canRead(actor, def.name, c.field),
    );
  const hidden = HIDDEN.map((n) => org.schema.field(def.name, n))
    .filter((f): f is FieldDef => !!f)
    .map((field) => ({ path: field.name, field }) as ResolvedField);
  const sortBy = shown.find((c) => isSortable(c.field));
  const cellOf = (row: Row, c: ResolvedField): Value => {
    if (!c.via) return row[c.field.name] ?? null;
    const parentId = row[c.via.name];
    const parent = typeof parentId === "string" ? org.store.get(c.via.referenceTo![0]!, parentId) : undefined;
    return parent?.[c.field.name] ?? null;
  };

  const filters = view.filters.map((f) => ({ f, c: resolve(f.field) }));
  const rows = [...org.store.rows(def.name)].filter((row) => {
    if (row.IsDeleted === true) return false;
    if (view.filterScope === "Mine" && row.OwnerId !== actor.userId) return false;
    const hits = filters.map(({ f, c }) => matches(f, c.field, cellOf(row, c)));
    return view.booleanFilter ? logic(view.booleanFilter, hits) : hits.every(Boolean);
  });
  if (sortBy) rows.sort((a, b) => compare(cellOf(a, sortBy), cellOf(b, sortBy)));
  const page = rows.slice(offset, offset + limit);

  const all = [...shown, ...hidden];
  const columns = all.map((c, i) => column(c, i >= shown.length, c === sortBy));
  const records = page.map((row) => ({
    columns: all.map((c) => ({
      fieldNameOrPath: c.path,
      value: display((f) => org.schema.picklistValues(f), c.field, cellOf(row, c)),
    })),
  }));
  return {
    columns,
    developerName: view.name,
    done: offset + page.length >= rows.length,
    id: view.id,
    label: view.label,
    records,
    size: rows.length,
  };
}

function column(c: ResolvedField, hidden: boolean, sorted: boolean) {
  const f = c.field;
  const numeric = isNumberType(f.type);
  const dated = f.type === "date" || f.type === "datetime";
  const picklist = f.type === "picklist";
  return {
    ascendingLabel: numeric || picklist ? "Low to High" : dated ? "Old to New" : "Z-A",
    descendingLabel: numeric || picklist ? "High to Low" : dated ? "New to Old" : "A-Z",
    fieldNameOrPath: c.path,
    hidden,
    label: f.label,
    selectListItem: picklist ? `toLabel(${c.path})` : c.path,
    sortDirection: sorted ? "ascending" : null,
    sortIndex: sorted ? 0 : null,
    sortable: isSortable(f),
    type: f.type,
  };
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => String(n).padStart(2, "0");

/**
 * A value as the results carry it: text. Datetimes read as in the documented example ("Fri Aug 01
 * 21:15:46 GMT 2014"), picklists by label (their select item is `toLabel(…)`), checkboxes "true"/"false".
 */
function display(
  picklistValues: (f: FieldDef) => { value: string; label: string }[],
  f: FieldDef,
  v: Value,
): string | null {
  if (v === null || v === "") return null;
  if (f.type === "datetime" && typeof v === "string") {
    const ms = parseDateTime(v);
    if (ms === undefined) return v;
    const d = new Date(ms);
    return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} GMT ${d.getUTCFullYear()}`;
  }
  if (f.type === "picklist") return picklistValues(f).find((p) => p.value === v)?.label ?? String(v);
  return String(v);
}

function compare(a: Value, b: Value): number {
  if (a === b) return 0;
  if (a === null || a === "") return -1;
  if (b === null || b === "") return 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), "en", { sensitivity: "base" });
}

/**
 * One filter line: a comma-separated value means any of them (equals, contains, startsWith) or none
 * of them (notEqual, notContain); an empty value means blank. Text compares case-insensitively;
 * checkboxes take 1/0.
 */
export function matches(filter: ListViewFilterDef, f: FieldDef, v: Value): boolean {
  const op = filter.operation;
  const raw = filter.value ?? "";
  if (f.type === "boolean") {
    const want = /^(1|true)$/i.test(raw);
    return op === "equals" ? (v === true) === want : (v === true) !== want;
  }
  const wanted = raw.split(",").map((s) => s.trim());
  const blank = v === null || v === "";
  if (isNumberType(f.type) || f.type === "date" || f.type === "datetime") {
    const num = (x: string | number) =>
      typeof x === "number" ? x : isNumberType(f.type) ? Number(x) : (parseDateTime(x) ?? Number.NaN);
    const have = blank ? undefined : num(v as string | number);
    const eq = (w: string) => (w === "" ? blank : have !== undefined && have === num(w));
    const cmp = (w: string) => (have === undefined || w === "" ? undefined : have - num(w));
    switch (op) {
      case "equals":
        return wanted.some(eq);
      case "notEqual":
        return !wanted.some(eq);
      case "lessThan":
        return (cmp(wanted[0]!) ?? 0) < 0;
      case "greaterThan":
        return (cmp(wanted[0]!) ?? 0) > 0;
      case "lessOrEqual": {
        const c = cmp(wanted[0]!);
        return c !== undefined && c <= 0;
      }
      case "greaterOrEqual": {
        const c = cmp(wanted[0]!);
        return c !== undefined && c >= 0;
      }
      default:
        return false;
    }
  }
  const have = blank ? "" : String(v).toLowerCase();
  const ws = wanted.map((w) => w.toLowerCase());
  switch (op) {
    case "equals":
      return ws.includes(have);
    case "notEqual":
      return !ws.includes(have);
    case "contains":
      return ws.some((w) => w !== "" && have.includes(w));
    case "notContain":
      return !ws.some((w) => w !== "" && have.includes(w));
    case "startsWith":
      return ws.some((w) => w !== "" && have.startsWith(w));
    case "lessThan":
      return !blank && have < ws[0]!;
    case "greaterThan":
      return !blank && have > ws[0]!;
    case "lessOrEqual":
      return !blank && have <= ws[0]!;
    case "greaterOrEqual":
      return !blank && have >= ws[0]!;
    case "includes":
    case "excludes": {
      const items = new Set(have.split(";").filter(Boolean));
      const any = ws.some((w) => w.split(";").every((x) => items.has(x)));
      return op === "includes" ? any : !any;
    }
    default:
      return false;
  }
}

/** Evaluates a checked booleanFilter (`1 AND (2 OR NOT 3)`) over the lines' outcomes. */
function logic(expr: string, hits: boolean[]): boolean {
  const tokens = expr.match(/\(|\)|\d+|[A-Za-z]+|\S/g) ?? [];
  let i = 0;
  const primary = (): boolean => {
    const t = tokens[i++]!;
    if (t === "(") {
      const v = or();
      i++;
      return v;
    }
    if (t.toUpperCase() === "NOT") return !primary();
    return hits[Number(t) - 1] === true;
  };
  const and = (): boolean => {
    let v = primary();
    while (tokens[i]?.toUpperCase() === "AND") {
      i++;
      v = primary() && v;
    }
    return v;
  };
  const or = (): boolean => {
    let v = and();
    while (tokens[i]?.toUpperCase() === "OR") {
      i++;
      v = and() || v;
    }
    return v;
  };
  return or();
}
