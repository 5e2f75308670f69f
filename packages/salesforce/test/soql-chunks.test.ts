import { describe, expect, it } from "vitest";
import { chunkSoqlIn, SOQL_MAX_ENCODED_CHARS, SOQL_MAX_STATEMENT_CHARS } from "../src/soql-chunks.js";
import { soqlString } from "../src/writer.js";

const PREFIX = "SELECT Id, Name, BillingCity FROM Account WHERE Name IN (";
const SUFFIX = ") ORDER BY CreatedDate";

describe("account look-up by name under SOQL/URI limits", () => {
  // 400 account names of 255 characters (Salesforce's Name maximum), with characters that grow when
  // percent-encoded: one statement would be ~100 KB, far over the ~16 KB URI limit.
  const names = Array.from({ length: 400 }, (_, i) => `${i} Müller & Söhne's "GmbH" `.padEnd(255, "é"));
  const literals = names.map(soqlString);

  it("keeps every encoded query under the URI limit and the statement limit", () => {
    const queries = chunkSoqlIn(PREFIX, literals, SUFFIX);
    expect(queries.length).toBeGreaterThan(1);
    for (const q of queries) {
      expect(q.startsWith(PREFIX) && q.endsWith(SUFFIX)).toBe(true);
      expect(encodeURIComponent(q).length).toBeLessThanOrEqual(SOQL_MAX_ENCODED_CHARS);
      expect(q.length).toBeLessThanOrEqual(SOQL_MAX_STATEMENT_CHARS);
    }
    // Every name is asked for exactly once, in order.
    const asked = queries.flatMap((q) => q.slice(PREFIX.length, -SUFFIX.length).split(", '").length);
    expect(asked.reduce((a, b) => a + b, 0)).toBe(names.length);
    expect(queries.join("")).toContain(literals[399]!);
  });

  it("measures the statement limit too", () => {
    const queries = chunkSoqlIn(PREFIX, ["'a'", "'b'", "'c'"], SUFFIX, {
      maxStatement: PREFIX.length + SUFFIX.length + 8,
    });
    expect(queries).toEqual([`${PREFIX}'a', 'b'${SUFFIX}`, `${PREFIX}'c'${SUFFIX}`]);
  });

  it("keeps short lists in one query", () => {
    expect(chunkSoqlIn(PREFIX, ["'a'", "'b'"], SUFFIX)).toEqual([`${PREFIX}'a', 'b'${SUFFIX}`]);
  });
});
