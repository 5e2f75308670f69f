import type { SandboxResponse } from "../../kit/http.js";
import type { Env } from "../env.js";
import { dvErrors } from "../errors.js";
import { parseExpand, parsePrefer, parseSelect, QueryOptionError } from "../odata/query-options.js";
import { resolveAlternateKey } from "../records/alternate-keys.js";
import {
  compileRowFilter,
  contextPath,
  serializeRow,
  sortRows,
  validateExpand,
  validateSelect,
} from "../records/reads.js";
import {
  createRow,
  deleteRow,
  etagMatches,
  etagOf,
  plainColumn,
  resolveEntityReference,
  updateRow,
} from "../records/writes.js";
import type { TableDef } from "../schema/types.js";
import type { Row, Stored } from "../store/store.js";
import { toJson } from "../values.js";
import { afterCustomizationWrite } from "../views/customization-writes.js";
import { removeSolutionComponents } from "../views/saved-queries.js";
import { queryCollection } from "./collection-query.js";
import { formatKeyLiteral, type PathSegment, type SegmentKey } from "./resource-path.js";
import { type DvRequest, noContent, odataJson, readJson } from "./respond.js";

/** Routes under an entity set: the collection, one row by id or alternate key, and its properties. */

/** The row a URL key names: by id, or by an alternate key (which may match nothing yet). */
interface Target {
  id: string | undefined;
  /** `opportunities(cosell_referralid='ABC')` for alternate keys, `opportunities(<id>)` otherwise. */
  path: string;
  keyValues?: Record<string, Stored>;
  keyColumns?: string[];
  byKey: boolean;
}

function resolveTarget(env: Env, table: TableDef, key: SegmentKey): Target {
  if (key.kind === "id") return { id: key.id, path: `${table.entitySetName}(${key.id})`, byKey: false };
  if (key.kind === "empty") throw dvErrors.invalidKey(table.logicalName);
  const names = Object.keys(key.values);
  const only = key.values[table.primaryId];
  if (names.length === 1 && only?.type === "guid")
    return { id: only.value, path: `${table.entitySetName}(${only.value})`, byKey: false };
  const match = resolveAlternateKey(env, table, key.values);
  const form = Object.entries(key.values)
    .map(([k, v]) => `${k}=${formatKeyLiteral(v)}`)
    .join(",");
  return {
    id: match.id,
    path: `${table.entitySetName}(${form})`,
    keyValues: match.values,
    keyColumns: match.key.keyAttributes,
    byKey: true,
  };
}

function notFound(table: TableDef, target: Target) {
  return target.byKey || !target.id
    ? dvErrors.keyRecordNotFound(table.logicalName)
    : dvErrors.recordNotFound(table.logicalName, target.id);
}

function readOptions(env: Env, table: TableDef, req: DvRequest) {
  try {
    const select = parseSelect(req.url.searchParams.get("$select"));
    const expand = parseExpand(req.url.searchParams.get("$expand"));
    validateSelect(env, table, select);
    validateExpand(env, table, expand);
    return { select, expand, annotations: parsePrefer(req.headers.prefer).includeAnnotations };
  } catch (e) {
    if (e instanceof QueryOptionError) throw dvErrors.badRequest(e.message, "0x80060888");
    throw e;
  }
}

/** The body (and headers) of a `return=representation` answer. */
function representation(
  env: Env,
  table: TableDef,
  row: Row,
  req: DvRequest,
  status: number,
): SandboxResponse {
  const opts = readOptions(env, table, req);
  return odataJson(
    status,
    {
      "@odata.context": `${req.base}$metadata#${contextPath(table.entitySetName, opts.select, opts.expand)}/$entity`,
      ...serializeRow(env, table, row, opts),
    },
    { "Preference-Applied": "return=representation", ETag: etagOf(row) },
  );
}

function entityIdHeaders(req: DvRequest, path: string): Record<string, string> {
  const url = `${req.base}${path}`;
  // Inside $batch Dataverse also sends Location (documented batch samples).
  return req.inBatch ? { Location: url, "OData-EntityId": url } : { "OData-EntityId": url };
}

function create(env: Env, table: TableDef, req: DvRequest): SandboxResponse {
  const prefs = parsePrefer(req.headers.prefer);
  const body = readJson(req, badJson);
  const row = createRow(env, table, body, req.caller);
  afterCustomizationWrite(env, table.logicalName, row, req.headers["mscrm.solutionuniquename"]);
  if (prefs.returnRepresentation) return representation(env, table, row, req, 201);
  return noContent(entityIdHeaders(req, `${table.entitySetName}(${row[table.primaryId]})`));
}

function retrieve(env: Env, table: TableDef, target: Target, req: DvRequest): SandboxResponse {
  const opts = readOptions(env, table, req);
  const prefs = parsePrefer(req.headers.prefer);
  const row = target.id ? env.store.get(table.logicalName, target.id) : undefined;
  if (!row) throw notFound(table, target);
  const ifNoneMatch = req.headers["if-none-match"];
  // Never 304 with $expand or annotations (documented).
  if (
    ifNoneMatch &&
    ifNoneMatch !== "null" &&
    !opts.expand &&
    !opts.annotations &&
    etagMatches(ifNoneMatch, row)
  )
    return { status: 304, headers: { "OData-Version": "4.0", ETag: etagOf(row) } };
  return odataJson(
    200,
    {
      "@odata.context": `${req.base}$metadata#${contextPath(table.entitySetName, opts.select, opts.expand)}/$entity`,
      ...serializeRow(env, table, row, opts),
    },
    {
      ETag: etagOf(row),
      ...(prefs.includeAnnotationsRaw !== undefined
        ? { "Preference-Applied": `odata.include-annotations="${prefs.includeAnnotationsRaw}"` }
        : {}),
    },
  );
}

/** PATCH: update, or upsert (create) when the row does not exist, with If-Match / If-None-Match. */
function patch(env: Env, table: TableDef, target: Target, req: DvRequest): SandboxResponse {
  const prefs = parsePrefer(req.headers.prefer);
  const ifMatch = req.headers["if-match"];
  const ifNoneMatch = req.headers["if-none-match"];
  const body = readJson(req, badJson);
  const before = target.id !== undefined ? env.store.get(table.logicalName, target.id) : undefined;
  const exists = before !== undefined;
  if (ifNoneMatch?.trim() === "*" && exists) throw dvErrors.duplicate();
  if (ifMatch && !exists) throw notFound(table, target);
  let row: Row;
  let created = false;
  if (exists) {
    row = updateRow(env, table, target.id!, body, req.caller, { ifMatch, strip: target.keyColumns });
  } else {
    row = createRow(env, table, body, req.caller, {
      id: target.byKey ? undefined : target.id,
      keyValues: target.keyValues,
    });
    created = true;
  }
  afterCustomizationWrite(env, table.logicalName, row, req.headers["mscrm.solutionuniquename"], before);
  if (prefs.returnRepresentation) return representation(env, table, row, req, created ? 201 : 200);
  const path = target.byKey ? target.path : `${table.entitySetName}(${row[table.primaryId]})`;
  return noContent(entityIdHeaders(req, path));
}

function remove(env: Env, table: TableDef, target: Target, req: DvRequest): SandboxResponse {
  if (!target.id) throw notFound(table, target);
  deleteRow(env, table, target.id, req.caller, req.headers["if-match"]);
  removeSolutionComponents(env, target.id);
  return noContent();
}

function badJson() {
  return dvErrors.badRequest("Invalid JSON. A token was not recognized in the JSON content.", "0x80060888");
}

function existingRow(env: Env, table: TableDef, target: Target): Row {
  const row = target.id ? env.store.get(table.logicalName, target.id) : undefined;
  if (!row) throw notFound(table, target);
  return row;
}

/** `/{set}(id)/{nav}`, `/{set}(id)/{property}` and `/{set}(id)/{nav}/$ref`. */
function subResource(
  env: Env,
  table: TableDef,
  target: Target,
  rest: PathSegment[],
  req: DvRequest,
): SandboxResponse {
  const [seg, ref] = rest;
  const name = seg!.name;
  const row = existingRow(env, table, target);
  const id = String(row[table.primaryId]);
  const single = env.schema.navigation(table, name);
  const many = env.schema.collectionNavigation(table, name);

  if (ref?.name === "$ref" && rest.length === 2) {
    if (single) {
      if (req.method === "PUT") {
        const body = readJson(req, badJson) as Record<string, unknown>;
        updateRow(env, table, id, { [`${name}@odata.bind`]: body["@odata.id"] }, req.caller);
        return noContent();
      }
      if (req.method === "DELETE") {
        updateRow(env, table, id, { [`${name}@odata.bind`]: null }, req.caller);
        return noContent();
      }
    }
    if (many) {
      const targetTable = env.schema.require(many.targetTable);
      if (req.method === "POST") {
        const body = readJson(req, badJson) as Record<string, unknown>;
        const other = resolveEntityReference(
          env,
          { nav: name, column: table.columns.get(table.primaryId)!, targetTable: many.targetTable },
          body["@odata.id"],
        );
        // Dataverse refuses to associate a pair that is already associated (duplicate key).
        if (env.store.linked(many.relationship, id).includes(other.id.toLowerCase()))
          throw dvErrors.duplicate();
        env.store.link(many.relationship, id, other.id);
        return noContent();
      }
      if (req.method === "DELETE") {
        const otherId =
          seg?.key?.kind === "id"
            ? seg.key.id
            : /\(([0-9a-f-]{36})\)/i.exec(req.url.searchParams.get("$id") ?? "")?.[1]?.toLowerCase();
        if (!otherId)
          throw dvErrors.badRequest(
            `Name the ${targetTable.logicalName} to disassociate: ${name}(<id>)/$ref or ?$id=<url>.`,
          );
        env.store.unlink(many.relationship, id, otherId);
        return noContent();
      }
    }
    throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
  }
  if (rest.length !== 1) throw dvErrors.segmentNotFound(rest[rest.length - 1]!.name);

  if (single && req.method === "GET") {
    const ref2 = row[single.column.logicalName];
    const targetTable = env.schema.require(single.targetTable);
    const related =
      ref2 && typeof ref2 === "object" && ref2.table === single.targetTable
        ? env.store.get(targetTable.logicalName, ref2.id)
        : undefined;
    if (!related) return noContent();
    return retrieve(
      env,
      targetTable,
      { id: String(related[targetTable.primaryId]), path: "", byKey: false },
      req,
    );
  }
  if (many && req.method === "GET") {
    const targetTable = env.schema.require(many.targetTable);
    const opts = readOptions(env, targetTable, req);
    let rows = env.store
      .linked(many.relationship, id)
      .map((x) => env.store.get(targetTable.logicalName, x))
      .filter((r): r is Row => r !== undefined);
    const filter = req.url.searchParams.get("$filter");
    if (filter) rows = rows.filter(compileRowFilter(env, targetTable, filter));
    rows = sortRows(targetTable, rows, []);
    return odataJson(200, {
      "@odata.context": `${req.base}$metadata#${contextPath(targetTable.entitySetName, opts.select, opts.expand)}`,
      value: rows.map((r) => serializeRow(env, targetTable, r, opts)),
    });
  }
  const col = plainColumn(table, name);
  if (!col) throw dvErrors.segmentNotFound(name);
  if (req.method === "GET") {
    const value = toJson(row[col.logicalName] ?? null);
    if (value === null) return noContent();
    return odataJson(200, { "@odata.context": `${req.base}$metadata#${target.path}/${name}`, value });
  }
  if (req.method === "PUT") {
    const body = readJson(req, badJson) as Record<string, unknown>;
    updateRow(env, table, id, { [name]: body.value ?? null }, req.caller);
    return noContent();
  }
  if (req.method === "DELETE") {
    updateRow(env, table, id, { [name]: null }, req.caller);
    return noContent();
  }
  throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
}

/** Everything under `/{entityset}`. */
export function entitySetRoute(
  env: Env,
  table: TableDef,
  segments: PathSegment[],
  req: DvRequest,
): SandboxResponse {
  const [first, ...rest] = segments;
  // Solution components are read-only rows: AddSolutionComponent and MSCRM.SolutionUniqueName fill
  // them (learn.microsoft.com/power-apps/developer/data-platform/reference/entities/solutioncomponent).
  if (table.logicalName === "solutioncomponent" && req.method !== "GET")
    throw dvErrors.badRequest(
      "Solution components cannot be written directly: create the component with the MSCRM.SolutionUniqueName header, or call AddSolutionComponent.",
    );
  if (!first!.key) {
    if (rest.length > 0) throw dvErrors.segmentNotFound(rest[0]!.name);
    if (req.method === "GET") return queryCollection(env, table, req);
    if (req.method === "POST") return create(env, table, req);
    throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
  }
  const target = resolveTarget(env, table, first!.key);
  if (rest.length > 0) return subResource(env, table, target, rest, req);
  switch (req.method) {
    case "GET":
      return retrieve(env, table, target, req);
    case "PATCH":
      return patch(env, table, target, req);
    case "DELETE":
      return remove(env, table, target, req);
    default:
      throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
  }
}
