import {
  type CatalogSolution,
  type CatalogUpsertResult,
  type SolutionCatalog,
  SolutionKindSchema,
  sameCatalogEntry,
} from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { Row } from "./mapping.js";
import { SOLUTION_FIELDS, SOLUTION_OBJECT } from "./solution-objects.js";
import { chunkSoqlIn } from "./soql-chunks.js";
import { soqlString } from "./writer.js";

const F = SOLUTION_FIELDS;
/** Length of a custom object's Name (Text name field). */
const NAME_MAX = 80;
const SELECT = `SELECT Id, Name, ${F.solutionId}, ${F.kind}, ${F.active} FROM ${SOLUTION_OBJECT}`;

/** A catalog row as the entry it holds (an unknown kind, added by an admin, reads as the partner's own). */
export function catalogEntryOfRow(r: Row): CatalogSolution {
  const kind = SolutionKindSchema.safeParse(r[F.kind]);
  return {
    id: String(r[F.solutionId] ?? ""),
    name: String(r.Name ?? ""),
    kind: kind.success ? kind.data : "own",
    active: r[F.active] !== false,
  };
}

/** The catalog rows of these Partner Center ids, by id (bounded: a few queries per call, not one per id). */
export async function catalogRows(
  client: SalesforceClient,
  ids: readonly string[],
): Promise<Map<string, Row>> {
  const out = new Map<string, Row>();
  const literals = [...new Set(ids)].map(soqlString);
  for (const soql of chunkSoqlIn(`${SELECT} WHERE ${F.solutionId} IN (`, literals, ")"))
    for (const r of await client.query(soql)) out.set(String(r[F.solutionId]).toLowerCase(), r);
  return out;
}

/**
 * Creates or updates entries by Partner Center id with one upsert on the external id; entries equal
 * to what the org holds are not sent. Returns each entry's outcome, with Salesforce's reason for the
 * ones it refused.
 */
export async function upsertCatalog(
  client: SalesforceClient,
  entries: readonly CatalogSolution[],
): Promise<CatalogUpsertResult & { rowIds: Map<string, string> }> {
  const result: CatalogUpsertResult & { rowIds: Map<string, string> } = {
    created: [],
    updated: [],
    unchanged: [],
    failed: [],
    rowIds: new Map(),
  };
  // The last entry of an id wins (an import file may list one twice). A record name holds 80
  // characters: a longer one is kept cut, and compared cut, so that it is not rewritten every time.
  const byId = new Map(
    entries.map((e) => [e.id.toLowerCase(), { ...e, name: e.name.slice(0, NAME_MAX) }] as const),
  );
  const existing = await catalogRows(
    client,
    [...byId.values()].map((e) => e.id),
  );
  const toWrite: CatalogSolution[] = [];
  for (const [key, e] of byId) {
    const row = existing.get(key);
    if (row) result.rowIds.set(key, String(row.Id));
    if (row && sameCatalogEntry(catalogEntryOfRow(row), e)) result.unchanged.push(e.id);
    else toWrite.push(e);
  }
  if (!toWrite.length) return result;
  const res = await client.upsert(
    SOLUTION_OBJECT,
    F.solutionId,
    toWrite.map((e) => ({
      attributes: { type: SOLUTION_OBJECT },
      [F.solutionId]: e.id,
      Name: e.name,
      [F.kind]: e.kind,
      [F.active]: e.active,
    })),
  );
  toWrite.forEach((e, k) => {
    const r = res[k];
    if (r?.success && r.id) {
      (r.created ? result.created : result.updated).push(e.id);
      result.rowIds.set(e.id.toLowerCase(), r.id);
    } else {
      const err = r?.errors?.[0];
      result.failed.push({
        id: e.id,
        reason: `${err?.statusCode ?? "UNKNOWN_ERROR"}: ${err?.message ?? "Salesforce did not say why."}`,
      });
    }
  });
  return result;
}

/** The adapter's solution catalog: Cosell_Solution__c rows keyed by Partner Center id. */
export function salesforceSolutionCatalog(client: SalesforceClient): SolutionCatalog {
  return {
    async upsert(entries) {
      const { rowIds: _, ...result } = await upsertCatalog(client, entries);
      return result;
    },
    async list() {
      const rows = await client.query(`${SELECT} ORDER BY Name, ${F.solutionId}`);
      return rows.map(catalogEntryOfRow);
    },
  };
}
