import type { SandboxResponse } from "../../kit/http.js";
import type { Env } from "../env.js";
import { dvErrors } from "../errors.js";
import { decodeSkipToken, encodeSkipToken } from "../odata/paging-cookie.js";
import { contextPath, serializeRow, smallestK } from "../records/reads.js";
import type { TableDef } from "../schema/types.js";
import type { DeletedEntry, Row } from "../store/store.js";
import { appliedPreferences, type CollectionQuery } from "./collection-options.js";
import { type DvRequest, odataJson, withQueryOption } from "./respond.js";

/**
 * Change tracking (`Prefer: odata.track-changes`, dynamics.md §3.1): the first request returns every
 * row and a `@odata.deltaLink`; the delta link returns rows changed since, then `$deletedEntity`
 * entries. A delta token is `<row version>!<MM/dd/yyyy HH:mm:ss>` (as Dataverse's) and expires after
 * `changeTrackingExpiryDays` on the sandbox clock.
 */

function tokenDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** Parses `919042!08/22/2017 08:10:44`; undefined when malformed. */
function parseDeltaToken(token: string): { version: number; issuedAt: number } | undefined {
  const m = /^(\d+)!(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(token);
  if (!m) return undefined;
  const [, v, mo, d, y, h, mi, s] = m;
  return {
    version: Number(v),
    issuedAt: Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)),
  };
}

function deltaLink(env: Env, table: TableDef, req: DvRequest, version: number): string {
  const select = req.url.searchParams.get("$select");
  const query = select !== null ? `$select=${select}&` : "";
  const token = `${version}!${tokenDate(env.clock.now())}`;
  return `${req.base}${table.entitySetName}?${query}$deltatoken=${encodeURIComponent(token)}`;
}

/** `GET /{set}` with `Prefer: odata.track-changes`, or a delta link. */
export function trackedQuery(env: Env, table: TableDef, req: DvRequest, q: CollectionQuery): SandboxResponse {
  if (!table.changeTrackingEnabled) throw dvErrors.changeTrackingDisabled(table.logicalName);
  const p = req.url.searchParams;
  for (const option of ["$filter", "$orderby", "$expand", "$top"])
    if (p.has(option)) throw dvErrors.trackChangesOption(option);

  const pageSize = Math.max(1, Math.min(q.prefs.maxPageSize ?? env.org.maxPageSize, env.org.maxPageSize));
  const skiptoken = p.get("$skiptoken");
  const cookie = skiptoken === null ? undefined : decodeSkipToken(skiptoken);
  if (skiptoken !== null && !cookie?.extra.upto)
    throw dvErrors.badRequest(
      "The $skiptoken value is not valid. Start the change tracking request again.",
      "0x80060888",
    );
  const upTo = cookie ? Number(cookie.extra.upto) : env.store.currentVersion();
  const serialize = (r: Row) =>
    serializeRow(env, table, r, { select: q.select, annotations: q.prefs.includeAnnotations });
  const contextBase = `${req.base}$metadata#${contextPath(table.entitySetName, q.select, undefined)}`;
  const pageNumber = cookie?.pageNumber ?? 1;
  const prefApplied = appliedPreferences(q.prefs, q.prefs.maxPageSize === undefined ? undefined : pageSize, [
    "odata.track-changes",
  ]);

  const deltatoken = p.get("$deltatoken");
  if (deltatoken === null) {
    // Initial synchronization: every row, in id order, paged by id.
    const afterId = cookie?.last[0]?.value?.replace(/[{}]/g, "").toLowerCase();
    const rows = [...env.store.all(table.logicalName)]
      .map((r) => ({ r, id: String(r[table.primaryId]) }))
      .filter((x) => afterId === undefined || x.id > afterId);
    // The page's rows only, not a sort of the whole table per page (a large table's initial sync).
    const page = smallestK(rows, pageSize, (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const body: Record<string, unknown> = {
      "@odata.context": contextBase,
      value: page.map((x) => serialize(x.r)),
    };
    if (rows.length > page.length) {
      const last = page[page.length - 1]!;
      body["@odata.nextLink"] = withQueryOption(
        req.url,
        "$skiptoken",
        encodeSkipToken({
          pageNumber: pageNumber + 1,
          isTracking: true,
          last: [{ name: table.primaryId, value: `{${last.id.toUpperCase()}}` }],
          extra: { upto: String(upTo) },
        }),
      );
    } else body["@odata.deltaLink"] = deltaLink(env, table, req, upTo);
    return odataJson(200, body, prefApplied);
  }

  const parsed = parseDeltaToken(deltatoken);
  if (!parsed) throw dvErrors.badRequest(`The delta token '${deltatoken}' is not valid.`, "0x80060888");
  const ageMs = env.clock.now().getTime() - parsed.issuedAt;
  if (ageMs > env.org.changeTrackingExpiryDays * 86_400_000) throw dvErrors.expiredDeltaToken();

  // New and updated rows first (by version), then deletes; rows changed after `upTo` wait for the next delta.
  const phase = cookie?.extra.phase ?? "rows";
  const lastVersion = cookie ? Number(cookie.extra.after) : parsed.version;
  const changed =
    phase === "rows"
      ? [...env.store.all(table.logicalName)]
          .filter((r) => {
            const v = Number(r.versionnumber);
            return v > lastVersion && v <= upTo;
          })
          .sort((a, b) => Number(a.versionnumber) - Number(b.versionnumber))
      : [];
  const deletesAfter = phase === "rows" ? parsed.version : lastVersion;
  const deletes = env.store
    .deletesBetween(table.logicalName, deletesAfter, upTo)
    .filter((d) => !env.store.get(table.logicalName, d.id));
  const items: ({ kind: "row"; row: Row } | { kind: "deleted"; entry: DeletedEntry })[] = [
    ...changed.map((row) => ({ kind: "row" as const, row })),
    ...deletes.map((entry) => ({ kind: "deleted" as const, entry })),
  ];
  const page = items.slice(0, pageSize);
  const body: Record<string, unknown> = {
    "@odata.context": `${contextBase}/$delta`,
    value: page.map((item) =>
      item.kind === "row"
        ? serialize(item.row)
        : {
            "@odata.context": `${req.base}$metadata#${table.entitySetName}/$deletedEntity`,
            id: item.entry.id,
            reason: "deleted",
          },
    ),
  };
  if (items.length > page.length) {
    const last = page[page.length - 1]!;
    const extra =
      last.kind === "row"
        ? { upto: String(upTo), phase: "rows", after: String(last.row.versionnumber) }
        : { upto: String(upTo), phase: "deletes", after: String(last.entry.version) };
    body["@odata.nextLink"] = withQueryOption(
      req.url,
      "$skiptoken",
      encodeSkipToken({ pageNumber: pageNumber + 1, isTracking: true, last: [], extra }),
    );
  } else body["@odata.deltaLink"] = deltaLink(env, table, req, upTo);
  return odataJson(200, body, prefApplied);
}
