/**
 * OData query pieces for the Referrals list endpoint. Kept apart so the exact wire spelling
 * (`updatedDateTime ge 2024-01-01T00:00:00Z and status eq 'New'`) is in one place.
 */

/** A string literal: single quotes doubled, as OData requires. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A DateTimeOffset literal in UTC: whole seconds as `2024-01-01T00:00:00Z`, otherwise with milliseconds. */
export function odataDateTime(value: Date): string {
  return value.toISOString().replace(".000Z", "Z");
}

/** `a and b and c` of the clauses given (empty when none). */
export function odataAnd(clauses: readonly (string | undefined)[]): string {
  return clauses.filter((c): c is string => Boolean(c)).join(" and ");
}

/**
 * A query string with `$`-options encoded the way OData services expect: spaces as `%20` (not `+`,
 * which some services read literally) and the `$` of option names left as it is.
 */
export function odataQuery(options: Record<string, string | number | undefined>): string {
  const parts = Object.entries(options)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join("&")}` : "";
}
