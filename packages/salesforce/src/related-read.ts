import { type MicrosoftTeamMember, type Solution, SolutionKindSchema } from "@cosell/core";
import {
  DEAL_SOLUTION_FIELDS,
  DEAL_SOLUTIONS_RELATIONSHIP,
  MICROSOFT_TEAM_RELATIONSHIP,
  SOLUTION_FIELDS,
  TEAM_FIELDS,
} from "./solution-objects.js";

/** A row as jsforce returns it (kept here so that the Opportunity mapping can read these without a cycle). */
type Row = Record<string, unknown>;

const D = DEAL_SOLUTION_FIELDS;
const S = SOLUTION_FIELDS;
const T = TEAM_FIELDS;

/** The catalog entry a deal-solution row points at (parent relationship). */
export const CATALOG_RELATIONSHIP = D.solution.replace(/__c$/, "__r");

/**
 * The subquery that reads a deal's solutions with the opportunity (one query per page, never one per
 * deal). A deal has a handful; Salesforce returns up to 200 child rows inline.
 */
export const DEAL_SOLUTIONS_SUBQUERY = `(SELECT Id, IsDeleted, ${CATALOG_RELATIONSHIP}.${S.solutionId}, ${CATALOG_RELATIONSHIP}.Name, ${CATALOG_RELATIONSHIP}.${S.kind} FROM ${DEAL_SOLUTIONS_RELATIONSHIP})`;

/** A deal-solution child row as the solution it points at (unknown kinds read as the partner's own). */
function solutionOfRow(r: Row): Solution | undefined {
  const c = r[CATALOG_RELATIONSHIP] as Row | null | undefined;
  const id = typeof c?.[S.solutionId] === "string" ? String(c[S.solutionId]) : "";
  if (!id) return undefined;
  const kind = SolutionKindSchema.safeParse(c?.[S.kind]);
  return { id, name: String(c?.Name ?? "") || id, kind: kind.success ? kind.data : "own" };
}

/** The deal-solution rows of an Opportunity row read with {@link DEAL_SOLUTIONS_SUBQUERY}, if any. */
export function dealSolutionsOf(row: Row): Solution[] | undefined {
  const rel = row[DEAL_SOLUTIONS_RELATIONSHIP] as { records?: Row[] } | null | undefined;
  // queryAll (the change feed) also returns deleted child rows.
  const rows = (rel?.records ?? []).filter((r) => r.IsDeleted !== true);
  if (!rows.length) return undefined;
  const seen = new Set<string>();
  return rows.flatMap((r) => {
    const s = solutionOfRow(r);
    if (!s || seen.has(s.id.toLowerCase())) return [];
    seen.add(s.id.toLowerCase());
    return [s];
  });
}
/** The columns of a Microsoft team row cosell reads and compares. */
export const TEAM_COLUMNS = `Id, IsDeleted, Name, ${T.opportunity}, ${T.firstName}, ${T.lastName}, ${T.email}, ${T.phone}, ${T.role}`;

/** Reads Microsoft's team with the opportunity (a subquery: one query per page, never one per deal). */
export const MICROSOFT_TEAM_SUBQUERY = `(SELECT ${TEAM_COLUMNS} FROM ${MICROSOFT_TEAM_RELATIONSHIP})`;

const text = (v: unknown): string => (typeof v === "string" ? v : "");

/** A team row as the person it holds. */
export function memberOfRow(r: Row): MicrosoftTeamMember {
  return {
    firstName: text(r[T.firstName]),
    lastName: text(r[T.lastName]),
    email: text(r[T.email]),
    phone: text(r[T.phone]),
    ...(text(r[T.role]) ? { role: text(r[T.role]) } : {}),
  };
}

/** Microsoft's team of an Opportunity row read with {@link MICROSOFT_TEAM_SUBQUERY}. */
export function microsoftTeamOf(row: Row): MicrosoftTeamMember[] {
  const rel = row[MICROSOFT_TEAM_RELATIONSHIP] as { records?: Row[] } | null | undefined;
  return (rel?.records ?? []).filter((r) => r.IsDeleted !== true).map(memberOfRow);
}
