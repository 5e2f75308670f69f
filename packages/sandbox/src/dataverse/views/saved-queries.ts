import { randomUUID } from "node:crypto";
import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import { allRelationships } from "../schema/relationships.js";
import { isLookupRef, type Row } from "../store/store.js";
import { type FetchQuery, FetchXmlError, parseFetchXml } from "./fetch-xml.js";
import { LayoutXmlError, validateLayoutXml } from "./layout-xml.js";
import { FORM_COMPONENT } from "./system-forms.js";

/**
 * Saved views (`savedquery` rows) and solution membership. A view's FetchXml and LayoutXml are
 * checked on every create and update, so a broken view is refused at the write, as Dataverse does
 * (learn.microsoft.com/power-apps/developer/data-platform/customize-entity-views). Solution
 * components are recorded for creates sent with `MSCRM.SolutionUniqueName`
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/create-update-entity-definitions-using-web-api)
 * and by the `AddSolutionComponent` action.
 */

/** `componenttype` of a view (savedquery) in `solutioncomponent`. */
export const VIEW_COMPONENT = 26;
/** `componenttype` of a column (attribute). */
export const ATTRIBUTE_COMPONENT = 2;
/** `componenttype` of an alternate key. */
export const KEY_COMPONENT = 14;
/** `componenttype` of a security role in `solutioncomponents`. */
export const ROLE_COMPONENT = 20;

/**
 * A view Dataverse would refuse. The exact codes for a broken FetchXml are not all documented; an
 * unknown column is QueryBuilderNoAttribute (0x80041103), the rest InvalidArgument (0x80040203).
 */
function invalidView(e: Error): DataverseError {
  const code = /doesn't contain attribute/.test(e.message) ? "0x80041103" : "0x80040203";
  return new DataverseError(400, code, e.message);
}

/** The FetchXml of a stored view, parsed against today's schema (a column may have gone since). */
export function viewQuery(env: Env, view: Row): FetchQuery {
  try {
    return parseFetchXml(env, String(view.fetchxml ?? ""));
  } catch (e) {
    if (e instanceof FetchXmlError) throw invalidView(e);
    throw e;
  }
}

/** Checks a created or updated view (the row as it will be stored); throws the Web API's 400. */
export function checkSavedQuery(env: Env, row: Row): void {
  const returned = row.returnedtypecode;
  if (typeof returned !== "string" || !returned)
    throw dvErrors.badRequest(
      "A view needs returnedtypecode: the logical name of its table, e.g. 'opportunity'.",
    );
  const table = env.schema.table(returned);
  if (!table) throw dvErrors.badRequest(`The returnedtypecode '${returned}' names no table.`);
  if (typeof row.name !== "string" || !row.name.trim()) throw dvErrors.badRequest("A view needs a name.");
  if (typeof row.querytype !== "number")
    throw dvErrors.badRequest("A view needs querytype (0: a public view).");
  if (typeof row.fetchxml !== "string") throw dvErrors.badRequest("A view needs fetchxml.");
  const q = viewQuery(env, row);
  if (q.table.logicalName !== table.logicalName)
    throw dvErrors.badRequest(
      `The FetchXml queries '${q.table.logicalName}' but the view's returnedtypecode is '${table.logicalName}'.`,
    );
  if (typeof row.layoutxml === "string") {
    try {
      validateLayoutXml(table, row.layoutxml);
    } catch (e) {
      if (e instanceof LayoutXmlError) throw invalidView(e);
      throw e;
    }
  }
}

export function solutionNamed(env: Env, uniqueName: string): Row {
  const sol = [...env.store.all("solution")].find(
    (s) => typeof s.uniquename === "string" && s.uniquename.toLowerCase() === uniqueName.toLowerCase(),
  );
  if (!sol)
    throw new DataverseError(
      404,
      "0x80040217",
      `The solution '${uniqueName}' does not exist. Create it first (POST solutions) or name an existing one.`,
    );
  return sol;
}

/** Adds a component to an unmanaged solution, once (a second add of the same component is a no-op). */
export function addSolutionComponent(env: Env, uniqueName: string, objectId: string, type: number): void {
  const sol = solutionNamed(env, uniqueName);
  if (sol.ismanaged === true)
    throw dvErrors.badRequest(
      `The solution '${uniqueName}' is managed: components can only be added to an unmanaged solution.`,
    );
  const solutionId = String(sol.solutionid);
  const id = objectId.toLowerCase();
  const present = [...env.store.all("solutioncomponent")].some(
    (c) =>
      c.objectid === id &&
      c.componenttype === type &&
      isLookupRef(c.solutionid) &&
      c.solutionid.id === solutionId,
  );
  if (present) return;
  const componentId = randomUUID();
  env.store.put("solutioncomponent", componentId, {
    solutioncomponentid: componentId,
    objectid: id,
    componenttype: type,
    rootcomponentbehavior: 0,
    solutionid: { id: solutionId, table: "solution" },
    versionnumber: env.store.nextVersion(),
  });
}

/** Drops the solution components of a deleted row. */
export function removeSolutionComponents(env: Env, objectId: string): void {
  const id = objectId.toLowerCase();
  for (const c of [...env.store.all("solutioncomponent")])
    if (c.objectid === id) env.store.remove("solutioncomponent", String(c.solutioncomponentid));
}

/**
 * `componenttype` of a table and of a relationship (solutioncomponent table reference: 1 Entity,
 * 10 Entity Relationship); `AddSolutionComponent` names them by MetadataId.
 */
const ENTITY_COMPONENT_TYPE = 1;
const RELATIONSHIP_COMPONENT_TYPE = 10;
const METADATA_ADDABLE: Record<number, { what: string; ids: (env: Env) => Set<string> }> = {
  [ENTITY_COMPONENT_TYPE]: {
    what: "table",
    ids: (env) => new Set(env.schema.tables().map((t) => t.metadataId.toLowerCase())),
  },
  [RELATIONSHIP_COMPONENT_TYPE]: {
    what: "relationship",
    ids: (env) => new Set(allRelationships(env).map((r) => r.metadataId.toLowerCase())),
  },
};

/** The component types `AddSolutionComponent` accepts here, and the rows they must name. */
const ADDABLE: Record<number, string> = {
  [VIEW_COMPONENT]: "savedquery",
  [FORM_COMPONENT]: "systemform",
  [ROLE_COMPONENT]: "role",
};

/**
 * `AddSolutionComponent` (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/addsolutioncomponent):
 * ComponentId, ComponentType, SolutionUniqueName and AddRequiredComponents are required.
 */
export function addSolutionComponentAction(env: Env, body: Record<string, unknown>): void {
  const { ComponentId, ComponentType, SolutionUniqueName, AddRequiredComponents } = body;
  if (
    typeof ComponentId !== "string" ||
    typeof ComponentType !== "number" ||
    typeof SolutionUniqueName !== "string" ||
    typeof AddRequiredComponents !== "boolean"
  )
    throw dvErrors.badRequest(
      "AddSolutionComponent needs ComponentId (Guid), ComponentType (Int32), SolutionUniqueName (String) and AddRequiredComponents (Boolean).",
      "0x80060888",
    );
  const id = ComponentId.toLowerCase();
  const metadata = METADATA_ADDABLE[ComponentType];
  if (metadata) {
    // Tables and relationships are definitions, not rows: they are named by their MetadataId.
    if (!metadata.ids(env).has(id))
      throw new DataverseError(
        404,
        "0x80040217",
        `No ${metadata.what} has the MetadataId ${ComponentId} (ComponentType ${ComponentType}).`,
      );
    addSolutionComponent(env, SolutionUniqueName, ComponentId, ComponentType);
    return;
  }
  const table = ADDABLE[ComponentType];
  if (!table)
    throw dvErrors.badRequest(
      `The sandbox adds only tables (ComponentType ${ENTITY_COMPONENT_TYPE}), relationships (${RELATIONSHIP_COMPONENT_TYPE}), views (${VIEW_COMPONENT}), forms (${FORM_COMPONENT}) and security roles (${ROLE_COMPONENT}) with AddSolutionComponent, not ComponentType ${ComponentType}.`,
    );
  if (!env.store.get(table, id)) throw dvErrors.recordNotFound(table, ComponentId);
  addSolutionComponent(env, SolutionUniqueName, ComponentId, ComponentType);
}

/**
 * What a write of a view entails besides storing it: the view is checked, and it joins the solution
 * named by `MSCRM.SolutionUniqueName`. Runs inside the request's transaction, so a refused view
 * leaves nothing behind.
 */
export function afterViewWrite(env: Env, row: Row, solution: string | undefined, before?: Row): void {
  // A view's table is set when it is created. Whether Dataverse ignores or refuses a change in an
  // update is not documented; the sandbox takes the strict reading.
  if (before && before.returnedtypecode !== row.returnedtypecode)
    throw dvErrors.badRequest("The returnedtypecode of a view cannot be changed: create a new view instead.");
  checkSavedQuery(env, row);
  if (solution !== undefined) addSolutionComponent(env, solution, String(row.savedqueryid), VIEW_COMPONENT);
}
