import { catalogEntryOf, PageGuard, type SetupReport, type Solution } from "@cosell/core";
import type { DataverseCatalog } from "./catalog.js";
import type { CosellColumns } from "./columns.js";
import type { WebApiClient } from "./http.js";
import { parseSolutions } from "./mapping.js";
import { q } from "./query.js";
import type { SolutionTableNames } from "./solution-tables.js";

type Row = Record<string, unknown>;

/**
 * Moves the solutions an earlier release kept as JSON in the opportunity's memo column into rows:
 * each solution becomes a catalog entry (unless one exists) related to its opportunity. The memo is
 * left as it was (an admin may want it) and no longer read; a solution already related is skipped,
 * so running it again changes nothing.
 */
export async function migrateSolutionMemo(
  http: WebApiClient,
  c: CosellColumns,
  t: SolutionTableNames,
  catalog: DataverseCatalog,
  maxPages: number,
): Promise<SetupReport> {
  const found: { opportunityId: string; solutions: Solution[]; related: Set<string> }[] = [];
  const pages = new PageGuard("opportunities with solutions in the memo column", "Dataverse", maxPages);
  let url: string | undefined =
    `opportunities?$select=opportunityid,${c.solutions}&$filter=${q(`${c.solutions} ne null`)}&$expand=${t.opportunitySolution}($select=${t.partnerCenterId})`;
  while (url) {
    const page: { value: Row[]; "@odata.nextLink"?: string } = await http.getJson(
      url,
      "reading the solutions kept in the memo column",
    );
    for (const r of page.value) {
      const solutions = parseSolutions(r[c.solutions], [], c.solutions).filter((s) => s.id);
      const related = new Set(
        ((r[t.opportunitySolution] as Row[] | undefined) ?? []).map((s) => String(s[t.partnerCenterId])),
      );
      if (solutions.some((s) => !related.has(s.id)))
        found.push({ opportunityId: String(r.opportunityid), solutions, related });
    }
    url = page["@odata.nextLink"] ? http.url(page["@odata.nextLink"], "@odata.nextLink") : undefined;
    if (url) pages.next(url);
  }
  if (!found.length) return { created: [], unchanged: [`Solutions in ${c.solutions}: all related as rows`] };
  const entries = new Map(found.flatMap((f) => f.solutions).map((s) => [s.id, catalogEntryOf(s)]));
  const { ids } = await catalog.ensure([...entries.values()]);
  let links = 0;
  for (const f of found)
    for (const s of f.solutions) {
      const rowId = ids.get(s.id);
      if (f.related.has(s.id) || !rowId) continue;
      await http.ok(
        {
          method: "POST",
          url: `opportunities(${f.opportunityId})/${t.opportunitySolution}/$ref`,
          body: { "@odata.id": http.url(`${t.solutionSet}(${rowId})`) },
        },
        `relating solution ${s.id} to opportunity ${f.opportunityId}`,
      );
      f.related.add(s.id);
      links++;
    }
  return {
    created: [
      `Solutions in ${c.solutions} moved to rows: ${links} relation(s) on ${found.length} opportunity(ies)`,
    ],
    unchanged: [],
  };
}
