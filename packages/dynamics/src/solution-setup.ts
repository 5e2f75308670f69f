import type { SetupReport } from "@cosell/core";
import { createDataverseCatalog } from "./catalog.js";
import type { CosellColumns } from "./columns.js";
import type { DynamicsConfig } from "./config.js";
import type { WebApiClient } from "./http.js";
import {
  type OwnComponent,
  ownComponentsOutside,
  relationshipComponent,
  tableComponent,
} from "./solution-membership.js";
import { migrateSolutionMemo } from "./solution-migration.js";
import {
  solutionKeyDefinition,
  solutionRelationshipDefinitions,
  solutionTableDefinitions,
  solutionTableNames,
} from "./solution-tables.js";

/**
 * Setup of cosell's own tables (solution catalog, Microsoft's team) and their relationships to
 * opportunity, each created inside the cosell solution (`MSCRM.SolutionUniqueName`) and only when
 * missing: a table with `POST EntityDefinitions`, then its other columns, the catalog's alternate
 * key, and the relationships with `POST RelationshipDefinitions`
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/create-update-entity-definitions-using-web-api,
 * …/create-update-entity-relationships-using-web-api). Metadata cannot be PATCHed, so nothing that
 * exists is rewritten and a second run changes nothing.
 */

interface TableMetadata {
  MetadataId?: string;
  Attributes?: { LogicalName: string }[];
  Keys?: { SchemaName: string; EntityKeyIndexStatus?: string }[];
}

export interface SolutionSetupInput {
  prefix: string;
  optionValuePrefix: number;
  solutionUniqueName: string;
}

/** What setup did, and whether the catalog key still has to be waited for. */
export interface SolutionSetupResult extends SetupReport {
  /** The catalog's alternate key is new or not Active yet. */
  keyToWait?: { schemaName: string; column: string; table: string; created: boolean };
  /** The tables and relationships as they now exist, with their MetadataIds (for the membership check). */
  components: OwnComponent[];
}

/** The table's metadata, or undefined when it does not exist (404). */
function tableMetadata(http: WebApiClient, logicalName: string): Promise<TableMetadata | undefined> {
  return http.getJsonIfExists<TableMetadata>(
    `EntityDefinitions(LogicalName='${logicalName}')?$select=LogicalName,MetadataId&$expand=Attributes($select=LogicalName),Keys`,
    `reading the ${logicalName} table's metadata`,
    { Consistency: "Strong" },
  );
}

/** A relationship's definition (by SchemaName), or undefined when it does not exist (404). */
function relationshipMetadata(
  http: WebApiClient,
  schemaName: string,
): Promise<{ MetadataId?: string } | undefined> {
  return http.getJsonIfExists<{ MetadataId?: string }>(
    `RelationshipDefinitions(SchemaName='${schemaName}')?$select=SchemaName,MetadataId`,
    `reading the relationship ${schemaName}`,
    // Read right after its create too: the latest metadata, not a cached copy.
    { Consistency: "Strong" },
  );
}

/**
 * Which of cosell's tables and relationships are missing (for doctor), and the ones that exist as
 * solution components: each definition is read once for both questions.
 */
export async function missingSolutionParts(
  http: WebApiClient,
  prefix: string,
): Promise<{ missing: string[]; components: OwnComponent[] }> {
  const missing: string[] = [];
  const components: OwnComponent[] = [];
  for (const def of solutionTableDefinitions(prefix, 0)) {
    const meta = await tableMetadata(http, def.logicalName);
    if (!meta) {
      missing.push(`table ${def.logicalName} ("${def.display}")`);
      continue;
    }
    if (meta.MetadataId) components.push(tableComponent(def.logicalName, meta.MetadataId));
    const have = new Set((meta.Attributes ?? []).map((a) => a.LogicalName));
    for (const col of def.columns) if (!have.has(col.logicalName)) missing.push(`column ${col.logicalName}`);
  }
  for (const rel of solutionRelationshipDefinitions(prefix)) {
    const found = await relationshipMetadata(http, rel.schemaName);
    if (!found) missing.push(`relationship ${rel.schemaName} (${rel.display})`);
    else if (found.MetadataId) components.push(relationshipComponent(rel.schemaName, found.MetadataId));
  }
  return { missing, components };
}

/**
 * A definition as it exists: read, or, when missing, created (inside the solution) and read again for
 * its columns and MetadataId. `name` goes to the report's created or unchanged list.
 */
async function readOrCreate<T>(
  name: string,
  read: () => Promise<T | undefined>,
  create: () => Promise<unknown>,
  report: { created: string[]; unchanged: string[] },
): Promise<T | undefined> {
  const found = await read();
  if (found) {
    report.unchanged.push(name);
    return found;
  }
  await create();
  report.created.push(name);
  return read();
}

export async function ensureSolutionTables(
  http: WebApiClient,
  input: SolutionSetupInput,
): Promise<SolutionSetupResult> {
  const created: string[] = [];
  const unchanged: string[] = [];
  const components: OwnComponent[] = [];
  const headers = { "MSCRM.SolutionUniqueName": input.solutionUniqueName };
  const t = solutionTableNames(input.prefix);
  let keyToWait: SolutionSetupResult["keyToWait"];
  for (const def of solutionTableDefinitions(input.prefix, input.optionValuePrefix)) {
    const meta =
      (await readOrCreate(
        `Table ${def.logicalName} ("${def.display}")`,
        () => tableMetadata(http, def.logicalName),
        () =>
          http.ok(
            { method: "POST", url: "EntityDefinitions", headers, body: def.payload },
            `creating table ${def.logicalName}`,
          ),
        { created, unchanged },
      )) ?? {};
    if (meta.MetadataId) components.push(tableComponent(def.logicalName, meta.MetadataId));
    const have = new Set((meta.Attributes ?? []).map((a) => a.LogicalName));
    const path = `EntityDefinitions(LogicalName='${def.logicalName}')`;
    for (const col of def.columns) {
      const colName = `Column ${def.logicalName}.${col.logicalName} ("${col.display}")`;
      if (have.has(col.logicalName)) {
        unchanged.push(colName);
        continue;
      }
      await http.ok(
        { method: "POST", url: `${path}/Attributes`, headers, body: col.payload },
        `creating column ${col.logicalName} on ${def.logicalName}`,
      );
      created.push(colName);
    }
    if (def.logicalName !== t.solution) continue;
    const key = (meta.Keys ?? []).find((k) => k.SchemaName.toLowerCase() === t.solutionKey.toLowerCase());
    const keyName = `Alternate key ${t.solutionKey} on ${t.partnerCenterId}`;
    if (!key)
      await http.ok(
        { method: "POST", url: `${path}/Keys`, headers, body: solutionKeyDefinition(input.prefix) },
        "creating the Partner Center solution id alternate key",
      );
    if (!key || (key.EntityKeyIndexStatus !== undefined && key.EntityKeyIndexStatus !== "Active"))
      keyToWait = { schemaName: t.solutionKey, column: t.partnerCenterId, table: t.solution, created: !key };
    else unchanged.push(keyName);
  }
  for (const rel of solutionRelationshipDefinitions(input.prefix)) {
    const found = await readOrCreate(
      `Relationship ${rel.schemaName} (${rel.display})`,
      () => relationshipMetadata(http, rel.schemaName),
      () =>
        http.ok(
          { method: "POST", url: "RelationshipDefinitions", headers, body: rel.payload },
          `creating relationship ${rel.schemaName}`,
        ),
      { created, unchanged },
    );
    if (found?.MetadataId) components.push(relationshipComponent(rel.schemaName, found.MetadataId));
  }
  return { created, unchanged, components, ...(keyToWait ? { keyToWait } : {}) };
}

/**
 * After publishing: waits for the catalog's alternate key (upserts by Partner Center id need it
 * Active), then moves the solutions kept in the memo column into rows. `waitForKey` is setup's own
 * wait (progress lines, named errors).
 */
export async function finishSolutionTables(
  http: WebApiClient,
  cfg: DynamicsConfig,
  c: CosellColumns,
  result: SolutionSetupResult,
  waitForKey: (key: {
    table: string;
    tableLabel: string;
    schemaName: string;
    column: string;
    duplicates: string;
  }) => Promise<string>,
): Promise<SetupReport> {
  const report: SetupReport = { created: [], unchanged: [] };
  const key = result.keyToWait;
  if (key) {
    const took = await waitForKey({
      table: key.table,
      tableLabel: "Co-sell solution",
      schemaName: key.schemaName,
      column: key.column,
      duplicates: "catalog rows share a Partner Center solution id",
    });
    (key.created ? report.created : report.unchanged).push(
      `Alternate key ${key.schemaName} on ${key.column} (index Active after ${took})`,
    );
  }
  const moved = await migrateSolutionMemo(
    http,
    c,
    solutionTableNames(cfg.publisherPrefix),
    createDataverseCatalog(http, cfg),
    cfg.maxPages,
  );
  return {
    created: [...report.created, ...moved.created],
    unchanged: [...report.unchanged, ...moved.unchanged],
  };
}

/** Doctor's check of the catalog and team tables and their relationships, named, with the fix. */
export async function checkSolutionTables(
  http: WebApiClient,
  prefix: string,
  solution: string,
): Promise<{ name: string; ok: boolean; detail: string; fix?: string }> {
  const t = solutionTableNames(prefix);
  const { missing, components } = await missingSolutionParts(http, prefix);
  if (missing.length)
    return {
      name: "solutions table",
      ok: false,
      detail: `Missing: ${missing.join("; ")}. Without them solutions and Microsoft's team cannot be kept as rows.`,
      fix: "Run `cosell setup`: it creates what is missing inside the cosell solution and changes nothing that exists.",
    };
  const outside = await ownComponentsOutside(http, solution, components);
  if (outside.length)
    return {
      name: "solutions table",
      ok: false,
      detail: `Not in solution ${solution}: ${outside.map((c) => c.label).join("; ")}. An export of the solution would leave ${outside.length === 1 ? "it" : "them"} behind, and the Co-sell tab's subgrids would break in the environment it is imported into.`,
      fix: "Run `cosell setup`: it adds them to the solution with AddSolutionComponent and changes nothing else.",
    };
  return {
    name: "solutions table",
    ok: true,
    detail: `Tables ${t.solution} and ${t.team} exist with their columns, in solution ${solution}; relationships ${t.opportunitySolution} (N:N) and ${t.opportunityTeam} (1:N) link them to opportunity.`,
  };
}
