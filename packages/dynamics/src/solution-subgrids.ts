import { createHash } from "node:crypto";
import { solutionTableNames } from "./solution-tables.js";

/**
 * The Co-sell tab's subgrids: the solutions related to the opportunity (N:N) and Microsoft's team
 * rows (1:N), as FormXml sections. A subgrid is a `<control>` with the subgrid class id whose
 * `<parameters>` name the relationship and the table it lists (the FormXml `<control>` and
 * `<parameters>` reference; learn.microsoft.com/power-apps/developer/model-driven-apps/customize-entity-forms).
 * No `ViewId` is given: the reference does not say a subgrid needs one, and the table's default
 * public view is what an admin would pick; whether Dataverse requires it is not documented.
 */

/** `classid` of a subgrid control. */
export const SUBGRID_CLASS_ID = "{E7A81278-8635-4D9E-8D4D-59480B391C5B}";

interface Subgrid {
  section: string;
  label: string;
  controlId: string;
  relationship: string;
  target: string;
}

function subgrids(prefix: string): Subgrid[] {
  const t = solutionTableNames(prefix);
  return [
    {
      section: `${prefix}_cosell_solutions`,
      label: "Solutions",
      controlId: `${prefix}_solutions_grid`,
      relationship: t.opportunitySolution,
      target: t.solution,
    },
    {
      section: `${prefix}_cosell_microsoftteam`,
      label: "Microsoft's team",
      controlId: `${prefix}_microsoftteam_grid`,
      relationship: t.opportunityTeam,
      target: t.team,
    },
  ];
}

/** A stable `{GUID}` per key, so a rerun builds the same XML. */
function stableGuid(key: string): string {
  const h = createHash("sha256").update(`cosell-subgrid:${key}`).digest("hex");
  return `{${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}}`.toUpperCase();
}

const labels = (text: string) =>
  `<labels><label description="${text.replace(/'/g, "&apos;")}" languagecode="1033" /></labels>`;

/** The solutions and Microsoft's team sections, each holding one subgrid. */
export function subgridSections(prefix: string): string {
  return subgrids(prefix)
    .map(
      (g) =>
        `<section name="${g.section}" showlabel="true" showbar="false" id="${stableGuid(`${prefix}:section:${g.section}`)}" columns="1">` +
        `${labels(g.label)}<rows><row><cell id="${stableGuid(`${prefix}:cell:${g.section}`)}" showlabel="false" rowspan="4">${labels(g.label)}` +
        `<control id="${g.controlId}" classid="${SUBGRID_CLASS_ID}" indicationOfSubgrid="true" uniqueid="${stableGuid(`${prefix}:control:${g.controlId}`)}">` +
        `<parameters><TargetEntityType>${g.target}</TargetEntityType><RelationshipName>${g.relationship}</RelationshipName>` +
        "<RecordsPerPage>5</RecordsPerPage><AutoExpand>Fixed</AutoExpand><EnableViewPicker>false</EnableViewPicker>" +
        "<EnableQuickFind>false</EnableQuickFind><EnableJumpBar>false</EnableJumpBar></parameters></control></cell></row></rows></section>",
    )
    .join("");
}

/** What is missing of the subgrids in the tab's FormXml: each names its relationship. */
export function subgridProblems(tabXml: string, prefix: string): string[] {
  return subgrids(prefix)
    .filter(
      (g) => !new RegExp(`<RelationshipName>\\s*${g.relationship}\\s*</RelationshipName>`, "i").test(tabXml),
    )
    .map((g) => `no ${g.label} subgrid (relationship ${g.relationship})`);
}
