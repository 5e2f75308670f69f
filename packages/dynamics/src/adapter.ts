import {
  type AdapterDescription,
  type CallStats,
  type ChangePage,
  type CoSellDeal,
  type CrmAdapter,
  type CrmRecord,
  type CrmWrite,
  type CrmWriteResult,
  createTokenProvider,
  errorMessage,
  type FieldDirection,
  type Person,
  RemoteApiError,
  type SetupReport,
  type Stage,
  type SyncField,
  type VerifyReport,
} from "@cosell/core";
import { type BatchOperation, type BatchPart, buildBatch, parseBatchResponse } from "./batch.js";
import { columnsFor } from "./columns.js";
import { type DynamicsConfig, type DynamicsConfigInput, parseDynamicsConfig } from "./config.js";

import { EntraDirectory } from "./graph.js";
import { type CallCounter, dataverseError, errorFrom, WebApiClient } from "./http.js";
import {
  deletedRecord,
  LOST,
  OPEN,
  opportunitySelect,
  plainFieldColumns,
  type Related,
  type Row,
  rowToRecord,
  stateOfStage,
  statusColumns,
  WON,
} from "./mapping.js";
import { runSetup, runVerify } from "./setup.js";

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
export type DynamicsAdapter = CrmAdapter & { close(): Promise<void> };

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
  invitation: "both",
  stage: "both",
};

const ACCOUNT_SELECT =
  "accountid,name,address1_line1,address1_line2,address1_city,address1_stateorprovince,address1_postalcode,address1_country";
const CONTACT_SELECT = "contactid,firstname,lastname,emailaddress1,telephone1,mobilephone";
const USER_SELECT =
  "systemuserid,firstname,lastname,internalemailaddress,address1_telephone1,mobilephone,azureactivedirectoryobjectid,applicationid,accessmode";
/** Ids per `$filter=… eq … or …` (keeps URLs short enough for any proxy). */
const IDS_PER_QUERY = 40;

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const orEq = (column: string, values: readonly string[], literal = (v: string) => v) =>
  values.map((v) => `${column} eq ${literal(v)}`).join(" or ");
const chunks = <T>(list: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
};
const q = (s: string) => encodeURIComponent(s);

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
  const tokens = createTokenProvider({ ...credential, scope: `${resource}/.default` });
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
  });
  const directory = cfg.resolveTeamFromGraph
    ? new EntraDirectory(
        cfg.graphBaseUrl,
        createTokenProvider({ ...credential, scope: cfg.graphScope }),
        counter,
        () => now().getTime(),
      )
    : undefined;
  const c = columnsFor(cfg.publisherPrefix);
  const select = opportunitySelect(c);
  const countryNames = Object.fromEntries(
    Object.entries(cfg.countryNames).map(([k, v]) => [k.toLowerCase(), v]),
  );
  /** Last row seen per opportunity: its etag and state drive If-Match and Win/Lose/reopen. */
  const seen = new Map<string, Row>();
  /**
   * Last record mapped per opportunity. A `$deletedEntity` carries only the id, but the engine keeps
   * the deleted record's deal as the link's CRM side and compares it later, so it must be the last
   * known deal, not a blank one (after a restart the blank placeholder is all there is).
   */
  const lastRecords = new Map<string, CrmRecord>();
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
  async function resolveRelated(rows: readonly Row[]): Promise<Related> {
    const ids = (col: string) => [
      ...new Set(rows.map((r) => r[col]).filter((v): v is string => typeof v === "string")),
    ];
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
      .filter((r) => r.statecode === LOST && !r[c.closeReason])
      .map((r) => String(r.opportunityid));
    for (const chunk of chunks(lostWithoutReason, IDS_PER_QUERY))
      urls.push({
        set: "opportunitycloses",
        url: `opportunitycloses?$select=description,_opportunityid_value,createdon&$filter=${q(orEq("_opportunityid_value", chunk))}&$orderby=${q("createdon asc")}`,
      });
    for (const w of wanted)
      for (const chunk of chunks(w.ids, IDS_PER_QUERY))
        urls.push({ set: w.set, url: `${w.set}?$select=${w.select}&$filter=${q(orEq(w.key, chunk))}` });
    const [cur, results] = await Promise.all([loadCurrencies(), getMany(urls.map((u) => u.url))]);
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
      accounts: by("accounts", "accountid"),
      contacts: by("contacts", "contactid"),
      campaigns: by("campaigns", "campaignid"),
      currencies: cur.byId,
      closeDescriptions,
      owners: await owners(users),
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
    const related = await resolveRelated(rows);
    return rows.map((r) => {
      seen.set(String(r.opportunityid), r);
      const rec = rowToRecord(r, related, c, countryNames);
      lastRecords.set(rec.crmId, rec);
      return rec;
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

  async function* deltaChanges(cursor: string | undefined, overlapMs: number): AsyncIterable<ChangePage> {
    let url = cursor?.startsWith("delta:") ? cursor.slice(6) : `opportunities?$select=${select}`;
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
          const last = lastRecords.get(id);
          seen.delete(id);
          lastRecords.delete(id);
          deleted.push(last ? { ...last, deleted: true } : deletedRecord(id));
        } else if (inFeed(item)) rows.push(item);
      }
      const next = body["@odata.nextLink"];
      const records = [...(await toRecords(rows)), ...deleted];
      yield { records, cursor: `delta:${next ?? body["@odata.deltaLink"] ?? url}` };
      if (!next) return;
      url = next;
    }
  }

  async function* pollChanges(cursor: string | undefined, overlapMs: number): AsyncIterable<ChangePage> {
    const since = cursor?.startsWith("poll:") ? new Date(Date.parse(cursor.slice(5)) - overlapMs) : undefined;
    let watermark = cursor?.startsWith("poll:") ? cursor.slice(5) : new Date(0).toISOString();
    const filter = `(${c.syncFlag} eq true or ${c.referralId} ne null)${since ? ` and modifiedon ge ${since.toISOString()}` : ""}`;
    let url: string | undefined =
      `opportunities?$select=${select}&$filter=${q(filter)}&$orderby=${q("modifiedon asc,opportunityid asc")}`;
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
    }
  }

  async function readRows(ids: readonly string[]): Promise<Row[]> {
    const urls = chunks([...new Set(ids)], IDS_PER_QUERY).map(
      (chunk) => `opportunities?$select=${select}&$filter=${q(orEq("opportunityid", chunk))}`,
    );
    return (await getMany(urls)).flat();
  }

  // ── writes ────────────────────────────────────────────────────────────────────────────────────

  const lookups = {
    accounts: new Map<string, string>(),
    contacts: new Map<string, string>(),
    campaigns: new Map<string, string>(),
  };
  const accountKey = (d: CoSellDeal) =>
    `${d.customer.name.toLowerCase()}|${d.customer.address.postalCode ?? ""}`;

  /** Finds existing accounts (name + postal code, as the Microsoft connector does), contacts (email) and campaigns (code or id). */
  async function prepareLookups(writes: readonly CrmWrite[]): Promise<void> {
    const deals = writes.flatMap((w) =>
      w.op === "create"
        ? [w.deal]
        : w.op === "update" && (w.fields.includes("customer") || w.fields.includes("campaignId"))
          ? [w.deal]
          : [],
    );
    const names = [...new Set(deals.map((d) => d.customer.name).filter(Boolean))];
    const emails = [...new Set(deals.map((d) => d.customer.contact?.email).filter((e): e is string => !!e))];
    const campaigns = [...new Set(deals.map((d) => d.campaignId).filter((x): x is string => !!x))];
    const urls: { kind: "accounts" | "contacts" | "campaigns"; url: string }[] = [];
    for (const chunk of chunks(names, 20))
      urls.push({
        kind: "accounts",
        url: `accounts?$select=${ACCOUNT_SELECT}&$filter=${q(orEq("name", chunk, quote))}`,
      });
    for (const chunk of chunks(emails, 20))
      urls.push({
        kind: "contacts",
        url: `contacts?$select=${CONTACT_SELECT}&$filter=${q(orEq("emailaddress1", chunk, quote))}`,
      });
    for (const chunk of chunks(campaigns, 20)) {
      const guids = chunk.filter((x) => /^[0-9a-f-]{36}$/i.test(x));
      const filter = [orEq("codename", chunk, quote), guids.length ? orEq("campaignid", guids) : ""]
        .filter(Boolean)
        .join(" or ");
      urls.push({ kind: "campaigns", url: `campaigns?$select=campaignid,codename&$filter=${q(filter)}` });
    }
    const results = await getMany(urls.map((u) => u.url));
    results.forEach((rows, i) => {
      for (const r of rows) {
        if (urls[i]!.kind === "accounts")
          lookups.accounts.set(
            `${String(r.name).toLowerCase()}|${String(r.address1_postalcode ?? "")}`,
            String(r.accountid),
          );
        if (urls[i]!.kind === "contacts")
          lookups.contacts.set(String(r.emailaddress1).toLowerCase(), String(r.contactid));
        if (urls[i]!.kind === "campaigns") {
          lookups.campaigns.set(String(r.campaignid), String(r.campaignid));
          if (r.codename) lookups.campaigns.set(String(r.codename), String(r.campaignid));
        }
      }
    });
  }

  const accountBody = (d: CoSellDeal): Row => ({
    name: d.customer.name,
    address1_line1: d.customer.address.street ?? null,
    address1_line2: d.customer.address.street2 ?? null,
    address1_city: d.customer.address.city ?? null,
    address1_stateorprovince: d.customer.address.state ?? null,
    address1_postalcode: d.customer.address.postalCode ?? null,
    address1_country: d.customer.address.country || null,
  });
  const contactBody = (p: Person): Row => ({
    firstname: p.firstName || null,
    lastname: p.lastName || p.email,
    emailaddress1: p.email || null,
    telephone1: p.phone || null,
  });

  /** Ops that make the customer exist (account, contact), and the binds the opportunity then needs. */
  function customerOps(d: CoSellDeal, ops: BatchOperation[], current?: Row): Row {
    const binds: Row = {};
    const accountId =
      (current?._parentaccountid_value as string | undefined) ?? lookups.accounts.get(accountKey(d));
    let accountRef: string;
    if (accountId) {
      if (current?._parentaccountid_value)
        ops.push({
          method: "PATCH",
          url: http.url(`accounts(${accountId})`),
          headers: { "If-Match": "*" },
          body: accountBody(d),
        });
      accountRef = `/accounts(${accountId})`;
    } else if (d.customer.name) {
      ops.push({ method: "POST", url: http.url("accounts"), body: accountBody(d) });
      accountRef = `$${ops.length}`;
    } else return binds;
    binds["parentaccountid@odata.bind"] = accountRef;
    binds["customerid_account@odata.bind"] = accountRef;
    const p = d.customer.contact;
    if (p?.email || p?.lastName) {
      const contactId =
        (current?._parentcontactid_value as string | undefined) ??
        lookups.contacts.get((p.email ?? "").toLowerCase());
      if (contactId) {
        if (current?._parentcontactid_value)
          ops.push({
            method: "PATCH",
            url: http.url(`contacts(${contactId})`),
            headers: { "If-Match": "*" },
            body: contactBody(p),
          });
        binds["parentcontactid@odata.bind"] = `/contacts(${contactId})`;
      } else {
        ops.push({
          method: "POST",
          url: http.url("contacts"),
          body: { ...contactBody(p), "parentcustomerid_account@odata.bind": accountRef },
        });
        binds["parentcontactid@odata.bind"] = `$${ops.length}`;
      }
    }
    return binds;
  }

  async function valueColumns(d: CoSellDeal): Promise<Row> {
    if (!d.value) return { estimatedvalue: null };
    const cur = await loadCurrencies();
    const id = cur.byCode.get(d.value.currency.toUpperCase());
    if (!id)
      throw new RemoteApiError(
        "CURRENCY_NOT_FOUND",
        `Currency ${d.value.currency} is not set up in Dataverse. Add it under Settings → Business Management → Currencies.`,
      );
    return {
      estimatedvalue: d.value.amount,
      "transactioncurrencyid@odata.bind": `/transactioncurrencies(${id})`,
    };
  }

  const closeStatus = (stage: Stage): number =>
    stage === "won"
      ? cfg.stageMap.won
      : stage === "declined"
        ? cfg.stageMap.declined
        : stage === "expired"
          ? cfg.stageMap.expired
          : cfg.stageMap.lost;

  function closeOp(
    id: string,
    state: number,
    statusCode: number,
    d: CoSellDeal | undefined,
    current: Row,
    reclose: boolean,
  ): BatchOperation {
    const won = state === WON;
    const reason = d?.closeReason ?? (current[c.closeReason] as string | undefined);
    const end =
      reclose && typeof current.actualclosedate === "string"
        ? `${current.actualclosedate.slice(0, 10)}T12:00:00Z`
        : now().toISOString();
    const revenue =
      reclose && typeof current.actualvalue === "number"
        ? current.actualvalue
        : won
          ? (d?.value?.amount ?? current.estimatedvalue)
          : 0;
    return {
      method: "POST",
      url: http.url(won ? "WinOpportunity" : "LoseOpportunity"),
      body: {
        Status: statusCode,
        OpportunityClose: {
          subject:
            `${won ? "Won" : "Lost"}${reclose ? " (co-sell status update)" : ""}: ${String(d?.name ?? current.name ?? "")}`.slice(
              0,
              200,
            ),
          "opportunityid@odata.bind": `/opportunities(${id})`,
          actualrevenue: typeof revenue === "number" ? revenue : 0,
          actualend: end,
          ...(reason ? { description: reason } : {}),
        },
      },
    };
  }

  /** The change set of one write (empty when there is nothing to change). */
  async function opsFor(w: CrmWrite): Promise<BatchOperation[]> {
    const ops: BatchOperation[] = [];
    if (w.op === "create") {
      const d = w.deal;
      const binds = customerOps(d, ops);
      const campaign = d.campaignId ? lookups.campaigns.get(d.campaignId) : undefined;
      const { [c.referralId]: _key, ...status } = statusColumns(w.status, c, cfg.optionValuePrefix);
      ops.push({
        method: "PATCH",
        url: http.url(`opportunities(${c.referralId}=${quote(w.referralId)})?$select=opportunityid`),
        headers: { Prefer: "return=representation" },
        body: {
          ...plainFieldColumns(
            d,
            ["name", "closeDate", "notes", "consentToShareContact", "solutions", "invitation", "team"],
            c,
          ),
          ...(await valueColumns(d)),
          ...binds,
          ...(campaign ? { "campaignid@odata.bind": `/campaigns(${campaign})` } : {}),
          [c.syncFlag]: true,
          [c.direction]: d.direction,
          salesstage: cfg.stageMap.inboundSalesStage,
          ...status,
          [c.coSellStatus]: w.status.coSellStage ?? d.stage,
        },
      });
      return ops;
    }
    const id = w.crmId;
    const current = seen.get(id)!;
    const body: Row = {};
    let target = current.statecode as number;
    let stage: Stage | undefined;
    if (w.op === "update") {
      Object.assign(body, plainFieldColumns(w.deal, w.fields, c));
      if (w.fields.includes("value")) Object.assign(body, await valueColumns(w.deal));
      if (w.fields.includes("campaignId")) {
        const campaign = w.deal.campaignId ? lookups.campaigns.get(w.deal.campaignId) : undefined;
        if (campaign) body["campaignid@odata.bind"] = `/campaigns(${campaign})`;
        else if (!w.deal.campaignId) body.campaignid = null;
      }
      if (w.fields.includes("customer")) Object.assign(body, customerOps(w.deal, ops, current));
      if (w.fields.includes("stage")) {
        stage = w.deal.stage;
        target = stateOfStage(stage);
        body[c.coSellStatus] = stage;
        body[c.closeReason] = w.deal.closeReason ?? null;
      }
    }
    if (w.status) Object.assign(body, statusColumns(w.status, c, cfg.optionValuePrefix));
    if (stage) body[c.coSellStatus] = stage;
    const state = current.statecode as number;
    const etag = typeof current["@odata.etag"] === "string" ? current["@odata.etag"] : "*";
    const patch = (extra: Row): BatchOperation => ({
      method: "PATCH",
      url: http.url(`opportunities(${id})`),
      headers: { "If-Match": etag },
      body: { ...body, ...extra },
    });
    const hasChanges = Object.keys(body).length > 0 || ops.length > 0;
    if (state === OPEN) {
      if (Object.keys(body).length) ops.push(patch({}));
      if (target !== OPEN)
        ops.push(
          closeOp(id, target, closeStatus(stage!), w.op === "update" ? w.deal : undefined, current, false),
        );
      return ops;
    }
    // Won/Lost rows are read-only until reopened (dynamics.md §2.1): reopen, write, close again.
    if (target === OPEN) {
      ops.push(patch({ statecode: OPEN, statuscode: cfg.stageMap.reopen }));
      return ops;
    }
    if (!hasChanges && target === state) return ops;
    ops.push(patch({ statecode: OPEN, statuscode: cfg.stageMap.reopen }));
    const sameClose =
      target === state && (!stage || stageOfRow(current) === stage || (target === LOST && !stage));
    const statusCode =
      sameClose && typeof current.statuscode === "number"
        ? current.statuscode
        : closeStatus(stage ?? (target === WON ? "won" : "lost"));
    ops.push(
      closeOp(id, target, statusCode, w.op === "update" ? w.deal : undefined, current, target === state),
    );
    return ops;
  }

  const stageOfRow = (r: Row): Stage =>
    r.statecode === WON
      ? "won"
      : r.statecode === LOST
        ? ((r[c.coSellStatus] as Stage) ?? "lost")
        : "accepted";

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

  async function applyChunk(writes: readonly CrmWrite[]): Promise<CrmWriteResult[]> {
    const unknown = writes
      .filter((w) => w.op !== "create" && !seen.has(w.crmId))
      .map((w) => (w as { crmId: string }).crmId);
    if (unknown.length) for (const r of await readRows(unknown)) seen.set(String(r.opportunityid), r);
    await prepareLookups(writes);
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
      let answers: Awaited<ReturnType<typeof sendBatch>>;
      try {
        answers = await sendBatch(parts, "writes");
      } catch (e) {
        const err = e instanceof RemoteApiError ? e : undefined;
        for (const i of partOf) {
          const w = writes[i]!;
          results[i] = failure(
            w.op === "create" ? undefined : w.crmId,
            err?.code ?? "DATAVERSE_BATCH_FAILED",
            errorMessage(e),
            err?.retryable ?? true,
          );
        }
        return results as CrmWriteResult[];
      }
      partOf.forEach((i, k) => {
        const w = writes[i]!;
        const answer = answers[k] ?? [];
        const failed = answer.find((r) => r.status >= 400);
        const crmId = w.op === "create" ? undefined : w.crmId;
        if (crmId) seen.delete(crmId);
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
          const last = answer[answer.length - 1]!;
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
      if (!crmIds.length) return [];
      return toRecords(await readRows(crmIds));
    },
    async apply(writes) {
      const out: CrmWriteResult[] = [];
      for (const chunk of chunks(writes, cfg.batchSize)) out.push(...(await applyChunk(chunk)));
      return out;
    },
    setup(): Promise<SetupReport> {
      return runSetup(http, cfg, c);
    },
    async verifySetup(): Promise<VerifyReport> {
      const report = await runVerify(http, cfg, c, directory);
      feed = undefined;
      return report;
    },
    stats: (): CallStats => ({ ...counter }),
    async close() {
      seen.clear();
    },
  };
}
