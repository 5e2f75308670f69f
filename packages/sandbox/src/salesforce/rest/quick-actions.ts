import type { SandboxResponse } from "../../kit/index.js";
import { notFound, RecordError, SalesforceApiError, sfJson } from "../errors.js";
import { toId18 } from "../ids.js";
import type { SObjectDef } from "../schema/types.js";
import type { QuickActionDef } from "../soap/quick-actions.js";
import { methodNotAllowed, objectBody, type RestCall } from "./call.js";

/**
 * `sobjects/<T>/quickActions` (the object's actions) and `sobjects/<T>/quickActions/<action>` (POST
 * invokes it with `{contextId, record}`), developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_quickactions.htm.
 * An Update action writes its predefined values, then the fields the caller submitted (a value the
 * seller typed wins over a predefined one), through the same DML as any update: field-level
 * security, restricted picklists and validation rules apply. The answer is a QuickActionResult
 * (contextId, created, errors, feedItemIds, id, ids, success, successMessage).
 * The action is named with or without its object prefix; the page's examples use both forms.
 */
export function handleQuickActions(call: RestCall, def: SObjectDef): SandboxResponse {
  const { req, ctx, segments, version } = call;
  if (segments.length === 3) {
    if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET", "HEAD"]);
    return sfJson(
      200,
      ctx.org.quickActions.of(def.name).map((a) => ({
        label: a.label,
        name: `${a.objectName}.${a.name}`,
        type: a.type,
        urls: {
          quickAction: `/services/data/v${version}/sobjects/${def.name}/quickActions/${a.objectName}.${a.name}`,
        },
      })),
    );
  }
  if (segments.length !== 4) throw notFound();
  const action = ctx.org.quickActions.get(def.name, segments[3]!);
  if (!action) throw notFound();
  if (req.method !== "POST") throw methodNotAllowed(req.method, ["POST"]);
  return sfJson(200, invoke(call, def, action));
}

function invoke(call: RestCall, def: SObjectDef, action: QuickActionDef) {
  const { ctx, actor } = call;
  const body = objectBody(call);
  const contextId = typeof body.contextId === "string" ? toId18(body.contextId) : undefined;
  const row = contextId ? ctx.org.store.get(def.name, contextId) : undefined;
  if (!row || row.IsDeleted === true)
    throw new SalesforceApiError(
      400,
      "INVALID_CROSS_REFERENCE_KEY",
      `contextId: an Update action needs the id of the ${def.name} it updates`,
      ["contextId"],
    );
  const submitted = body.record ?? {};
  if (typeof submitted !== "object" || Array.isArray(submitted))
    throw new SalesforceApiError(400, "JSON_PARSER_ERROR", "record must be a JSON object of field values");
  const values: Record<string, unknown> = {};
  for (const o of action.overrides) values[o.field] = o.value;
  for (const [k, v] of Object.entries(submitted as Record<string, unknown>)) {
    if (k === "attributes") continue;
    // A form sends the fields it shows; the page does not say what another field does, the sandbox refuses it.
    const shown = action.layoutFields.find((l) => l.field.toLowerCase() === k.toLowerCase());
    if (!shown)
      throw new SalesforceApiError(
        400,
        "INVALID_FIELD",
        `${k} is not on the layout of the action ${action.label}`,
        [k],
      );
    if (shown.uiBehavior === "Readonly")
      throw new SalesforceApiError(
        400,
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        `${k} is read-only on the action ${action.label}`,
        [k],
      );
    values[shown.field] = v;
  }
  for (const l of action.layoutFields)
    if (
      l.uiBehavior === "Required" &&
      (values[l.field] === undefined || values[l.field] === null || values[l.field] === "")
    )
      throw new SalesforceApiError(
        400,
        "REQUIRED_FIELD_MISSING",
        `Required fields are missing: [${l.field}]`,
        [l.field],
      );
  try {
    ctx.dml.update(def.name, contextId!, values, actor);
  } catch (e) {
    if (e instanceof RecordError) throw e.toApiError();
    throw e;
  }
  return {
    contextId,
    created: false,
    errors: [],
    feedItemIds: null,
    id: contextId,
    ids: [contextId],
    success: true,
    successMessage: String(action.metadata.successMessage ?? ""),
  };
}
