import { RemoteApiError } from "@cosell/core";
import { type ChoiceColumn, choiceColumns } from "./choice-columns.js";
import type { DynamicsConfig } from "./config.js";
import type { WebApiClient } from "./http.js";

const OPPORTUNITY = "EntityDefinitions(LogicalName='opportunity')";

/** Rows read per page while copying text values into a choice column. */
export const COPY_PAGE_SIZE = 500;

/** Where progress lines go. */
export interface ChoiceSetupDeps {
  logger?: { info(obj: object, msg: string): void };
}

export interface ChoiceSetupResult {
  created: string[];
  unchanged: string[];
}

interface OptionSetRow {
  MetadataId: string;
  Name: string;
}

/** The MetadataId of a created metadata item, from the `OData-EntityId` header (`…(<guid>)`). */
function createdId(headers: Headers, what: string): string {
  const id = /\(([0-9a-fA-F-]{36})\)\s*$/.exec(headers.get("OData-EntityId") ?? "")?.[1];
  if (!id)
    throw new RemoteApiError(
      "DATAVERSE_NO_ENTITY_ID",
      `Dataverse created ${what} but did not say its id (no OData-EntityId header). Run \`cosell setup\` again: it finds what exists and creates the rest.`,
    );
  return id;
}

/**
 * Creates each global choice (in the solution), then each choice column on opportunity bound to it.
 * Environments set up when these were text columns are upgraded in place: Dataverse cannot change a
 * column's type, so the choice is created beside the text column and the values are copied
 * ({@link copyTextValues}); the text column is left as it is (docs/dynamics.md says so).
 */
export async function ensureChoiceColumns(
  http: WebApiClient,
  cfg: DynamicsConfig,
  have: ReadonlySet<string>,
  deps: ChoiceSetupDeps,
): Promise<ChoiceSetupResult> {
  const created: string[] = [];
  const unchanged: string[] = [];
  const solutionHeader = { "MSCRM.SolutionUniqueName": cfg.solutionUniqueName };
  // $filter is not supported on GlobalOptionSetDefinitions, so the names are matched here.
  const sets = await http.getJson<{ value: OptionSetRow[] }>(
    "GlobalOptionSetDefinitions?$select=Name",
    "reading the global choices",
    { Consistency: "Strong" },
  );
  const byName = new Map(sets.value.map((s) => [s.Name.toLowerCase(), s.MetadataId]));
  for (const choice of choiceColumns(cfg.publisherPrefix, cfg.optionValuePrefix)) {
    let setId = byName.get(choice.optionSetName);
    const setName = `Global choice ${choice.optionSetName}`;
    if (setId) unchanged.push(setName);
    else {
      const res = await http.ok(
        {
          method: "POST",
          url: "GlobalOptionSetDefinitions",
          headers: solutionHeader,
          body: choice.optionSet,
        },
        `creating the global choice ${choice.optionSetName}`,
      );
      setId = createdId(res.headers, `the global choice ${choice.optionSetName}`);
      created.push(setName);
    }
    const columnName = `Column ${choice.column.logicalName} ("${choice.column.display}")`;
    if (have.has(choice.column.logicalName)) unchanged.push(columnName);
    else {
      await http.ok(
        {
          method: "POST",
          url: `${OPPORTUNITY}/Attributes`,
          headers: solutionHeader,
          body: {
            ...choice.column.payload,
            "GlobalOptionSet@odata.bind": `/GlobalOptionSetDefinitions(${setId})`,
          },
        },
        `creating column ${choice.column.logicalName}`,
      );
      created.push(columnName);
    }
    if (have.has(choice.textColumn)) {
      const copied = await copyTextValues(http, cfg, choice, deps);
      if (copied)
        created.push(`${copied} value(s) copied from ${choice.textColumn} to ${choice.column.logicalName}`);
    }
  }
  return { created, unchanged };
}

/**
 * Copies what the text column holds into the choice column, on rows whose choice is still empty.
 * Closed rows are copied too: the stage of a closed row (declined or expired rather than lost) is
 * read from it. Pages of {@link COPY_PAGE_SIZE} rows, one progress line per page; a second run finds
 * nothing left to copy. A text value that names no option (an admin typed something else) is left
 * as it was, and the row's choice stays empty.
 */
export async function copyTextValues(
  http: WebApiClient,
  cfg: DynamicsConfig,
  choice: ChoiceColumn,
  deps: ChoiceSetupDeps,
): Promise<number> {
  const text = choice.textColumn;
  const target = choice.column.logicalName;
  const filter = encodeURIComponent(`${text} ne null and ${target} eq null`);
  let next: string | undefined = `opportunities?$select=opportunityid,${text}&$filter=${filter}`;
  let copied = 0;
  let seen = 0;
  while (next) {
    const page: { value: Record<string, unknown>[]; "@odata.nextLink"?: string } = await http.getJson(
      next,
      `reading the ${text} values to copy`,
      { Prefer: `odata.maxpagesize=${COPY_PAGE_SIZE}` },
    );
    for (const row of page.value) {
      const value = choice.valueOfText(String(row[text] ?? ""), cfg.optionValuePrefix);
      if (value === undefined) continue;
      await http.ok(
        { method: "PATCH", url: `opportunities(${String(row.opportunityid)})`, body: { [target]: value } },
        `copying ${text} into ${target}`,
      );
      copied++;
    }
    seen += page.value.length;
    deps.logger?.info(
      { from: text, to: target, read: seen, copied },
      `Copying ${text} into the choice ${target}: ${copied} of ${seen} row(s) read so far`,
    );
    next = page["@odata.nextLink"];
  }
  return copied;
}
