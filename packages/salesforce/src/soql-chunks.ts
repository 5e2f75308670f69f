/**
 * Salesforce's documented limits for one SOQL query sent over REST: the statement is at most
 * 100,000 characters, and the `GET …/query?q=` URI at most about 16,384 characters. The URI limit
 * is the tighter one once the statement is percent-encoded, so chunks are measured encoded.
 */
export const SOQL_MAX_STATEMENT_CHARS = 100_000;
/** Room for the `/services/data/vXX.X/query?q=` part and the host, kept out of the URI budget. */
export const SOQL_MAX_ENCODED_CHARS = 16_384 - 512;

/**
 * Splits `prefix + literals.join(", ") + suffix` into as many queries as needed so that each
 * statement stays under both limits (measured as it travels: `encodeURIComponent`). A single literal
 * too long for any query is left out, since no query could carry it.
 */
export function chunkSoqlIn(
  prefix: string,
  literals: readonly string[],
  suffix: string,
  limits: { maxStatement?: number; maxEncoded?: number } = {},
): string[] {
  const maxStatement = limits.maxStatement ?? SOQL_MAX_STATEMENT_CHARS;
  const maxEncoded = limits.maxEncoded ?? SOQL_MAX_ENCODED_CHARS;
  const sep = ", ";
  const encSep = encodeURIComponent(sep).length;
  const baseLen = prefix.length + suffix.length;
  const baseEnc = encodeURIComponent(prefix).length + encodeURIComponent(suffix).length;
  const out: string[] = [];
  let part: string[] = [];
  let len = baseLen;
  let enc = baseEnc;
  for (const lit of literals) {
    const l = lit.length;
    const e = encodeURIComponent(lit).length;
    if (baseLen + l > maxStatement || baseEnc + e > maxEncoded) continue;
    const addL = (part.length ? sep.length : 0) + l;
    const addE = (part.length ? encSep : 0) + e;
    if (part.length && (len + addL > maxStatement || enc + addE > maxEncoded)) {
      out.push(prefix + part.join(sep) + suffix);
      part = [];
      len = baseLen;
      enc = baseEnc;
    }
    len += (part.length ? sep.length : 0) + l;
    enc += (part.length ? encSep : 0) + e;
    part.push(lit);
  }
  if (part.length) out.push(prefix + part.join(sep) + suffix);
  return out;
}
