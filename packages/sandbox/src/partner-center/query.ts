import { type Referral, referralDirection } from "@cosell/core";
import { invalidRequest } from "./errors.js";

/**
 * The OData subset of `GET /v1.0/engagements/referrals`: `$filter` (clauses joined by `and`),
 * `$orderby` on createdDateTime/updatedDateTime (ties broken by id, so pages are stable), `$top`
 * (page size, capped at 100), `$skip` (first page only) and `$skiptoken` continuation.
 *
 * Continuation is a keyset, encoded in the opaque `$skiptoken`: the query plus the (sort value, id)
 * of the last item served. A record that changes while a client pages through an `updatedDateTime
 * asc` listing therefore moves behind the cursor and is served again later, never skipped; items
 * are never served twice because of inserts. (Ordering by `updatedDateTime desc` can skip a record
 * changed mid-listing, as keyset paging on a mutable key does: read incrementally in ascending order.)
 */

/** Partner Center's maximum page size. */
export const MAX_TOP = 100;

type Op = "eq" | "ne" | "gt" | "ge" | "lt" | "le";
const OPS: readonly Op[] = ["eq", "ne", "gt", "ge", "lt", "le"];

/** Filterable properties: strings compared exactly, date-times compared as instants. */
const STRING_FIELDS = [
  "id",
  "engagementId",
  "status",
  "substatus",
  "externalReferenceId",
  "direction",
  "type",
] as const;
const DATE_FIELDS = ["createdDateTime", "updatedDateTime", "expirationDateTime"] as const;
type StringField = (typeof STRING_FIELDS)[number];
/**
 * The properties Microsoft's documented list examples filter on ("Get a list of leads and
 * opportunities": engagementId, status, substatus, qualification, type, direction, customer country,
 * team email), of those the emulator filters on. In strict mode every other property is refused:
 * `updatedDateTime ge …` and `externalReferenceId eq …` appear in no documented example, so a client
 * must cope with a service that refuses them. `$orderby` on createdDateTime / updatedDateTime is
 * documented; `$top` and `$skip` are list options of Microsoft's Partner Center Referrals connector.
 */
export const DOCUMENTED_FILTER_FIELDS: readonly string[] = [
  "engagementId",
  "status",
  "substatus",
  "type",
  "direction",
];

/** How strictly a list query is read. */
export interface ListQueryOptions {
  /** Refuse filters on properties no documented example filters on (see {@link DOCUMENTED_FILTER_FIELDS}). */
  strict?: boolean;
}
type DateField = (typeof DATE_FIELDS)[number];

export type Clause =
  | { field: StringField; op: "eq" | "ne"; value: string }
  | { field: DateField; op: Op; value: number; literal: string };

export type OrderField = "createdDateTime" | "updatedDateTime";
export interface OrderBy {
  field: OrderField;
  dir: "asc" | "desc";
}

/** A parsed list query. `filter` keeps the original text so that a skiptoken can carry it. */
export interface ListQuery {
  filter: string;
  clauses: Clause[];
  orderBy: OrderBy;
  top: number;
  skip: number;
  /** Keyset position after which this page starts. */
  after?: { value: number; id: string };
}

/** Splits `a and b and c` on `and`s outside quoted strings. */
function splitAnd(filter: string): string[] {
  const parts: string[] = [];
  let current = "";
  let inQuote = false;
  const words = filter.split(/(\s+)/);
  for (const w of words) {
    const quotes = (w.match(/'/g) ?? []).length;
    if (!inQuote && /^and$/i.test(w)) {
      parts.push(current);
      current = "";
      continue;
    }
    if (!inQuote && /^or$/i.test(w))
      throw invalidRequest(
        `$filter: "or" is not supported; combine conditions with "and" (got "${filter}").`,
        { fields: ["$filter"] },
      );
    current += w;
    if (quotes % 2 === 1) inQuote = !inQuote;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter(Boolean);
}

const stripParens = (s: string): string => {
  let t = s.trim();
  while (t.startsWith("(") && t.endsWith(")")) t = t.slice(1, -1).trim();
  return t;
};

function parseClause(text: string, options: ListQueryOptions = {}): Clause {
  const m = /^([A-Za-z]+)\s+([A-Za-z]+)\s+(.+)$/.exec(stripParens(text));
  const field = m?.[1];
  if (options.strict && field && !DOCUMENTED_FILTER_FIELDS.includes(field))
    throw invalidRequest(
      `$filter: filtering on "${field}" is not supported; filter on ${DOCUMENTED_FILTER_FIELDS.join(", ")} (got "${text}").`,
      { fields: ["$filter"] },
    );
  const op = m?.[2]?.toLowerCase() as Op | undefined;
  const raw = m?.[3]?.trim();
  if (!field || !op || !raw || !OPS.includes(op))
    throw invalidRequest(
      `$filter: cannot read "${text}"; write <property> <eq|ne|gt|ge|lt|le> <value>, e.g. status eq 'New' or updatedDateTime ge 2024-01-01T00:00:00Z.`,
      { fields: ["$filter"] },
    );
  const quoted = /^'((?:[^']|'')*)'$/.exec(raw);
  const value = quoted ? quoted[1]!.replace(/''/g, "'") : raw;
  if ((STRING_FIELDS as readonly string[]).includes(field)) {
    if (op !== "eq" && op !== "ne")
      throw invalidRequest(`$filter: ${field} supports eq and ne only (got "${text}").`, {
        fields: ["$filter"],
      });
    if (!quoted)
      throw invalidRequest(
        `$filter: quote the value of ${field}, e.g. ${field} eq 'value' (got "${text}").`,
        {
          fields: ["$filter"],
        },
      );
    return { field: field as StringField, op, value };
  }
  if ((DATE_FIELDS as readonly string[]).includes(field)) {
    const at = Date.parse(value);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(at))
      throw invalidRequest(
        `$filter: ${field} needs an ISO 8601 date-time such as 2024-01-01T00:00:00Z (got "${raw}").`,
        { fields: ["$filter"] },
      );
    return { field: field as DateField, op, value: at, literal: value };
  }
  throw invalidRequest(
    `$filter: property "${field}" cannot be filtered on; use ${[...STRING_FIELDS, ...DATE_FIELDS].join(", ")}.`,
    { fields: ["$filter"] },
  );
}

function parseOrderBy(text: string | null): OrderBy {
  if (!text?.trim()) return { field: "createdDateTime", dir: "asc" };
  // Only the first key orders; the id tie-break is always added (a trailing ", id asc" is redundant).
  const first = text.split(",")[0]!.trim();
  const m = /^(createdDateTime|updatedDateTime)(?:\s+(asc|desc))?$/i.exec(first);
  if (!m)
    throw invalidRequest(
      `$orderby: "${text}" is not supported; use createdDateTime or updatedDateTime, optionally followed by asc or desc.`,
      { fields: ["$orderby"] },
    );
  const field = m[1]!.toLowerCase() === "createddatetime" ? "createdDateTime" : "updatedDateTime";
  return { field, dir: (m[2]?.toLowerCase() as "asc" | "desc" | undefined) ?? "asc" };
}

function parseInteger(name: string, text: string | null, min: number): number | undefined {
  if (text === null || text === "") return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min)
    throw invalidRequest(`${name} must be a whole number ≥ ${min} (got "${text}").`, { fields: [name] });
  return Number(text);
}

interface SkipToken {
  v: 1;
  f: string;
  o: OrderBy;
  t: number;
  k: [number, string];
}

export function encodeSkipToken(q: ListQuery, last: Referral): string {
  const token: SkipToken = {
    v: 1,
    f: q.filter,
    o: q.orderBy,
    t: q.top,
    k: [Date.parse(last[q.orderBy.field]), last.id],
  };
  return Buffer.from(JSON.stringify(token)).toString("base64url");
}

function decodeSkipToken(text: string): ListQuery {
  let token: SkipToken;
  try {
    token = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as SkipToken;
  } catch {
    token = {} as SkipToken;
  }
  if (token?.v !== 1 || !Array.isArray(token.k) || typeof token.f !== "string")
    throw invalidRequest(
      "$skiptoken is not one this service issued; follow @odata.nextLink exactly as it was returned.",
      { fields: ["$skiptoken"] },
    );
  return {
    filter: token.f,
    clauses: token.f ? splitAnd(token.f).map((c) => parseClause(c)) : [],
    orderBy: parseOrderBy(`${token.o.field} ${token.o.dir}`),
    top: Math.min(MAX_TOP, Math.max(1, token.t)),
    skip: 0,
    after: { value: token.k[0], id: String(token.k[1]) },
  };
}

/** Reads the list query from the request's search parameters. */
export function parseListQuery(params: URLSearchParams, options: ListQueryOptions = {}): ListQuery {
  const skiptoken = params.get("$skiptoken");
  if (skiptoken) return decodeSkipToken(skiptoken);
  const filter = (params.get("$filter") ?? "").trim();
  return {
    filter,
    clauses: filter ? splitAnd(filter).map((c) => parseClause(c, options)) : [],
    orderBy: parseOrderBy(params.get("$orderby")),
    // Like other Microsoft APIs, a larger $top is capped rather than refused.
    top: Math.min(MAX_TOP, parseInteger("$top", params.get("$top"), 1) ?? MAX_TOP),
    skip: parseInteger("$skip", params.get("$skip"), 0) ?? 0,
  };
}

function fieldString(r: Referral, field: StringField): string {
  if (field === "direction") return referralDirection(r) === "inbound" ? "Incoming" : "Outgoing";
  const v = (r as Record<string, unknown>)[field];
  return typeof v === "string" ? v : "";
}

export function matches(r: Referral, c: Clause): boolean {
  if (c.op === "eq" || c.op === "ne") {
    if (typeof c.value === "string") {
      const same = fieldString(r, c.field as StringField) === c.value;
      return c.op === "eq" ? same : !same;
    }
  }
  const v = Date.parse(String((r as Record<string, unknown>)[c.field] ?? ""));
  if (Number.isNaN(v)) return false;
  const x = c.value as number;
  switch (c.op) {
    case "eq":
      return v === x;
    case "ne":
      return v !== x;
    case "gt":
      return v > x;
    case "ge":
      return v >= x;
    case "lt":
      return v < x;
    case "le":
      return v <= x;
  }
}

export function compareKeys(a: [number, string], b: [number, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

/** One page of the listing and, when more remain, the skiptoken of the next page. */
export interface ListPage {
  items: Referral[];
  /** How many referrals match the filter in all (`@odata.count`). */
  count: number;
  skipToken?: string;
}

/** Runs `q` over `referrals`. */
export function runListQuery(referrals: Iterable<Referral>, q: ListQuery): ListPage {
  const key = (r: Referral): [number, string] => [Date.parse(r[q.orderBy.field]), r.id];
  const sign = q.orderBy.dir === "asc" ? 1 : -1;
  const matching = [...referrals]
    .filter((r) => q.clauses.every((c) => matches(r, c)))
    .sort((a, b) => sign * compareKeys(key(a), key(b)));
  const after = q.after;
  const remaining = after
    ? matching.filter((r) => sign * compareKeys(key(r), [after.value, after.id]) > 0)
    : matching.slice(q.skip);
  const items = remaining.slice(0, q.top);
  const last = items[items.length - 1];
  return {
    items,
    count: matching.length,
    skipToken: remaining.length > items.length && last ? encodeSkipToken(q, last) : undefined,
  };
}
