import {
  type AdapterDescription,
  boundedMsalNetwork,
  type CallStats,
  type ChangePage,
  type CrmAdapter,
  type CrmRecord,
  type CrmWrite,
  type CrmWriteResult,
  catalogEntryOf,
  createTokenProvider,
  errorMessage,
  type FieldDirection,
  PageGuard,
  type Person,
  RECORD_MEMO_MAX,
  RecordMemo,
  RemoteApiError,
  type SetupReport,
  type SyncField,
  type SyncTarget,
  type VerifyReport,
} from "@cosell/core";
import { type BatchPart, buildBatch, groupByOperations, parseBatchResponse } from "./batch.js";
import { type CatalogRowIds, createDataverseCatalog } from "./catalog.js";
import { columnsFor } from "./columns.js";
import { type DynamicsConfig, type DynamicsConfigInput, parseDynamicsConfig } from "./config.js";

import { EntraDirectory } from "./graph.js";
import { type CallCounter, dataverseError, errorFrom, WebApiClient } from "./http.js";
import { isGuid, opportunityIdProblem } from "./ids.js";
import { deletedRecord, LOST, opportunitySelect, type Related, type Row, rowToRecord } from "./mapping.js";
import { ACCOUNT_SELECT, CONTACT_SELECT, chunks, IDS_PER_QUERY, orEq, q, USER_SELECT } from "./query.js";
import { runSetup, runVerify } from "./setup.js";
import {
  collectRelatedRows,
  type RelatedRows,
  readRelatedRows,
  readRelatedRowsByReferral,
  relatedOps,
  relatedRowQueries,
  touchesRelatedRows,
  withRelatedRows,
} from "./solution-links.js";
import { solutionTableNames } from "./solution-tables.js";
import { parseWebhookCall, registerWebhook, verifyWebhook } from "./webhook.js";
import { createChangeSets } from "./writes.js";

/** Logger shape the adapter writes to (pino-compatible). Secrets are never passed. */
export interface DynamicsLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** What the adapter takes from outside; everything is optional (tests inject clocks and fetch). */
export interface DynamicsDeps {
  now?(): Date;
  fetch?: typeof fetch;
  sleep?(ms: number): Promise<void>;
  logger?: DynamicsLogger;
}

/** The Dynamics 365 adapter: a {@link CrmAdapter} plus `close()`. */
export type DynamicsAdapter = CrmAdapter & {
  close(): Promise<void>;
  /** Dataverse's webhook calls for `cosell serve` (see `webhook.ts`). */
  webhook: {
    /** `crm.webhookUrl` is set. */
    configured(): boolean;
    /** Checks the secret and the body; the opportunity the call names. */
    parse(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): SyncTarget[];
    /** Throws with what to do when the registration is missing or points elsewhere. */
    verify(): Promise<void>;
  };
};

/** Which way each canonical field flows with Dataverse (see docs/dynamics.md, "Mapping"). */
const FIELD_DIRECTIONS: Partial<Record<SyncField, FieldDirection>> = {
  name: "both",
  value: "both",
  closeDate: "both",
  notes: "both",
  crmId: "toPartnerCenter",
  campaignId: "both",
  customer: "both",
  consentToShareContact: "both",
  // The owner plus the members kept in the team column; Partner Center edits never reassign the record.
  team: "both",
  solutions: "both",
  // With the kind of help (a choice) beside the request and its notes.
  invitation: "both",
  stage: "both",
  consentToContact: "both",
  favorite: "both",
  salesStage: "both",
  // Partner Center's own facts: shown on the opportunity, never sent back (core enforces it too).
  expiresAt: "toCrm",
  microsoftOpportunityId: "toCrm",
  microsoftAnswer: "toCrm",
  registration: "toCrm",
  sentBy: "toCrm",
  // Rows of the Microsoft team table, related to the opportunity.
  microsoftTeam: "toCrm",
};

/**
 * Creates the Dynamics 365 (Dataverse Web API) adapter. Throws a ConfigError naming the key when the
 * config is invalid. Nothing is sent until the first call.
 */
export function createDynamicsAdapter(config: DynamicsConfigInput, deps: DynamicsDeps = {}): DynamicsAdapter {
  const cfg: DynamicsConfig = parseDynamicsConfig(config);
  const now = deps.now ?? (() => new Date());
  const env = new URL(cfg.environmentUrl);
  const apiBase = `${env.origin}/api/data/v9.2`;
  const resource = (cfg.resource ?? env.origin).replace(/\/$/, "");
  const credential = {
    tenantId: cfg.tenantId,
    clientId: cfg.clientId,
    ...(cfg.clientSecret ? { clientSecret: cfg.clientSecret } : {}),
    ...(cfg.certificate ? { certificate: cfg.certificate } : {}),
    authorityHost: cfg.authorityHost,
    ...(cfg.tokenEndpoint ? { tokenEndpoint: cfg.tokenEndpoint } : {}),
  };
  // Token requests get the same deadline, redirect refusal and size cap as the Web API calls.
  const tokenDeps = {
    msalSystem: {
      networkClient: boundedMsalNetwork({
        timeoutMs: cfg.requestTimeoutMs,
        maxResponseBytes: cfg.maxResponseBytes,
      }),
    },
  };
  const tokens = createTokenProvider({ ...credential, scope: `${resource}/.default` }, tokenDeps);
  const counter: CallCounter = { total: 0, reads: 0, writes: 0 };
  const httpDeps = {
    fetch: deps.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a)),
    sleep: deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
    ...(deps.logger ? { logger: deps.logger } : {}),
  };
  const http = new WebApiClient(apiBase, tokens, httpDeps, counter, {
    maxRetries: cfg.maxRetries,
    maxRetryAfterMs: cfg.maxRetryAfterMs,
    odata: true,
    requestTimeoutMs: cfg.requestTimeoutMs,
    maxRetryTimeMs: cfg.maxRetryTimeMs,
    maxResponseBytes: cfg.maxResponseBytes,
  });
  const directory = cfg.resolveTeamFromGraph
    ? new EntraDirectory(
        cfg.graphBaseUrl,
        createTokenProvider({ ...credential, scope: cfg.graphScope }, tokenDeps),
        counter,
        () => now().getTime(),
        undefined,
        cfg.requestTimeoutMs,
        cfg.maxResponseBytes,
      )
    : undefined;
  const c = columnsFor(cfg.publisherPrefix);
  const select = opportunitySelect(c);
  const countryNames = Object.fromEntries(
    Object.entries(cfg.countryNames).map(([k, v]) => [k.toLowerCase(), v]),
  );
  /**
   * Last row seen per opportunity, for the records read lately: its etag and state drive If-Match and
   * Win/Lose/reopen; a write to a record not in it reads the record first. Bounded, so memory stays
   * flat however many opportunities the org has.
   */
  const seen = new RecordMemo<Row>(RECORD_MEMO_MAX);
  /** Solutions and Microsoft's team rows last read per opportunity: writes change only the difference. */
  const related = new RecordMemo<RelatedRows>(RECORD_MEMO_MAX);
  const tables = solutionTableNames(cfg.publisherPrefix);
  const catalog = createDataverseCatalog(http, cfg);
  /** Catalog row ids of the solutions the writes being prepared carry. */
  let catalogRows: CatalogRowIds = { ids: new Map(), failed: new Map() };
  /** Related rows of opportunities a create's referral id already names (a retried create). */
  let createdBefore = new Map<string, RelatedRows>();
  let currencies: { byId: Map<string, string>; byCode: Map<string, string> } | undefined;
  let feed: "delta" | "poll" | undefined;

  // ── reads ─────────────────────────────────────────────────────────────────────────────────────

  /** Several GETs in one round trip (a `$batch` of GET parts), or one plain GET. */
  async function getMany(urls: readonly string[]): Promise<Row[][]> {
    if (urls.length === 0) return [];
    if (urls.length === 1) {
      const body = await http.getJson<{ value: Row[] }>(urls[0]!, "a Dataverse query");
      return [body.value];
    }
    const out: Row[][] = [];
    for (const group of chunks(urls, 100)) {
      const parts: BatchPart[] = group.map((u) => ({
        kind: "request",
        op: { method: "GET", url: http.url(u) },
      }));
      const answers = await sendBatch(parts, "reads");
      answers.forEach((a, i) => {
        const r = a[0]!;
        if (r.status >= 400)
          throw errorFrom({ status: r.status, headers: new Headers(), text: r.body }, `GET ${group[i]}`);
        out.push((JSON.parse(r.body) as { value: Row[] }).value);
      });
    }
    return out;
  }

  async function sendBatch(parts: BatchPart[], kind: "reads" | "writes") {
    const { contentType, body } = buildBatch(parts);
    const res = await http.send({
      method: "POST",
      url: "$batch",
      headers: { "Content-Type": contentType, Prefer: "odata.continue-on-error" },
      body,
      kind,
    });
    if (res.status >= 400 && !res.headers.get("content-type")?.startsWith("multipart/"))
      throw errorFrom(res, "a $batch request");
    return parseBatchResponse(res.headers.get("content-type"), res.text);
  }

  async function loadCurrencies() {
    if (currencies) return currencies;
    const rows = await http.getJson<{ value: Row[] }>(
      "transactioncurrencies?$select=transactioncurrencyid,isocurrencycode",
      "reading currencies",
    );
    currencies = { byId: new Map(), byCode: new Map() };
    for (const r of rows.value) {
      currencies.byId.set(String(r.transactioncurrencyid), String(r.isocurrencycode).toUpperCase());
      currencies.byCode.set(String(r.isocurrencycode).toUpperCase(), String(r.transactioncurrencyid));
    }
    return currencies;
  }

  /** Accounts, contacts, campaigns and owners the rows point at: one round trip for all of them. */
  async function resolveRelated(
    rows: readonly Row[],
    extraUrls: readonly string[] = [],
  ): Promise<{ lookups: Related; extra: Row[][] }> {
    const ids = (col: string) => [...new Set(rows.map((r) => r[col]).filter(isGuid))];
    const wanted = [
      { set: "accounts", select: ACCOUNT_SELECT, key: "accountid", ids: ids("_parentaccountid_value") },
      { set: "contacts", select: CONTACT_SELECT, key: "contactid", ids: ids("_parentcontactid_value") },
      {
        set: "campaigns",
        select: "campaignid,name,codename",
        key: "campaignid",
        ids: ids("_campaignid_value"),
      },
      { set: "systemusers", select: USER_SELECT, key: "systemuserid", ids: ids("_ownerid_value") },
    ];
    const urls: { set: string; url: string }[] = [];
    const lostWithoutReason = rows
      .filter((r) => r.statecode === LOST && !r[c.closeReason] && isGuid(r.opportunityid))
      .map((r) => String(r.opportunityid));
    for (const chunk of chunks(lostWithoutReason, IDS_PER_QUERY))
      urls.push({
        set: "opportunitycloses",
        url: `opportunitycloses?$select=description,_opportunityid_value,createdon&$filter=${q(orEq("_opportunityid_value", chunk))}&$orderby=${q("createdon asc")}`,
      });
    for (const w of wanted)
      for (const chunk of chunks(w.ids, IDS_PER_QUERY))
        urls.push({ set: w.set, url: `${w.set}?$select=${w.select}&$filter=${q(orEq(w.key, chunk))}` });
    const [cur, all] = await Promise.all([
      loadCurrencies(),
      getMany([...urls.map((u) => u.url), ...extraUrls]),
    ]);
    const results = all.slice(0, urls.length);
    const by = (set: string, key: string) => {
      const m = new Map<string, Row>();
      results.forEach((list, i) => {
        if (urls[i]!.set === set) for (const r of list) m.set(String(r[key]), r);
      });
      return m;
    };
    const users = by("systemusers", "systemuserid");
    const closeDescriptions = new Map<string, string>();
    results.forEach((list, i) => {
      if (urls[i]!.set !== "opportunitycloses") return;
      // Oldest first, so the latest close wins.
      for (const r of list)
        if (typeof r.description === "string" && r.description)
          closeDescriptions.set(String(r._opportunityid_value), r.description);
    });
    return {
      lookups: {
        accounts: by("accounts", "accountid"),
        contacts: by("contacts", "contactid"),
        campaigns: by("campaigns", "campaignid"),
        currencies: cur.byId,
        closeDescriptions,
        owners: await owners(users),
      },
      extra: all.slice(urls.length),
    };
  }

  /**
   * Owners as team members. Application users and users without a name are nobody's seller; an owner
   * whose email or phone is missing in Dataverse is completed from Entra ID through Microsoft Graph.
   */
  async function owners(users: Map<string, Row>): Promise<Map<string, Person | undefined>> {
    const out = new Map<string, Person | undefined>();
    const incomplete: { id: string; aad: string }[] = [];
    for (const [id, u] of users) {
      if (u.applicationid || u.accessmode === 4 || (!u.firstname && !u.lastname)) {
        out.set(id, undefined);
        continue;
      }
      const p: Person = {
        firstName: String(u.firstname ?? ""),
        lastName: String(u.lastname ?? ""),
        email: String(u.internalemailaddress ?? ""),
        phone: String(u.address1_telephone1 ?? u.mobilephone ?? ""),
      };
      out.set(id, p);
      if ((!p.email || !p.phone) && typeof u.azureactivedirectoryobjectid === "string")
        incomplete.push({ id, aad: u.azureactivedirectoryobjectid });
    }
    if (directory && incomplete.length) {
      try {
        const found = await directory.people(incomplete.map((x) => x.aad));
        for (const { id, aad } of incomplete) {
          const p = out.get(id)!;
          const g = found.get(aad);
          if (g) out.set(id, { ...p, email: p.email || g.email, phone: p.phone || g.phone });
        }
      } catch (e) {
        deps.logger?.warn(
          { err: errorMessage(e) },
          "dynamics: Entra ID look-up of owners failed; team members stay as Dataverse has them",
        );
      }
    }
    return out;
  }

  async function toRecords(rows: Row[]): Promise<CrmRecord[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => String(r.opportunityid)).filter(isGuid);
    // The related rows' queries go in the same round trip as the lookups'.
    const queries = relatedRowQueries(tables, ids);
    const { lookups, extra } = await resolveRelated(
      rows,
      queries.map((x) => x.url),
    );
    const rowsOfDeals = collectRelatedRows(tables, cfg.optionValuePrefix, ids, queries, extra);
    return rows.map((r) => {
      const id = String(r.opportunityid);
      seen.set(id, r);
      const mine = rowsOfDeals.get(id);
      if (mine) related.set(id, mine);
      const record = rowToRecord(r, lookups, c, {
        countryNames,
        optionValuePrefix: cfg.optionValuePrefix,
        warn: (w) =>
          deps.logger?.warn({ crmId: w.crmId, column: w.column, value: w.value }, `dynamics: ${w.message}`),
      });
      return { ...record, deal: withRelatedRows(record.deal, mine) };
    });
  }

  const inFeed = (r: Row) =>
    r[c.syncFlag] === true || (typeof r[c.referralId] === "string" && r[c.referralId] !== "");

  async function feedMode(): Promise<"delta" | "poll"> {
    if (feed) return feed;
    if (cfg.changeTracking !== "auto") {
      feed = cfg.changeTracking === "on" ? "delta" : "poll";
      return feed;
    }
    const def = await http.getJson<{ ChangeTrackingEnabled?: boolean }>(
      "EntityDefinitions(LogicalName='opportunity')?$select=ChangeTrackingEnabled",
      "reading the opportunity table's definition",
    );
    feed = def.ChangeTrackingEnabled ? "delta" : "poll";
    if (feed === "poll")
      deps.logger?.warn(
        {},
        "dynamics: change tracking is off on opportunity; polling modifiedon instead (deletes are not seen)",
      );
    return feed;
  }

  /**
   * A link Dataverse handed back, checked before it is followed or stored as a cursor: it must stay
   * on the environment's origin (the bearer token goes with it).
   */
  const pinned = (link: string, what: string) => http.url(link, what);

  async function* deltaChanges(cursor: string | undefined, overlapMs: number): AsyncIterable<ChangePage> {
    const fresh = `opportunities?$select=${select}`;
    let url = fresh;
    if (cursor?.startsWith("delta:"))
      try {
        url = pinned(cursor.slice(6), "stored delta link");
      } catch (e) {
        // A cursor written before links were checked, or tampered with: never followed.
        deps.logger?.warn({ err: errorMessage(e) }, "dynamics: stored delta link refused; starting over");
      }
    const pages = new PageGuard("opportunity changes", "Dataverse", cfg.maxPages);
    const prefer = `odata.track-changes,odata.maxpagesize=${cfg.pageSize}`;
    for (;;) {
      const res = await http.send({ method: "GET", url, headers: { Prefer: prefer } });
      if (res.status >= 400) {
        const e = dataverseError(res.text);
        if (
          res.status === 400 &&
          url.includes("$deltatoken") &&
          /expired|not valid|token/i.test(e?.message ?? "")
        ) {
          deps.logger?.warn(
            { code: e?.code },
            "dynamics: delta token refused; starting change tracking over",
          );
          url = `opportunities?$select=${select}`;
          continue;
        }
        if (
          res.status === 400 &&
          cfg.changeTracking === "auto" &&
          /change tracking is not enabled/i.test(e?.message ?? "")
        ) {
          deps.logger?.warn(
            {},
            "dynamics: change tracking was turned off on opportunity; polling modifiedon instead",
          );
          feed = "poll";
          yield* pollChanges(undefined, overlapMs);
          return;
        }
        throw errorFrom(res, "reading opportunity changes");
      }
      const body = JSON.parse(res.text) as {
        value: Row[];
        "@odata.nextLink"?: string;
        "@odata.deltaLink"?: string;
      };
      const rows: Row[] = [];
      const deleted: CrmRecord[] = [];
      for (const item of body.value) {
        if (typeof item["@odata.context"] === "string" && item["@odata.context"].endsWith("$deletedEntity")) {
          const id = String(item.id);
          seen.delete(id);
          // Only the id comes with a `$deletedEntity`: the engine keeps the last deal it knew.
          deleted.push(deletedRecord(id));
        } else if (inFeed(item)) rows.push(item);
      }
      const rawNext = body["@odata.nextLink"];
      const next = rawNext === undefined ? undefined : pinned(rawNext, "@odata.nextLink");
      const delta = body["@odata.deltaLink"];
      const records = [...(await toRecords(rows)), ...deleted];
      yield { records, cursor: `delta:${next ?? (delta ? pinned(delta, "@odata.deltaLink") : url)}` };
      if (!next) return;
      pages.next(next);
      url = next;
    }
  }

  async function* pollChanges(cursor: string | undefined, overlapMs: number): AsyncIterable<ChangePage> {
    const since = cursor?.startsWith("poll:") ? new Date(Date.parse(cursor.slice(5)) - overlapMs) : undefined;
    let watermark = cursor?.startsWith("poll:") ? cursor.slice(5) : new Date(0).toISOString();
    const filter = `(${c.syncFlag} eq true or ${c.referralId} ne null)${since ? ` and modifiedon ge ${since.toISOString()}` : ""}`;
    let url: string | undefined =
      `opportunities?$select=${select}&$filter=${q(filter)}&$orderby=${q("modifiedon asc,opportunityid asc")}`;
    const pages = new PageGuard("changed opportunities", "Dataverse", cfg.maxPages);
    while (url) {
      const body: { value: Row[]; "@odata.nextLink"?: string } = await http.getJson(
        url,
        "reading changed opportunities",
        {
          Prefer: `odata.maxpagesize=${cfg.pageSize}`,
        },
      );
      for (const r of body.value)
        if (typeof r.modifiedon === "string" && r.modifiedon > watermark) watermark = r.modifiedon;
      yield { records: await toRecords(body.value), cursor: `poll:${watermark}` };
      url = body["@odata.nextLink"];
      if (url) {
        url = pinned(url, "@odata.nextLink");
        pages.next(url);
      }
    }
  }

  async function readRows(ids: readonly string[]): Promise<Row[]> {
    // Only GUIDs reach the filter: anything else cannot name a row, and pasted in it would change
    // the query (`x) or (`, `… or opportunityid ne null`).
    const urls = chunks([...new Set(ids)].filter(isGuid), IDS_PER_QUERY).map(
      (chunk) => `opportunities?$select=${select}&$filter=${q(orEq("opportunityid", chunk))}`,
    );
    return (await getMany(urls)).flat();
  }

  // ── writes ────────────────────────────────────────────────────────────────────────────────────

  const { prepareLookups, opsFor } = createChangeSets({
    cfg,
    c,
    url: (path) => http.url(path),
    now,
    getMany,
    loadCurrencies,
    seen,
    relatedOps: (w, opportunity) =>
      w.op === "create" || w.op === "update"
        ? relatedOps({
            t: tables,
            url: (path) => http.url(path),
            opportunityPath: opportunity.url,
            opportunityBind: opportunity.bind,
            catalog: catalogRows,
            current: (w.op === "update" ? related.get(w.crmId) : createdBefore.get(w.referralId)) ?? {
              solutions: [],
              team: [],
            },
            ...(w.op === "create" || w.fields.includes("solutions") ? { solutions: w.deal.solutions } : {}),
            ...(w.op === "create" || w.fields.includes("microsoftTeam")
              ? { microsoftTeam: w.deal.microsoftTeam ?? [] }
              : {}),
          })
        : [],
  });

  const failure = (
    crmId: string | undefined,
    code: string,
    message: string,
    retryable: boolean,
  ): CrmWriteResult => ({
    ok: false,
    ...(crmId ? { crmId } : {}),
    error: { code, message, retryable },
  });

  /**
   * Before the change sets are built: the current related rows of the records whose solutions or
   * Microsoft team change, and the catalog rows of every solution they carry (an entry the catalog
   * lacks is created: every solution seen on a referral ends up in it).
   */
  async function prepareRelatedRows(writes: readonly CrmWrite[]): Promise<void> {
    const touching = writes.filter(touchesRelatedRows);
    const unknown = touching.flatMap((w) => (w.op === "update" && !related.has(w.crmId) ? [w.crmId] : []));
    if (unknown.length)
      for (const [id, rows] of await readRelatedRows(
        tables,
        cfg.optionValuePrefix,
        getMany,
        unknown.filter(isGuid),
      ))
        related.set(id, rows);
    const creates = touching.flatMap((w) => (w.op === "create" ? [w.referralId] : []));
    createdBefore = creates.length
      ? await readRelatedRowsByReferral(tables, c.referralId, cfg.optionValuePrefix, getMany, creates)
      : new Map();
    const solutions = new Map(
      touching
        .flatMap((w) => (w.op === "create" || w.op === "update" ? w.deal.solutions : []))
        .map((s) => [s.id, s]),
    );
    catalogRows = solutions.size
      ? await catalog.ensure([...solutions.values()].map(catalogEntryOf))
      : { ids: new Map(), failed: new Map() };
  }

  async function applyChunk(writes: readonly CrmWrite[]): Promise<CrmWriteResult[]> {
    const unknown = writes
      .filter((w) => w.op !== "create" && !seen.has(w.crmId))
      .map((w) => (w as { crmId: string }).crmId);
    if (unknown.length) for (const r of await readRows(unknown)) seen.set(String(r.opportunityid), r);
    await prepareLookups(writes);
    await prepareRelatedRows(writes);
    const results: (CrmWriteResult | undefined)[] = writes.map(() => undefined);
    const parts: BatchPart[] = [];
    const partOf: number[] = [];
    for (const [i, w] of writes.entries()) {
      if (w.op !== "create" && !seen.has(w.crmId)) {
        results[i] = failure(
          w.crmId,
          "NOT_FOUND",
          `Opportunity ${w.crmId} does not exist in Dataverse (deleted?).`,
          false,
        );
        continue;
      }
      try {
        const ops = await opsFor(w);
        if (!ops.length) results[i] = { ok: true, crmId: (w as { crmId: string }).crmId };
        else {
          partOf.push(i);
          parts.push({ kind: "changeset", ops });
        }
      } catch (e) {
        results[i] = failure(
          w.op === "create" ? undefined : w.crmId,
          (e as RemoteApiError).code ?? "MAPPING_FAILED",
          errorMessage(e),
          false,
        );
      }
    }
    if (parts.length) {
      // A $batch holds at most 1,000 requests, counted per request of each change set: the writes go
      // out in as many batches as their operations need (a record's change set is never split).
      const answers: Awaited<ReturnType<typeof sendBatch>> = [];
      let sent = 0;
      for (const group of groupByOperations(parts)) {
        try {
          const got = await sendBatch(group, "writes");
          group.forEach((_, j) => {
            answers[sent + j] = got[j] ?? [];
          });
          sent += group.length;
        } catch (e) {
          // This batch and the ones not sent yet fail with the reason; earlier batches went through.
          const err = e instanceof RemoteApiError ? e : undefined;
          for (const i of partOf.slice(sent)) {
            const w = writes[i]!;
            results[i] = failure(
              w.op === "create" ? undefined : w.crmId,
              err?.code ?? "DATAVERSE_BATCH_FAILED",
              errorMessage(e),
              err?.retryable ?? true,
            );
          }
          break;
        }
      }
      partOf.slice(0, sent).forEach((i, k) => {
        const w = writes[i]!;
        const answer = answers[k] ?? [];
        const failed = answer.find((r) => r.status >= 400);
        const crmId = w.op === "create" ? undefined : w.crmId;
        if (crmId) {
          seen.delete(crmId);
          related.delete(crmId);
        }
        if (failed || !answer.length) {
          const e = failed ? dataverseError(failed.body) : undefined;
          const status = failed?.status ?? 500;
          const code = status === 404 ? "NOT_FOUND" : e?.code || `HTTP_${status}`;
          results[i] = failure(
            crmId,
            code,
            e?.message ?? `Dataverse answered ${status}.`,
            status === 412 || status === 429 || status >= 500,
          );
          return;
        }
        if (w.op === "create") {
          // The opportunity's upsert is the one part answered with a body (return=representation);
          // operations on related rows may follow it.
          const last = [...answer].reverse().find((r) => r.body) ?? answer[answer.length - 1]!;
          const row = last.body ? (JSON.parse(last.body) as Row) : {};
          results[i] = { ok: true, crmId: String(row.opportunityid), created: last.status === 201 };
        } else results[i] = { ok: true, crmId: w.crmId };
      });
    }
    return results as CrmWriteResult[];
  }

  return {
    async describe(): Promise<AdapterDescription> {
      const mode = await feedMode();
      return {
        kind: "dynamics",
        instance: env.origin,
        capabilities: {
          batchSize: cfg.batchSize,
          changeFeed: mode,
          reportsDeletes: mode === "delta",
          fieldDirections: { ...FIELD_DIRECTIONS },
        },
      };
    },
    async *changes(cursor, options) {
      const mode = await feedMode();
      if (mode === "delta")
        yield* deltaChanges(cursor?.startsWith("delta:") ? cursor : undefined, options.overlapMs);
      else yield* pollChanges(cursor, options.overlapMs);
    },
    async read(crmIds) {
      if (!crmIds.some(isGuid)) return [];
      return toRecords(await readRows(crmIds));
    },
    checkCrmId: opportunityIdProblem,
    solutionCatalog: catalog.catalog,
    async apply(writes) {
      const out: CrmWriteResult[] = [];
      for (const chunk of chunks(writes, cfg.batchSize)) out.push(...(await applyChunk(chunk)));
      return out;
    },
    async setup(): Promise<SetupReport> {
      const report = await runSetup(http, cfg, c, {
        sleep: deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
        now,
        ...(deps.logger ? { logger: deps.logger } : {}),
      });
      if (!cfg.webhookUrl) return report;
      const hook = await registerWebhook(http, cfg, c);
      return {
        created: [...report.created, ...hook.created],
        unchanged: [...report.unchanged, ...hook.unchanged],
      };
    },
    webhook: {
      configured: () => !!cfg.webhookUrl,
      parse: (rawBody, headers) => parseWebhookCall(cfg, rawBody, headers),
      verify: () => verifyWebhook(http, cfg),
    },
    async verifySetup(): Promise<VerifyReport> {
      const report = await runVerify(http, cfg, c, directory);
      feed = undefined;
      return report;
    },
    stats: (): CallStats => ({ ...counter }),
    async close() {
      seen.clear();
      related.clear();
    },
  };
}
