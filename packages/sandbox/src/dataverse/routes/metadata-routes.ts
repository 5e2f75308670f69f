import type { SandboxResponse } from "../../kit/http.js";
import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import { isGuid } from "../ids.js";
import { type FilterNode, FilterSyntaxError, parseFilter } from "../odata/filter.js";
import { compileFilter, type EdmType, FilterSemanticError } from "../odata/filter-eval.js";
import { type ExpandItem, parseExpand, parseSelect, QueryOptionError } from "../odata/query-options.js";
import { createTable } from "../schema/custom-tables.js";
import {
  attributeJson,
  attributeMetadataType,
  createAttribute,
  createKey,
  entityJson,
  keyJson,
  updateAttribute,
} from "../schema/metadata.js";
import type { TableDef } from "../schema/types.js";
import { ATTRIBUTE_COMPONENT, addSolutionComponent, KEY_COMPONENT } from "../views/saved-queries.js";
import type { PathSegment, SegmentKey } from "./resource-path.js";
import { type DvRequest, noContent, odataJson, readJson } from "./respond.js";

/**
 * `EntityDefinitions` routes: read entity, attribute and key metadata; create attributes and keys;
 * turn on change tracking with a PUT of the entity definition.
 */

type Json = Record<string, unknown>;

function badJson() {
  return dvErrors.badRequest("Invalid JSON. A token was not recognized in the JSON content.", "0x80060888");
}

function findTable(env: Env, key: SegmentKey | undefined): TableDef {
  let table: TableDef | undefined;
  let name = "";
  if (key?.kind === "id") {
    table = env.schema.tables().find((t) => t.metadataId === key.id);
    name = key.id;
  } else if (key?.kind === "alternate" && key.values.LogicalName?.type === "string") {
    name = key.values.LogicalName.value;
    table = env.schema.table(name);
  }
  if (!table)
    throw new DataverseError(404, "0x80040217", `Could not find an entity with specified name: ${name}.`);
  return table;
}

function walk(node: FilterNode, visit: (n: FilterNode) => void): void {
  visit(node);
  if (node.kind === "and" || node.kind === "or") {
    walk(node.left, visit);
    walk(node.right, visit);
  } else if (node.kind === "not") walk(node.operand, visit);
}

/** Applies `$filter` to metadata objects (no string functions, as in Dataverse). */
function filterMetadata(objects: Json[], text: string | null, typeName: string): Json[] {
  if (!text) return objects;
  try {
    const node = parseFilter(text);
    walk(node, (n) => {
      if (n.kind === "call")
        throw new DataverseError(
          501,
          "0x8006088a",
          `The "${n.fn}" function isn't supported for Metadata Entities.`,
        );
    });
    const predicate = compileFilter<Json>(node, {
      typeOf: (name): EdmType | undefined => {
        const sample = objects.find((o) => o[name] !== undefined && o[name] !== null)?.[name];
        if (sample === undefined) return objects.some((o) => name in o) ? "Edm.String" : undefined;
        if (typeof sample === "boolean") return "Edm.Boolean";
        if (typeof sample === "number") return "Edm.Int32";
        if (typeof sample === "string") return isGuid(sample) ? "Edm.Guid" : "Edm.String";
        return undefined;
      },
      valueOf: (o, name) => o[name],
    });
    return objects.filter(predicate);
  } catch (e) {
    if (e instanceof FilterSyntaxError)
      throw dvErrors.badRequest(`Syntax error at position ${e.position} in '${text}'.`, "0x80060888");
    if (e instanceof FilterSemanticError)
      throw dvErrors.badRequest(
        e.reason === "unknownProperty"
          ? `Could not find a property named '${e.property}' on type 'Microsoft.Dynamics.CRM.${typeName}'.`
          : e.message,
        "0x80060888",
      );
    throw e;
  }
}

function applySelect(obj: Json, select: string[] | undefined, typeName: string): Json {
  if (!select) return obj;
  const out: Json = {};
  if (obj["@odata.type"]) out["@odata.type"] = obj["@odata.type"];
  for (const name of select) {
    if (!(name in obj)) throw dvErrors.unknownProperty(name, typeName);
    out[name] = obj[name];
  }
  out.MetadataId = obj.MetadataId;
  return out;
}

function queryOptions(req: DvRequest): { select?: string[]; expand?: ExpandItem[]; filter: string | null } {
  try {
    return {
      select: parseSelect(req.url.searchParams.get("$select")),
      expand: parseExpand(req.url.searchParams.get("$expand")),
      filter: req.url.searchParams.get("$filter"),
    };
  } catch (e) {
    if (e instanceof QueryOptionError) throw dvErrors.badRequest(e.message, "0x80060888");
    throw e;
  }
}

function attributesOf(table: TableDef, item: ExpandItem | undefined): Json[] {
  let list = [...table.columns.values()].map((c) => attributeJson(table, c));
  list = filterMetadata(list, item?.filter ?? null, "AttributeMetadata");
  return list.map((a) => applySelect(a, item?.select, "AttributeMetadata"));
}

function keysOf(table: TableDef, item: ExpandItem | undefined): Json[] {
  return [...table.keys.values()].map((k) =>
    applySelect(keyJson(table, k), item?.select, "EntityKeyMetadata"),
  );
}

function entityWithExpand(
  table: TableDef,
  select: string[] | undefined,
  expand: ExpandItem[] | undefined,
): Json {
  const out = applySelect(entityJson(table), select, "EntityMetadata");
  for (const item of expand ?? []) {
    if (item.nav === "Attributes") out.Attributes = attributesOf(table, item);
    else if (item.nav === "Keys") out.Keys = keysOf(table, item);
    else throw dvErrors.unknownProperty(item.nav, "EntityMetadata");
  }
  return out;
}

function contextSelect(select: string[] | undefined): string {
  return select ? `(${select.join(",")})` : "";
}

/** Everything under `/EntityDefinitions`. */
export function metadataRoute(env: Env, segments: PathSegment[], req: DvRequest): SandboxResponse {
  const [entitySeg, sub, item, cast] = segments;
  const solution = req.headers["mscrm.solutionuniquename"];
  if (!entitySeg!.key) {
    if (req.method === "POST" && segments.length === 1) {
      const created = createTable(env, readJson(req, badJson), solution);
      return noContent({ "OData-EntityId": `${req.base}EntityDefinitions(${created.metadataId})` });
    }
    if (req.method !== "GET" || segments.length > 1)
      throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
    const q = queryOptions(req);
    let list = env.schema.tables().map((t) => entityJson(t));
    list = filterMetadata(list, q.filter, "EntityMetadata");
    const tables = list.map((e) => env.schema.table(String(e.LogicalName))!);
    return odataJson(200, {
      "@odata.context": `${req.base}$metadata#EntityDefinitions${contextSelect(q.select)}`,
      value: tables.map((t) => entityWithExpand(t, q.select, q.expand)),
    });
  }
  const table = findTable(env, entitySeg!.key);
  const entityPath = `EntityDefinitions(LogicalName='${table.logicalName}')`;

  if (!sub) {
    if (req.method === "GET") {
      const q = queryOptions(req);
      return odataJson(200, {
        "@odata.context": `${req.base}$metadata#EntityDefinitions${contextSelect(q.select)}/$entity`,
        ...entityWithExpand(table, q.select, q.expand),
      });
    }
    // Table definitions are updated with PUT only; the service answers PATCH with 405
    // (learn.microsoft.com/power-apps/developer/data-platform/webapi/create-update-entity-definitions-using-web-api).
    if (req.method === "PUT") {
      const body = readJson(req, badJson) as Json;
      if (body.ChangeTrackingEnabled === true) table.changeTrackingEnabled = true;
      else if (body.ChangeTrackingEnabled === false && table.changeTrackingEnabled)
        throw dvErrors.badRequest(
          `Change tracking cannot be disabled once it is enabled (entity '${table.logicalName}').`,
        );
      return noContent();
    }
    throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
  }

  if (sub.name === "Attributes") {
    if (!sub.key) {
      if (req.method === "GET") {
        const q = queryOptions(req);
        return odataJson(200, {
          "@odata.context": `${req.base}$metadata#${entityPath}/Attributes${contextSelect(q.select)}`,
          value: attributesOf(table, { nav: "Attributes", select: q.select, filter: q.filter ?? undefined }),
        });
      }
      if (req.method === "POST") {
        const col = createAttribute(env, table, readJson(req, badJson), solution);
        if (solution !== undefined) addSolutionComponent(env, solution, col.metadataId, ATTRIBUTE_COMPONENT);
        return noContent({ "OData-EntityId": `${req.base}${entityPath}/Attributes(${col.metadataId})` });
      }
      throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
    }
    let name = "";
    let col = undefined as ReturnType<TableDef["columns"]["get"]>;
    if (sub.key.kind === "id") {
      const id = sub.key.id;
      name = id;
      col = [...table.columns.values()].find((c) => c.metadataId === id);
    } else if (sub.key.kind === "alternate" && sub.key.values.LogicalName?.type === "string") {
      name = sub.key.values.LogicalName.value;
      col = table.columns.get(name);
    }
    if (!col)
      throw new DataverseError(
        404,
        "0x80040217",
        `Could not find an attribute with specified name: ${name}.`,
      );
    if (req.method === "PUT" && !item) {
      updateAttribute(col, readJson(req, badJson));
      return noContent();
    }
    if (req.method !== "GET") throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
    const q = queryOptions(req);
    let withOptionSet = false;
    if (item) {
      const wanted = item.name.replace(/^Microsoft\.Dynamics\.CRM\./, "");
      if (wanted !== attributeMetadataType(col) || cast)
        throw dvErrors.badRequest(`The attribute '${col.logicalName}' is not a ${wanted}.`, "0x80060888");
      withOptionSet = (q.expand ?? []).some((e) => e.nav === "OptionSet" || e.nav === "GlobalOptionSet");
    }
    const json = attributeJson(table, col, withOptionSet);
    return odataJson(200, {
      "@odata.context": `${req.base}$metadata#${entityPath}/Attributes${item ? `/${item.name}` : ""}${contextSelect(q.select)}/$entity`,
      ...applySelect(json, q.select, "AttributeMetadata"),
      ...(withOptionSet ? { OptionSet: json.OptionSet } : {}),
    });
  }

  if (sub.name === "Keys") {
    if (!sub.key) {
      if (req.method === "GET") {
        const q = queryOptions(req);
        return odataJson(200, {
          "@odata.context": `${req.base}$metadata#${entityPath}/Keys${contextSelect(q.select)}`,
          value: keysOf(table, { nav: "Keys", select: q.select }),
        });
      }
      if (req.method === "POST") {
        const key = createKey(env, table, readJson(req, badJson), solution);
        if (solution !== undefined) addSolutionComponent(env, solution, key.metadataId, KEY_COMPONENT);
        return noContent({ "OData-EntityId": `${req.base}${entityPath}/Keys(${key.metadataId})` });
      }
      throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
    }
    const keyRef = sub.key;
    const key = [...table.keys.values()].find((k) =>
      keyRef.kind === "id"
        ? k.metadataId === keyRef.id
        : keyRef.kind === "alternate" && keyRef.values.LogicalName?.type === "string"
          ? k.logicalName === keyRef.values.LogicalName.value.toLowerCase()
          : false,
    );
    if (!key)
      throw new DataverseError(
        404,
        "0x80040217",
        `Could not find the entity key on entity '${table.logicalName}'.`,
      );
    if (req.method === "GET") {
      const q = queryOptions(req);
      return odataJson(200, {
        "@odata.context": `${req.base}$metadata#${entityPath}/Keys${contextSelect(q.select)}/$entity`,
        ...applySelect(keyJson(table, key), q.select, "EntityKeyMetadata"),
      });
    }
    if (req.method === "DELETE") {
      table.keys.delete(key.logicalName);
      env.store.dropKeyIndex(table.logicalName, key.logicalName);
      return noContent();
    }
    throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
  }
  throw dvErrors.segmentNotFound(sub.name);
}
