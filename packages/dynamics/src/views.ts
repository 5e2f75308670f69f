import { COSELL_STAGE_CHOICE, DIRECTION_CHOICE } from "./choice-columns.js";
import { type CosellColumns, choiceValue, syncStateValue } from "./columns.js";

/**
 * The public views (`savedquery` rows) setup creates on opportunity so sellers find co-sell work in
 * the view selector. A view is a FetchXml query plus a LayoutXml grid
 * (learn.microsoft.com/power-apps/developer/data-platform/customize-entity-views); both are built
 * here from the configured column names. Views are identified by name.
 */

/** `querytype` of a public (main application) view. */
export const PUBLIC_VIEW = 0;
/** Opportunity's object type code, which a LayoutXml grid names. */
const OPPORTUNITY_OTC = 3;

/** One view: what setup writes and what doctor checks. */
export interface ViewDefinition {
  name: string;
  description: string;
  fetchXml: string;
  layoutXml: string;
  /** Columns the FetchXml must name (shown, filtered on or sorted by). */
  columns: string[];
}

type Condition = { attribute: string; operator: "eq" | "null"; value?: string | number };
type Filter = { type: "and" | "or"; conditions: (Condition | Filter)[] };

const xmlEscape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function filterXml(f: Filter): string {
  const parts = f.conditions.map((x) =>
    "type" in x
      ? filterXml(x)
      : `<condition attribute="${x.attribute}" operator="${x.operator}"${x.value === undefined ? "" : ` value="${xmlEscape(String(x.value))}"`} />`,
  );
  return `<filter type="${f.type}">${parts.join("")}</filter>`;
}

interface Spec {
  name: string;
  description: string;
  /** Shown columns, in grid order, with their width in pixels. */
  cells: [string, number][];
  order: { attribute: string; descending: boolean };
  filter: Filter;
}

function build(spec: Spec): ViewDefinition {
  const shown = spec.cells.map(([name]) => name);
  const fetchXml =
    `<fetch version="1.0" mapping="logical"><entity name="opportunity">` +
    [...shown, "opportunityid"].map((a) => `<attribute name="${a}" />`).join("") +
    `<order attribute="${spec.order.attribute}" descending="${spec.order.descending}" />` +
    filterXml(spec.filter) +
    `</entity></fetch>`;
  const layoutXml =
    `<grid name="resultset" object="${OPPORTUNITY_OTC}" jump="name" select="1" icon="1" preview="1">` +
    `<row name="result" id="opportunityid">` +
    spec.cells.map(([name, width]) => `<cell name="${name}" width="${width}" />`).join("") +
    `</row></grid>`;
  const conditions = (f: Filter): string[] =>
    f.conditions.flatMap((x) => ("type" in x ? conditions(x) : [x.attribute]));
  const columns = [...new Set([...shown, spec.order.attribute, ...conditions(spec.filter)])];
  return { name: spec.name, description: spec.description, fetchXml, layoutXml, columns };
}

/** The five co-sell views, named as sellers see them. */
export function cosellViews(c: CosellColumns, optionValuePrefix: number): ViewDefinition[] {
  const open = { attribute: "statecode", operator: "eq", value: 0 } as const;
  const inbound = {
    attribute: c.direction,
    operator: "eq",
    value: choiceValue(DIRECTION_CHOICE, optionValuePrefix, "inbound"),
  } as const;
  return [
    build({
      name: "Co-sell – Needs response",
      description:
        "Open referrals Microsoft sent you that still wait for your answer, the one to answer first on top. Set Co-sell response to accept or decline.",
      cells: [
        ["name", 250],
        ["parentaccountid", 180],
        [c.respondBy, 140],
        [c.coSellStatus, 120],
        [c.syncStatus, 100],
      ],
      order: { attribute: c.respondBy, descending: false },
      filter: {
        type: "and",
        conditions: [
          open,
          inbound,
          {
            attribute: c.coSellStatus,
            operator: "eq",
            value: choiceValue(COSELL_STAGE_CHOICE, optionValuePrefix, "received"),
          },
        ],
      },
    }),
    build({
      name: "Co-sell – Inbound",
      description: "Every referral Microsoft sent you, open or closed, the latest first.",
      cells: [
        ["name", 250],
        ["parentaccountid", 180],
        [c.coSellStatus, 120],
        [c.respondBy, 140],
        [c.syncStatus, 100],
      ],
      order: { attribute: "createdon", descending: true },
      filter: { type: "and", conditions: [inbound] },
    }),
    build({
      name: "Co-sell – Outbound",
      description:
        "Deals you share with Microsoft (Sync with Partner Center = Yes, not sent by Microsoft), with Microsoft's answer.",
      cells: [
        ["name", 250],
        ["parentaccountid", 180],
        [c.coSellStatus, 120],
        [c.microsoftAnswer, 140],
        [c.syncStatus, 100],
      ],
      order: { attribute: "createdon", descending: true },
      filter: {
        type: "and",
        conditions: [
          { attribute: c.syncFlag, operator: "eq", value: 1 },
          // A deal created here has no direction; one created in Partner Center says outbound.
          {
            type: "or",
            conditions: [
              { attribute: c.direction, operator: "null" },
              {
                attribute: c.direction,
                operator: "eq",
                value: choiceValue(DIRECTION_CHOICE, optionValuePrefix, "outbound"),
              },
            ],
          },
        ],
      },
    }),
    build({
      name: "Co-sell – Favorites",
      description: "Co-sell deals marked as favorite (in Dynamics 365 or Partner Center).",
      cells: [
        ["name", 250],
        ["parentaccountid", 180],
        [c.coSellStatus, 120],
        [c.respondBy, 140],
        [c.microsoftAnswer, 140],
        [c.syncStatus, 100],
      ],
      order: { attribute: "name", descending: false },
      filter: { type: "and", conditions: [{ attribute: c.favorite, operator: "eq", value: 1 }] },
    }),
    build({
      name: "Co-sell – Sync errors",
      description:
        "Co-sell deals whose last sync failed; Last sync error on the form says what to do. The next sync after the fix clears them.",
      cells: [
        ["name", 250],
        ["parentaccountid", 180],
        [c.coSellStatus, 120],
        [c.syncStatus, 100],
        [c.lastSyncOn, 140],
      ],
      order: { attribute: c.lastSyncOn, descending: true },
      filter: {
        type: "and",
        conditions: [
          { attribute: c.syncStatus, operator: "eq", value: syncStateValue(optionValuePrefix, "error") },
        ],
      },
    }),
  ];
}

/** Every column name a FetchXml names (in `name` and `attribute` attributes), for doctor's check. */
export function namedColumns(fetchXml: string): Set<string> {
  return new Set([...fetchXml.matchAll(/\b(?:name|attribute)\s*=\s*["']([^"']+)["']/g)].map((m) => m[1]!));
}

/**
 * The same XML up to insignificant whitespace between tags and before `/>`. Whether Dataverse stores
 * a view's XML exactly as sent is not documented; comparing this way keeps a second setup from
 * rewriting a view whose text was only re-spaced.
 */
export function sameXml(a: string, b: string): boolean {
  const norm = (s: string) =>
    s
      .replace(/>\s+</g, "><")
      .replace(/\s+\/>/g, "/>")
      .trim();
  return norm(a) === norm(b);
}
