import { AuthError, type CoSellDeal, type CrmRecord, ThrottledError, TransientError } from "@cosell/core";
import { completeDeal, sampleDeal } from "@cosell/core/testing";
import {
  createSalesforceServer,
  FaultInjector,
  isRead,
  listen,
  RequestLog,
  type Sandbox,
  SandboxClock,
  TokenRegistry,
} from "@cosell/sandbox";
import { beforeEach, describe, expect, it } from "vitest";
import { createSalesforceAdapter, type SalesforceAdapter } from "../src/index.js";
import { bareOrgPerTest, salesforceDriver, sandboxAdapter, sandboxConfig } from "./harness.js";

let sb: Sandbox<"salesforce">;
// Each test starts from the bare org (no co-sell fields), with an empty request log.
bareOrgPerTest((started) => {
  sb = started;
});

async function drain(it: AsyncIterable<{ records: CrmRecord[]; cursor: string }>) {
  const pages: { records: CrmRecord[]; cursor: string }[] = [];
  for await (const p of it) pages.push(p);
  return pages;
}

const sfWrites = () =>
  sb.log.entries.filter((e) => e.server === "salesforce" && !isRead(e) && !e.endpoint.includes("oauth2"));

describe("auth", () => {
  it("JWT bearer: signs an assertion with the key and logs in once", async () => {
    const adapter = sandboxAdapter(sb);
    const d = await adapter.describe();
    expect(d.instance).toBe(sb.credentials.salesforce.instanceUrl);
    expect(adapter.stats().auth).toBe(1);
  });

  it("client credentials: logs in with the consumer key and secret", async () => {
    const adapter = sandboxAdapter(sb, { auth: "clientCredentials" });
    await adapter.setup();
    expect(adapter.stats().auth).toBe(1);
  });

  it("an expired session is renewed through refreshFn and the call replayed", async () => {
    const adapter = sandboxAdapter(sb);
    await adapter.setup();
    expect(sb.salesforce.expireSessions()).toBeGreaterThan(0);
    const pages = await drain(adapter.changes(undefined, { overlapMs: 0 }));
    expect(pages.flatMap((p) => p.records)).toEqual([]);
    expect(adapter.stats().auth).toBe(2);
    expect(sb.log.count({ server: "salesforce", status: 401 })).toBe(1);
  });

  it("a token endpoint that is briefly unavailable during a session renewal is retried, not reported as bad credentials", async () => {
    const waits: number[] = [];
    const adapter = createSalesforceAdapter(sandboxConfig(sb), {
      now: () => sb.clock.now(),
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    await adapter.setup();
    sb.salesforce.expireSessions();
    sb.faults.script({
      fault: { kind: "serverError", status: 503 },
      server: "salesforce",
      pathIncludes: "/services/oauth2/token",
    });
    const pages = await drain(adapter.changes(undefined, { overlapMs: 0 }));
    expect(pages.flatMap((p) => p.records)).toEqual([]);
    expect(waits).toEqual([500]);

    sb.salesforce.expireSessions();
    const down = {
      fault: { kind: "serverError", status: 503 } as const,
      server: "salesforce" as const,
      pathIncludes: "/services/oauth2/token",
    };
    sb.faults.script(down, down, down);
    const err = await drain(adapter.changes(undefined, { overlapMs: 0 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: "SALESFORCE_LOGIN_UNAVAILABLE", retryable: true });
    sb.faults.clear();
  });

  it("a connection reset on a query is survived (jsforce retries it), and the reset is in the log", async () => {
    const adapter = sandboxAdapter(sb);
    await adapter.setup();
    sb.faults.script({ fault: { kind: "reset" }, server: "salesforce", pathIncludes: "/query" });
    const pages = await drain(adapter.changes(undefined, { overlapMs: 0 }));
    expect(pages.length).toBeGreaterThan(0);
    expect(sb.log.entries.filter((e) => e.server === "salesforce" && e.fault === "reset")).toHaveLength(1);
  });

  it("a refused login is an AuthError that says what to check", async () => {
    const adapter = createSalesforceAdapter(
      sandboxConfig(sb, { auth: "clientCredentials" }).auth.kind === "clientCredentials"
        ? {
            ...sandboxConfig(sb),
            auth: {
              kind: "clientCredentials",
              clientId: sb.credentials.salesforce.clientId,
              clientSecret: "wrong",
              loginUrl: sb.credentials.salesforce.loginUrl,
            },
          }
        : sandboxConfig(sb),
    );
    const err = await adapter.describe().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).message).toMatch(/invalid_client.*clientSecret/s);
  });
});

describe("refresh token flow with rotation", () => {
  it("persists each rotated refresh token and keeps working after the session expires", async () => {
    const clock = new SandboxClock();
    const tokens = new TokenRegistry(clock);
    const server = createSalesforceServer(
      { clock, tokens },
      { connectedApp: { refreshTokenRotation: true } },
    );
    const running = await listen(server, { clock, log: new RequestLog(), faults: new FaultInjector() });
    try {
      const app = server.control.connectedApp;
      const saved: string[] = [];
      const first = server.control.issueRefreshToken();
      const adapter = createSalesforceAdapter(
        {
          kind: "salesforce",
          auth: {
            kind: "refreshToken",
            clientId: app.clientId,
            clientSecret: app.clientSecret,
            refreshToken: first,
            loginUrl: running.url,
          },
        },
        { onRefreshToken: (t) => void saved.push(t), now: () => clock.now() },
      );
      await adapter.setup();
      server.control.expireSessions();
      await adapter.verifySetup();
      server.control.expireSessions();
      expect((await adapter.verifySetup()).ok).toBe(true);
      expect(saved).toHaveLength(3);
      expect(new Set([first, ...saved]).size).toBe(4);
    } finally {
      await running.close();
    }
  });
});

describe("setup and verifySetup", () => {
  it("a bare org fails verification with the fix; setup creates fields and the permission set; a second run changes nothing", async () => {
    const adapter = sandboxAdapter(sb);
    const before = await adapter.verifySetup();
    expect(before.ok).toBe(false);
    const fields = before.checks.find((c) => c.name === "custom fields")!;
    expect(fields.detail).toContain("Opportunity.Cosell_Sync__c");
    expect(fields.fix).toContain("cosell setup");

    // A bare org gets every component in one deploy, then what a package cannot carry.
    const first = await adapter.setup();
    expect(first.created[0]).toMatch(/^One Metadata API deploy \(0Af\w+\): \d+ components$/);
    expect(first.created).toEqual(
      expect.arrayContaining([
        'Global value set Cosell_Stage "Co-sell Stage"',
        "Field Co-sell Sync (Opportunity.Cosell_Sync__c)",
        "Validation rule Opportunity.Cosell_Decline_Needs_Reason",
        "Permission set Cosell_Sync (33 field grants)",
        "Permission set Cosell_Sync assigned to the integration user",
        'List view Opportunity.Cosell_Needs_Response "Co-sell – Needs response"',
        "Permission set Cosell_Seller (33 field grants)",
        'Quick action Opportunity.Cosell_Accept_Referral "Accept co-sell referral"',
        "Layout Opportunity-Opportunity Layout: Co-sell section added, with the co-sell actions",
        "Change Data Capture selected for Opportunity (ChangeEvents_OpportunityChangeEvent)",
      ]),
    );
    expect(first.unchanged).toEqual([]);
    const writesAfterFirst = adapter.stats().writes;
    sb.log.clear();

    const second = await adapter.setup();
    expect(second.created).toEqual([]);
    // 4 global value sets, 25 fields, the rule, 5 list views, 4 quick actions, the permission set, its
    // assignment, the sellers' permission set, the layout, CDC, the 3 solution objects
    expect(second.unchanged).toHaveLength(47);
    expect(adapter.stats().writes).toBe(writesAfterFirst);
    // Every component in one deploy, polled to the end; not one component created on its own.
    expect(adapter.stats().byEndpoint["SOAP deploy"]).toBe(1);
    expect(adapter.stats().byEndpoint["SOAP checkDeployStatus"]).toBeGreaterThan(1);
    expect(adapter.stats().byEndpoint["SOAP createMetadata"]).toBeUndefined();
    // The layout is updated, never created: it is the admin's.
    expect(adapter.stats().byEndpoint["SOAP updateMetadata"]).toBe(1);
    expect(sb.log.count({ server: "salesforce", endpoint: "POST /composite/sobjects" })).toBe(0);
    const after = await adapter.verifySetup();
    expect(after).toMatchObject({ ok: true });
    expect(after.checks.map((c) => c.name)).toEqual([
      "login",
      "custom fields",
      "picklist Opportunity.Cosell_Stage__c",
      "picklist Opportunity.Cosell_Sync_Status__c",
      "picklist Opportunity.Cosell_Sales_Stage__c",
      "picklist Opportunity.Cosell_Help_Type__c",
      "picklist Opportunity.Cosell_Microsoft_Answer__c",
      "picklist Opportunity.Cosell_Registration_Status__c",
      "picklist Opportunity.Cosell_Response__c",
      "picklist Opportunity.Cosell_Close_Reason_Code__c",
      "picklist Opportunity.Cosell_Direction__c",
      "decline reason rule",
      "seller list views",
      "seller permission set",
      "seller quick actions",
      "seller page layout",
      "solution objects",
      "referral id external id",
      "stages",
      "change feed",
      "change data capture",
      "API limits",
    ]);
  });

  it("reports the daily API requests left, and fails when fewer than 10% remain", async () => {
    const adapter = sandboxAdapter(sb);
    await adapter.setup();
    const { limit } = sb.salesforce.apiUsage();
    sb.salesforce.setApiUsage(Math.floor(limit / 2));
    const healthy = (await adapter.verifySetup()).checks.find((c) => c.name === "API limits");
    expect(healthy).toMatchObject({ ok: true });
    expect(healthy?.detail).toMatch(/daily API requests left/);
    sb.salesforce.setApiUsage(limit - Math.floor(limit / 20));
    const low = (await adapter.verifySetup()).checks.find((c) => c.name === "API limits");
    expect(low).toMatchObject({ ok: false });
    expect(low?.fix).toContain("run.intervalSeconds");
  });

  it("reports a stage map naming stages the org does not have", async () => {
    const adapter = sandboxAdapter(sb, { stages: { toCrm: { received: "Triage" } } });
    await adapter.setup();
    const report = await adapter.verifySetup();
    expect(report.checks.find((c) => c.name === "stages")).toMatchObject({ ok: false });
    expect(report.checks.find((c) => c.name === "stages")?.detail).toContain("Triage");
  });
});

describe("changes, writes and stats", () => {
  let adapter: SalesforceAdapter;
  beforeEach(async () => {
    adapter = sandboxAdapter(sb, { pageSize: 2, batchSize: 2 });
    await adapter.setup();
  });

  it("pages by SystemModstamp + Id keyset, resumes after the cursor and re-reads the overlap", async () => {
    adapter = sandboxAdapter(sb, { pageSize: 2, batchSize: 2, watchRelated: false });
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const ids: string[] = [];
    for (const name of ["A", "B", "C", "D", "E"])
      ids.push(await crm.createOpportunity(sampleDeal({ name }), { optedIn: true }));
    await crm.createOpportunity(sampleDeal({ name: "Private" }), { optedIn: false });
    const pages = await drain(adapter.changes(undefined, { overlapMs: 0 }));
    expect(pages.map((p) => p.records.length)).toEqual([2, 2, 1, 0]);
    expect(pages.flatMap((p) => p.records.map((r) => r.crmId))).toEqual(ids);
    const cursor = pages.at(-1)!.cursor;

    sb.clock.advance(5_000);
    await crm.update(ids[1]!, { notes: "edited" });
    sb.clock.advance(1_000);
    const next = await drain(adapter.changes(cursor, { overlapMs: 0 }));
    expect(next.flatMap((p) => p.records.map((r) => r.crmId))).toEqual([ids[1]]);
    // With an overlap wider than the gap, everything since then is read again (the engine de-duplicates).
    const overlap = await drain(adapter.changes(cursor, { overlapMs: 60_000 }));
    expect(overlap.flatMap((p) => p.records.map((r) => r.crmId))).toEqual(
      expect.arrayContaining([ids[4], ids[1]]),
    );
    expect(adapter.stats().byEndpoint["GET queryAll"]).toBeGreaterThanOrEqual(5);
  });

  it("team member, contact role and account edits are reported although the opportunity did not change", async () => {
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const ids: string[] = [];
    for (const name of ["Team", "Account", "Quiet"])
      ids.push(await crm.createOpportunity(sampleDeal({ name }), { optedIn: true }));
    // The related-list mark is Salesforce's latestDateCovered (whole minutes): a minute later, the
    // creations above are behind it and only the edits below are new.
    sb.clock.advance(61_000);
    const pages = await drain(adapter.changes(undefined, { overlapMs: 0 }));
    sb.clock.advance(5_000);
    const cursor = pages.at(-1)!.cursor;
    await crm.update(ids[0]!, {
      team: [{ firstName: "New", lastName: "Member", email: "new.member@partner.example", phone: "1" }],
    });
    const accountId = String(sb.salesforce.get("Opportunity", ids[1]!)!.AccountId);
    sb.salesforce.update("Account", accountId, { BillingCity: "Bellevue" });
    sb.clock.advance(1_000);
    const next = (await drain(adapter.changes(cursor, { overlapMs: 0 }))).flatMap((p) => p.records);
    expect(next.map((r) => r.crmId).sort()).toEqual([ids[0], ids[1]].sort());
    expect(next.find((r) => r.crmId === ids[0])?.deal.team.map((t) => t.email)).toEqual([
      "new.member@partner.example",
    ]);
    expect(next.find((r) => r.crmId === ids[1])?.deal.customer.address.city).toBe("Bellevue");
  });

  it("related-list and delete cursors follow Salesforce's clock when the local clock runs ahead", async () => {
    // The local clock is two hours ahead of Salesforce's (the sandbox clock).
    const skewed = createSalesforceAdapter(sandboxConfig(sb, { pageSize: 2, batchSize: 2 }), {
      now: () => new Date(sb.clock.now().getTime() + 2 * 3_600_000),
    });
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const ids: string[] = [];
    for (const name of ["Account", "Gone"])
      ids.push(await crm.createOpportunity(sampleDeal({ name }), { optedIn: true }));
    const pages = await drain(skewed.changes(undefined, { overlapMs: 0 }));
    const cursor = pages.at(-1)!.cursor;
    sb.clock.advance(5_000);
    const accountId = String(sb.salesforce.get("Opportunity", ids[0]!)!.AccountId);
    sb.salesforce.update("Account", accountId, { BillingCity: "Bellevue" });
    await crm.delete(ids[1]!);
    sb.clock.advance(1_000);
    const next = (await drain(skewed.changes(cursor, { overlapMs: 0 }))).flatMap((p) => p.records);
    expect(next.find((r) => r.crmId === ids[0])?.deal.customer.address.city).toBe("Bellevue");
    expect(next.find((r) => r.crmId === ids[1])).toMatchObject({ deleted: true });
    // The cursor it hands back is in Salesforce's time, not two hours ahead.
    const again = await drain(skewed.changes(cursor, { overlapMs: 0 }));
    const last = JSON.parse(Buffer.from(again.at(-1)!.cursor, "base64url").toString("utf8"));
    expect(Date.parse(last.rel)).toBeLessThanOrEqual(sb.clock.now().getTime());
    expect(Date.parse(last.del)).toBeLessThanOrEqual(sb.clock.now().getTime());
  });

  it("a deleted record that was in the feed comes back with deleted: true", async () => {
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const id = await crm.createOpportunity(sampleDeal(), { optedIn: true });
    const [page] = await drain(adapter.changes(undefined, { overlapMs: 0 }));
    sb.clock.advance(1000);
    await crm.delete(id);
    sb.clock.advance(1000);
    const pages = await drain(adapter.changes(page!.cursor, { overlapMs: 0 }));
    expect(pages.flatMap((p) => p.records)).toEqual([expect.objectContaining({ crmId: id, deleted: true })]);
  });

  it("a cursor older than Salesforce's 15-day delete log still works, and says a reconcile catches older deletes", async () => {
    const warnings: string[] = [];
    const quiet = () => {};
    const logged = createSalesforceAdapter(sandboxConfig(sb), {
      now: () => sb.clock.now(),
      logger: { info: quiet, debug: quiet, warn: (_o: unknown, msg: string) => warnings.push(msg) },
    });
    await logged.setup();
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    await crm.createOpportunity(sampleDeal(), { optedIn: true });
    const [page] = await drain(logged.changes(undefined, { overlapMs: 0 }));
    sb.clock.advance(20 * 86_400_000);
    const later = await drain(logged.changes(page!.cursor, { overlapMs: 0 }));
    expect(later.length).toBeGreaterThan(0);
    expect(warnings.some((w) => w.includes("--reconcile"))).toBe(true);
    await logged.close();
  });

  it("per-record failures come back per record; the others are written; batches of at most batchSize", async () => {
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const ids: string[] = [];
    for (const name of ["One", "Two", "Three"])
      ids.push(await crm.createOpportunity(sampleDeal({ name }), { optedIn: true }));
    sb.salesforce.failNext({
      type: "Opportunity",
      id: ids[1]!,
      statusCode: "UNABLE_TO_LOCK_ROW",
      message: "locked",
    });
    sb.log.clear();
    const status = {
      state: "synced" as const,
      lastError: null,
      referralId: "r",
      coSellStage: "accepted" as const,
    };
    const results = await adapter.apply(
      ids.map((crmId, i) => ({
        op: "status" as const,
        crmId,
        status: { ...status, referralId: `ref-${i}` },
      })),
    );
    expect(results).toEqual([
      { ok: true, crmId: ids[0] },
      { ok: false, crmId: ids[1], error: { code: "UNABLE_TO_LOCK_ROW", message: "locked", retryable: true } },
      { ok: true, crmId: ids[2] },
    ]);
    expect(sfWrites().map((e) => e.endpoint)).toEqual([
      "PATCH /composite/sobjects",
      "PATCH /composite/sobjects",
    ]);
    expect((await crm.get(ids[0]!))?.deal.name).toBe("One");
    expect((await crm.get(ids[0]!))?.status).toMatchObject({ state: "synced", referralId: "ref-0" });
  });

  it("a customer update writes the account and makes the new contact the primary contact role", async () => {
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const id = await crm.createOpportunity(sampleDeal(), { optedIn: true });
    const [rec] = await adapter.read([id]);
    const customer = {
      ...rec!.deal.customer,
      address: { ...rec!.deal.customer.address, city: "Kirkland" },
      contact: { firstName: "Li", lastName: "Wu", email: "li.wu@contoso.example", phone: "+1 425 555 0111" },
    };
    const [res] = await adapter.apply([
      { op: "update", crmId: id, deal: { ...rec!.deal, customer }, fields: ["customer"] },
    ]);
    expect(res).toEqual({ ok: true, crmId: id });
    const [after] = await adapter.read([id]);
    expect(after?.deal.customer).toEqual(customer);
  });

  it("a customer update from a process that never read the record (a restart) still writes the account", async () => {
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const id = await crm.createOpportunity(sampleDeal(), { optedIn: true });
    const [rec] = await adapter.read([id]);
    // A fresh adapter (a restarted process) knows nothing of the record: the change came from Partner
    // Center alone, so nothing read it from the CRM first.
    const fresh = sandboxAdapter(sb, { pageSize: 2, batchSize: 2 });
    const customer = { ...rec!.deal.customer, name: "Contoso Holdings" };
    const [res] = await fresh.apply([
      { op: "update", crmId: id, deal: { ...rec!.deal, customer }, fields: ["customer"] },
    ]);
    expect(res).toEqual({ ok: true, crmId: id });
    const [after] = await adapter.read([id]);
    expect(after?.deal.customer.name).toBe("Contoso Holdings");
  });

  it("a collection request never holds more than 200 records, opportunities, accounts and contact roles together", async () => {
    // batchSize 200 customer updates: 200 opportunities + 200 accounts + contact roles in one batch.
    const big = sandboxAdapter(sb, { batchSize: 200 });
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const ids: string[] = [];
    for (let i = 0; i < 110; i++)
      ids.push(await crm.createOpportunity(sampleDeal({ name: `Deal ${i}` }), { optedIn: true }));
    const recs = await big.read(ids);
    sb.log.clear();
    const results = await big.apply(
      recs.map((rec, i) => ({
        op: "update" as const,
        crmId: rec.crmId,
        deal: {
          ...rec.deal,
          customer: {
            ...rec.deal.customer,
            address: { ...rec.deal.customer.address, city: `City ${i}` },
            contact: {
              firstName: "New",
              lastName: `Buyer ${i}`,
              email: `buyer${i}@contoso.example`,
              phone: "1",
            },
          },
        },
        fields: ["customer" as const],
      })),
    );
    expect(results.filter((r) => !r.ok)).toEqual([]);
    // The emulator refuses more than 200 records with EXCEEDED_ID_LIMIT (as Salesforce does): every
    // request went through, and there had to be more than one.
    const patches = sfWrites().filter((e) => e.endpoint === "PATCH /composite/sobjects");
    expect(patches.length).toBeGreaterThan(1);
    expect(patches.every((e) => e.status === 200)).toBe(true);
    const after = await big.read([ids[0]!, ids[109]!]);
    expect(after.map((r) => r.deal.customer.address.city)).toEqual(["City 0", "City 109"]);
    expect(after[1]?.deal.customer.contact?.email).toBe("buyer109@contoso.example");
  });

  it("inbound creates upsert on the referral id: a retried create updates the same opportunity", async () => {
    const deal: CoSellDeal = completeDeal(
      { ...sampleDeal({ name: "From Microsoft" }), direction: "inbound", kind: "coSell", stage: "received" },
      sb.clock.now(),
    );
    const write = {
      op: "create" as const,
      referralId: "11111111-2222-3333-4444-555555555555",
      deal,
      status: { state: "synced" as const, lastError: null, coSellStage: "received" as const },
    };
    const [first] = await adapter.apply([write]);
    const [again] = await adapter.apply([write]);
    expect(first).toMatchObject({ ok: true, created: true });
    expect(again).toMatchObject({ ok: true, crmId: (first as { crmId: string }).crmId, created: false });
    const [read] = await adapter.read([(first as { crmId: string }).crmId]);
    expect(read?.deal).toMatchObject({
      direction: "inbound",
      stage: "received",
      name: "From Microsoft",
      customer: { name: "Contoso Ltd", contact: { email: "sue@contoso.example" } },
    });
    expect(
      sb.salesforce.query(`SELECT Id FROM Opportunity WHERE Cosell_Referral_Id__c = '${write.referralId}'`)
        .totalSize,
    ).toBe(1);
  });
});

describe("org differences", () => {
  it("a multi-currency org: CurrencyIsoCode is described first, then read and written", async () => {
    const clock = new SandboxClock();
    const tokens = new TokenRegistry(clock);
    const server = createSalesforceServer({ clock, tokens }, { multiCurrency: true });
    const log = new RequestLog();
    const running = await listen(server, { clock, log, faults: new FaultInjector() });
    try {
      const app = server.control.connectedApp;
      const adapter = createSalesforceAdapter(
        {
          kind: "salesforce",
          auth: {
            kind: "clientCredentials",
            clientId: app.clientId,
            clientSecret: app.clientSecret,
            loginUrl: running.url,
          },
        },
        { now: () => clock.now() },
      );
      await adapter.setup();
      log.clear();
      const id = server.control.insert("Opportunity", {
        Name: "Euro deal",
        StageName: "Prospecting",
        CloseDate: "2026-09-30",
        Amount: 1000,
        CurrencyIsoCode: "EUR",
        Cosell_Sync__c: true,
      });
      const [rec] = await adapter.read([id]);
      expect(rec?.deal.value).toEqual({ amount: 1000, currency: "EUR" });
      const [res] = await adapter.apply([
        {
          op: "update",
          crmId: id,
          deal: { ...rec!.deal, value: { amount: 2000, currency: "GBP" } },
          fields: ["value"],
        },
      ]);
      expect(res).toEqual({ ok: true, crmId: id });
      expect(server.control.get("Opportunity", id)).toMatchObject({ Amount: 2000, CurrencyIsoCode: "GBP" });
      const describes = log.entries.map((e) => e.endpoint);
      expect(describes.indexOf("GET /sobjects/{type}/describe")).toBeLessThan(
        describes.indexOf("GET /query"),
      );
    } finally {
      await running.close();
    }
  });

  it("record types with their own sales processes: a record's stage is chosen from its record type's stages", async () => {
    const sf = sb.salesforce;
    const partner = sf.addOpportunityRecordType({
      developerName: "Partner_Deal",
      salesProcess: "Partner Sales",
      stages: ["Co-sell Review", "Needs Analysis", "Closed Won", "Closed - Partner Declined"],
      default: true,
    });
    const direct = sf.addOpportunityRecordType({
      developerName: "Direct_Deal",
      salesProcess: "Direct Sales",
      stages: ["Prospecting", "Negotiation/Review", "Closed Won", "Closed Lost"],
    });
    const adapter = sandboxAdapter(sb);
    await adapter.setup();
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const p = await crm.createOpportunity(sampleDeal({ name: "Partner" }), { optedIn: true });
    const d = await crm.createOpportunity(sampleDeal({ name: "Direct" }), { optedIn: true });
    sf.update("Opportunity", p, { RecordTypeId: partner, StageName: "Closed Won" });
    sf.update("Opportunity", d, { RecordTypeId: direct, StageName: "Negotiation/Review" });
    const recs = await adapter.read([p, d]);
    const byId = new Map(recs.map((r) => [r.crmId, r]));
    const stageOf = (id: string) => String(sf.get("Opportunity", id)!.StageName);

    // Reopened as accepted: the first open stage of the record's own sales process after the review
    // stage (not the org's "Prospecting", which its process does not offer).
    const [pAccepted] = await adapter.apply([
      { op: "update", crmId: p, deal: { ...byId.get(p)!.deal, stage: "accepted" }, fields: ["stage"] },
    ]);
    expect(pAccepted).toEqual({ ok: true, crmId: p });
    expect(stageOf(p)).toBe("Needs Analysis");
    // Lost: the closed-not-won stage each process offers.
    const results = await adapter.apply([
      { op: "update", crmId: p, deal: { ...byId.get(p)!.deal, stage: "lost" }, fields: ["stage"] },
      { op: "update", crmId: d, deal: { ...byId.get(d)!.deal, stage: "lost" }, fields: ["stage"] },
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(stageOf(p)).toBe("Closed - Partner Declined");
    expect(stageOf(d)).toBe("Closed Lost");
    // Both read back as lost.
    expect((await adapter.read([p, d])).map((r) => r.deal.stage)).toEqual(["lost", "lost"]);

    // A new inbound referral gets the default record type and a stage of its process.
    const deal: CoSellDeal = completeDeal(
      { ...sampleDeal({ name: "Inbound" }), direction: "inbound", kind: "coSell", stage: "received" },
      sb.clock.now(),
    );
    const [created] = await adapter.apply([
      {
        op: "create",
        referralId: "22222222-3333-4444-5555-666666666666",
        deal,
        status: { state: "synced", lastError: null, coSellStage: "received" },
      },
    ]);
    const newId = (created as { crmId: string }).crmId;
    expect(sf.get("Opportunity", newId)).toMatchObject({
      RecordTypeId: partner,
      StageName: "Co-sell Review",
    });
    expect(adapter.stats().byEndpoint["GET ui-api/picklist-values"]).toBe(2);
  });

  it("an exhausted API allocation is a ThrottledError", async () => {
    const adapter = sandboxAdapter(sb);
    await adapter.setup();
    sb.salesforce.setApiUsage(sb.salesforce.apiUsage().limit);
    const err = await drain(adapter.changes(undefined, { overlapMs: 0 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThrottledError);
    sb.salesforce.setApiUsage(0);
  });
});
