import { type FilterLiteral, FilterSyntaxError, parseLiteral } from "../odata/filter.js";
import { splitTopLevel } from "../odata/query-options.js";

/** The key in parentheses after a segment name. */
export type SegmentKey =
  | { kind: "empty" }
  | { kind: "id"; id: string }
  | { kind: "alternate"; values: Record<string, FilterLiteral> };

/** One `/`-separated part of a Web API resource path, e.g. `opportunities(…)` or `$ref`. */
export interface PathSegment {
  name: string;
  key?: SegmentKey;
}

/** The path could not be parsed; the router answers 400/404 with it. */
export class PathSyntaxError extends Error {}

/** The versioned service root inside a URL path. */
export const SERVICE_ROOT_RE = /^\/api\/data\/v9\.[0-2]\//;

/**
 * Parses `opportunities(cosell_referralid='A/B')/parentaccountid/$ref` into segments. Slashes inside
 * parentheses or quotes do not split.
 */
export function parseResourcePath(path: string): PathSegment[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < path.length; i++) {
    const ch = path[i];
    if (ch === "'") quoted = !quoted;
    else if (!quoted && ch === "(") depth++;
    else if (!quoted && ch === ")") depth--;
    else if (!quoted && depth === 0 && ch === "/") {
      parts.push(path.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(path.slice(start));
  return parts.filter((p) => p.length > 0).map(parseSegment);
}

function parseSegment(text: string): PathSegment {
  const open = text.indexOf("(");
  if (open < 0) return { name: text };
  if (!text.endsWith(")")) throw new PathSyntaxError(`Bad segment '${text}'`);
  const name = text.slice(0, open);
  const inner = text.slice(open + 1, -1).trim();
  if (inner === "") return { name, key: { kind: "empty" } };
  const parts = splitTopLevel(inner, ",");
  try {
    if (parts.length === 1 && !/^[A-Za-z_][\w]*\s*=/.test(parts[0]!)) {
      const lit = parseLiteral(parts[0]!);
      if (lit.type === "guid") return { name, key: { kind: "id", id: lit.value } };
      throw new PathSyntaxError(`Bad key '${inner}' in segment '${name}'`);
    }
    const values: Record<string, FilterLiteral> = {};
    for (const part of parts) {
      const eq = part.indexOf("=");
      if (eq < 0) throw new PathSyntaxError(`Bad key '${inner}' in segment '${name}'`);
      values[part.slice(0, eq).trim()] = parseLiteral(part.slice(eq + 1).trim());
    }
    return { name, key: { kind: "alternate", values } };
  } catch (e) {
    if (e instanceof FilterSyntaxError) throw new PathSyntaxError(`Bad key '${inner}' in segment '${name}'`);
    throw e;
  }
}

/**
 * The segments of an entity URL as used in `@odata.bind`, `@odata.id` and batch references: absolute
 * (`https://org/api/data/v9.2/accounts(…)`), service-root-absolute (`/api/data/v9.2/accounts(…)`) or
 * relative (`/accounts(…)`, `accounts(…)`).
 */
export function parseEntityUrl(value: string): PathSegment[] {
  let path = value.trim().replace(/^https?:\/\/[^/]+/i, "");
  path = path.replace(SERVICE_ROOT_RE, "").replace(/^\//, "");
  return parseResourcePath(decodeURIComponent(path));
}

/** Renders a literal back into URL key syntax (`'ABC'`, `42`, a bare GUID). */
export function formatKeyLiteral(l: FilterLiteral): string {
  switch (l.type) {
    case "string":
      return `'${l.value.replace(/'/g, "''")}'`;
    case "number":
      return l.raw;
    case "datetime":
      return l.raw;
    case "date":
    case "guid":
      return l.value;
    case "boolean":
      return String(l.value);
    case "null":
      return "null";
  }
}
