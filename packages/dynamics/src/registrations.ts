import type { Registration } from "@cosell/core";

/**
 * Partner Center's `registrations[]` as the text of one memo column: one line per registration,
 * its members as `key: value` joined by ` · `, in the order Microsoft sent them, e.g.
 *
 *     registrationId: 5c1f… · programName: Azure IP co-sell · status: Approved
 *
 * Microsoft does not document the members, so nothing is picked or renamed. The text reads back
 * into exactly the records written: the sync compares what it wrote with what it reads, and a
 * summary that lost anything would look like a change on every cycle. A value that could be misread
 * (a number-like or empty string, one holding the separator or a line break, anything not a string)
 * is written as JSON; a member whose key is not a plain name, or an entry that is not an object,
 * makes its whole line JSON.
 */

const SEPARATOR = " · ";
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.@-]*$/;

/** JSON with the separator's dot escaped, so JSON never holds a separator. */
function json(v: unknown): string {
  return JSON.stringify(v).replace(/·/g, "\\u00b7");
}

function parsesAsJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

function plainString(s: string): boolean {
  return (
    s !== "" &&
    s === s.trim() &&
    !s.includes("·") &&
    !/[\r\n]/.test(s) &&
    !/^["{[]/.test(s) &&
    !parsesAsJson(s)
  );
}

function line(r: Registration): string {
  const entries = Object.entries(r).filter(([, v]) => v !== undefined);
  if (entries.length === 0 || entries.some(([k]) => !PLAIN_KEY.test(k))) return json(r);
  return entries
    .map(([k, v]) => `${k}: ${typeof v === "string" && plainString(v) ? v : json(v)}`)
    .join(SEPARATOR);
}

/** Starts the last line when the registrations do not all fit the column. */
const MORE = "… ";

/**
 * The column text of `registrations` (null when there are none), at most `maxLength` characters:
 * lines that do not fit are left out and counted on a last line (Dataverse refuses a longer value,
 * and that would fail the whole write of the record).
 */
export function registrationsText(
  registrations: readonly Registration[] | undefined,
  maxLength: number,
): string | null {
  if (!registrations?.length) return null;
  const lines = registrations.map(line);
  let kept = lines.length;
  const text = (n: number) =>
    [
      ...lines.slice(0, n),
      ...(n < lines.length ? [`${MORE}${lines.length - n} more in Partner Center`] : []),
    ].join("\n");
  while (kept > 0 && text(kept).length > maxLength) kept--;
  return text(kept).slice(0, maxLength);
}

function value(text: string): unknown {
  return /^["{[]/.test(text) || parsesAsJson(text) ? JSON.parse(text) : text;
}

/**
 * The registrations a column text holds; undefined for an empty column. A line that does not read
 * (edited by hand) is reported through `onBadLine` and left out.
 */
export function parseRegistrations(
  text: string | undefined,
  onBadLine: (line: string) => void,
): Registration[] | undefined {
  if (!text) return undefined;
  const out: Registration[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw === "" || raw.startsWith(MORE)) continue;
    try {
      if (raw.startsWith("{")) {
        const r = JSON.parse(raw) as unknown;
        if (!r || typeof r !== "object" || Array.isArray(r)) throw new Error("not an object");
        out.push(r as Registration);
        continue;
      }
      const rec: Registration = {};
      for (const member of raw.split(SEPARATOR)) {
        const at = member.indexOf(": ");
        if (at < 1) throw new Error("no key");
        const key = member.slice(0, at);
        if (!PLAIN_KEY.test(key)) throw new Error("bad key");
        rec[key] = value(member.slice(at + 2));
      }
      out.push(rec);
    } catch {
      onBadLine(raw);
    }
  }
  return out.length ? out : undefined;
}
