import type { CoSellDeal, Person, Stage } from "@cosell/core";
import { type CrmDriver, type CrmOpportunity, completeDeal } from "@cosell/core/testing";
import { type SalesforceControl, type Sandbox, startSandbox } from "@cosell/sandbox";
import jsforce, { type Connection } from "jsforce";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { SALES_STAGE_VALUES } from "../src/custom-fields.js";
import {
  createSalesforceAdapter,
  formatSolutions,
  parseSalesforceConfig,
  rowToRecord,
  type SalesforceAdapter,
  type SalesforceConfigInput,
  StageMapping,
  salesforceSandboxConfig,
} from "../src/index.js";
import { opportunityFields, statusOf } from "../src/mapping.js";

/** What the tests need of a running sandbox with Salesforce. */
export interface SalesforceSandbox {
  clock: { now(): Date };
  salesforce: SalesforceControl;
  credentials: { salesforce: Parameters<typeof salesforceSandboxConfig>[0] };
}

/** The sandbox config plus overrides. */
export function sandboxConfig(
  sb: SalesforceSandbox,
  extra: Parameters<typeof salesforceSandboxConfig>[1] = {},
): SalesforceConfigInput {
  return salesforceSandboxConfig(sb.credentials.salesforce, extra);
}

/** An adapter on the sandbox org, on the sandbox clock. */
export function sandboxAdapter(
  sb: SalesforceSandbox,
  extra: Parameters<typeof salesforceSandboxConfig>[1] = {},
): SalesforceAdapter {
  return createSalesforceAdapter(sandboxConfig(sb, extra), { now: () => sb.clock.now() });
}

/**
 * A seller in the sandbox org (writes through the control API as a user would in the UI), seeing
 * opportunities through the same mapping as the adapter.
 */
export function salesforceDriver(sb: SalesforceSandbox, input: SalesforceConfigInput): CrmDriver {
  const sf = sb.salesforce;
  const config = parseSalesforceConfig(input);
  const f = config.fields;
  const stageInfo = sf.stages().map((s, i) => ({
    apiName: s.apiName,
    isActive: s.isActive !== false,
    isClosed: s.isClosed,
    isWon: s.isWon,
    sortOrder: i + 1,
  }));
  const facts = { multiCurrency: false, countryCodes: false, stages: stageInfo };
  const stages = new StageMapping(stageInfo, config.stages);
  const select = opportunityFields(config, facts);

  const userFor = (p: Person): string => {
    const found = sf.query(`SELECT Id FROM User WHERE Username = '${p.email}'`).records[0];
    if (found) return String(found.Id);
    return sf.insert("User", {
      Username: p.email,
      Email: p.email,
      FirstName: p.firstName,
      LastName: p.lastName,
      Phone: p.phone,
      Alias: p.lastName.slice(0, 8) || "user",
    });
  };
  const setTeam = (crmId: string, team: Person[]) => {
    for (const m of sf.query(`SELECT Id FROM OpportunityTeamMember WHERE OpportunityId = '${crmId}'`).records)
      sf.delete("OpportunityTeamMember", String(m.Id));
    for (const p of team)
      sf.insert("OpportunityTeamMember", {
        OpportunityId: crmId,
        UserId: userFor(p),
        TeamMemberRole: "Sales Rep",
      });
  };
  const setCustomer = (crmId: string | undefined, c: CoSellDeal["customer"]): string => {
    const a = c.address;
    const accountId = sf.insert("Account", {
      Name: c.name,
      BillingStreet: a.street ?? null,
      BillingCity: a.city ?? null,
      BillingState: a.state ?? null,
      BillingPostalCode: a.postalCode ?? null,
      BillingCountry: a.country || null,
    });
    if (crmId) sf.update("Opportunity", crmId, { AccountId: accountId });
    return accountId;
  };
  const setContact = (crmId: string, accountId: string, p: Person | undefined) => {
    for (const r of sf.query(`SELECT Id FROM OpportunityContactRole WHERE OpportunityId = '${crmId}'`)
      .records)
      sf.delete("OpportunityContactRole", String(r.Id));
    if (!p) return;
    const contactId = sf.insert("Contact", {
      FirstName: p.firstName,
      LastName: p.lastName,
      Email: p.email,
      Phone: p.phone,
      AccountId: accountId,
    });
    sf.insert("OpportunityContactRole", { OpportunityId: crmId, ContactId: contactId, IsPrimary: true });
  };
  const flat = (d: Partial<CoSellDeal>): Record<string, unknown> => ({
    ...(d.name !== undefined ? { Name: d.name } : {}),
    ...(d.value !== undefined ? { Amount: d.value.amount } : {}),
    ...(d.closeDate !== undefined ? { CloseDate: d.closeDate } : {}),
    ...("notes" in d ? { Description: d.notes ?? null } : {}),
    ...("campaignId" in d ? { [f.campaign]: d.campaignId ?? null } : {}),
    ...(d.consentToShareContact !== undefined ? { [f.consent]: d.consentToShareContact } : {}),
    ...("consentToContact" in d ? { [f.consentToContact]: d.consentToContact ?? false } : {}),
    ...(d.favorite !== undefined ? { [f.favorite]: d.favorite } : {}),
    ...("salesStage" in d ? { [f.salesStage]: d.salesStage ? SALES_STAGE_VALUES[d.salesStage] : null } : {}),
    ...(d.solutions !== undefined ? { [f.solutions]: formatSolutions(d.solutions) } : {}),
    // Partner Center's own facts, as a seller might overtype them on the page.
    ...("expiresAt" in d ? { [f.respondBy]: d.expiresAt ?? null } : {}),
    ...("microsoftOpportunityId" in d
      ? { [f.microsoftOpportunityId]: d.microsoftOpportunityId ?? null }
      : {}),
    ...("registrationStatus" in d ? { [f.registrationStatus]: d.registrationStatus ?? null } : {}),
    ...("sentBy" in d ? { [f.sentBy]: d.sentBy ?? null } : {}),
    ...(d.invitation !== undefined
      ? {
          [f.helpRequested]: d.invitation.microsoftHelpRequested,
          [f.helpNotes]: d.invitation.helpNotes ?? null,
          [f.helpType]: d.invitation.helpType ?? null,
        }
      : {}),
    ...(d.stage !== undefined
      ? { StageName: stages.toCrm(d.stage), [f.closeReason]: d.closeReason ?? null }
      : {}),
  });
  const view = (row: Record<string, unknown>): CrmOpportunity => {
    const r = rowToRecord(row, config, facts, stages);
    const status = statusOf(row, config);
    return {
      crmId: r.crmId,
      deal: r.deal,
      optedIn: r.optedIn,
      ...(r.referralId ? { referralId: r.referralId } : {}),
      ...(status ? { status } : {}),
    };
  };
  const rows = (where: string) => sf.query(`SELECT ${select} FROM Opportunity ${where}`).records;

  return {
    createOpportunity(partial, { optedIn }) {
      const deal = completeDeal(partial, sb.clock.now());
      const accountId = setCustomer(undefined, deal.customer);
      const crmId = sf.insert("Opportunity", {
        ...flat({ ...deal, stage: deal.stage }),
        CloseDate: deal.closeDate ?? "2026-12-31",
        AccountId: accountId,
        [f.optIn]: optedIn,
      });
      setContact(crmId, accountId, deal.customer.contact);
      setTeam(crmId, deal.team);
      return crmId;
    },
    update(crmId, changes) {
      sf.update("Opportunity", crmId, flat(changes));
      if (changes.customer) {
        const accountId = setCustomer(crmId, changes.customer);
        setContact(crmId, accountId, changes.customer.contact);
      }
      if (changes.team) setTeam(crmId, changes.team);
    },
    setOptIn: (crmId, optedIn) => sf.update("Opportunity", crmId, { [f.optIn]: optedIn }),
    setStage(crmId, stage: Stage, reason?: string) {
      sf.update("Opportunity", crmId, flat({ stage, closeReason: reason }));
    },
    requestMicrosoftHelp: (crmId, notes) =>
      sf.update("Opportunity", crmId, { [f.helpRequested]: true, [f.helpNotes]: notes }),
    get(crmId) {
      const [row] = rows(`WHERE Id = '${crmId}'`);
      return row ? view(row) : undefined;
    },
    all: () => rows("").map(view),
    failNextWrite(target, code) {
      if (target === "create") pendingCreateFailures.push(code);
      else sf.failNext({ type: "Opportunity", id: target, statusCode: code, message: `Injected ${code}` });
    },
    delete: (crmId) => sf.delete("Opportunity", crmId),
  };
}

/** Failures the conformance suite asked for on "the next create" (see {@link failingCreates}). */
const pendingCreateFailures: string[] = [];

/**
 * Wraps an adapter so a failure injected for "the next create" hits the upsert of the next inbound
 * create (by its referral id), not the first Opportunity write of any kind.
 */
export function failingCreates(adapter: SalesforceAdapter, sf: SalesforceControl): SalesforceAdapter {
  return {
    ...adapter,
    async apply(writes) {
      const create = writes.find((w) => w.op === "create");
      if (create && create.op === "create" && pendingCreateFailures.length) {
        const code = pendingCreateFailures.shift()!;
        sf.failNext({
          type: "Opportunity",
          externalId: create.referralId,
          statusCode: code,
          message: `Injected ${code}`,
        });
      }
      return adapter.apply(writes);
    },
  };
}

/** A jsforce connection as the org's integration user (client credentials), for what an admin does by hand. */
export async function adminOf(sb: Sandbox<"salesforce">): Promise<Connection> {
  const c = sb.credentials.salesforce;
  const admin = new jsforce.Connection({
    version: c.apiVersion,
    loginUrl: c.loginUrl,
    oauth2: { clientId: c.clientId, clientSecret: c.clientSecret, loginUrl: c.loginUrl },
  });
  await admin.authorize({ grant_type: "client_credentials" });
  return admin;
}

/** One row of a list view's results: its shown values by field (`Id` among them). */
export type ListViewRow = Record<string, string | null>;

/**
 * A list view on Opportunity as the UI runs it (the REST list view resources), signed in as `conn`'s
 * user: its rows by record id, each with the values the view shows.
 */
export async function listViewRows(
  conn: Connection,
  developerName: string,
): Promise<Map<string, ListViewRow>> {
  const base = `/services/data/v${conn.version}/sobjects/Opportunity/listviews`;
  const { listviews } = await conn.request<{
    listviews: { developerName: string; resultsUrl: string }[];
  }>(base);
  const view = listviews.find((v) => v.developerName === developerName);
  if (!view) throw new Error(`No list view ${developerName} on Opportunity`);
  const r = await conn.request<{
    developerName: string;
    done: boolean;
    records: { columns: { fieldNameOrPath: string; value: string | null }[] }[];
  }>(view.resultsUrl);
  if (r.developerName !== developerName || !r.done) throw new Error(`Unexpected results of ${developerName}`);
  return new Map(
    r.records.map((rec) => {
      const values = Object.fromEntries(rec.columns.map((c) => [c.fieldNameOrPath, c.value]));
      return [String(values.Id), values];
    }),
  );
}

/**
 * For a test file: one sandbox org for all its tests, put back to the bare org (no co-sell fields)
 * with an empty request log before each. `use` receives the sandbox once it is up.
 */
export function bareOrgPerTest(use: (sb: Sandbox<"salesforce">) => void): void {
  let sb: Sandbox<"salesforce"> | undefined;
  let baseline: ReturnType<Sandbox<"salesforce">["salesforce"]["exportState"]>;
  beforeAll(async () => {
    sb = await startSandbox({ systems: ["salesforce"] });
    baseline = sb.salesforce.exportState();
    use(sb);
  });
  afterAll(async () => {
    await sb?.stop();
  });
  beforeEach(() => {
    sb!.salesforce.importState(baseline);
    sb!.log.clear();
  });
}
