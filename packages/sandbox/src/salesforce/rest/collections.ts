import type { SandboxResponse } from "../../kit/index.js";
import { RecordError, type RecordErrorItem, SalesforceApiError, sfJson } from "../errors.js";
import { toId18 } from "../ids.js";
import { requireObject } from "../store/dml.js";
import { methodNotAllowed, objectBody, type RestCall } from "./call.js";
import { fieldList, recordJson } from "./records.js";

/** A SaveResult / UpsertResult item of a collection answer. */
export interface SaveResultJson {
  id?: string;
  success: boolean;
  errors: RecordErrorItem[];
  created?: boolean;
}

const MAX_WRITE = 200;
const MAX_READ = 2000;

const ROLLED_BACK: RecordErrorItem = {
  statusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
  message: "Record rolled back because not all records were valid and the request was using AllOrNone header",
  fields: [],
};

type Op = () => { id: string; created?: boolean };

interface Item {
  /** Id to report when the write fails (updates/deletes know it, creates do not). */
  id?: string;
  run: Op;
  withCreated: boolean;
}

function tooMany(max: number): SalesforceApiError {
  return new SalesforceApiError(
    400,
    "EXCEEDED_ID_LIMIT",
    `record limit reached. cannot submit more than ${max} records into this call`,
  );
}

function asRecordError(e: unknown): RecordError {
  if (e instanceof RecordError) {
    // A collection item for a record that is gone reads "entity is deleted", not a 404.
    if (e.statusCode === "NOT_FOUND") return new RecordError("ENTITY_IS_DELETED", "entity is deleted");
    return e;
  }
  if (e instanceof SalesforceApiError) return new RecordError(e.errorCode, e.message, e.fields ?? []);
  throw e;
}

/**
 * Runs the items one by one in request order, each in its own savepoint; with `allOrNone` a single
 * failure rolls every write back and the other items report ALL_OR_NONE_OPERATION_ROLLED_BACK.
 */
function runItems(call: RestCall, items: Item[], allOrNone: boolean): SaveResultJson[] {
  const store = call.ctx.org.store;
  store.begin();
  const results: SaveResultJson[] = items.map((item) => {
    store.begin();
    try {
      const r = item.run();
      store.commit();
      const ok: SaveResultJson = { id: r.id, success: true, errors: [] };
      if (item.withCreated) ok.created = r.created ?? false;
      return ok;
    } catch (e) {
      store.rollback();
      const err = asRecordError(e);
      const failed: SaveResultJson = { success: false, errors: [err.toRecordItem()] };
      if (item.id) failed.id = item.id;
      return failed;
    }
  });
  if (allOrNone && results.some((r) => !r.success)) {
    store.rollback();
    return results.map((r, i) => {
      if (!r.success) return r;
      const rolled: SaveResultJson = { success: false, errors: [ROLLED_BACK] };
      if (items[i]!.id) rolled.id = items[i]!.id;
      return rolled;
    });
  }
  store.commit();
  return results;
}

interface CollectionBody {
  allOrNone: boolean;
  records: Record<string, unknown>[];
}

function collectionBody(call: RestCall): CollectionBody {
  const body = objectBody(call);
  const records = body.records;
  if (!Array.isArray(records) || records.some((r) => !r || typeof r !== "object" || Array.isArray(r)))
    throw new SalesforceApiError(400, "JSON_PARSER_ERROR", "records must be an array of sObjects");
  if (records.length > MAX_WRITE) throw tooMany(MAX_WRITE);
  return { allOrNone: body.allOrNone === true, records: records as Record<string, unknown>[] };
}

function typeOf(record: Record<string, unknown>): string | undefined {
  const attrs = record.attributes as { type?: unknown } | undefined;
  return typeof attrs?.type === "string" ? attrs.type : undefined;
}

function recordIdOf(record: Record<string, unknown>): string | undefined {
  const v = record.id ?? record.Id;
  return typeof v === "string" ? v : undefined;
}

function unsupportedType(type: string): RecordError {
  return new RecordError("INVALID_TYPE", `sObject type '${type}' is not supported.`);
}

function missingType(): RecordError {
  return new RecordError("INVALID_TYPE", "Must specify a type in the attributes of each record");
}

function create(call: RestCall): SandboxResponse {
  const { ctx, actor } = call;
  const { allOrNone, records } = collectionBody(call);
  const items: Item[] = records.map((rec) => ({
    withCreated: false,
    run: () => {
      const type = typeOf(rec);
      if (!type) throw missingType();
      if (!ctx.org.object(type)) throw unsupportedType(type);
      return { id: ctx.dml.insert(type, rec, actor) };
    },
  }));
  return sfJson(200, runItems(call, items, allOrNone));
}

function update(call: RestCall): SandboxResponse {
  const { ctx, actor } = call;
  const { allOrNone, records } = collectionBody(call);
  const items: Item[] = records.map((rec) => {
    const rawId = recordIdOf(rec);
    const id = rawId ? (toId18(rawId) ?? rawId) : undefined;
    return {
      id,
      withCreated: false,
      run: () => {
        if (!id) throw new RecordError("MISSING_ARGUMENT", "Id not specified in an update call");
        const type = typeOf(rec) ?? ctx.org.typeOfId(id);
        if (!type) throw new RecordError("MALFORMED_ID", `malformed id ${id}`);
        if (!ctx.org.object(type)) throw unsupportedType(type);
        const body = Object.fromEntries(Object.entries(rec).filter(([k]) => k !== "id" && k !== "Id"));
        ctx.dml.update(type, id, body, actor);
        return { id };
      },
    };
  });
  return sfJson(200, runItems(call, items, allOrNone));
}

function destroy(call: RestCall): SandboxResponse {
  const { ctx, actor, req } = call;
  const ids = fieldList(req.url.searchParams.get("ids"));
  if (!ids) throw new SalesforceApiError(400, "MISSING_ARGUMENT", "ids was not specified");
  if (ids.length > MAX_WRITE) throw tooMany(MAX_WRITE);
  const items: Item[] = ids.map((raw) => {
    const id = toId18(raw) ?? raw;
    return {
      id,
      withCreated: false,
      run: () => {
        const type = toId18(raw) ? ctx.org.typeOfId(id) : undefined;
        if (!type) throw new RecordError("MALFORMED_ID", `malformed id ${raw}`);
        ctx.dml.delete(type, id, actor);
        return { id };
      },
    };
  });
  return sfJson(200, runItems(call, items, req.url.searchParams.get("allOrNone") === "true"));
}

function upsert(call: RestCall, typeName: string, fieldName: string): SandboxResponse {
  const { ctx, actor } = call;
  const def = requireObject(ctx.org, typeName);
  const f = ctx.dml.externalIdField(def, fieldName, actor);
  const { allOrNone, records } = collectionBody(call);
  const extValue = (rec: Record<string, unknown>) => {
    const hit = Object.entries(rec).find(([k]) => k.toLowerCase() === f.name.toLowerCase());
    return hit && hit[1] !== null && hit[1] !== undefined && hit[1] !== "" ? String(hit[1]) : undefined;
  };
  const counts = new Map<string, number>();
  for (const rec of records) {
    const v = extValue(rec)?.toLowerCase();
    if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const items: Item[] = records.map((rec) => ({
    withCreated: true,
    run: () => {
      const value = extValue(rec);
      if (value === undefined) throw new RecordError("MISSING_ARGUMENT", `${f.name} not specified`, [f.name]);
      if ((counts.get(value.toLowerCase()) ?? 0) > 1)
        throw new RecordError("DUPLICATE_EXTERNAL_ID", `Duplicate external id specified: ${value}`, [f.name]);
      const outcome = ctx.dml.upsert(typeOf(rec) ?? def.name, f.name, value, rec, actor);
      return outcome;
    },
  }));
  return sfJson(200, runItems(call, items, allOrNone));
}

function retrieve(call: RestCall, typeName: string): SandboxResponse {
  const { ctx, actor, req, version } = call;
  const def = requireObject(ctx.org, typeName);
  let ids: string[] | undefined;
  let fields: string[] | undefined;
  if (req.method === "POST") {
    const body = objectBody(call);
    ids = Array.isArray(body.ids) ? body.ids.map(String) : undefined;
    fields = Array.isArray(body.fields) ? body.fields.map(String) : undefined;
  } else {
    ids = fieldList(req.url.searchParams.get("ids"));
    fields = fieldList(req.url.searchParams.get("fields"));
  }
  if (!ids) throw new SalesforceApiError(400, "MISSING_ARGUMENT", "ids was not specified");
  if (!fields) throw new SalesforceApiError(400, "MISSING_ARGUMENT", "fields was not specified");
  if (ids.length > MAX_READ) throw tooMany(MAX_READ);
  const out = ids.map((raw) => {
    const id = toId18(raw);
    const row = id ? ctx.org.store.get(def.name, id) : undefined;
    return row && row.IsDeleted !== true ? recordJson(ctx.org, def, row, actor, version, fields) : null;
  });
  return sfJson(200, out);
}

/** Everything under `composite/sobjects`. */
export function handleCollections(call: RestCall): SandboxResponse {
  const { req, segments } = call;
  // segments: ["composite", "sobjects", type?, field?]
  if (segments.length === 2) {
    if (req.method === "POST") return create(call);
    if (req.method === "PATCH") return update(call);
    if (req.method === "DELETE") return destroy(call);
    throw methodNotAllowed(req.method, ["POST", "PATCH", "DELETE"]);
  }
  if (segments.length === 3) {
    if (req.method === "POST" || req.method === "GET") return retrieve(call, segments[2]!);
    throw methodNotAllowed(req.method, ["GET", "POST"]);
  }
  if (segments.length === 4) {
    if (req.method === "PATCH") return upsert(call, segments[2]!, segments[3]!);
    throw methodNotAllowed(req.method, ["PATCH"]);
  }
  throw new SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist");
}
