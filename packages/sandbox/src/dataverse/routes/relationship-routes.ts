import type { SandboxResponse } from "../../kit/http.js";
import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import { createRelationship } from "../schema/custom-tables.js";
import { allRelationships, findRelationship, type RelationshipDef } from "../schema/relationships.js";
import type { PathSegment } from "./resource-path.js";
import { type DvRequest, noContent, odataJson, readJson } from "./respond.js";

/**
 * A relationship as the Web API describes it: its definition plus `MetadataId`, which every
 * RelationshipMetadataBase carries (Web API reference, RelationshipMetadataBase EntityType) and which
 * names it as a solution component (`solutioncomponents.objectid`, componenttype 10).
 */
const described = (rel: RelationshipDef) => ({ ...rel.json, MetadataId: rel.metadataId });

/**
 * `RelationshipDefinitions`: list, read one by `SchemaName` or MetadataId, create one-to-many and
 * many-to-many relationships ("Create and retrieve table relationships using the Web API").
 */
export function relationshipRoute(env: Env, segments: PathSegment[], req: DvRequest): SandboxResponse {
  const [seg, ...rest] = segments;
  if (rest.length) throw dvErrors.segmentNotFound(rest[0]!.name);
  if (!seg!.key) {
    if (req.method === "GET")
      return odataJson(200, {
        "@odata.context": `${req.base}$metadata#RelationshipDefinitions`,
        value: allRelationships(env).map(described),
      });
    if (req.method === "POST") {
      const rel = createRelationship(
        env,
        readJson(req, () => dvErrors.badRequest("Invalid JSON.", "0x80060888")),
        req.headers["mscrm.solutionuniquename"],
      );
      return noContent({ "OData-EntityId": `${req.base}RelationshipDefinitions(${rel.metadataId})` });
    }
    throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
  }
  const key = seg!.key;
  const rel =
    key.kind === "id"
      ? allRelationships(env).find((r) => r.metadataId === key.id)
      : key.kind === "alternate" && key.values.SchemaName?.type === "string"
        ? findRelationship(env, key.values.SchemaName.value)
        : undefined;
  if (!rel)
    throw new DataverseError(
      404,
      "0x80040217",
      "Could not find the relationship with the specified name or id.",
    );
  if (req.method !== "GET") throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
  return odataJson(200, {
    "@odata.context": `${req.base}$metadata#RelationshipDefinitions/$entity`,
    ...described(rel),
  });
}
