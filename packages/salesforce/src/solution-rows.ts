import { catalogEntryOf, type Solution } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { Row } from "./mapping.js";
import { noteFailures } from "./related-failures.js";
import { CATALOG_RELATIONSHIP } from "./related-read.js";
import { catalogRows, upsertCatalog } from "./solution-catalog.js";
import {
  DEAL_SOLUTION_FIELDS,
  DEAL_SOLUTION_OBJECT,
  SOLUTION_FIELDS,
  SOLUTION_OBJECT,
} from "./solution-objects.js";
import { chunkSoqlIn } from "./soql-chunks.js";
import { soqlString } from "./writer.js";

const D = DEAL_SOLUTION_FIELDS;
const S = SOLUTION_FIELDS;
const CATALOG = CATALOG_RELATIONSHIP;

/** Existing deal-solution rows of these opportunities (a few queries per batch, bounded by the URI size). */
async function existingRows(client: SalesforceClient, crmIds: readonly string[]): Promise<Row[]> {
  const out: Row[] = [];
  const prefix = `SELECT Id, ${D.opportunity}, ${CATALOG}.${S.solutionId} FROM ${DEAL_SOLUTION_OBJECT} WHERE ${D.opportunity} IN (`;
  for (const soql of chunkSoqlIn(prefix, crmIds.map(soqlString), ")"))
    out.push(...(await client.query(soql)));
  return out;
}

/**
 * Makes each opportunity's Cosell_Deal_Solution__c rows say `solutions`: creates the rows missing,
 * deletes the ones no longer there (and duplicates), leaves the rest alone. Solutions missing from the
 * catalog are added to it first (an entry already there is the admin's, left as it is). Returns the
 * opportunities whose rows could not all be written, with Salesforce's reason.
 */
export async function writeDealSolutions(
  client: SalesforceClient,
  targets: readonly { crmId: string; solutions: readonly Solution[] }[],
): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  if (!targets.length) return failed;
  const seen = targets.flatMap((t) => t.solutions);
  const catalog = new Map<string, string>();
  for (const [key, r] of await catalogRows(
    client,
    seen.map((s) => s.id),
  ))
    catalog.set(key, String(r.Id));
  const missing = seen.filter((s) => !catalog.has(s.id.toLowerCase()));
  if (missing.length) {
    const res = await upsertCatalog(client, missing.map(catalogEntryOf));
    for (const [key, id] of res.rowIds) catalog.set(key, id);
  }
  const rows = await existingRows(
    client,
    targets.map((t) => t.crmId),
  );
  const creates: Row[] = [];
  const createdFor: string[] = [];
  const deletes: string[] = [];
  const deletedFor: string[] = [];
  for (const t of targets) {
    const wanted = new Map(t.solutions.map((s) => [s.id.toLowerCase(), s] as const));
    const kept = new Set<string>();
    for (const r of rows.filter((r) => r[D.opportunity] === t.crmId)) {
      const key = String((r[CATALOG] as Row | null)?.[S.solutionId] ?? "").toLowerCase();
      if (wanted.has(key) && !kept.has(key)) kept.add(key);
      else {
        deletes.push(String(r.Id));
        deletedFor.push(t.crmId);
      }
    }
    for (const [key, s] of wanted) {
      if (kept.has(key)) continue;
      const catalogId = catalog.get(key);
      if (!catalogId) {
        failed.set(t.crmId, `The solution ${s.id} could not be added to ${SOLUTION_OBJECT}.`);
        continue;
      }
      creates.push({
        attributes: { type: DEAL_SOLUTION_OBJECT },
        [D.opportunity]: t.crmId,
        [D.solution]: catalogId,
      });
      createdFor.push(t.crmId);
    }
  }
  if (deletes.length) noteFailures(failed, deletedFor, await client.destroy(deletes));
  if (creates.length) noteFailures(failed, createdFor, await client.create(creates));
  return failed;
}

/**
 * Conditions (`Id IN (…)`, each within the query size limits) naming the opportunities a seller removed
 * a deal solution from in `window`: a removed row is in the Recycle Bin, found with queryAll.
 */
export async function removedDealSolutionConditions(
  client: SalesforceClient,
  window: string,
): Promise<string[]> {
  const rows = await client.query(
    `SELECT ${D.opportunity} FROM ${DEAL_SOLUTION_OBJECT} WHERE IsDeleted = true AND ${window}`,
    { scanAll: true },
  );
  const owners = [...new Set(rows.map((r) => String(r[D.opportunity] ?? "")).filter(Boolean))];
  return chunkSoqlIn("Id IN (", owners.map(soqlString), ")", { maxEncoded: 8_000 });
}
