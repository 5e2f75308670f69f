import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CoSellDeal,
  MemoryStateStore,
  type Person,
  runCycle,
  type Stage,
  type StateStore,
} from "@cosell/core";
import type { ConformanceFixture, CrmDriver, CrmOpportunity } from "@cosell/core/testing";
import { type Sandbox, SEED_IDS, startSandbox } from "@cosell/sandbox";
import { partnerCenterSide } from "@cosell/sandbox/conformance";
import {
  choiceValue,
  HELP_TYPE_CHOICE,
  REGISTRATIONS_MAX_LENGTH,
  SALES_STAGE_CHOICE,
  syncStateOf,
} from "../src/columns.js";
import {
  columnsFor,
  createDynamicsAdapter,
  type DynamicsConfigInput,
  dynamicsSandboxConfig,
} from "../src/index.js";
import {
  contactPerson,
  coSellStageValue,
  coSellStatusOf,
  type Related,
  type Row,
  rowToRecord,
} from "../src/mapping.js";
import { registrationsText } from "../src/registrations.js";
import { relatedSolutions, relateSolutions, teamRows } from "./solution-driver.js";

/** The sandbox systems the Dynamics tests use. */
export type DynamicsSandbox = Sandbox<"partnerCenter" | "dataverse" | "graph">;

export const startDynamicsSandbox = (): Promise<DynamicsSandbox> =>
  startSandbox({ systems: ["partnerCenter", "dataverse", "graph"], freezeClock: true });

const c = columnsFor("cosell");
const OPTION_PREFIX = 18342;

/** Failures a test wants the next `$batch` change set for a record to answer with. */
export class BatchFaults {
  private readonly queue = new Map<string, string[]>();
  add(target: string, code: string): void {
    this.queue.set(target, [...(this.queue.get(target) ?? []), code]);
  }
  take(target: string): string | undefined {
    const q = this.queue.get(target);
    const code = q?.shift();
    if (q && !q.length) this.queue.delete(target);
    return code;
  }
  get size(): number {
    return this.queue.size;
  }
}

/**
 * `fetch` that answers a scripted failure for one change set of a `$batch` (the emulator cannot fail
 * a given record with a given code): the change set is replaced by a harmless GET before it is sent,
 * and its answer by a Dataverse error part carrying the code. Nothing of that change set is applied.
 */
export function faultyFetch(faults: BatchFaults): typeof fetch {
  return async (input, init) => {
    const url = String(input);
    if (!faults.size || !url.endsWith("/$batch") || typeof init?.body !== "string") return fetch(input, init);
    const ct = new Headers(init.headers).get("content-type") ?? "";
    const boundary = /boundary=([^;]+)/.exec(ct)?.[1] ?? "";
    const parts = init.body.split(`--${boundary}`);
    const injected = new Map<number, string>();
    for (let i = 1; i < parts.length - 1; i++) {
      const p = parts[i]!;
      if (!p.includes("changeset_")) continue;
      const idMatch = /opportunities\(([0-9a-f-]{36})\)/.exec(p);
      const code = idMatch
        ? faults.take(idMatch[1]!)
        : p.includes("_referralid='")
          ? faults.take("create")
          : undefined;
      if (code) {
        injected.set(i - 1, code);
        const whoAmI = init.body.includes("http://") ? url.replace(/\$batch$/, "WhoAmI") : "WhoAmI";
        parts[i] =
          `\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET ${whoAmI} HTTP/1.1\r\nAccept: application/json\r\n\r\n\r\n`;
      }
    }
    const res = await fetch(input, { ...init, body: parts.join(`--${boundary}`) });
    if (!injected.size) return res;
    const text = await res.text();
    const rb = /boundary=([^;]+)/.exec(res.headers.get("content-type") ?? "")?.[1] ?? "";
    const rparts = text.split(`--${rb}`);
    for (const [i, code] of injected) {
      const body = JSON.stringify({ error: { code, message: `Injected failure ${code}.` } });
      rparts[i + 1] =
        `\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 400 Bad Request\r\nContent-Type: application/json; odata.metadata=minimal\r\nOData-Version: 4.0\r\n\r\n${body}\r\n`;
    }
    return new Response(rparts.join(`--${rb}`), { status: res.status, headers: res.headers });
  };
}

/** The adapter config for a running sandbox. */
export function sandboxConfig(
  sb: DynamicsSandbox,
  extra: Partial<DynamicsConfigInput> = {},
): DynamicsConfigInput {
  return dynamicsSandboxConfig(sb.credentials.dataverse, { graphUrl: sb.urls.graph, ...extra });
}

/** Related rows straight from the emulator (what a seller's form shows). */
function relatedOf(sb: DynamicsSandbox, rows: Row[]): Related {
  const dv = sb.dataverse;
  const get = (set: string, id: unknown) => (typeof id === "string" ? dv.get(set, id) : undefined);
  const related: Related = {
    accounts: new Map(),
    contacts: new Map(),
    campaigns: new Map(),
    currencies: new Map(),
    owners: new Map(),
  };
  for (const cur of dv.all("transactioncurrencies"))
    related.currencies.set(String(cur.transactioncurrencyid), String(cur.isocurrencycode));
  for (const r of rows) {
    const a = get("accounts", r._parentaccountid_value);
    if (a) related.accounts.set(String(a.accountid), a);
    const ct = get("contacts", r._parentcontactid_value);
    if (ct) related.contacts.set(String(ct.contactid), ct);
    const cp = get("campaigns", r._campaignid_value);
    if (cp) related.campaigns.set(String(cp.campaignid), cp);
    const u = get("systemusers", r._ownerid_value);
    if (u)
      related.owners.set(
        String(u.systemuserid),
        u.applicationid || !u.internalemailaddress
          ? undefined
          : {
              firstName: String(u.firstname ?? ""),
              lastName: String(u.lastname ?? ""),
              email: String(u.internalemailaddress ?? ""),
              phone: String(u.address1_telephone1 ?? u.mobilephone ?? ""),
            },
      );
  }
  return related;
}

function view(sb: DynamicsSandbox, row: Row): CrmOpportunity {
  const read = rowToRecord(row, relatedOf(sb, [row]), c, { optionValuePrefix: OPTION_PREFIX });
  const id = String(row.opportunityid);
  const team = teamRows(sb.dataverse, id);
  const rec = {
    ...read,
    deal: {
      ...read.deal,
      solutions: relatedSolutions(sb.dataverse, id),
      ...(team.length ? { microsoftTeam: team } : {}),
    },
  };
  const state = syncStateOf(OPTION_PREFIX, row[c.syncStatus]);
  return {
    crmId: rec.crmId,
    deal: rec.deal,
    optedIn: rec.optedIn,
    ...(rec.referralId ? { referralId: rec.referralId } : {}),
    ...(state
      ? {
          status: {
            state,
            lastError: (row[c.lastSyncError] as string | null) ?? null,
            ...(row[c.lastSyncOn] ? { lastSyncedAt: String(row[c.lastSyncOn]) } : {}),
            ...(row[c.referralId] ? { referralId: String(row[c.referralId]) } : {}),
            ...(row[c.referralLink] ? { referralUrl: String(row[c.referralLink]) } : {}),
            ...(coSellStatusOf(row, c, OPTION_PREFIX)
              ? { coSellStage: coSellStatusOf(row, c, OPTION_PREFIX) }
              : {}),
          },
        }
      : {}),
  };
}

/** A seller (or the user whose record it is) finds or gets a Dataverse user for a team member. */
function userFor(sb: DynamicsSandbox, p: Person): string {
  const dv = sb.dataverse;
  const existing = dv
    .all("systemusers")
    .find((u) => String(u.internalemailaddress).toLowerCase() === p.email.toLowerCase());
  if (existing) return String(existing.systemuserid);
  return String(
    dv.insert("systemusers", {
      firstname: p.firstName,
      lastname: p.lastName,
      internalemailaddress: p.email,
      address1_telephone1: p.phone,
      "businessunitid@odata.bind": `/businessunits(${SEED_IDS.businessUnit})`,
    }).systemuserid,
  );
}

function currencyId(sb: DynamicsSandbox, code: string): string {
  const row = sb.dataverse.all("transactioncurrencies").find((r) => r.isocurrencycode === code);
  return String(row?.transactioncurrencyid ?? SEED_IDS.usd);
}

function campaignFor(sb: DynamicsSandbox, code: string): string {
  const dv = sb.dataverse;
  const found = dv.all("campaigns").find((r) => r.codename === code || r.campaignid === code);
  return String(
    found?.campaignid ?? dv.insert("campaigns", { name: `Campaign ${code}`, codename: code }).campaignid,
  );
}

/** Opportunity columns a seller types for these canonical fields. */
function columnsOf(sb: DynamicsSandbox, d: Partial<CoSellDeal>): Row {
  const dv = sb.dataverse;
  const row: Row = {};
  if (d.name !== undefined) row.name = d.name;
  if (d.value !== undefined) {
    row.estimatedvalue = d.value.amount;
    row["transactioncurrencyid@odata.bind"] = `/transactioncurrencies(${currencyId(sb, d.value.currency)})`;
  }
  if (d.closeDate !== undefined) row.estimatedclosedate = d.closeDate;
  if (d.notes !== undefined) row.description = d.notes;
  if (d.campaignId !== undefined)
    row["campaignid@odata.bind"] = `/campaigns(${campaignFor(sb, d.campaignId)})`;
  if (d.consentToShareContact !== undefined) row[c.consent] = d.consentToShareContact;
  if (d.consentToContact !== undefined) row[c.consentToContact] = d.consentToContact;
  if (d.favorite !== undefined) row[c.favorite] = d.favorite;
  if ("salesStage" in d)
    row[c.salesStage] = d.salesStage ? choiceValue(SALES_STAGE_CHOICE, OPTION_PREFIX, d.salesStage) : null;
  // Partner Center's own columns are read-only by description only: a seller can still type in them.
  if ("expiresAt" in d) row[c.respondBy] = d.expiresAt ?? null;
  if ("microsoftOpportunityId" in d) row[c.microsoftOpportunityId] = d.microsoftOpportunityId ?? null;
  if ("registrationStatus" in d) row[c.registrationStatus] = d.registrationStatus ?? null;
  if ("registrations" in d)
    row[c.registrations] = registrationsText(d.registrations, REGISTRATIONS_MAX_LENGTH);
  if ("sentBy" in d) row[c.sentBy] = d.sentBy ?? null;
  if (d.invitation !== undefined) {
    row[c.helpRequested] = d.invitation.microsoftHelpRequested;
    row[c.helpNotes] = d.invitation.helpNotes ?? null;
    row[c.helpType] = d.invitation.helpType
      ? choiceValue(HELP_TYPE_CHOICE, OPTION_PREFIX, d.invitation.helpType)
      : null;
  }
  if (d.customer !== undefined) {
    const a = d.customer.address;
    const account = dv.insert("accounts", {
      name: d.customer.name,
      address1_line1: a.street ?? null,
      address1_city: a.city ?? null,
      address1_stateorprovince: a.state ?? null,
      address1_postalcode: a.postalCode ?? null,
      address1_country: a.country,
    });
    row["parentaccountid@odata.bind"] = `/accounts(${account.accountid})`;
    row["customerid_account@odata.bind"] = `/accounts(${account.accountid})`;
    const p = d.customer.contact;
    if (p) {
      const contact = dv.insert("contacts", {
        firstname: p.firstName,
        lastname: p.lastName,
        emailaddress1: p.email,
        telephone1: p.phone,
        "parentcustomerid_account@odata.bind": `/accounts(${account.accountid})`,
      });
      row["parentcontactid@odata.bind"] = `/contacts(${contact.contactid})`;
    }
  }
  if (d.team !== undefined) {
    const owner = d.team[0]
      ? userFor(sb, d.team[0])
      : dv.applicationUserId(sb.credentials.dataverse.clientId)!;
    row["ownerid@odata.bind"] = `/systemusers(${owner})`;
  }
  return row;
}

/** A seller in the emulated Dynamics 365, working straight in the emulator (around the adapter). */
export function dataverseDriver(sb: DynamicsSandbox, faults: BatchFaults): CrmDriver {
  const dv = sb.dataverse;
  const setStage = (id: string, stage: Stage, reason?: string) => {
    const row = dv.get("opportunities", id)!;
    const open = row.statecode === 0;
    if (stage === "won") {
      if (!open) dv.reopen(id);
      dv.win(id, { status: 3 });
    } else if (stage === "lost" || stage === "declined" || stage === "expired") {
      if (!open) dv.reopen(id);
      dv.update("opportunities", id, { [c.closeReason]: reason ?? null });
      dv.lose(id, { status: 4, ...(reason ? { description: reason } : {}) });
    } else {
      if (!open) dv.reopen(id);
      dv.update("opportunities", id, { [c.coSellStatus]: coSellStageValue(stage, OPTION_PREFIX) });
    }
  };
  return {
    createOpportunity(deal, options) {
      const row = dv.insert("opportunities", {
        ...columnsOf(sb, { team: [], ...deal }),
        [c.syncFlag]: options.optedIn,
      });
      const id = String(row.opportunityid);
      if (deal.solutions) relateSolutions(dv, id, deal.solutions);
      if (deal.stage && deal.stage !== "accepted") setStage(id, deal.stage, deal.closeReason);
      return id;
    },
    update(id, changes) {
      dv.update("opportunities", id, columnsOf(sb, changes));
      if (changes.solutions) relateSolutions(dv, id, changes.solutions);
      if (changes.stage) setStage(id, changes.stage, changes.closeReason);
    },
    setOptIn(id, optedIn) {
      dv.update("opportunities", id, { [c.syncFlag]: optedIn });
    },
    setStage,
    requestMicrosoftHelp(id, notes) {
      dv.update("opportunities", id, { [c.helpRequested]: true, [c.helpNotes]: notes });
    },
    get(id) {
      const row = dv.get("opportunities", id);
      return row ? view(sb, row) : undefined;
    },
    all() {
      return dv.all("opportunities").map((r) => view(sb, r));
    },
    failNextWrite(target, code) {
      faults.add(target, code);
    },
    delete(id) {
      dv.delete("opportunities", id);
    },
  };
}

let pristine: Promise<string> | undefined;

/**
 * A snapshot of a sandbox on which the adapter's own `setup()` ran (columns, key Active). Fixtures
 * start from copies of it: no key generation, no setup per test (the done-when test covers setup
 * from a bare environment).
 */
function pristineSnapshot(): Promise<string> {
  pristine ??= (async () => {
    const file = join(await mkdtemp(join(tmpdir(), "cosell-dynamics-")), "pristine.json");
    const sb = await startSandbox({
      systems: ["partnerCenter", "dataverse", "graph"],
      freezeClock: true,
      snapshotFile: file,
    });
    await createDynamicsAdapter(sandboxConfig(sb)).setup();
    sb.dataverse.activateKeys();
    await sb.stop();
    return file;
  })();
  return pristine;
}

/** Removes the pristine snapshot (call once per file, after all fixtures are disposed). */
export async function disposePristine(): Promise<void> {
  const file = await pristine;
  pristine = undefined;
  if (file) await rm(join(file, ".."), { recursive: true, force: true });
}

/** A full conformance fixture on a fresh sandbox (a copy of the set-up pristine one). */
export async function dynamicsFixture(
  extra: Partial<DynamicsConfigInput> = {},
  options: { strictQueries?: boolean } = {},
): Promise<ConformanceFixture & { sb: DynamicsSandbox; dispose(): Promise<void> }> {
  const source = await pristineSnapshot();
  const dir = await mkdtemp(join(tmpdir(), "cosell-dynamics-"));
  const file = join(dir, "sandbox.json");
  await copyFile(source, file);
  const sb: DynamicsSandbox = await startSandbox({
    systems: ["partnerCenter", "dataverse", "graph"],
    freezeClock: true,
    snapshotFile: file,
  });
  const faults = new BatchFaults();
  const adapter = createDynamicsAdapter(sandboxConfig(sb, extra), {
    fetch: faultyFetch(faults),
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))),
    now: () => sb.clock.now(),
  });
  const side = partnerCenterSide(sb, { strictQueries: options.strictQueries });
  return {
    sb,
    adapter,
    crm: dataverseDriver(sb, faults),
    ...side,
    store: new MemoryStateStore(),
    async dispose() {
      await sb.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export { contactPerson };

/** The Web API of a sandbox environment as the app calls it (what an admin's or seller's client sends). */
export function dataverseWebApi(sb: DynamicsSandbox) {
  const cr = sb.credentials.dataverse;
  let token: string | undefined;
  const send = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> => {
    if (!token) {
      const res = await fetch(cr.tokenEndpoint, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: cr.clientId,
          client_secret: cr.clientSecret,
          scope: `${cr.resource}/.default`,
        }),
      });
      token = ((await res.json()) as { access_token: string }).access_token;
    }
    return fetch(`${cr.environmentUrl.replace(/\/$/, "")}/api/data/v9.2/${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  };
  return {
    send,
    /** GET that must answer 200; the parsed body. */
    async get<T>(path: string): Promise<T> {
      const res = await send("GET", path);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    },
  };
}

/** What `fn` wrote to Dataverse (endpoints of every request but GETs, from the sandbox's log). */
export async function writesDuring<T>(
  sb: DynamicsSandbox,
  fn: () => Promise<T>,
): Promise<{ result: T; writes: string[] }> {
  const before = sb.log.entries.length;
  const result = await fn();
  const writes = sb.log.entries
    .slice(before)
    .filter((e) => e.server === "dataverse" && e.method !== "GET")
    .map((e) => e.endpoint);
  return { result, writes };
}

/**
 * One engine cycle of `adapter` against the sandbox's Partner Center, on the sandbox clock; the clock
 * then moves 1 s on, so the next cycle sees what happened in between. Returns the cycle's summary.
 */
export async function cycleOnce(
  sb: DynamicsSandbox,
  adapter: Parameters<typeof runCycle>[0]["adapter"],
  partnerCenter: Parameters<typeof runCycle>[0]["partnerCenter"],
  store: StateStore,
) {
  const { summary } = await runCycle({ adapter, partnerCenter, store, now: () => sb.clock.now() });
  sb.clock.advance(1000);
  return summary;
}
