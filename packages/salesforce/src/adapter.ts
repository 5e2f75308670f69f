import {
  type AdapterDescription,
  type ChangePage,
  type CrmAdapter,
  type CrmRecord,
  type CrmWrite,
  type CrmWriteResult,
  RECORD_MEMO_MAX,
  RecordMemo,
  type SetupReport,
  type VerifyReport,
} from "@cosell/core";
import { TokenSource } from "./auth.js";
import {
  type ChangeEventHandlers,
  type ChangeSubscription,
  type FeedPositions,
  subscribeOpportunityChanges,
} from "./change-events.js";
import { SalesforceClient } from "./client.js";
import { parseSalesforceConfig, type SalesforceConfig, type SalesforceConfigInput } from "./config.js";
import { decodeCursor, encodeCursor, soqlDateTime } from "./cursor.js";
import { validateSetup } from "./deploy-package.js";
import { isOpportunityId, opportunityIdProblem } from "./ids.js";
import { type OrgFacts, opportunityFields, type Row, rowToRecord, StageMapping } from "./mapping.js";
import { writeRelatedRecords } from "./related-records.js";
import { runSetup, runVerify } from "./setup.js";
import { salesforceSolutionCatalog } from "./solution-catalog.js";
import { dealSolutionsChangedIn, hasRelatedRecords } from "./solution-objects.js";
import { removedDealSolutionConditions } from "./solution-rows.js";
import { CallCounter, type SalesforceCallStats } from "./stats.js";
import { applyCreates, applyUpdates, type KnownRecord, soqlString } from "./writer.js";

/** Optional collaborators of {@link createSalesforceAdapter}. */
export interface SalesforceAdapterDeps {
  /** Salesforce rotated the refresh token: persist the new one (the old one is dead). */
  onRefreshToken?(token: string): void | Promise<void>;
  /** Clock (JWT expiry, getDeleted window). Default: the system clock. */
  now?(): Date;
  /** Waits between token attempts when the login endpoint is briefly unavailable. Default: a timer. */
  sleep?(ms: number): Promise<void>;
  /** Structured logger; secrets are never passed to it. */
  logger?: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    debug(obj: object, msg: string): void;
  };
}

/** The Salesforce adapter: a {@link CrmAdapter} with per-endpoint call counts. */
export interface SalesforceAdapter extends CrmAdapter {
  stats(): SalesforceCallStats;
  /**
   * Change Data Capture on Opportunity (`crm.changeFeed: cdc`), for a long-running process such as
   * `cosell serve`; `cosell sync`/`run` poll only.
   */
  changeEvents: {
    /** Whether the config asks for the subscription (`crm.changeFeed` is `cdc`). */
    enabled(): boolean;
    /** Subscribes, resuming from the replay id stored in `positions`; runs until stopped. */
    subscribe(positions: FeedPositions, handlers: ChangeEventHandlers): ChangeSubscription;
  };
  /** Nothing to release (jsforce keeps no sockets open); here for symmetry with other adapters. */
  close(): Promise<void>;
}

const DAY = 86_400_000;
/**
 * getDeleted refuses a start more than 15 days back (INVALID_REPLICATION_DATE); a few minutes of margin
 * keep a request built just before midnight-of-day-15 valid when it arrives.
 */
const DELETED_WINDOW_MS = 15 * DAY - 10 * 60_000;

/** getDeleted works in whole minutes (seconds are ignored): the end is rounded up past `until`. */
function deletedEnd(until: Date): Date {
  return new Date(Math.ceil(until.getTime() / 60_000) * 60_000 + 60_000);
}

/**
 * A getDeleted bound as jsforce writes it (`YYYY-MM-DDTHH:MM:SS+00:00`, whole seconds, UTC), for the
 * composite call that asks it without jsforce.
 */
function getDeletedDate(d: Date): string {
  return `${d.toISOString().slice(0, 19)}+00:00`;
}

/**
 * Where the next related-list / delete read starts: Salesforce's own `latestDateCovered` (its clock,
 * never past what it has covered), and never past `until`, the end of this cycle's queries. A local
 * clock ahead of Salesforce's would otherwise put the mark in Salesforce's future and skip edits.
 */
function serverMark(latestDateCovered: string, until: Date): string {
  const covered = Date.parse(latestDateCovered);
  return new Date(Number.isNaN(covered) ? until.getTime() : Math.min(covered, until.getTime())).toISOString();
}

/**
 * Creates the Salesforce adapter (jsforce 3.10.16). Throws a `ConfigError` naming the key when the
 * config is invalid; connects lazily on the first call.
 */
export function createSalesforceAdapter(
  input: SalesforceConfigInput,
  deps: SalesforceAdapterDeps = {},
): SalesforceAdapter {
  const config: SalesforceConfig = parseSalesforceConfig(input);
  const now = deps.now ?? (() => new Date());
  const counter = new CallCounter();
  // Metadata deploys poll on their own timer: deps.sleep paces token attempts only.
  const deployDeps = { now, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
  const source = new TokenSource(config.auth, {
    onRefreshToken: deps.onRefreshToken,
    now,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    onTokenCall: () => counter.auth(),
    timeoutMs: config.requestTimeoutMs,
  });
  const client = new SalesforceClient(source, counter, {
    apiVersion: config.apiVersion,
    instanceUrl: config.instanceUrl,
    timeoutMs: config.requestTimeoutMs,
    maxResponseBytes: config.maxResponseBytes,
  });
  /** Stage and account of the records read lately (bounded: see RecordMemo); a write re-reads a miss. */
  const known = new RecordMemo<KnownRecord>(RECORD_MEMO_MAX);
  let orgP:
    | Promise<{
        facts: OrgFacts;
        stages: StageMapping;
        /** The mapping of a record's record type (its sales process's stages); Master/none: all stages. */
        stagesFor(recordTypeId: unknown): StageMapping;
        /** The record type new opportunities get (the integration user's default), if the org has any. */
        defaultRecordType?: string;
        select: string;
      }>
    | undefined;

  /** Describes the org once: currency, country codes, DUNS field, stages. */
  const org = () => {
    orgP ??= (async () => {
      const [opp, account, stageRows] = [
        await client.describe("Opportunity"),
        await client.describe("Account"),
        await client.query(
          "SELECT ApiName, IsActive, IsClosed, IsWon, SortOrder FROM OpportunityStage ORDER BY SortOrder",
        ),
      ];
      const has = (d: { fields: Row[] }, name: string) =>
        d.fields.some((f) => String(f.name).toLowerCase() === name.toLowerCase());
      const facts: OrgFacts = {
        relatedRecords: hasRelatedRecords(opp),
        multiCurrency: has(opp, "CurrencyIsoCode"),
        countryCodes: has(account, "BillingCountryCode"),
        ...(config.fields.accountDuns && has(account, config.fields.accountDuns)
          ? { accountDuns: config.fields.accountDuns }
          : {}),
        stages: stageRows.map((r) => ({
          apiName: String(r.ApiName),
          isActive: r.IsActive !== false,
          isClosed: r.IsClosed === true,
          isWon: r.IsWon === true,
          sortOrder: Number(r.SortOrder ?? 0),
        })),
      };
      // Record types: each has a sales process, and a sales process offers only some of the org's
      // stages ("Picklist values are scoped to a record type"; the User Interface API lists a
      // record type's StageName values). A record's stage is chosen among its record type's values.
      const recordTypes = (opp.recordTypeInfos ?? []).filter((r) => r.master !== true && r.active !== false);
      const all = new StageMapping(facts.stages, config.stages);
      const byRecordType = new Map<string, StageMapping>();
      for (const rt of recordTypes) {
        const names = new Set(await client.picklistValues("Opportunity", rt.recordTypeId, "StageName"));
        const offered = facts.stages.filter((s) => names.has(s.apiName));
        // A configured stage its sales process does not offer is left out for this record type.
        const toCrm = Object.fromEntries(
          Object.entries(config.stages.toCrm).filter(([, v]) => typeof v === "string" && names.has(v)),
        );
        byRecordType.set(rt.recordTypeId, new StageMapping(offered, { ...config.stages, toCrm }));
      }
      const defaultRecordType = recordTypes.find((r) => r.defaultRecordTypeMapping === true)?.recordTypeId;
      deps.logger?.debug(
        { multiCurrency: facts.multiCurrency, stages: facts.stages.length, recordTypes: recordTypes.length },
        "described org",
      );
      return {
        facts,
        stages: all,
        stagesFor: (rt: unknown) => (typeof rt === "string" ? byRecordType.get(rt) : undefined) ?? all,
        ...(defaultRecordType ? { defaultRecordType } : {}),
        select: `${opportunityFields(config, facts)}${recordTypes.length ? ", RecordTypeId" : ""}`,
      };
    })().catch((e) => {
      orgP = undefined;
      throw e;
    });
    return orgP;
  };

  const feed = `(${config.fields.optIn} = true OR ${config.fields.referralId} != null)`;

  const toRecords = async (rows: Row[]): Promise<CrmRecord[]> => {
    const { facts, stagesFor } = await org();
    return rows.map((row) => {
      known.set(String(row.Id), {
        stageName: String(row.StageName ?? ""),
        ...(typeof row.AccountId === "string" ? { accountId: row.AccountId } : {}),
        ...(typeof row.RecordTypeId === "string" ? { recordTypeId: row.RecordTypeId } : {}),
        ...(row[config.fields.direction] === "inbound" ? { inbound: true } : {}),
      });
      return rowToRecord(row, config, facts, stagesFor(row.RecordTypeId), (u) =>
        deps.logger?.warn({ crmId: u.crmId, field: u.field, value: u.value }, u.message),
      );
    });
  };

  async function* changes(
    cursor: string | undefined,
    options: { overlapMs: number },
  ): AsyncIterable<ChangePage> {
    const { select, facts } = await org();
    const start = decodeCursor(cursor);
    // Records changed while this cycle runs (our own writes included) are left to the next cycle.
    const until = now();
    // Without overlap the keyset resumes right after the cursor's record; with it, the window before the
    // cursor is read again (rows committed late), and the engine de-duplicates.
    const since =
      start && options.overlapMs > 0 ? new Date(Date.parse(start.ts) - options.overlapMs) : undefined;
    let last: { ts: string; id: string } | undefined =
      start && options.overlapMs === 0 ? { ts: start.ts, id: start.id } : undefined;
    const pageSoql = (after: typeof last) => {
      const where = [
        feed,
        `SystemModstamp < ${soqlDateTime(until)}`,
        ...(since ? [`SystemModstamp >= ${soqlDateTime(since)}`] : []),
        ...(after
          ? [
              `(SystemModstamp > ${soqlDateTime(new Date(after.ts))} OR (SystemModstamp = ${soqlDateTime(new Date(after.ts))} AND Id > ${soqlString(after.id)}))`,
            ]
          : []),
      ].join(" AND ");
      return `SELECT ${select}, IsDeleted FROM Opportunity WHERE ${where} ORDER BY SystemModstamp, Id LIMIT ${config.pageSize}`;
    };
    // Related-list edits (team members, contact roles, the account) do not move the opportunity's
    // SystemModstamp: they are looked for separately, from where the last completed read ended.
    const relatedWindow = start
      ? `SystemModstamp >= ${soqlDateTime(new Date(Date.parse(start.rel ?? start.ts) - options.overlapMs))} AND SystemModstamp < ${soqlDateTime(until)}`
      : "";
    const relatedSoql =
      start && config.watchRelated
        ? [
            `Id IN (SELECT OpportunityId FROM OpportunityTeamMember WHERE ${relatedWindow})`,
            `Id IN (SELECT OpportunityId FROM OpportunityContactRole WHERE ${relatedWindow})`,
            `AccountId IN (SELECT Id FROM Account WHERE ${relatedWindow})`,
            ...(facts.relatedRecords ? [dealSolutionsChangedIn(relatedWindow)] : []),
          ].map((semiJoin) => `SELECT ${select} FROM Opportunity WHERE ${feed} AND ${semiJoin} ORDER BY Id`)
        : [];
    // Deletes the Recycle Bin no longer holds (emptied, hard-deleted): getDeleted still knows them,
    // for DELETED_WINDOW_MS at most.
    const deletedWanted = start ? Date.parse(start.del ?? start.ts) - options.overlapMs : until.getTime();
    const deletedEarliest = until.getTime() - DELETED_WINDOW_MS;
    const deletedFrom = new Date(Math.max(deletedWanted, deletedEarliest));
    // getDeleted works in whole minutes (seconds are ignored): round the end up to the next minute so a
    // delete in the current minute is inside; the overlap re-reads it next time anyway.
    const deletedTo = new Date(Math.max(deletedEnd(until).getTime(), deletedFrom.getTime() + 60_000));

    // An incremental read asks its first page, the related-list queries and getDeleted in one composite
    // call (one API call in all): an idle cycle costs that call plus the removed-solutions query, not
    // eight. Later pages, more rows than a page and the follow-up queries are read as before.
    const ahead = new Map<string, unknown>();
    if (start) {
      const queries = [pageSoql(last), ...relatedSoql].slice(0, 5);
      const answers = await client.compositeReads([
        ...queries.map((soql, i) => ({
          ref: `q${i}`,
          path: `/${i === 0 ? "queryAll" : "query"}?q=${encodeURIComponent(soql)}`,
        })),
        {
          ref: "deleted",
          path: `/sobjects/Opportunity/deleted?start=${encodeURIComponent(getDeletedDate(deletedFrom))}&end=${encodeURIComponent(getDeletedDate(deletedTo))}`,
        },
      ]);
      for (const [i, soql] of queries.entries()) ahead.set(soql, answers.get(`q${i}`));
      ahead.set("deleted", answers.get("deleted"));
    }
    /** The query's rows: from the composite answer when it asked this query, else read now. */
    const query = (soql: string, options: { scanAll?: boolean } = {}): Promise<Row[]> => {
      const first = ahead.get(soql);
      if (first === undefined) return client.query(soql, options);
      ahead.delete(soql);
      return client.queryRest(first, options.scanAll);
    };

    // Ids already reported by this call: a later page must not hand the engine an older copy.
    const yielded = new Set<string>();
    for (;;) {
      // queryAll: a delete moves SystemModstamp, so records in the Recycle Bin come back with IsDeleted.
      const rows = await query(pageSoql(last), { scanAll: true });
      if (rows.length) {
        const tail = rows.at(-1)!;
        last = { ts: new Date(String(tail.SystemModstamp)).toISOString(), id: String(tail.Id) };
        const fresh = rows.filter((r) => !yielded.has(String(r.Id)));
        for (const r of fresh) yielded.add(String(r.Id));
        const records = await toRecords(fresh);
        yield {
          records: records.map((r, i) => (fresh[i]!.IsDeleted === true ? { ...r, deleted: true } : r)),
          cursor: encodeCursor({ ts: last.ts, id: last.id, del: start?.del, rel: start?.rel }),
        };
      }
      if (rows.length < config.pageSize) break;
    }
    const ts = last?.ts ?? start?.ts ?? until.toISOString();
    const id = last?.id ?? start?.id ?? "";
    if (!start) {
      // First read: everything is in; later cycles look for related edits and deletes from here on —
      // from Salesforce's time, not ours: a local clock ahead of Salesforce's would skip edits.
      const probe = await client.deleted("Opportunity", new Date(until.getTime() - DAY), deletedEnd(until));
      const mark = serverMark(probe.latestDateCovered, until);
      yield {
        records: [],
        cursor: encodeCursor({ ts: last ? ts : mark, id, del: mark, rel: mark }),
      };
      return;
    }
    if (config.watchRelated) {
      const resume = encodeCursor({
        ts,
        id,
        ...(start.del ? { del: start.del } : {}),
        ...(start.rel ? { rel: start.rel } : {}),
      });
      const removed = facts.relatedRecords ? await removedDealSolutionConditions(client, relatedWindow) : [];
      const more = removed.map(
        (semiJoin) => `SELECT ${select} FROM Opportunity WHERE ${feed} AND ${semiJoin} ORDER BY Id`,
      );
      for (const soql of [...relatedSoql, ...more]) {
        const rows = (await query(soql)).filter((r) => !yielded.has(String(r.Id)));
        for (const r of rows) yielded.add(String(r.Id));
        if (rows.length) yield { records: await toRecords(rows), cursor: resume };
      }
    }
    // After an outage longer than Salesforce keeps delete records, older deletes can only be found by
    // comparing everything: say so rather than fail every cycle.
    if (deletedWanted < deletedEarliest)
      deps.logger?.warn(
        {
          since: new Date(deletedWanted).toISOString(),
          earliest: new Date(deletedEarliest).toISOString(),
        },
        "Salesforce keeps deleted-record ids for 15 days only; run `cosell sync --reconcile` once to catch older deletes",
      );
    const deleted = ahead.get("deleted") as Awaited<ReturnType<SalesforceClient["deleted"]>>;
    const ids = (deleted.deletedRecords ?? []).map((d) => d.id);
    const records: CrmRecord[] = [];
    for (let i = 0; i < ids.length; i += 200) {
      const part = ids.slice(i, i + 200);
      const rows = await client.query(
        `SELECT ${select} FROM Opportunity WHERE IsDeleted = true AND ${feed} AND Id IN (${part.map(soqlString).join(", ")})`,
        { scanAll: true },
      );
      const fresh = rows.filter((r) => !yielded.has(String(r.Id)));
      for (const r of await toRecords(fresh)) records.push({ ...r, deleted: true });
    }
    const covered = Date.parse(deleted.latestDateCovered);
    const del = Number.isNaN(covered) ? (start.del ?? start.ts) : new Date(covered).toISOString();
    yield {
      records,
      cursor: encodeCursor({ ts, id, del, rel: serverMark(deleted.latestDateCovered, until) }),
    };
  }

  async function read(crmIds: readonly string[]): Promise<CrmRecord[]> {
    // An id that cannot be an Opportunity's would fail the whole query (invalid ID field).
    const ids = [...new Set(crmIds)].filter(isOpportunityId);
    if (!ids.length) return [];
    const { select } = await org();
    const out: CrmRecord[] = [];
    for (let i = 0; i < ids.length; i += config.batchSize) {
      const part = ids.slice(i, i + config.batchSize);
      const rows = await client.query(
        `SELECT ${select} FROM Opportunity WHERE Id IN (${part.map(soqlString).join(", ")})`,
      );
      out.push(...(await toRecords(rows)));
    }
    return out;
  }

  async function apply(writes: readonly CrmWrite[]): Promise<CrmWriteResult[]> {
    const { facts, stagesFor, defaultRecordType } = await org();
    // An update of the stage or the customer needs the record's current stage and account: a record
    // not read lately (a change from Partner Center alone, a restarted process) is read first, or the
    // account would be left as it was and its old name read back as the seller's edit.
    const unread = writes.filter(
      (w) =>
        w.op === "update" &&
        !known.has(w.crmId) &&
        (w.fields.includes("customer") || w.fields.includes("stage")),
    );
    if (unread.length) await read(unread.map((w) => (w as { crmId: string }).crmId));
    // New opportunities get the default record type: their stages come from its sales process.
    const ctx = {
      client,
      config,
      facts,
      stages: stagesFor(defaultRecordType),
      stagesFor,
      ...(defaultRecordType ? { defaultRecordType } : {}),
      known,
    };
    const results: CrmWriteResult[] = new Array(writes.length);
    const creates: number[] = [];
    const updates: number[] = [];
    for (const [i, w] of writes.entries()) (w.op === "create" ? creates : updates).push(i);
    for (let k = 0; k < creates.length; k += config.batchSize) {
      const idx = creates.slice(k, k + config.batchSize);
      const res = await applyCreates(
        idx.map((i) => writes[i] as Extract<CrmWrite, { op: "create" }>),
        ctx,
      );
      idx.forEach((i, j) => {
        results[i] = res[j]!;
      });
    }
    for (let k = 0; k < updates.length; k += config.batchSize) {
      const idx = updates.slice(k, k + config.batchSize);
      const res = await applyUpdates(
        idx.map((i) => writes[i] as Extract<CrmWrite, { op: "update" | "status" }>),
        ctx,
      );
      idx.forEach((i, j) => {
        results[i] = res[j]!;
      });
    }
    if (facts.relatedRecords) await writeRelatedRecords(client, writes, results);
    const failed = results.filter((r) => !r.ok).length;
    if (failed) deps.logger?.warn({ writes: writes.length, failed }, "some Salesforce writes failed");
    return results;
  }

  return {
    async describe(): Promise<AdapterDescription> {
      const conn = await client.connection();
      const { facts } = await org();
      return {
        kind: "salesforce",
        instance: conn.instanceUrl,
        capabilities: {
          batchSize: config.batchSize,
          changeFeed: "poll",
          reportsDeletes: true,
          fieldDirections: {
            name: "both",
            value: "both",
            closeDate: "both",
            notes: "both",
            crmId: "toPartnerCenter",
            campaignId: "both",
            customer: "both",
            consentToShareContact: "both",
            consentToContact: "both",
            favorite: "both",
            salesStage: "both",
            // The partner's team lives in Salesforce (users, team members): sent with a new referral, and
            // afterwards only when syncTeamUpdates is on (inbound referrals carry Microsoft's people,
            // who are not Salesforce users, so the two sides never agree on them).
            team: config.syncTeamUpdates ? "toPartnerCenter" : "none",
            solutions: "both",
            invitation: "both",
            stage: "both",
            // Partner Center's own facts: written by cosell, never read back as a seller's change
            // (core forces these to toCrm whatever is declared; declared so here too).
            expiresAt: "toCrm",
            microsoftOpportunityId: "toCrm",
            microsoftAnswer: "toCrm",
            registration: "toCrm",
            sentBy: "toCrm",
            // Rows of Cosell_Microsoft_Team_Member__c: only once setup created the object.
            microsoftTeam: facts.relatedRecords ? "toCrm" : "none",
          },
        },
      };
    },
    changes,
    read,
    solutionCatalog: salesforceSolutionCatalog(client),
    checkCrmId: opportunityIdProblem,
    apply,
    async setup(): Promise<SetupReport> {
      await client.connection();
      const report = await runSetup(client, config, () => source.userId, {
        ...deployDeps,
        onProgress: (line) => deps.logger?.info({ deploy: line }, "Salesforce setup"),
      });
      orgP = undefined; // describe again: new fields are visible now
      deps.logger?.info({ created: report.created.length }, "Salesforce setup done");
      return report;
    },
    async verifySetup(): Promise<VerifyReport> {
      return runVerify(client, config, async () => (await org()).stages);
    },
    validateSetup: (onProgress) =>
      validateSetup(client, config, { ...deployDeps, ...(onProgress ? { onProgress } : {}) }),
    changeEvents: {
      enabled: () => config.changeFeed === "cdc",
      subscribe: (positions, handlers) =>
        subscribeOpportunityChanges({
          session: client,
          positions,
          handlers,
          now,
          ...(deps.logger ? { logger: deps.logger } : {}),
        }),
    },
    stats: () => counter.snapshot(),
    close: async () => undefined,
  };
}
