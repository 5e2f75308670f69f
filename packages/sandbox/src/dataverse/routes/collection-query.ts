import type { SandboxResponse } from "../../kit/http.js";
import type { Env } from "../env.js";
import { dvErrors } from "../errors.js";
import { decodeSkipToken, encodeSkipToken } from "../odata/paging-cookie.js";
import {
  parseExpand,
  parseOrderBy,
  parsePrefer,
  parseSelect,
  parseTop,
  QueryOptionError,
} from "../odata/query-options.js";
import {
  compareKeys,
  compileRowFilter,
  contextPath,
  primaryIdsOf,
  serializeRow,
  smallestK,
  sortKey,
  validateExpand,
  validateOrderBy,
  validateSelect,
} from "../records/reads.js";
import type { TableDef } from "../schema/types.js";
import type { Row, Stored } from "../store/store.js";
import { runSavedQuery } from "../views/run-saved-query.js";
import { trackedQuery } from "./changes.js";
import { appliedPreferences, type CollectionQuery } from "./collection-options.js";
import { type DvRequest, odataJson, withQueryOption } from "./respond.js";

const KNOWN_OPTIONS = new Set([
  "$select",
  "$filter",
  "$orderby",
  "$top",
  "$expand",
  "$skiptoken",
  "$deltatoken",
  "$count",
]);

/** The query options of a collection request, parsed and validated against the table. */
/** Parses and validates `$select`, `$expand`, `$orderby`, `$filter`, `$top` and `Prefer` for `table`. */
export function parseCollectionQuery(env: Env, table: TableDef, req: DvRequest): CollectionQuery {
  const p = req.url.searchParams;
  for (const name of p.keys()) {
    if (name === "$skip")
      throw dvErrors.badRequest("The query parameter $skip is not supported", "0x80060888");
    if (!KNOWN_OPTIONS.has(name))
      throw dvErrors.badRequest(
        `The query parameter '${name}' is not supported by the sandbox.`,
        "0x80060888",
      );
  }
  try {
    const q: CollectionQuery = {
      select: parseSelect(p.get("$select")),
      expand: parseExpand(p.get("$expand")),
      orderby: parseOrderBy(p.get("$orderby")),
      filter: p.get("$filter") ?? undefined,
      top: parseTop(p.get("$top")),
      count: p.get("$count") === "true",
      prefs: parsePrefer(req.headers.prefer),
    };
    validateSelect(env, table, q.select);
    validateExpand(env, table, q.expand);
    validateOrderBy(env, table, q.orderby);
    return q;
  } catch (e) {
    if (e instanceof QueryOptionError) throw dvErrors.badRequest(e.message, "0x80060888");
    throw e;
  }
}

/** Decodes the sort values of a paging cookie back into stored values of the sort columns. */
function cookieKey(env: Env, table: TableDef, values: { name: string; value: string | null }[]): Stored[] {
  return values.map(({ name, value }) => {
    if (value === null) return null;
    const col = env.schema.property(table, name);
    if (!col) return value;
    if (/^\{.*\}$/.test(value)) return value.slice(1, -1).toLowerCase();
    switch (col.type) {
      case "Integer":
      case "BigInt":
      case "Decimal":
      case "Money":
      case "Double":
      case "Picklist":
      case "State":
      case "Status":
        return Number(value);
      case "Boolean":
        return value === "1";
      default:
        return value;
    }
  });
}

function cookieValue(v: Stored, isId: boolean): string | null {
  if (v === null) return null;
  if (typeof v === "boolean") return v ? "1" : "0";
  return isId ? `{${String(v).toUpperCase()}}` : String(v);
}

/** `GET /{entityset}`: filter, sort, page (keyset on the sort values) and serialize. */
export function queryCollection(env: Env, table: TableDef, req: DvRequest): SandboxResponse {
  if (req.url.searchParams.has("savedQuery")) return runSavedQuery(env, table, req);
  const q = parseCollectionQuery(env, table, req);
  const skiptoken = req.url.searchParams.get("$skiptoken");
  const tracking = skiptoken !== null && decodeSkipToken(skiptoken)?.isTracking === true;
  if (q.prefs.trackChanges || tracking || req.url.searchParams.has("$deltatoken"))
    return trackedQuery(env, table, req, q);

  const predicate = q.filter ? compileRowFilter(env, table, q.filter) : undefined;
  const orderby = q.orderby ?? [];
  let keyed: { row: Row; key: Stored[] }[] = [];
  // A lookup of records by id reads those rows, not the whole table (a real server uses its index).
  const byId = q.filter ? primaryIdsOf(table, q.filter) : undefined;
  const candidates = byId
    ? byId.map((id) => env.store.get(table.logicalName, id)).filter((r): r is Row => r !== undefined)
    : env.store.all(table.logicalName);
  for (const row of candidates)
    if (!predicate || predicate(row)) keyed.push({ row, key: sortKey(table, row, orderby) });
  const total = keyed.length;

  // $top is ignored when odata.maxpagesize is present (documented); without either, pages of 5000.
  const maxPage = env.org.maxPageSize;
  const pageSize =
    q.prefs.maxPageSize !== undefined ? Math.max(1, Math.min(q.prefs.maxPageSize, maxPage)) : undefined;
  let pageNumber = 1;
  if (skiptoken !== null) {
    const cookie = decodeSkipToken(skiptoken);
    if (!cookie)
      throw dvErrors.badRequest(
        "The $skiptoken value is not valid. Request the first page again.",
        "0x80060888",
      );
    const after = cookieKey(env, table, cookie.last);
    keyed = keyed.filter((x) => compareKeys(x.key, after, orderby) > 0);
    pageNumber = cookie.pageNumber;
  }
  const limit = pageSize ?? (q.top !== undefined ? Math.min(q.top, maxPage) : maxPage);
  const page = smallestK(keyed, limit, (a, b) => compareKeys(a.key, b.key, orderby)).map((x) => x.row);
  const body: Record<string, unknown> = {
    "@odata.context": `${req.base}$metadata#${contextPath(table.entitySetName, q.select, q.expand)}`,
  };
  if (q.count) body["@odata.count"] = Math.min(total, 5000);
  body.value = page.map((r) =>
    serializeRow(env, table, r, {
      select: q.select,
      expand: q.expand,
      annotations: q.prefs.includeAnnotations,
    }),
  );
  const morePages = keyed.length > page.length && (pageSize !== undefined || q.top === undefined);
  if (morePages) {
    const lastRow = page[page.length - 1]!;
    const key = sortKey(table, lastRow, orderby);
    const names = [...orderby.map((o) => o.name), table.primaryId];
    const token = encodeSkipToken({
      pageNumber: pageNumber + 1,
      isTracking: false,
      last: names.map((name, i) => ({
        name,
        value: cookieValue(key[i] ?? null, name === table.primaryId || /^_.+_value$/.test(name)),
      })),
      extra: {},
    });
    body["@odata.nextLink"] = withQueryOption(req.url, "$skiptoken", token);
  }
  return odataJson(200, body, appliedPreferences(q.prefs, pageSize));
}
