import type { Row } from "./mapping.js";
import {
  DEAL_SOLUTION_FIELDS,
  DEAL_SOLUTION_OBJECT,
  TEAM_FIELDS,
  TEAM_MEMBER_OBJECT,
} from "./solution-objects.js";

/**
 * The two related lists cosell puts on the Opportunity layouts: the deal's solutions and Microsoft's
 * team. A custom related list is named `<ChildObject>.<RelationshipField>` and its columns by alias
 * (`NAME` for the name field), as layouts retrieved from Salesforce spell them; the RelatedListItem
 * reference names the members without spelling that format out.
 */
export const COSELL_RELATED_LISTS: readonly Row[] = [
  {
    fields: ["NAME", DEAL_SOLUTION_FIELDS.solution],
    relatedList: `${DEAL_SOLUTION_OBJECT}.${DEAL_SOLUTION_FIELDS.opportunity}`,
  },
  {
    fields: ["NAME", TEAM_FIELDS.role, TEAM_FIELDS.email, TEAM_FIELDS.phone],
    relatedList: `${TEAM_MEMBER_OBJECT}.${TEAM_FIELDS.opportunity}`,
  },
];

const asList = (v: unknown): Row[] =>
  (v === undefined || v === null || v === "" ? [] : Array.isArray(v) ? v : [v]).filter(
    (x): x is Row => !!x && typeof x === "object",
  );

/**
 * Adds the related lists a layout lacks (after the admin's own, which stay as they are) and returns
 * their names; a list already there, however the admin arranged it, is left alone.
 */
export function addRelatedLists(md: Row): string[] {
  const current = asList(md.relatedLists);
  const have = new Set(current.map((r) => String(r.relatedList ?? "").toLowerCase()));
  const lacking = COSELL_RELATED_LISTS.filter((r) => !have.has(String(r.relatedList).toLowerCase()));
  if (lacking.length) md.relatedLists = [...current, ...lacking.map((r) => structuredClone(r))];
  return lacking.map((r) => String(r.relatedList));
}
