import type { SandboxResponse } from "../../kit/index.js";
import type { ChangeEventBus } from "../cdc/change-events.js";
import type { SalesforceContext } from "../context.js";
import { notFound, SalesforceApiError, sfJson } from "../errors.js";
import { makeId, toId18 } from "../ids.js";
import type { Condition, Literal } from "../soql/ast.js";
import { SoqlError } from "../soql/errors.js";
import { parseSoql } from "../soql/parser.js";
import { methodNotAllowed, objectBody, type RestCall } from "./call.js";

/**
 * The Tooling API's PlatformEventChannelMember, the API form of Setup → Change Data Capture (Tooling
 * API Developer Guide, "PlatformEventChannelMember"; Change Data Capture Developer Guide, "Select
 * Objects for Change Notifications with Metadata API and Tooling API"):
 *
 * - `POST tooling/sobjects/PlatformEventChannelMember` with `{ FullName, Metadata: { eventChannel,
 *   selectedEntity } }` selects an entity; the standard channel is `ChangeEvents` and its members
 *   are named `ChangeEvents_<Entity>ChangeEvent`;
 * - `GET tooling/query?q=SELECT … FROM PlatformEventChannelMember [WHERE f = '…' [AND …]]`;
 * - `GET`/`DELETE tooling/sobjects/PlatformEventChannelMember/<id>`.
 *
 * Members of the standard channel are the org's selections themselves (the event bus's), so a
 * selection made in Setup (`control.selectChangeEvents`) shows here and one made here publishes.
 * Custom channels (`…__chn`) are not emulated and are refused.
 */

/** The standard channel: the selections of the Setup page. */
const STANDARD_CHANNEL = "ChangeEvents";
const OBJECT = "PlatformEventChannelMember";
/** Key prefix of PlatformEventChannelMember ids in the sandbox (the real prefix is not documented here). */
const KEY_PREFIX = "0v8";
const FIELDS = ["Id", "DeveloperName", "EventChannel", "SelectedEntity", "FilterExpression"] as const;
type Field = (typeof FIELDS)[number];

interface Member {
  Id: string;
  DeveloperName: string;
  EventChannel: string;
  SelectedEntity: string;
  FilterExpression: null;
}

/** Ids are stable per selected entity, so a member deleted and selected again gets its id back. */
const idsByBus = new WeakMap<ChangeEventBus, Map<string, string>>();

function members(bus: ChangeEventBus): Member[] {
  const ids = idsByBus.get(bus) ?? new Map<string, string>();
  idsByBus.set(bus, ids);
  return bus
    .selectedEntities()
    .sort()
    .map((entity) => {
      const id = ids.get(entity) ?? makeId(KEY_PREFIX, ids.size + 1);
      ids.set(entity, id);
      return {
        Id: id,
        DeveloperName: `${STANDARD_CHANNEL}_${entity}`,
        EventChannel: STANDARD_CHANNEL,
        SelectedEntity: entity,
        FilterExpression: null,
      };
    });
}

function attributes(version: string, id: string) {
  return { type: OBJECT, url: `/services/data/v${version}/tooling/sobjects/${OBJECT}/${id}` };
}

/** Whether `name` is the change event of an object this org has (`AccountChangeEvent`, `X__ChangeEvent`). */
function changeEventOf(ctx: SalesforceContext, name: string): boolean {
  const custom = /^([A-Za-z][A-Za-z0-9_]*)__ChangeEvent$/.exec(name);
  if (custom) return ctx.org.object(`${custom[1]}__c`) !== undefined;
  const standard = /^([A-Za-z][A-Za-z0-9]*)ChangeEvent$/.exec(name);
  return standard !== null && ctx.org.object(standard[1]!)?.name === standard[1];
}

function create(call: RestCall): SandboxResponse {
  const { ctx } = call;
  const body = objectBody(call);
  const md = body.Metadata;
  if (!md || typeof md !== "object" || Array.isArray(md))
    throw new SalesforceApiError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Metadata]", [
      "Metadata",
    ]);
  const { eventChannel, selectedEntity } = md as Record<string, unknown>;
  for (const [name, v] of [
    ["eventChannel", eventChannel],
    ["selectedEntity", selectedEntity],
  ] as const)
    if (typeof v !== "string" || v === "")
      throw new SalesforceApiError(400, "REQUIRED_FIELD_MISSING", `Required fields are missing: [${name}]`, [
        name,
      ]);
  const channel = String(eventChannel);
  const entity = String(selectedEntity);
  if (channel !== STANDARD_CHANNEL)
    throw new SalesforceApiError(
      400,
      "FIELD_INTEGRITY_EXCEPTION",
      `The sandbox org has only the standard channel ${STANDARD_CHANNEL}; custom channel ${channel} is not emulated.`,
      ["eventChannel"],
    );
  if (!changeEventOf(ctx, entity))
    throw new SalesforceApiError(
      400,
      "FIELD_INTEGRITY_EXCEPTION",
      `${entity} is not a change event of an object in this org (e.g. OpportunityChangeEvent, My_Object__ChangeEvent).`,
      ["selectedEntity"],
    );
  const fullName = body.FullName;
  if (fullName !== undefined && fullName !== `${STANDARD_CHANNEL}_${entity}`)
    throw new SalesforceApiError(
      400,
      "FIELD_INTEGRITY_EXCEPTION",
      `The FullName of a ${STANDARD_CHANNEL} member is ${STANDARD_CHANNEL}_${entity}, not ${String(fullName)}.`,
      ["FullName"],
    );
  const bus = ctx.changeEvents;
  if (bus.selectedEntities().includes(entity))
    throw new SalesforceApiError(
      400,
      "DUPLICATE_DEVELOPER_NAME",
      `${entity} is already selected on ${STANDARD_CHANNEL} (${STANDARD_CHANNEL}_${entity}).`,
    );
  // Salesforce documents the allocation, not the error's wording: this code and text are the sandbox's.
  if (bus.selectedEntities().length >= ctx.options.changeDataCapture.maxSelectedEntities)
    throw new SalesforceApiError(
      400,
      "LIMIT_EXCEEDED",
      `The org can select at most ${ctx.options.changeDataCapture.maxSelectedEntities} entities for Change Data Capture; deselect one or buy the Change Data Capture add-on.`,
    );
  bus.select(entity);
  const member = members(bus).find((m) => m.SelectedEntity === entity)!;
  return sfJson(201, { id: member.Id, success: true, errors: [], warnings: [], infos: [] });
}

function literal(l: Literal): string | null {
  if (l.kind === "string") return l.value;
  if (l.kind === "null") return null;
  throw new SalesforceApiError(
    400,
    "INVALID_QUERY_FILTER_OPERATOR",
    "The sandbox's Tooling queries compare text fields only.",
  );
}

function fieldName(path: string[]): Field {
  const f = FIELDS.find((x) => path.length === 1 && x.toLowerCase() === path[0]!.toLowerCase());
  if (!f)
    throw new SalesforceApiError(
      400,
      "INVALID_FIELD",
      `No such column '${path.join(".")}' on entity '${OBJECT}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.`,
    );
  return f;
}

function predicate(c: Condition): (m: Member) => boolean {
  if (c.kind === "and") {
    const ps = c.items.map(predicate);
    return (m) => ps.every((p) => p(m));
  }
  if (c.kind === "compare" && (c.op === "=" || c.op === "!=")) {
    const f = fieldName(c.field.path);
    const v = literal(c.value);
    // Text comparisons in SOQL are case-insensitive.
    const eq = (m: Member) =>
      m[f] === null ? v === null : v !== null && m[f].toLowerCase() === v.toLowerCase();
    return c.op === "=" ? eq : (m) => !eq(m);
  }
  throw new SalesforceApiError(
    400,
    "MALFORMED_QUERY",
    "The sandbox's Tooling queries on PlatformEventChannelMember support = and != joined by AND.",
  );
}

function query(call: RestCall): SandboxResponse {
  const q = call.req.url.searchParams.get("q");
  if (q === null || q.trim() === "")
    throw new SalesforceApiError(400, "MALFORMED_QUERY", "A query string has to be specified");
  let parsed: ReturnType<typeof parseSoql>;
  try {
    parsed = parseSoql(q);
  } catch (e) {
    if (e instanceof SoqlError) throw new SalesforceApiError(400, e.code, e.message);
    throw e;
  }
  if (parsed.from.name.toLowerCase() !== OBJECT.toLowerCase())
    throw new SalesforceApiError(
      400,
      "INVALID_TYPE",
      `sObject type '${parsed.from.name}' is not supported by the sandbox's Tooling API (only ${OBJECT}).`,
    );
  const fields = parsed.select.map((s) => {
    if (s.kind !== "field")
      throw new SalesforceApiError(400, "MALFORMED_QUERY", "Only plain fields can be selected here.");
    return fieldName(s.path);
  });
  const where = parsed.where ? predicate(parsed.where) : () => true;
  let rows = members(call.ctx.changeEvents).filter(where);
  if (parsed.limit !== undefined) rows = rows.slice(0, parsed.limit);
  const records = rows.map((m) => ({
    attributes: attributes(call.version, m.Id),
    ...Object.fromEntries(fields.map((f) => [f, m[f]])),
  }));
  return sfJson(200, {
    size: records.length,
    totalSize: records.length,
    done: true,
    queryLocator: null,
    entityTypeName: OBJECT,
    records,
  });
}

/** `/services/data/vNN.N/tooling/…`: the Change Data Capture selection resources. */
export function handleTooling(call: RestCall): SandboxResponse {
  const { req, segments, ctx } = call;
  const [, resource, type, rawId] = segments;
  if (resource === "query" && segments.length === 2) {
    if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET"]);
    return query(call);
  }
  if (resource !== "sobjects" || type?.toLowerCase() !== OBJECT.toLowerCase() || segments.length > 4)
    throw notFound();
  if (rawId === undefined) {
    if (req.method !== "POST") throw methodNotAllowed(req.method, ["GET", "POST"]);
    return create(call);
  }
  const id = toId18(rawId);
  const member = members(ctx.changeEvents).find((m) => m.Id === id);
  if (!member) throw notFound();
  if (req.method === "DELETE") {
    ctx.changeEvents.select(member.SelectedEntity, false);
    return { status: 204 };
  }
  if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET", "DELETE"]);
  return sfJson(200, {
    attributes: attributes(call.version, member.Id),
    ...member,
    FullName: member.DeveloperName,
    Metadata: {
      eventChannel: member.EventChannel,
      selectedEntity: member.SelectedEntity,
      enrichedFields: [],
      filterExpression: null,
    },
  });
}
