import type { MicrosoftTeamMember, Solution } from "@cosell/core";
import type { Sandbox } from "@cosell/sandbox";
import { choiceOf, choiceValue } from "../src/columns.js";
import { SOLUTION_KIND_CHOICE, solutionTableNames } from "../src/solution-tables.js";

/**
 * What a seller does and sees with cosell's own tables, straight in the emulator: solutions related
 * to an opportunity (the subgrid's "Add existing"), catalog rows, Microsoft's team rows.
 */
type Dataverse = Sandbox<"dataverse">["dataverse"];
type Record = ReturnType<Dataverse["all"]>[number];

/** The control's many-to-many methods (`associate`, `disassociate`, `related`). */
interface Links {
  associate(entity: string, id: string, nav: string, otherId: string): void;
  disassociate(entity: string, id: string, nav: string, otherId: string): void;
  related(entity: string, id: string, nav: string): Record[];
}
// Declared here as well: the package's published declarations may predate these methods.
const links = (dv: Dataverse) => dv as Dataverse & Links;

export const SOLUTION_TABLES = solutionTableNames("cosell");
const t = SOLUTION_TABLES;
const OPTION_PREFIX = 18342;

/** The catalog row of a Partner Center solution id, created when missing. */
export function catalogRow(dv: Dataverse, s: Solution): string {
  const found = dv.all(t.solutionSet).find((r) => r[t.partnerCenterId] === s.id);
  if (found) return String(found[t.solutionId]);
  return String(
    dv.insert(t.solutionSet, {
      [t.name]: s.name || s.id,
      [t.partnerCenterId]: s.id,
      [t.kind]: choiceValue(SOLUTION_KIND_CHOICE, OPTION_PREFIX, s.kind),
      [t.active]: true,
    })[t.solutionId],
  );
}

/** Relates exactly these solutions to the opportunity. */
export function relateSolutions(dv: Dataverse, opportunityId: string, solutions: readonly Solution[]): void {
  const wanted = new Set(solutions.map((s) => catalogRow(dv, s)));
  for (const r of links(dv).related("opportunities", opportunityId, t.opportunitySolution)) {
    const id = String(r[t.solutionId]);
    if (!wanted.delete(id)) links(dv).disassociate("opportunities", opportunityId, t.opportunitySolution, id);
  }
  for (const id of wanted) links(dv).associate("opportunities", opportunityId, t.opportunitySolution, id);
}

/** The solutions related to the opportunity, as the adapter maps them. */
export function relatedSolutions(dv: Dataverse, opportunityId: string): Solution[] {
  return links(dv)
    .related("opportunities", opportunityId, t.opportunitySolution)
    .map((r) => ({
      id: String(r[t.partnerCenterId]),
      name: String(r[t.name] ?? ""),
      kind: choiceOf(SOLUTION_KIND_CHOICE, OPTION_PREFIX, Number(r[t.kind])) ?? "thirdParty",
    }));
}

/** Microsoft's team rows of the opportunity. */
export function teamRows(dv: Dataverse, opportunityId: string): MicrosoftTeamMember[] {
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  return dv
    .all(t.teamSet)
    .filter((r) => r[`_${t.teamOpportunity}_value`] === opportunityId)
    .map((r) => ({
      firstName: text(r[t.firstName]),
      lastName: text(r[t.lastName]),
      email: text(r[t.email]),
      phone: text(r[t.phone]),
      ...(text(r[t.role]) ? { role: text(r[t.role]) } : {}),
    }));
}
