import { CoSellError } from "../errors.js";
import type { Link } from "./types.js";

/**
 * Rules every state store shares, so that the in-memory store used by tests fails exactly like the
 * SQLite and PostgreSQL ones. For store implementations only (exported for `@cosell/postgres`).
 */

/** The CRM id or referral id of `link` already belongs to another link. */
export function duplicateLinkError(link: Link, key: "crmId" | "referralId"): CoSellError {
  const what = key === "crmId" ? "CRM id" : "referral id";
  return new CoSellError(
    "STATE_LINK_DUPLICATE",
    `Cannot save link ${link.linkId}: its ${what} ${String(link[key])} already belongs to another link. ` +
      "Each CRM record and each referral can be linked once; reuse the existing link instead.",
    { linkId: link.linkId, [key]: link[key] },
  );
}

/**
 * A list limit as a row count: negative, NaN or fractional limits are cut to a whole number ≥ 0
 * (SQLite would read a negative `LIMIT` as "no limit", which is never what a caller means).
 */
export function clampLimit(limit: number): number {
  if (Number.isNaN(limit) || limit <= 0) return 0;
  return Number.isFinite(limit) ? Math.floor(limit) : Number.MAX_SAFE_INTEGER;
}

/** better-sqlite3 refuses async transaction bodies; the memory store refuses them with the same words. */
export const ASYNC_TRANSACTION_MESSAGE = "Transaction function cannot return a promise";
