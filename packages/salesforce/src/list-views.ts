import type { VerifyReport } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { SalesforceFieldNames } from "./config.js";
import type { Row } from "./mapping.js";
import { ensureOwnedComponents, type OwnedComponents, verifyOwnedComponents } from "./metadata-components.js";

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
      [NAME, ACCOUNT, STAGE, f.coSellStage, f.respondBy, f.response, f.microsoftAnswer, f.syncStatus],
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

/** The views as components, for a deploy or a metadata package. */
export function listViewMetadata(f: SalesforceFieldNames): Row[] {
  return listViewSpecs(f).map(metadataOf);
}

const components = (f: SalesforceFieldNames): OwnedComponents<ListViewSpec> => ({
  type: "ListView",
  noun: "List view",
  specs: listViewSpecs(f),
  differences: listViewDifferences,
  metadataOf,
});

/**
 * Creates the co-sell list views that are missing and puts cosell's version back on those that were changed;
 * leaves equal ones alone. Needs the fields they name to exist.
 */
export function ensureListViews(
  client: SalesforceClient,
  f: SalesforceFieldNames,
): Promise<{ created: string[]; unchanged: string[] }> {
  return ensureOwnedComponents(client, components(f));
}

/** Doctor's check: every one exists and is cosell's. Changes nothing. */
export function verifyListViews(
  client: SalesforceClient,
  f: SalesforceFieldNames,
): Promise<VerifyReport["checks"][number]> {
  return verifyOwnedComponents(client, {
    ...components(f),
    checkName: "seller list views",
    plural: "co-sell list views",
    lacking: "sellers do not find their co-sell work there.",
    fix: "Run `cosell setup` (creates or restores the co-sell list views on Opportunity).",
  });
}
