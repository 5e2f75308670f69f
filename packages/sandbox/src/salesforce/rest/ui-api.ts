import { createHash } from "node:crypto";
import type { SandboxResponse } from "../../kit/index.js";
import { notFound, sfJson } from "../errors.js";
import { toId18 } from "../ids.js";
import { requireObject } from "../store/dml.js";
import { methodNotAllowed, type RestCall } from "./call.js";
import { MASTER_RECORD_TYPE_ID } from "./describe.js";

/**
 * `GET ui-api/object-info/{objectApiName}/picklist-values/{recordTypeId}/{fieldApiName}`: a picklist's
 * values for one record type ("Get Values for a Picklist Field",
 * developer.salesforce.com/docs/atlas.en-us.uiapi.meta/uiapi/ui_api_resources_picklist_values.htm).
 * For Opportunity.StageName the values are the stages of the record type's sales process, in its
 * order; the Master record type (`012000000000000AAA`) has them all.
 */
export function handleUiApi(call: RestCall): SandboxResponse {
  const { req, segments, ctx, version } = call;
  if (segments[1] !== "object-info" || segments[3] !== "picklist-values" || segments.length !== 6)
    throw notFound();
  if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET", "HEAD"]);
  const org = ctx.org;
  const def = requireObject(org, segments[2]!);
  const field = org.schema.field(def.name, segments[5]!);
  if (!field || (field.type !== "picklist" && field.type !== "multipicklist")) throw notFound();
  const rawRt = segments[4]!;
  const rtId = toId18(rawRt) ?? rawRt;
  let entries = org.schema.picklistValues(field).filter((e) => e.active);
  if (rtId !== toId18(MASTER_RECORD_TYPE_ID) && rtId !== MASTER_RECORD_TYPE_ID) {
    const rt = org.store.get("RecordType", rtId);
    if (!rt || rt.IsDeleted === true || rt.SobjectType !== def.name) throw notFound();
    const process =
      field.picklist === "stages" && typeof rt.BusinessProcessId === "string"
        ? org.salesProcessStages.get(rt.BusinessProcessId)
        : undefined;
    if (process) {
      const byName = new Map(entries.map((e) => [e.value, e]));
      entries = process.flatMap((name) => byName.get(name) ?? []);
    }
  }
  const values = entries.map((e) => ({ attributes: null, label: e.label, validFor: [], value: e.value }));
  return sfJson(200, {
    controllerValues: {},
    defaultValue: null,
    eTag: createHash("sha1").update(JSON.stringify(values)).digest("hex"),
    url: `/services/data/v${version}/ui-api/object-info/${def.name}/picklist-values/${rawRt}/${field.name}`,
    values,
  });
}
