import type { SetupReport } from "@cosell/core";
import type { WebApiClient } from "./http.js";
import { solutionComponentIds } from "./seller-role.js";

/**
 * Whether cosell's own tables and relationships (the catalog, Microsoft's team and their links to
 * opportunity) are in the cosell solution. Setup creates them with the `MSCRM.SolutionUniqueName`
 * header, but an admin can take one out ("Remove from this solution"), and then an export no longer
 * carries it: the subgrids on the Co-sell tab would break in the next environment. Doctor names
 * such a part; setup adds it back with `AddSolutionComponent`
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/addsolutioncomponent),
 * naming it by its MetadataId.
 */

/** `componenttype` of a table and of a relationship (solutioncomponent table reference). */
const TABLE_COMPONENT = 1;
const RELATIONSHIP_COMPONENT = 10;

export interface OwnComponent {
  /** "table cosell_solution", "relationship cosell_opportunity_solution". */
  label: string;
  type: typeof TABLE_COMPONENT | typeof RELATIONSHIP_COMPONENT;
  metadataId: string;
}

/** A cosell table as a solution component. */
export function tableComponent(logicalName: string, metadataId: string): OwnComponent {
  return { label: `table ${logicalName}`, type: TABLE_COMPONENT, metadataId };
}

/** A cosell relationship as a solution component. */
export function relationshipComponent(schemaName: string, metadataId: string): OwnComponent {
  return { label: `relationship ${schemaName}`, type: RELATIONSHIP_COMPONENT, metadataId };
}

/**
 * Which of `own` (cosell's existing tables and relationships, with the MetadataIds the caller read
 * with their definitions) are not components of `solution`.
 */
export async function ownComponentsOutside(
  http: WebApiClient,
  solution: string,
  own: readonly OwnComponent[],
): Promise<OwnComponent[]> {
  if (!own.length) return [];
  const tables = await solutionComponentIds(http, solution, TABLE_COMPONENT);
  const relationships = await solutionComponentIds(http, solution, RELATIONSHIP_COMPONENT);
  const members = (c: OwnComponent) => (c.type === TABLE_COMPONENT ? tables : relationships);
  return own.filter((c) => !members(c)?.has(c.metadataId.toLowerCase()));
}

/**
 * Adds each of cosell's tables and relationships that is outside `solution` to it. Membership is
 * not a customization, so nothing needs publishing after it.
 */
export async function ensureOwnComponentsInSolution(
  http: WebApiClient,
  solution: string,
  own: readonly OwnComponent[],
): Promise<SetupReport> {
  const outside = await ownComponentsOutside(http, solution, own);
  if (!outside.length)
    return { created: [], unchanged: [`Tables and relationships in solution "${solution}"`] };
  const created: string[] = [];
  for (const c of outside) {
    await http.ok(
      {
        method: "POST",
        url: "AddSolutionComponent",
        body: {
          ComponentId: c.metadataId,
          ComponentType: c.type,
          SolutionUniqueName: solution,
          // A table goes with its columns (DoNotIncludeSubcomponents is left out: false).
          AddRequiredComponents: false,
        },
      },
      `adding ${c.label} to solution ${solution}`,
    );
    created.push(`${c.label[0]!.toUpperCase()}${c.label.slice(1)} added to solution "${solution}"`);
  }
  return { created, unchanged: [] };
}
