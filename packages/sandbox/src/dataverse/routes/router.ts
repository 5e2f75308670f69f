import type { SandboxResponse } from "../../kit/http.js";
import { executeBatch } from "../batch/execute-batch.js";
import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import { csdl } from "../schema/csdl.js";
import type { TableDef } from "../schema/types.js";
import { addPrivilegesRole, removePrivilegeRole, syncPrivileges } from "../security/privileges.js";
import { OPERATIONS, operationRoute } from "./action-routes.js";
import { entitySetRoute } from "./entity-routes.js";
import { metadataRoute } from "./metadata-routes.js";
import { optionSetRoute } from "./option-set-routes.js";
import { relationshipRoute } from "./relationship-routes.js";
import { type PathSegment, PathSyntaxError, parseResourcePath, SERVICE_ROOT_RE } from "./resource-path.js";
import { type DvRequest, errorResponse, odataHeaders, odataJson } from "./respond.js";

/**
 * Dispatches one Web API request (top-level or inside `$batch`) to its route. Each request runs in
 * a transaction, so a request that fails half-way (an action that writes two rows) leaves nothing.
 */
export function dispatch(env: Env, req: DvRequest): SandboxResponse {
  env.store.begin();
  try {
    const res = route(env, req);
    env.store.commit();
    return res;
  } catch (e) {
    env.store.rollback();
    if (e instanceof DataverseError) return errorResponse(e);
    throw e;
  }
}

const PRIVILEGE: Record<string, string> = {
  GET: "Read",
  POST: "Create",
  PATCH: "Write",
  PUT: "Write",
  DELETE: "Delete",
};

/**
 * Security roles, simplified: a caller with at least one role may do everything; a caller without
 * any gets Dataverse's PrivilegeDenied (403), which is what an application user without a role sees.
 */
function requirePrivilege(env: Env, req: DvRequest, table: TableDef, method = req.method): void {
  if (env.store.linked("systemuserroles", req.caller.userId).length > 0) return;
  throw dvErrors.privilegeDenied(
    req.caller.userId,
    `prv${PRIVILEGE[method] ?? "Read"}${table.schemaName}`,
    table.logicalName,
    table.objectTypeCode,
  );
}

/** The path below the service root, decoded, split into segments. */
export function segmentsOf(url: URL): PathSegment[] | undefined {
  if (!SERVICE_ROOT_RE.test(url.pathname) && !/^\/api\/data\/v9\.[0-2]$/.test(url.pathname)) return undefined;
  const rest = url.pathname.replace(SERVICE_ROOT_RE, "").replace(/^\/api\/data\/v9\.[0-2]$/, "");
  try {
    return parseResourcePath(decodeURIComponent(rest));
  } catch (e) {
    if (e instanceof PathSyntaxError || e instanceof URIError)
      throw dvErrors.badRequest(`Bad request URL: ${e.message}`, "0x80060888");
    throw e;
  }
}

function route(env: Env, req: DvRequest): SandboxResponse {
  const segments = segmentsOf(req.url);
  if (!segments) throw dvErrors.segmentNotFound(req.url.pathname.split("/").filter(Boolean).pop() ?? "");
  const [first] = segments;
  if (!first) {
    return odataJson(200, {
      "@odata.context": `${req.base}$metadata`,
      value: env.schema
        .tables()
        .map((t) => ({ name: t.entitySetName, kind: "EntitySet", url: t.entitySetName })),
    });
  }
  if (first.name === "$batch") {
    if (req.inBatch)
      throw dvErrors.badRequest("A batch request cannot contain another batch request.", "0x80060888");
    if (req.method !== "POST") throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
    return executeBatch(env, req, (inner) => dispatch(env, inner));
  }
  if (first.name === "$metadata") {
    return {
      status: 200,
      headers: odataHeaders({ "Content-Type": "application/xml" }),
      body: csdl(env.schema),
    };
  }
  if (OPERATIONS.has(first.name)) {
    if (segments.length > 1) throw dvErrors.segmentNotFound(segments[1]!.name);
    if (first.name !== "WhoAmI") {
      const table = env.schema.require(first.name.endsWith("Opportunity") ? "opportunity" : "solution");
      requirePrivilege(env, req, table, "PATCH");
    }
    return operationRoute(env, first.name, req);
  }
  if (first.name === "RelationshipDefinitions") {
    requirePrivilege(env, req, env.schema.require("solution"), req.method);
    return relationshipRoute(env, segments, req);
  }
  if (first.name === "GlobalOptionSetDefinitions") {
    requirePrivilege(env, req, env.schema.require("solution"), req.method);
    return optionSetRoute(env, segments, req);
  }
  if (first.name === "EntityDefinitions") {
    requirePrivilege(env, req, env.schema.require("solution"), req.method);
    return metadataRoute(env, segments, req);
  }
  const table = env.schema.tableBySet(first.name);
  if (!table) throw dvErrors.segmentNotFound(first.name);
  requirePrivilege(env, req, table);
  if (table.logicalName === "privilege") {
    // Dataverse defines privileges itself (one per table and right); the Web API offers no create,
    // update or delete of them. The exact refusal is not documented: the sandbox answers 405.
    if (req.method !== "GET") throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
    syncPrivileges(env);
  }
  const bound = segments[1]?.name.replace(/^Microsoft\.Dynamics\.CRM\./, "");
  if (table.logicalName === "role" && first.key?.kind === "id") {
    if (bound === "AddPrivilegesRole") return addPrivilegesRole(env, first.key.id, req);
    if (bound === "RemovePrivilegeRole") return removePrivilegeRole(env, first.key.id, req);
  }
  return entitySetRoute(env, table, segments, req);
}
