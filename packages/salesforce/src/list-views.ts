import { RemoteApiError, type VerifyReport } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { SalesforceFieldNames } from "./config.js";
import type { Row } from "./mapping.js";

/**
 * The Opportunity list views sellers find co-sell work in. A ListView component (Metadata API:
 * fullName `Object.View`, label, filterScope, filters [{field, operation, value}], booleanFilter,
 * columns, sharedTo; developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_listview.htm).
 *
 * - Standard fields go by their list view column names (OPPORTUNITY.NAME, ACCOUNT.NAME,
 *   OPPORTUNITY.STAGE_NAME), custom fields by API name: the page says column names "don't always
 *   match their API name counterparts".
 * - The type has no sort order: a view lists in the order Salesforce picks (the results resource
 *   says which column it sorted by), and a seller sorts by clicking a column.
 * - No `sharedTo`: "Visible only to me" views are not in the Metadata API at all, and a view
 *   deployed without `sharedTo` is visible to all users. An admin who narrows the sharing keeps it:
 *   setup compares what cosell decides (label, scope, filters, columns), not who sees the view.
 * - A checkbox filter's value: retrieved views carry `1`/`0`; the page does not say whether
 *   `true`/`false` are taken too, so cosell sends `1` and reads either as the same.
 */
export interface ListViewSpec {
  fullName: string;
  /** The developer name, as the REST list view resources call it. */
  name: string;
  label: string;
  filterScope: "Everything";
  filters: { field: string; operation: "equals" | "notEqual"; value: string }[];
  booleanFilter?: string;
  columns: string[];
}

const NAME = "OPPORTUNITY.NAME";
const ACCOUNT = "ACCOUNT.NAME";
const STAGE = "OPPORTUNITY.STAGE_NAME";

/** The five views, built from the configured field names. */
export function listViewSpecs(f: SalesforceFieldNames): ListViewSpec[] {
  const view = (
    name: string,
    label: string,
    filters: ListViewSpec["filters"],
    columns: string[],
  ): ListViewSpec => ({
    fullName: `Opportunity.${name}`,
    name,
    label,
    filterScope: "Everything",
    filters,
    columns,
  });
  const inbound = { field: f.direction, operation: "equals" as const, value: "inbound" };
  return [
    // Waiting for the seller's answer: Microsoft sent it and Partner Center still has it as received.
    view(
      "Cosell_Needs_Response",
      "Co-sell – Needs response",
      [inbound, { field: f.coSellStage, operation: "equals", value: "received" }],
      [NAME, ACCOUNT, f.respondBy, f.sentBy, f.response, STAGE],
    ),
    view(
      "Cosell_Inbound",
      "Co-sell – Inbound",
      [inbound],
      [NAME, ACCOUNT, STAGE, f.coSellStage, f.respondBy, f.response, f.syncStatus],
    ),
    // Shared by the seller: opted in and not sent by Microsoft (a blank direction is not "inbound").
    view(
      "Cosell_Outbound",
      "Co-sell – Outbound",
      [
        { field: f.optIn, operation: "equals", value: "1" },
        { field: f.direction, operation: "notEqual", value: "inbound" },
      ],
      [NAME, ACCOUNT, STAGE, f.coSellStage, f.microsoftAnswer, f.syncStatus],
    ),
    view(
      "Cosell_Favorites",
      "Co-sell – Favorites",
      [{ field: f.favorite, operation: "equals", value: "1" }],
      [NAME, ACCOUNT, STAGE, f.coSellStage, f.direction, f.respondBy, f.syncStatus],
    ),
    view(
      "Cosell_Sync_Errors",
      "Co-sell – Sync errors",
      [{ field: f.syncStatus, operation: "equals", value: "error" }],
      [NAME, ACCOUNT, STAGE, f.coSellStage, f.syncStatus, f.lastSyncedAt],
    ),
  ];
}

const asList = (v: unknown): unknown[] =>
  v === undefined || v === null || v === "" ? [] : Array.isArray(v) ? v : [v];
/** Checkbox filter values: `1`/`true` and `0`/`false` read as the same. */
const filterValue = (v: unknown) => {
  const s = String(v ?? "")
    .trim()
    .toLowerCase();
  return s === "true" ? "1" : s === "false" ? "0" : s;
};

/** What of a view as read differs from cosell's, in an admin's words. */
export function listViewDifferences(read: Row, want: ListViewSpec): string[] {
  const out: string[] = [];
  if (String(read.label ?? "") !== want.label) out.push("another label");
  if (String(read.filterScope ?? "") !== want.filterScope) out.push("another scope");
  const filters = asList(read.filters).map((x) => {
    const r = (x ?? {}) as Row;
    return `${String(r.field ?? "").toLowerCase()} ${String(r.operation ?? "")} ${filterValue(r.value)}`;
  });
  const wantFilters = want.filters.map(
    (x) => `${x.field.toLowerCase()} ${x.operation} ${filterValue(x.value)}`,
  );
  if (filters.join("|") !== wantFilters.join("|")) out.push("other filters");
  if (String(read.booleanFilter ?? "") !== (want.booleanFilter ?? "")) out.push("other filter logic");
  const columns = asList(read.columns).map((c) => String(c).toLowerCase());
  if (columns.join("|") !== want.columns.map((c) => c.toLowerCase()).join("|")) out.push("other columns");
  return out;
}

function errorText(errors: unknown): string {
  const list = (Array.isArray(errors) ? errors : [errors]) as { statusCode?: string; message?: string }[];
  return list.map((e) => `${e?.statusCode ?? "ERROR"}: ${e?.message ?? ""}`).join("; ");
}

const exists = (md: Row | undefined) => typeof md?.fullName === "string" && md.fullName !== "";

/** The component read for a name: matched by fullName, as a missing one may come back empty or not at all. */
const byName = (read: Row[], fullName: string) =>
  read.find((r) => exists(r) && String(r.fullName).toLowerCase() === fullName.toLowerCase());

/** The component sent on create and update (no `sharedTo`: see {@link ListViewSpec}). */
function metadataOf(s: ListViewSpec): Row {
  return {
    fullName: s.fullName,
    label: s.label,
    filterScope: s.filterScope,
    filters: s.filters,
    ...(s.booleanFilter ? { booleanFilter: s.booleanFilter } : {}),
    columns: s.columns,
  };
}

/**
 * Creates the views that are missing and puts cosell's version back on those that were changed;
 * leaves equal ones alone. Returns the report lines. Needs the fields the views name to exist.
 */
export async function ensureListViews(
  client: SalesforceClient,
  f: SalesforceFieldNames,
): Promise<{ created: string[]; unchanged: string[] }> {
  const specs = listViewSpecs(f);
  const read = await client.readMetadata(
    "ListView",
    specs.map((s) => s.fullName),
  );
  const created: string[] = [];
  const unchanged: string[] = [];
  const toCreate: ListViewSpec[] = [];
  const toUpdate: { spec: ListViewSpec; diff: string[] }[] = [];
  for (const s of specs) {
    const md = byName(read, s.fullName);
    if (!exists(md)) toCreate.push(s);
    else {
      const diff = listViewDifferences(md!, s);
      if (diff.length) toUpdate.push({ spec: s, diff });
      else unchanged.push(`List view ${s.fullName}`);
    }
  }
  const save = async (op: "create" | "update", part: ListViewSpec[]) => {
    if (!part.length) return;
    const res = await client.saveMetadata(op, "ListView", part.map(metadataOf));
    res.forEach((r, k) => {
      if (!r.success)
        throw new RemoteApiError(
          "SALESFORCE_SETUP_FAILED",
          `${op === "create" ? "Creating" : "Updating"} the list view ${part[k]!.fullName} failed: ${errorText(r.errors)}. The integration user needs "Modify Metadata Through Metadata API Functions" (or "Modify All Data"), and the fields it names must exist.`,
        );
    });
  };
  await save("create", toCreate);
  await save(
    "update",
    toUpdate.map((u) => u.spec),
  );
  for (const s of toCreate) created.push(`List view ${s.fullName} "${s.label}"`);
  for (const u of toUpdate)
    created.push(`List view ${u.spec.fullName}: restored (it had ${u.diff.join(", ")})`);
  return { created, unchanged };
}

/** Doctor's check: every view exists and is cosell's. Changes nothing. */
export async function verifyListViews(
  client: SalesforceClient,
  f: SalesforceFieldNames,
): Promise<VerifyReport["checks"][number]> {
  const specs = listViewSpecs(f);
  const name = "seller list views";
  const fix = "Run `cosell setup` (creates or restores the co-sell list views on Opportunity).";
  try {
    const read = await client.readMetadata(
      "ListView",
      specs.map((s) => s.fullName),
    );
    const problems: string[] = [];
    for (const s of specs) {
      const md = byName(read, s.fullName);
      if (!exists(md)) problems.push(`${s.fullName} is missing`);
      else {
        const diff = listViewDifferences(md!, s);
        if (diff.length) problems.push(`${s.fullName} differs (${diff.join(", ")})`);
      }
    }
    return problems.length
      ? {
          name,
          ok: false,
          detail: `${problems.join("; ")}: sellers do not find their co-sell work there.`,
          fix,
        }
      : { name, ok: true, detail: `All ${specs.length} co-sell list views exist on Opportunity.` };
  } catch (e) {
    return {
      name,
      ok: false,
      detail: `Could not read the list views: ${(e as Error).message}`,
      fix: 'Give the integration user "Modify Metadata Through Metadata API Functions" (or "Modify All Data").',
    };
  }
}
