import { errorMessage, type VerifyReport } from "@cosell/core";
import type { CosellColumns } from "./columns.js";
import type { DynamicsConfig } from "./config.js";
import type { WebApiClient } from "./http.js";
import { solutionComponentIds } from "./seller-role.js";
import { cosellViews, namedColumns, PUBLIC_VIEW, sameXml, type ViewDefinition } from "./views.js";

/**
 * Setup and doctor for the co-sell views. Views are `savedquery` rows written through the Web API
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/savedquery;
 * learn.microsoft.com/power-apps/developer/data-platform/customize-entity-views), found by name.
 * They are created with `MSCRM.SolutionUniqueName`, the header that makes a new component part of
 * an unmanaged solution
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/create-update-entity-definitions-using-web-api).
 * That page documents the header for metadata; whether Dataverse honours it for a view row is not
 * spelled out, so setup then reads the solution's components (`solutioncomponents`, type 26 = view,
 * learn.microsoft.com/power-apps/developer/data-platform/reference/entities/solutioncomponent) and
 * adds any view missing there with `AddSolutionComponent`
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/addsolutioncomponent).
 */

/** `componenttype` of a view in `solutioncomponent`. */
const VIEW_COMPONENT = 26;

interface SavedQueryRow {
  savedqueryid: string;
  name: string;
  description?: string | null;
  fetchxml?: string | null;
  layoutxml?: string | null;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Every public opportunity view with one of the co-sell names, by name. */
async function viewsNamed(
  http: WebApiClient,
  views: ViewDefinition[],
): Promise<Map<string, SavedQueryRow[]>> {
  const names = views.map((v) => `name eq ${quote(v.name)}`).join(" or ");
  const filter = `returnedtypecode eq 'opportunity' and querytype eq ${PUBLIC_VIEW} and (${names})`;
  const res = await http.getJson<{ value: SavedQueryRow[] }>(
    `savedqueries?$select=savedqueryid,name,description,fetchxml,layoutxml&$filter=${encodeURIComponent(filter)}`,
    "reading the co-sell views",
  );
  const byName = new Map<string, SavedQueryRow[]>();
  for (const row of res.value) byName.set(row.name, [...(byName.get(row.name) ?? []), row]);
  return byName;
}

/**
 * Which of the views sharing a name is this configuration's: the one in its solution, else one
 * whose FetchXml uses its publisher's columns (an earlier setup's view taken out of the solution).
 * A view of another prefix's cosell (a second configuration in the same environment) is not ours.
 */
function ours(
  rows: SavedQueryRow[] | undefined,
  members: Set<string>,
  prefix: string,
): SavedQueryRow | undefined {
  return (
    rows?.find((r) => members.has(r.savedqueryid.toLowerCase())) ??
    rows?.find((r) => [...namedColumns(r.fetchxml ?? "")].some((n) => n.startsWith(`${prefix}_`)))
  );
}

/** The ids of the views in the solution; undefined when the solution does not exist. */
async function viewsInSolution(http: WebApiClient, solution: string): Promise<Set<string> | undefined> {
  return solutionComponentIds(http, solution, VIEW_COMPONENT);
}

function differs(row: SavedQueryRow, v: ViewDefinition): boolean {
  return (
    !sameXml(row.fetchxml ?? "", v.fetchXml) ||
    !sameXml(row.layoutxml ?? "", v.layoutXml) ||
    (row.description ?? "") !== v.description
  );
}

/**
 * Creates the co-sell views that are missing, rewrites those whose definition differs, leaves equal
 * ones alone and puts each in the cosell solution. Publishing is left to the caller (one PublishXml
 * of opportunity covers columns and views); `written` says whether a view definition changed
 * (adding an existing view to a solution needs no publish).
 */
export async function ensureViews(
  http: WebApiClient,
  cfg: DynamicsConfig,
  c: CosellColumns,
): Promise<{ created: string[]; unchanged: string[]; written: boolean }> {
  const created: string[] = [];
  const unchanged: string[] = [];
  const views = cosellViews(c, cfg.optionValuePrefix);
  const have = await viewsNamed(http, views);
  const before = (await viewsInSolution(http, cfg.solutionUniqueName)) ?? new Set<string>();
  const headers = { "MSCRM.SolutionUniqueName": cfg.solutionUniqueName };
  const ids = new Map<string, string>();
  for (const v of views) {
    const label = `View "${v.name}"`;
    const body = {
      name: v.name,
      description: v.description,
      returnedtypecode: "opportunity",
      querytype: PUBLIC_VIEW,
      fetchxml: v.fetchXml,
      layoutxml: v.layoutXml,
    };
    const row = ours(have.get(v.name), before, cfg.publisherPrefix);
    if (!row) {
      const res = await http.ok(
        { method: "POST", url: "savedqueries", headers, body },
        `creating the view "${v.name}"`,
      );
      const id = /savedqueries\(([0-9a-fA-F-]{36})\)/.exec(res.headers.get("odata-entityid") ?? "")?.[1];
      if (id) ids.set(v.name, id.toLowerCase());
      created.push(label);
      continue;
    }
    ids.set(v.name, row.savedqueryid.toLowerCase());
    if (differs(row, v)) {
      // The table and kind of a view are set at create; the update sends only what can change
      // (whether Dataverse ignores or refuses returnedtypecode in an update is not documented).
      const { returnedtypecode: _table, querytype: _kind, ...changes } = body;
      await http.ok(
        { method: "PATCH", url: `savedqueries(${row.savedqueryid})`, headers, body: changes },
        `updating the view "${v.name}"`,
      );
      created.push(`${label}: definition updated`);
    } else unchanged.push(label);
  }
  const written = created.length > 0;
  // Read again only after a write: a second run that changes nothing makes no further call.
  const members = written
    ? ((await viewsInSolution(http, cfg.solutionUniqueName)) ?? new Set<string>())
    : before;
  for (const [name, id] of ids) {
    if (members.has(id)) continue;
    await http.ok(
      {
        method: "POST",
        url: "AddSolutionComponent",
        body: {
          ComponentId: id,
          ComponentType: VIEW_COMPONENT,
          SolutionUniqueName: cfg.solutionUniqueName,
          AddRequiredComponents: false,
        },
      },
      `adding the view "${name}" to solution ${cfg.solutionUniqueName}`,
    );
    created.push(`View "${name}" added to solution "${cfg.solutionUniqueName}"`);
  }
  return { created, unchanged, written };
}

/**
 * Doctor's check of the views: each exists (by name), its FetchXml names the columns it should, and
 * it is in the cosell solution. One check, naming every view with a problem and the fix.
 */
export async function checkViews(
  http: WebApiClient,
  cfg: DynamicsConfig,
  c: CosellColumns,
): Promise<VerifyReport["checks"][number]> {
  const views = cosellViews(c, cfg.optionValuePrefix);
  let have: Map<string, SavedQueryRow[]>;
  let members: Set<string>;
  try {
    have = await viewsNamed(http, views);
    members = (await viewsInSolution(http, cfg.solutionUniqueName)) ?? new Set<string>();
  } catch (e) {
    // Doctor reports what it cannot read instead of stopping: the other checks still count.
    return {
      name: "views",
      ok: false,
      detail: `Cannot read the co-sell views or the solution's components: ${errorMessage(e)}`,
      fix: "Give the application user read access to View (savedquery) and Solution Component (System Customizer has both), then run `cosell doctor` again.",
    };
  }
  const problems: string[] = [];
  for (const v of views) {
    const row = ours(have.get(v.name), members, cfg.publisherPrefix);
    if (!row) {
      problems.push(`"${v.name}" is missing`);
      continue;
    }
    const named = namedColumns(row.fetchxml ?? "");
    const lacking = v.columns.filter((col) => !named.has(col));
    if (lacking.length) problems.push(`"${v.name}" does not use ${lacking.join(", ")}`);
    if (!members.has(row.savedqueryid.toLowerCase()))
      problems.push(`"${v.name}" is not in solution ${cfg.solutionUniqueName}`);
  }
  if (problems.length)
    return {
      name: "views",
      ok: false,
      detail: `Co-sell views on opportunity: ${problems.join("; ")}.`,
      fix: "Run `cosell setup`: it creates the missing views, rewrites changed ones and adds them to the solution (a view you renamed is created again under its name).",
    };
  return {
    name: "views",
    ok: true,
    detail: `All ${views.length} co-sell views exist in solution ${cfg.solutionUniqueName}: ${views.map((v) => v.name).join(", ")}.`,
  };
}
