/** Error codes a SOQL query can fail with (request-level `errorCode`). */
export type SoqlErrorCode =
  | "MALFORMED_QUERY"
  | "INVALID_FIELD"
  | "INVALID_TYPE"
  | "INVALID_QUERY_FILTER_OPERATOR";

/**
 * A query Salesforce would reject. `pos` is the character offset the caret points at; the message
 * is rendered like Salesforce's (`ERROR at Row:1:Column:8`) by {@link formatSoqlError}.
 */
export class SoqlError extends Error {
  constructor(
    readonly code: SoqlErrorCode,
    readonly detail: string,
    readonly pos?: number,
  ) {
    super(detail);
    this.name = code;
  }
}

/** Salesforce's message layout: the offending query line, a caret, the row/column and the reason. */
export function formatSoqlError(e: SoqlError, soql: string): string {
  if (e.pos === undefined) return e.detail;
  const before = soql.slice(0, e.pos);
  const row = before.split("\n").length;
  const lineStart = before.lastIndexOf("\n") + 1;
  const column = e.pos - lineStart + 1;
  const line = soql.split("\n")[row - 1] ?? "";
  return `\n${line}\n${" ".repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${e.detail}`;
}
