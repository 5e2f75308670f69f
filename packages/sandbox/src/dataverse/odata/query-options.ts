/**
 * Parsing of OData system query options and the `Prefer` header, independent of any table.
 */

/** Splits `text` on `separator` at parenthesis depth 0, ignoring separators inside quoted strings. */
export function splitTopLevel(text: string, separator: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'") quoted = !quoted;
    else if (!quoted && ch === "(") depth++;
    else if (!quoted && ch === ")") depth--;
    else if (!quoted && depth === 0 && ch === separator) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** `$select=name,estimatedvalue` → `["name", "estimatedvalue"]`. */
export function parseSelect(value: string | null | undefined): string[] | undefined {
  if (value === null || value === undefined) return undefined;
  return splitTopLevel(value, ",");
}

/** One `$orderby` item. */
export interface OrderByItem {
  name: string;
  descending: boolean;
}

/** Thrown for malformed query options; the message is shown to the client. */
export class QueryOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueryOptionError";
  }
}

/** `$orderby=modifiedon asc,opportunityid desc`. */
export function parseOrderBy(value: string | null | undefined): OrderByItem[] | undefined {
  if (value === null || value === undefined) return undefined;
  return splitTopLevel(value, ",").map((part) => {
    const [name, dir, ...extra] = part.split(/\s+/);
    if (!name || extra.length > 0 || (dir !== undefined && dir !== "asc" && dir !== "desc"))
      throw new QueryOptionError(`Syntax error in '$orderby=${value}': expected 'property [asc|desc]'.`);
    return { name, descending: dir === "desc" };
  });
}

/** `$top=10`. */
export function parseTop(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()))
    throw new QueryOptionError(
      `Invalid value '${value}' for $top query option found. The $top query option requires a non-negative integer value.`,
    );
  return Number(value);
}

/** One `$expand` item with its nested options. */
export interface ExpandItem {
  nav: string;
  select?: string[];
  filter?: string;
  orderby?: OrderByItem[];
  top?: number;
  expand?: ExpandItem[];
}

/** `$expand=parentaccountid($select=name,accountid),ownerid($select=fullname)`. */
export function parseExpand(value: string | null | undefined): ExpandItem[] | undefined {
  if (value === null || value === undefined) return undefined;
  return splitTopLevel(value, ",").map((part) => {
    const open = part.indexOf("(");
    if (open < 0) return { nav: part };
    if (!part.endsWith(")")) throw new QueryOptionError(`Syntax error in '$expand=${value}'.`);
    const item: ExpandItem = { nav: part.slice(0, open).trim() };
    for (const opt of splitTopLevel(part.slice(open + 1, -1), ";")) {
      const eq = opt.indexOf("=");
      const key = opt.slice(0, eq).trim();
      const v = opt.slice(eq + 1);
      if (eq < 0) throw new QueryOptionError(`Syntax error in '$expand=${value}'.`);
      if (key === "$select") item.select = parseSelect(v);
      else if (key === "$filter") item.filter = v;
      else if (key === "$orderby") item.orderby = parseOrderBy(v);
      else if (key === "$top") item.top = parseTop(v);
      else if (key === "$expand") item.expand = parseExpand(v);
      else throw new QueryOptionError(`The query option '${key}' is not supported inside $expand.`);
    }
    return item;
  });
}

/** What the client asked for in `Prefer`. */
export interface Preferences {
  returnRepresentation: boolean;
  /** `odata.maxpagesize=N`. */
  maxPageSize?: number;
  /** `odata.include-annotations="…"`, split into patterns. */
  includeAnnotations?: string[];
  /** The raw `odata.include-annotations` value, to echo in `Preference-Applied`. */
  includeAnnotationsRaw?: string;
  trackChanges: boolean;
  continueOnError: boolean;
}

/** Parses one or more `Prefer` headers (comma-separated preferences, quoted values may hold commas). */
export function parsePrefer(header: string | string[] | undefined): Preferences {
  const text = Array.isArray(header) ? header.join(",") : (header ?? "");
  const prefs: Preferences = { returnRepresentation: false, trackChanges: false, continueOnError: false };
  const items: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (!quoted && text[i] === ",") {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  for (const raw of items) {
    const item = raw.trim();
    if (!item) continue;
    const eq = item.indexOf("=");
    const name = (eq < 0 ? item : item.slice(0, eq)).trim().toLowerCase();
    const value =
      eq < 0
        ? ""
        : item
            .slice(eq + 1)
            .trim()
            .replace(/^"|"$/g, "");
    if (name === "return" && value === "representation") prefs.returnRepresentation = true;
    else if (name === "odata.maxpagesize" && /^\d+$/.test(value)) prefs.maxPageSize = Number(value);
    else if (name === "odata.include-annotations") {
      prefs.includeAnnotationsRaw = value;
      prefs.includeAnnotations = value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    } else if (name === "odata.track-changes") prefs.trackChanges = true;
    else if (name === "odata.continue-on-error") prefs.continueOnError = true;
  }
  return prefs;
}

/**
 * Whether an annotation term (`OData.Community.Display.V1.FormattedValue`) is wanted by the patterns of
 * `odata.include-annotations` (`*`, exact terms, `Namespace.*`, and exclusions starting with `-`).
 */
export function annotationWanted(patterns: readonly string[] | undefined, term: string): boolean {
  if (!patterns || patterns.length === 0) return false;
  const matches = (p: string) =>
    p === "*" || p === term || (p.endsWith(".*") && term.startsWith(p.slice(0, -1)));
  if (patterns.some((p) => p.startsWith("-") && matches(p.slice(1)))) return false;
  return patterns.some((p) => !p.startsWith("-") && matches(p));
}
