import type { SandboxResponse } from "../../kit/index.js";
import { notFound, sfJson } from "../errors.js";
import { toId18 } from "../ids.js";
import type { SObjectDef } from "../schema/types.js";
import { type LayoutDef, layoutActionNames } from "../soap/layouts.js";
import { list, type MetadataRecord, str } from "../soap/metadata-types.js";
import { methodNotAllowed, type RestCall } from "./call.js";
import { MASTER_RECORD_TYPE_ID } from "./describe.js";

/**
 * `sobjects/<T>/describe/layouts/` and `…/describe/layouts/<recordTypeId>` (Describe Layouts,
 * developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_layouts.htm;
 * the shape is the DescribeLayoutResult of the SOAP API,
 * developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_describelayout_describelayoutresult.htm).
 * Only the members a seller's page needs: `detailLayoutSections` (heading, columns, rows, items with
 * label, editableForUpdate and their Field components) and `quickActionList`.
 *
 * The sandbox has no profiles and no layout assignments: every record type of the object shows the
 * object's first layout (the standard one a new org has). Items are as the caller sees them: a field
 * they cannot read is left out, one they cannot edit is not `editableForUpdate`.
 */
export function handleDescribeLayouts(call: RestCall, def: SObjectDef): SandboxResponse {
  const { req, ctx, segments } = call;
  if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET", "HEAD"]);
  const assigned = ctx.org.layouts.of(def.name)[0];
  if (!assigned) throw notFound();
  const recordTypes = [...ctx.org.store.rows("RecordType")]
    .filter((r) => r.SobjectType === def.name && r.IsActive !== false)
    .map((r) => String(r.Id));
  if (segments.length === 5) {
    const id = toId18(segments[4]!);
    if (!id || (id !== MASTER_RECORD_TYPE_ID && !recordTypes.includes(id))) throw notFound();
    return sfJson(200, describeLayout(call, def, assigned));
  }
  const mapped = recordTypes.length ? recordTypes : [MASTER_RECORD_TYPE_ID];
  return sfJson(200, {
    layouts: [describeLayout(call, def, assigned)],
    recordTypeMappings: mapped.map((recordTypeId) => ({
      available: true,
      layoutId: layoutId(assigned),
      recordTypeId,
      urls: {
        layout: `/services/data/v${call.version}/sobjects/${def.name}/describe/layouts/${recordTypeId}`,
      },
    })),
    recordTypeSelectorRequired: [recordTypes.length > 1],
  });
}

/** A stable `00h` id for a layout (the sandbox keeps layouts by name). */
function layoutId(l: LayoutDef): string {
  let h = 0;
  for (const ch of `${l.objectName}-${l.name}`.toLowerCase()) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `00h${String(h).padStart(12, "0").slice(-12)}AAA`;
}

function describeLayout(call: RestCall, def: SObjectDef, l: LayoutDef) {
  const { org } = call.ctx;
  const sections = list(l.metadata, "layoutSections").filter((s) => str(s, "style") !== "CustomLinks");
  let tabOrder = 0;
  const detailLayoutSections = sections.map((s, k) => {
    const columns = list(s, "layoutColumns").map((c) => list(c, "layoutItems"));
    const rowCount = Math.max(0, ...columns.map((c) => c.length));
    const item = (i: MetadataRecord | undefined) => {
      const name = i && str(i, "field");
      const f = name ? org.schema.field(def.name, name) : undefined;
      if (!f || !org.security.canRead(call.actor, def.name, f))
        return {
          editableForNew: false,
          editableForUpdate: false,
          label: "",
          layoutComponents: [],
          placeholder: true,
          required: false,
        };
      const behavior = str(i!, "behavior") ?? "Edit";
      const editable =
        behavior !== "Readonly" && f.updateable && org.security.canEdit(call.actor, def.name, f);
      return {
        editableForNew:
          behavior !== "Readonly" && f.createable && org.security.canEdit(call.actor, def.name, f),
        editableForUpdate: editable,
        label: f.label,
        layoutComponents: [{ displayLines: 1, tabOrder: ++tabOrder, type: "Field", value: f.name }],
        placeholder: false,
        required: behavior === "Required",
      };
    };
    const layoutRows = Array.from({ length: rowCount }, (_, r) => {
      const layoutItems = columns.map((c) => item(c[r]));
      return { layoutItems, numItems: layoutItems.length };
    });
    return {
      collapsed: false,
      columns: columns.length,
      heading: str(s, "label") ?? "",
      layoutRows,
      layoutSectionId: `01B${String(k).padStart(12, "0")}AAA`,
      rows: rowCount,
      useCollapsibleSection: false,
      useHeading: str(s, "detailHeading") !== "false",
    };
  });
  // The publisher's and Lightning's action lists, each action once: the sandbox draws no line between them.
  const quickActionListItems = layoutActionNames(l.metadata)
    .filter((n, i, all) => all.findIndex((m) => m.toLowerCase() === n.toLowerCase()) === i)
    .map((quickActionName) => {
      const action = org.quickActions.get(def.name, quickActionName);
      return {
        label: action?.label ?? quickActionName,
        quickActionName: action ? `${action.objectName}.${action.name}` : quickActionName,
        targetSobjectType: action ? def.name : null,
        type: action?.type ?? "Standard",
      };
    });
  return { detailLayoutSections, id: layoutId(l), quickActionList: { quickActionListItems } };
}
