import { RemoteApiError, type VerifyReport } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { SalesforceFieldNames } from "./config.js";
import { customFieldSpecs, STATUS_KEYS } from "./custom-fields.js";
import type { Row } from "./mapping.js";
import { metadataErrorText, metadataExists } from "./metadata-components.js";
import { quickActionSpecs } from "./quick-actions.js";
import { addRelatedLists } from "./related-lists.js";

/**
 * The "Co-sell" section setup puts on the Opportunity page layouts the admin names, and the quick
 * actions it adds to them. A Layout component (Metadata API: fullName `Object-Layout Name`,
 * layoutSections [{customLabel, detailHeading, editHeading, label, layoutColumns [{layoutItems
 * [{behavior, field}]}], style}], platformActionList, quickActionList;
 * developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_layouts.htm).
 *
 * - An update replaces the whole layout: setup reads it, changes only its own section and action
 *   entries, and sends everything else back as it was read (the admin's sections included).
 * - A field sits once on a layout. A cosell field the admin already placed in another section stays
 *   there; the Co-sell section holds the others.
 * - Actions: `quickActionList` is the Classic publisher's list, which Lightning Experience also
 *   shows while the layout has no `platformActionList` of its own ("Salesforce Mobile and Lightning
 *   Experience Actions" not overridden); once the admin overrode it, `platformActionList` is what
 *   Lightning shows. setup adds the actions to `quickActionList`, and to `platformActionList` when the
 *   layout has one (creating one would replace Lightning's predefined actions).
 * - Members go back in the order of the WSDL (alphabetical after fullName).
 */
export const COSELL_SECTION = "Co-sell";

export interface LayoutField {
  field: string;
  behavior: "Edit" | "Readonly";
}

/** cosell's status fields on the page, in order: what Partner Center says of the deal. */
const STATUS_ON_PAGE: readonly (keyof SalesforceFieldNames)[] = [
  "referralLink",
  "coSellStage",
  "respondBy",
  "microsoftOpportunityId",
  "microsoftAnswer",
  "registrationStatus",
  "sentBy",
  "syncStatus",
  "lastSyncedAt",
  "lastError",
];

/** The section's fields: the seller's (Edit) in the first column, cosell's status (Readonly) in the second. */
export function layoutFields(f: SalesforceFieldNames): { seller: LayoutField[]; status: LayoutField[] } {
  const status = new Set<string>(STATUS_KEYS);
  return {
    seller: customFieldSpecs(f)
      // Solutions are the Co-sell Solutions related list; the text field only holds what an earlier
      // version wrote until setup moves it into rows.
      .filter((s) => !status.has(s.key) && s.key !== "solutions")
      .map((s) => ({ field: f[s.key]!, behavior: "Edit" as const })),
    status: STATUS_ON_PAGE.map((k) => ({ field: f[k]!, behavior: "Readonly" as const })),
  };
}

const asList = (v: unknown): Row[] =>
  (v === undefined || v === null || v === "" ? [] : Array.isArray(v) ? v : [v]).filter(
    (x): x is Row => !!x && typeof x === "object",
  );
const lower = (v: unknown) => String(v ?? "").toLowerCase();
const isCosell = (s: Row) => lower(s.label) === COSELL_SECTION.toLowerCase();

/** Keys in the WSDL's order: a member setup adds goes where Salesforce expects it. */
function ordered(md: Row): Row {
  const [first, ...rest] = Object.keys(md).sort((a, b) =>
    a === "fullName" ? -1 : b === "fullName" ? 1 : a.localeCompare(b),
  );
  return Object.fromEntries([first, ...rest].filter((k) => k !== undefined).map((k) => [k, md[k!]]));
}

/**
 * The layout as cosell wants it, and what had to change (empty: it is cosell's already). Pure: used
 * by setup to write it and by doctor to report it.
 */
export function planLayout(
  read: Row,
  f: SalesforceFieldNames,
): { metadata: Row; sectionAdded: boolean; problems: string[] } {
  const problems: string[] = [];
  let sectionAdded = false;
  const md: Row = Object.fromEntries(
    Object.entries(structuredClone(read)).filter(([k]) => !k.startsWith("$")),
  );
  const sections = asList(md.layoutSections);
  const elsewhere = new Set(
    sections
      .filter((s) => !isCosell(s))
      .flatMap((s) => asList(s.layoutColumns).flatMap((c) => asList(c.layoutItems)))
      .map((i) => lower(i.field))
      .filter(Boolean),
  );
  let section = sections.find(isCosell);
  if (!section) {
    problems.push(`no ${COSELL_SECTION} section`);
    sectionAdded = true;
    section = {
      customLabel: true,
      detailHeading: true,
      editHeading: true,
      label: COSELL_SECTION,
      layoutColumns: [{ layoutItems: [] }, { layoutItems: [] }],
      style: "TwoColumnsTopToBottom",
    };
    sections.push(section);
  }
  const columns = asList(section.layoutColumns);
  while (columns.length < (section.style === "OneColumn" ? 1 : 2)) columns.push({});
  const items = columns.map((c) => asList(c.layoutItems));
  const { seller, status } = layoutFields(f);
  const missing: string[] = [];
  const behaviour: string[] = [];
  for (const [want, column] of [
    ...seller.map((w) => [w, 0] as const),
    ...status.map((w) => [w, Math.min(1, columns.length - 1)] as const),
  ]) {
    if (elsewhere.has(want.field.toLowerCase())) continue;
    const found = items.flat().find((i) => lower(i.field) === want.field.toLowerCase());
    if (!found) {
      items[column]!.push({ behavior: want.behavior, field: want.field });
      missing.push(want.field);
    } else if (
      String(found.behavior ?? "Edit") !== want.behavior &&
      !(want.behavior === "Edit" && found.behavior === "Required")
    ) {
      found.behavior = want.behavior;
      behaviour.push(`${want.field} ${want.behavior === "Readonly" ? "editable" : "read-only"}`);
    }
  }
  if (missing.length && problems.length === 0)
    problems.push(`${missing.join(", ")} missing from the ${COSELL_SECTION} section`);
  if (behaviour.length) problems.push(behaviour.join(", "));
  section.layoutColumns = columns.map((c, k) => ordered({ ...c, layoutItems: items[k] }));
  md.layoutSections = sections.map((s) => (s === section ? ordered(s) : s));

  const actions = quickActionSpecs(f).map((a) => a.fullName);
  const classic = (md.quickActionList ?? {}) as Row;
  const classicItems = asList(classic.quickActionListItems);
  const lacking = actions.filter(
    (a) => !classicItems.some((i) => lower(i.quickActionName) === a.toLowerCase()),
  );
  if (lacking.length) {
    md.quickActionList = {
      ...(typeof classic === "object" ? classic : {}),
      quickActionListItems: [...classicItems, ...lacking.map((quickActionName) => ({ quickActionName }))],
    };
  }
  const lightning = md.platformActionList as Row | undefined;
  const lightningMissing: string[] = [];
  if (lightning && typeof lightning === "object") {
    const items = asList(lightning.platformActionListItems);
    let next = Math.max(-1, ...items.map((i) => Number(i.sortOrder ?? 0)).filter(Number.isFinite)) + 1;
    for (const a of actions)
      if (!items.some((i) => lower(i.actionName) === a.toLowerCase())) {
        items.push({ actionName: a, actionType: "QuickAction", sortOrder: next++ });
        lightningMissing.push(a);
      }
    md.platformActionList = ordered({ ...lightning, platformActionListItems: items });
  }
  const relatedMissing = addRelatedLists(md);
  if (relatedMissing.length) problems.push(`the related lists ${relatedMissing.join(", ")} missing`);
  const notListed = [...new Set([...lacking, ...lightningMissing])];
  if (notListed.length) problems.push(`the actions ${notListed.join(", ")} missing`);
  return { metadata: ordered(md), sectionAdded, problems };
}

/** The org's Opportunity layouts, for a message naming what exists. */
async function opportunityLayouts(client: SalesforceClient): Promise<string[]> {
  try {
    return (await client.listMetadata("Layout")).filter((n) => n.startsWith("Opportunity-")).sort();
  } catch {
    return [];
  }
}

async function notFoundText(client: SalesforceClient, name: string): Promise<string> {
  const existing = await opportunityLayouts(client);
  return `The page layout "${name}" named in crm.layouts does not exist. Set crm.layouts to the full names of existing Opportunity layouts${existing.length ? `: ${existing.map((n) => `"${n}"`).join(", ")}` : " (Setup → Object Manager → Opportunity → Page Layouts; the full name is Opportunity- followed by the layout's name)"}.`;
}

/** Reads the named layouts (≤ 10 per call), matched by full name. */
async function readLayouts(client: SalesforceClient, names: readonly string[]): Promise<Map<string, Row>> {
  const out = new Map<string, Row>();
  for (let i = 0; i < names.length; i += 10) {
    const part = names.slice(i, i + 10);
    const read = await client.readMetadata("Layout", [...part]);
    for (const name of part) {
      const md = read.find((r) => metadataExists(r) && lower(r.fullName) === name.toLowerCase());
      if (md) out.set(name, md);
    }
  }
  return out;
}

/**
 * Adds (or puts back) the Co-sell section and the actions on each named layout; leaves a layout that
 * is cosell's already alone. Needs the fields and the quick actions to exist. A layout that does not
 * exist is a {@link RemoteApiError} `SALESFORCE_LAYOUT_NOT_FOUND` naming the layouts that do.
 */
export async function ensureLayouts(
  client: SalesforceClient,
  f: SalesforceFieldNames,
  names: readonly string[],
): Promise<{ created: string[]; unchanged: string[] }> {
  const read = await readLayouts(client, names);
  const created: string[] = [];
  const unchanged: string[] = [];
  for (const name of names) {
    const md = read.get(name);
    if (!md)
      throw new RemoteApiError("SALESFORCE_LAYOUT_NOT_FOUND", await notFoundText(client, name), {
        details: { layout: name },
      });
    const plan = planLayout(md, f);
    if (!plan.problems.length) {
      unchanged.push(`Layout ${name}: ${COSELL_SECTION} section and actions`);
      continue;
    }
    const [r] = await client.saveMetadata("update", "Layout", [plan.metadata]);
    if (!r?.success)
      throw new RemoteApiError(
        "SALESFORCE_SETUP_FAILED",
        `Updating the page layout ${name} failed: ${metadataErrorText(r?.errors)}. The integration user needs "Modify Metadata Through Metadata API Functions" (or "Modify All Data").`,
      );
    created.push(
      plan.sectionAdded
        ? `Layout ${name}: ${COSELL_SECTION} section added, with the co-sell actions`
        : `Layout ${name}: restored (it had ${plan.problems.join(", ")})`,
    );
  }
  return { created, unchanged };
}

/** Doctor's check: each named layout has the Co-sell section and the actions. Changes nothing. */
export async function verifyLayouts(
  client: SalesforceClient,
  f: SalesforceFieldNames,
  names: readonly string[],
): Promise<VerifyReport["checks"][number]> {
  const name = "seller page layout";
  try {
    const read = await readLayouts(client, names);
    const problems: string[] = [];
    for (const n of names) {
      const md = read.get(n);
      if (!md)
        return {
          name,
          ok: false,
          detail: await notFoundText(client, n),
          fix: "Set crm.layouts, then run `cosell setup`.",
        };
      const plan = planLayout(md, f);
      if (plan.problems.length) problems.push(`${n}: ${plan.problems.join(", ")}`);
    }
    return problems.length
      ? {
          name,
          ok: false,
          detail: `${problems.join(". ")}: sellers do not see the co-sell fields or actions on the opportunity.`,
          fix: `Run \`cosell setup\` (adds the ${COSELL_SECTION} section and the co-sell actions to ${names.join(", ")}).`,
        }
      : {
          name,
          ok: true,
          detail: `${names.join(", ")}: the ${COSELL_SECTION} section and the co-sell actions are on the page.`,
        };
  } catch (e) {
    return {
      name,
      ok: false,
      detail: `Could not read the page layouts: ${(e as Error).message}`,
      fix: 'Give the integration user "Modify Metadata Through Metadata API Functions" (or "Modify All Data").',
    };
  }
}
