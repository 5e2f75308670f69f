/**
 * Notes people add with a lifecycle action (`cosell accept --notes …`). The deal's notes field is
 * shared: Microsoft's seller writes in it and the CRM shows it (Salesforce `Description`), so an
 * action never replaces it. The new note is added at the end, dated and signed.
 */

/** A note given with an action, and who gives it. */
export interface ActionNote {
  text: string;
  /** Who signs it, e.g. `alice (cosell accept)`. */
  by: string;
}

/** `2026-12-04 16:20 UTC`: minutes are enough for a note, and UTC reads the same for everyone. */
function noteDate(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** One note as it is stored: `[2026-12-04 16:20 UTC, alice (cosell accept)] text`. */
export function formatNote(note: ActionNote, at: Date): string {
  return `[${noteDate(at)}, ${note.by.trim()}] ${note.text.trim()}`;
}

/**
 * `existing` with `note` added after a blank line; `existing` itself is kept byte for byte.
 * A blank note changes nothing.
 */
export function appendNote(existing: string | undefined, note: ActionNote, at: Date): string | undefined {
  if (!note.text.trim()) return existing;
  const line = formatNote(note, at);
  return existing?.trim() ? `${existing.replace(/\s+$/, "")}\n\n${line}` : line;
}
