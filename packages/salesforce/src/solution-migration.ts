import type { SalesforceClient } from "./client.js";
import type { SalesforceConfig } from "./config.js";
import { parseSolutions, type Row } from "./mapping.js";
import { DEAL_SOLUTIONS_SUBQUERY, dealSolutionsOf } from "./related-read.js";
import { writeDealSolutions } from "./solution-rows.js";

/** Opportunities migrated per round of writes (a collection request holds at most 200 records). */
const BATCH = 200;

/**
 * Moves the `id | name | kind` lines an earlier cosell kept in the solutions text field into
 * Cosell_Deal_Solution__c rows (added to what rows the deal already has), then empties the text field.
 * A second run finds no text and changes nothing. Long text cannot be filtered in SOQL, so the
 * co-sell opportunities are read and the ones with text picked here.
 */
export async function migrateSolutionText(
  client: SalesforceClient,
  config: SalesforceConfig,
): Promise<{ migrated: number; failed: Map<string, string> }> {
  const f = config.fields;
  const rows = await client.query(
    `SELECT Id, ${f.solutions}, ${DEAL_SOLUTIONS_SUBQUERY} FROM Opportunity WHERE ${f.optIn} = true OR ${f.referralId} != null`,
  );
  const withText = rows.filter(
    (r) => typeof r[f.solutions] === "string" && String(r[f.solutions]).trim() !== "",
  );
  const failed = new Map<string, string>();
  for (let i = 0; i < withText.length; i += BATCH) {
    const part = withText.slice(i, i + BATCH);
    const targets = part.map((r: Row) => {
      const rowsHave = dealSolutionsOf(r) ?? [];
      const fromText = parseSolutions(r[f.solutions]).filter(
        (s) => s.id && !rowsHave.some((x) => x.id.toLowerCase() === s.id.toLowerCase()),
      );
      return { crmId: String(r.Id), solutions: [...rowsHave, ...fromText] };
    });
    for (const [id, reason] of await writeDealSolutions(client, targets)) failed.set(id, reason);
    const cleared = targets.filter((t) => !failed.has(t.crmId));
    if (cleared.length)
      await client.update(
        cleared.map((t) => ({ attributes: { type: "Opportunity" }, id: t.crmId, [f.solutions]: null })),
      );
  }
  return { migrated: withText.length - failed.size, failed };
}
