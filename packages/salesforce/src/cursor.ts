import { ConfigError } from "@cosell/core";

/** Where the change feed resumes: the last (SystemModstamp, Id) seen and how far deletes were read. */
export interface SalesforceCursor {
  /** SystemModstamp of the last record of the last committed page (ISO). */
  ts: string;
  /** Its Id: the keyset tie-break among records with the same SystemModstamp. */
  id: string;
  /** getDeleted was read up to here (ISO). */
  del?: string;
  /** Related records (team, contact roles, account) were read up to here (ISO). */
  rel?: string;
}

/** Opaque, URL-safe cursor text. */
export function encodeCursor(c: SalesforceCursor): string {
  return Buffer.from(JSON.stringify({ v: 1, ...c })).toString("base64url");
}

/** Reads a cursor written by {@link encodeCursor}; `undefined` starts from the beginning. */
export function decodeCursor(raw: string | undefined): SalesforceCursor | undefined {
  if (raw === undefined) return undefined;
  try {
    const c = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as Record<string, unknown>;
    if (c.v === 1 && typeof c.ts === "string" && typeof c.id === "string" && !Number.isNaN(Date.parse(c.ts)))
      return {
        ts: c.ts,
        id: c.id,
        ...(typeof c.del === "string" ? { del: c.del } : {}),
        ...(typeof c.rel === "string" ? { rel: c.rel } : {}),
      };
  } catch {
    // fall through
  }
  throw new ConfigError(
    "SALESFORCE_CURSOR_INVALID",
    `The stored Salesforce cursor "${raw.slice(0, 40)}" is not one this adapter wrote; run \`cosell sync --reconcile\` to start over.`,
  );
}

/** SOQL datetime literal (unquoted ISO-8601 with milliseconds, UTC). */
export function soqlDateTime(d: Date): string {
  return d.toISOString();
}
