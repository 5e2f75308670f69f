import type { SandboxResponse } from "../../kit/http.js";
import type { Env } from "../env.js";
import { dvErrors } from "../errors.js";
import { parsePrefer } from "../odata/query-options.js";
import { serializeRow } from "../records/reads.js";
import { appliedPreferences } from "../routes/collection-options.js";
import { type DvRequest, odataJson } from "../routes/respond.js";
import type { TableDef } from "../schema/types.js";
import { runFetch } from "./fetch-xml.js";
import { viewQuery } from "./saved-queries.js";

/**
 * `GET /{entityset}?savedQuery={savedqueryid}`: runs a saved view's FetchXml and returns its rows
 * in its order, with the columns it names
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/retrieve-and-execute-predefined-queries).
 * The page does not say whether other query options may be added; the sandbox refuses them (the
 * stricter reading) and honours only the `odata.include-annotations` preference.
 */
export function runSavedQuery(env: Env, table: TableDef, req: DvRequest): SandboxResponse {
  const p = req.url.searchParams;
  for (const name of p.keys())
    if (name !== "savedQuery")
      throw dvErrors.badRequest(
        `The sandbox runs savedQuery without other query options; remove '${name}'.`,
        "0x80060888",
      );
  const id = (p.get("savedQuery") ?? "").replace(/^\{|\}$/g, "").toLowerCase();
  const view = env.store.get("savedquery", id);
  if (!view) throw dvErrors.recordNotFound("savedquery", id);
  if (view.returnedtypecode !== table.logicalName)
    throw dvErrors.badRequest(
      `The view ${id} returns '${String(view.returnedtypecode)}' rows; run it on that table's entity set, not '${table.entitySetName}'.`,
    );
  const q = viewQuery(env, view);
  const prefs = parsePrefer(req.headers.prefer);
  const select = q.columns.map((c) => env.schema.propertyName(c));
  return odataJson(
    200,
    {
      "@odata.context": `${req.base}$metadata#${table.entitySetName}`,
      value: runFetch(env, q).map((row) =>
        serializeRow(env, table, row, { select, annotations: prefs.includeAnnotations }),
      ),
    },
    appliedPreferences(prefs, undefined),
  );
}
