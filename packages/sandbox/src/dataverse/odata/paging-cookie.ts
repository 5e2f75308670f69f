/**
 * `$skiptoken` values in Dataverse's shape:
 * `<cookie pagenumber="2" pagingcookie="%253ccookie%2520page…" istracking="False" />`, where the
 * paging cookie (URL-encoded twice) records the sort values of the last row of the previous page.
 * The emulator pages by those values (keyset paging), as Dataverse does, so rows that move while a
 * client pages are not skipped.
 */

export interface PagingCookie {
  pageNumber: number;
  isTracking: boolean;
  /** Sort values of the last row returned, in sort order; `null` for an empty column. */
  last: { name: string; value: string | null }[];
  /** Emulator state carried between pages (row version snapshot, delta phase). */
  extra: Record<string, string>;
}

const xmlEscape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const xmlUnescape = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&gt;/g, ">")
    .replace(/&lt;/g, "<")
    .replace(/&amp;/g, "&");

/** The raw (not yet URL-encoded) `$skiptoken` value for `cookie`. */
export function encodeSkipToken(cookie: PagingCookie): string {
  const extra = Object.entries(cookie.extra)
    .map(([k, v]) => ` ${k}="${xmlEscape(v)}"`)
    .join("");
  const columns = cookie.last
    .map((c) =>
      c.value === null ? `<${c.name} lastnull="1" />` : `<${c.name} last="${xmlEscape(c.value)}" />`,
    )
    .join("");
  const inner = `<cookie page="${cookie.pageNumber - 1}"${extra}>${columns}</cookie>`;
  const pagingCookie = encodeURIComponent(encodeURIComponent(inner));
  return `<cookie pagenumber="${cookie.pageNumber}" pagingcookie="${pagingCookie}" istracking="${cookie.isTracking ? "True" : "False"}" />`;
}

/** Parses a `$skiptoken`; returns undefined when it is not one this server issued. */
export function decodeSkipToken(token: string): PagingCookie | undefined {
  const outer = /^<cookie pagenumber="(\d+)" pagingcookie="([^"]*)" istracking="(True|False)" \/>$/.exec(
    token.trim(),
  );
  if (!outer) return undefined;
  let inner: string;
  try {
    inner = decodeURIComponent(decodeURIComponent(outer[2]!));
  } catch {
    return undefined;
  }
  const head = /^<cookie page="\d+"([^>]*)>(.*)<\/cookie>$/s.exec(inner);
  if (!head) return undefined;
  const extra: Record<string, string> = {};
  for (const m of head[1]!.matchAll(/\s([\w-]+)="([^"]*)"/g)) extra[m[1]!] = xmlUnescape(m[2]!);
  const last: PagingCookie["last"] = [];
  for (const m of head[2]!.matchAll(/<([\w.]+) (?:last="([^"]*)"|lastnull="1") \/>/g))
    last.push({ name: m[1]!, value: m[2] === undefined ? null : xmlUnescape(m[2]) });
  return { pageNumber: Number(outer[1]), isTracking: outer[3] === "True", last, extra };
}
