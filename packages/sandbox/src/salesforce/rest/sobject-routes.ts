import type { SandboxResponse } from "../../kit/index.js";
import { notFound, RecordError, SalesforceApiError, sfJson } from "../errors.js";
import { toId18 } from "../ids.js";
import type { SObjectDef } from "../schema/types.js";
import { requireObject } from "../store/dml.js";
import { formatDateTime, parseDateTime } from "../time.js";
import { methodNotAllowed, objectBody, type RestCall, versionNumber } from "./call.js";
import { describeObject, globalEntry } from "./describe.js";
import { handleDescribeLayouts } from "./describe-layouts.js";
import { handleListViews } from "./list-views.js";
import { handleQuickActions } from "./quick-actions.js";
import { fieldList, recordJson } from "./records.js";

const MINUTE = 60_000;
const DAY = 86_400_000;

const saveOk = (id: string) => ({ id, success: true, errors: [] as unknown[] });

function recordUrl(call: RestCall, type: string, id: string): string {
  return `/services/data/v${call.version}/sobjects/${type}/${id}`;
}

/** Runs a single-record write, turning a {@link RecordError} into the REST error array. */
function write<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RecordError) throw e.toApiError();
    throw e;
  }
}

function liveRow(call: RestCall, def: SObjectDef, rawId: string) {
  const id = toId18(rawId);
  const row = id ? call.ctx.org.store.get(def.name, id) : undefined;
  if (!row || row.IsDeleted === true) throw notFound();
  return row;
}

function windowParam(call: RestCall, name: "start" | "end"): number {
  const raw = call.req.url.searchParams.get(name);
  if (!raw) throw new SalesforceApiError(400, "MISSING_ARGUMENT", `${name} was not specified`);
  // A literal "+" in a query string decodes to a space.
  const ms = parseDateTime(raw.replace(/ /g, "+"));
  if (ms === undefined)
    throw new SalesforceApiError(400, "INVALID_REPLICATION_DATE", `unable to parse ${name}: ${raw}`);
  return Math.floor(ms / MINUTE) * MINUTE;
}

/** `sobjects/<T>/updated` and `…/deleted`: the replication windows (minute precision, 30 / 15 days back). */
function replication(call: RestCall, def: SObjectDef, kind: "updated" | "deleted"): SandboxResponse {
  const { org, clock } = call.ctx;
  const start = windowParam(call, "start");
  const end = windowParam(call, "end");
  const now = clock.now().getTime();
  if (end < start) throw new SalesforceApiError(400, "INVALID_REPLICATION_DATE", "EndDate before StartDate");
  const latest = Math.min(end, Math.floor(now / MINUTE) * MINUTE);
  const from = formatDateTime(start);
  const to = formatDateTime(latest);
  if (kind === "updated") {
    if (start < now - 30 * DAY)
      throw new SalesforceApiError(
        400,
        "INVALID_REPLICATION_DATE",
        "startDate cannot be more than 30 days ago",
      );
    const ids: string[] = [];
    for (const row of org.store.rows(def.name)) {
      const ts = row.SystemModstamp as string;
      if (row.IsDeleted !== true && ts >= from && ts < to) ids.push(row.Id as string);
    }
    if (ids.length > 600_000)
      throw new SalesforceApiError(400, "EXCEEDED_ID_LIMIT", "too many ids, narrow the time window");
    return sfJson(200, { ids, latestDateCovered: to });
  }
  const earliest = Math.floor((now - 15 * DAY) / MINUTE) * MINUTE;
  if (start < earliest)
    throw new SalesforceApiError(
      400,
      "INVALID_REPLICATION_DATE",
      `startDate cannot be before the earliest date available: ${formatDateTime(earliest)}`,
    );
  const deletedRecords: { id: string; deletedDate: string }[] = [];
  for (const row of org.store.rows(def.name)) {
    const ts = row.SystemModstamp as string;
    if (row.IsDeleted === true && ts >= from && ts < to)
      deletedRecords.push({ id: row.Id as string, deletedDate: ts });
  }
  return sfJson(200, {
    deletedRecords,
    earliestDateAvailable: formatDateTime(earliest),
    latestDateCovered: to,
  });
}

function byRecordId(call: RestCall, def: SObjectDef, rawId: string): SandboxResponse {
  const { req, ctx, actor, version } = call;
  switch (req.method) {
    case "GET": {
      const row = liveRow(call, def, rawId);
      return sfJson(
        200,
        recordJson(ctx.org, def, row, actor, version, fieldList(req.url.searchParams.get("fields"))),
      );
    }
    case "PATCH": {
      const id = liveRow(call, def, rawId).Id as string;
      const body = objectBody(call);
      write(() => ctx.dml.update(def.name, id, body, actor));
      return { status: 204 };
    }
    case "DELETE": {
      const id = toId18(rawId);
      const row = id ? ctx.org.store.get(def.name, id) : undefined;
      if (!row) throw notFound();
      write(() => ctx.dml.delete(def.name, id!, actor));
      return { status: 204 };
    }
    default:
      throw methodNotAllowed(req.method, ["GET", "PATCH", "DELETE", "HEAD"]);
  }
}

function byExternalId(call: RestCall, def: SObjectDef, fieldName: string, value: string): SandboxResponse {
  const { req, ctx, actor, version } = call;
  const f = ctx.dml.externalIdField(def, fieldName, actor);
  const matches = ctx.dml.matchExternal(def, f, value);
  const multiple = () =>
    sfJson(
      300,
      matches.map((id) => recordUrl(call, def.name, id)),
    );
  switch (req.method) {
    case "GET": {
      if (matches.length > 1) return multiple();
      if (!matches.length) throw notFound();
      const row = ctx.org.store.get(def.name, matches[0]!)!;
      return sfJson(
        200,
        recordJson(ctx.org, def, row, actor, version, fieldList(req.url.searchParams.get("fields"))),
      );
    }
    case "PATCH": {
      if (matches.length > 1) return multiple();
      if (!matches.length && req.url.searchParams.get("updateOnly") === "true") throw notFound();
      const body = objectBody(call);
      const given = Object.entries(body).find(([k]) => k.toLowerCase() === f.name.toLowerCase());
      if (given && String(given[1]) !== value)
        throw new SalesforceApiError(
          400,
          "INVALID_FIELD",
          `The value of the external ID field in the request body doesn't match the value in the URL: ${f.name}`,
        );
      const outcome = write(() => ctx.dml.upsert(def.name, f.name, value, body, actor));
      if (outcome.created) return sfJson(201, { ...saveOk(outcome.id), created: true });
      // Before API 46.0 an upsert that updated answered 204.
      if (versionNumber(call) < 46) return { status: 204 };
      return sfJson(200, { ...saveOk(outcome.id), created: false });
    }
    case "DELETE": {
      if (matches.length > 1) return multiple();
      if (!matches.length) throw notFound();
      write(() => ctx.dml.delete(def.name, matches[0]!, actor));
      return { status: 204 };
    }
    default:
      throw methodNotAllowed(req.method, ["GET", "PATCH", "DELETE", "HEAD"]);
  }
}

/** Everything under `sobjects`. */
export function handleSObjects(call: RestCall): SandboxResponse {
  const { req, ctx, segments, actor, version } = call;
  if (segments.length === 1) {
    if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET", "HEAD"]);
    return sfJson(200, {
      encoding: "UTF-8",
      maxBatchSize: 200,
      sobjects: ctx.org.schema.all().map((d) => globalEntry(d, version)),
    });
  }
  const def = requireObject(ctx.org, segments[1]!);
  if (segments[2] === "listviews") return handleListViews(call, def);
  if (segments[2] === "quickActions") return handleQuickActions(call, def);
  if (segments[2] === "describe" && segments[3] === "layouts" && segments.length <= 5)
    return handleDescribeLayouts(call, def);
  if (segments.length === 2) {
    if (req.method === "GET") {
      return sfJson(200, { objectDescribe: globalEntry(def, version), recentItems: [] });
    }
    if (req.method === "POST") {
      const body = objectBody(call);
      const id = write(() => ctx.dml.insert(def.name, body, actor));
      return sfJson(201, saveOk(id));
    }
    throw methodNotAllowed(req.method, ["GET", "POST", "HEAD"]);
  }
  if (segments.length === 3) {
    const third = segments[2]!;
    if (third === "describe" || third === "updated" || third === "deleted") {
      if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET", "HEAD"]);
      if (third === "describe") return sfJson(200, describeObject(ctx.org, def, actor, version));
      return replication(call, def, third);
    }
    return byRecordId(call, def, third);
  }
  if (segments.length === 4) return byExternalId(call, def, segments[2]!, segments[3]!);
  throw notFound();
}
