import type { SandboxResponse } from "../../kit/http.js";
import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import { label } from "../schema/metadata.js";
import {
  createGlobalOptionSet,
  findGlobalOptionSet,
  type GlobalOptionSet,
  globalOptionSets,
  OPTION_SET_COMPONENT,
} from "../schema/option-sets.js";
import { addSolutionComponent } from "../views/saved-queries.js";
import type { PathSegment } from "./resource-path.js";
import { type DvRequest, noContent, odataJson, readJson } from "./respond.js";

/**
 * `GlobalOptionSetDefinitions`: list, read one by MetadataId or `Name`
 * (`GlobalOptionSetDefinitions(Name='x')`), create one (204 with `OData-EntityId`).
 */
export function optionSetRoute(env: Env, segments: PathSegment[], req: DvRequest): SandboxResponse {
  const [seg, ...rest] = segments;
  if (rest.length) throw dvErrors.segmentNotFound(rest[0]!.name);
  if (!seg!.key) {
    if (req.method === "GET")
      return odataJson(200, {
        "@odata.context": `${req.base}$metadata#GlobalOptionSetDefinitions`,
        value: globalOptionSets(env).map(globalOptionSetJson),
      });
    if (req.method === "POST") {
      const set = createGlobalOptionSet(
        env,
        readJson(req, () => dvErrors.badRequest("Invalid JSON.", "0x80060888")),
      );
      const solution = req.headers["mscrm.solutionuniquename"];
      if (solution !== undefined) addSolutionComponent(env, solution, set.metadataId, OPTION_SET_COMPONENT);
      return noContent({ "OData-EntityId": `${req.base}GlobalOptionSetDefinitions(${set.metadataId})` });
    }
    throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
  }
  const key = seg!.key;
  const set =
    key.kind === "id"
      ? findGlobalOptionSet(env, { id: key.id })
      : key.kind === "alternate" && key.values.Name?.type === "string"
        ? findGlobalOptionSet(env, { name: key.values.Name.value })
        : undefined;
  if (!set)
    throw new DataverseError(404, "0x80040217", "Could not find optionset with the specified name or id.");
  if (req.method !== "GET") throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
  return odataJson(200, {
    "@odata.context": `${req.base}$metadata#GlobalOptionSetDefinitions/$entity`,
    ...globalOptionSetJson(set),
  });
}

/** The `OptionSetMetadata` JSON of a global option set. */
function globalOptionSetJson(set: GlobalOptionSet): Record<string, unknown> {
  return {
    "@odata.type": "#Microsoft.Dynamics.CRM.OptionSetMetadata",
    MetadataId: set.metadataId,
    Name: set.name,
    IsGlobal: true,
    IsCustomOptionSet: true,
    OptionSetType: "Picklist",
    DisplayName: label(set.displayName, `globaloptionset:${set.name}`),
    Options: set.options.map((o) => ({
      Value: o.value,
      Label: label(o.label, `globaloptionset:${set.name}:${o.value}`),
    })),
  };
}
