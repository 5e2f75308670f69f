import { MemoryStateStore } from "@cosell/core";
import {
  createSalesforceServer,
  FaultInjector,
  listen,
  RequestLog,
  type SalesforceOrgOptions,
  SandboxClock,
  TokenRegistry,
} from "@cosell/sandbox";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type ChangeSubscription,
  type ChangeSubscriptionState,
  createSalesforceAdapter,
  OPPORTUNITY_FEED,
  type SalesforceAdapter,
} from "../src/index.js";

/**
 * The adapter's Change Data Capture subscription against the sandbox org's real CometD endpoint
 * (faye Bayeux server, jsforce's streaming client unmodified).
 */

const wait = { timeout: 15_000, interval: 20 };

interface Org {
  clock: SandboxClock;
  control: ReturnType<typeof createSalesforceServer>["control"];
  adapter: SalesforceAdapter;
  close(): Promise<void>;
}

const orgs: Org[] = [];
const subs: ChangeSubscription[] = [];

afterEach(async () => {
  for (const s of subs.splice(0)) await s.stop();
  for (const o of orgs.splice(0)) await o.close();
});

async function startOrg(options: SalesforceOrgOptions = {}): Promise<Org> {
  const clock = new SandboxClock();
  const tokens = new TokenRegistry(clock);
  const server = createSalesforceServer(
    { clock, tokens },
    // A short long-poll, so an expired session shows at the next /meta/connect within seconds.
    { ...options, changeDataCapture: { longPollSeconds: 1, ...options.changeDataCapture } },
  );
  const running = await listen(server, { clock, log: new RequestLog(), faults: new FaultInjector() });
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
  const org = {
    clock,
    control: server.control,
    adapter,
    close: async () => {
      await running.close();
    },
  };
  orgs.push(org);
  return org;
}

/** A subscription whose calls are recorded. */
function listen_(org: Org, store = new MemoryStateStore()) {
  const records: string[][] = [];
  const reconciles: string[] = [];
  const skipped: number[] = [];
  const states: ChangeSubscriptionState[] = [];
  const sub = org.adapter.changeEvents.subscribe(store, {
    records: (ids) => {
      records.push(ids);
    },
    reconcile: (reason) => {
      reconciles.push(reason);
    },
    skipped: (_why, replayId) => {
      skipped.push(replayId);
    },
    stateChanged: (s) => states.push(s),
  });
  subs.push(sub);
  return { sub, store, records, reconciles, skipped, states };
}

function seller(org: Org): string {
  const integration = org.control.integrationUser.id;
  return String(org.control.all("User").find((u) => u.Id !== integration && u.IsActive !== false)!.Id);
}

function anOpportunity(org: Org, n = 0): string {
  return String(org.control.all("Opportunity")[n]!.Id);
}

const lastReplayId = (org: Org) => org.control.changeEvents().at(-1)!.data.event.replayId;

describe("Salesforce Change Data Capture subscription", () => {
  it("setup selects Opportunity through the Tooling API, doctor sees it, a second setup leaves it", async () => {
    const org = await startOrg();
    const before = await org.adapter.verifySetup();
    expect(before.checks.find((c) => c.name === "change data capture")).toMatchObject({ ok: false });
    const first = await org.adapter.setup();
    expect(first.created).toContain(
      "Change Data Capture selected for Opportunity (ChangeEvents_OpportunityChangeEvent)",
    );
    expect(first.skipped).toBeUndefined();
    // Selected for real: a write now publishes an OpportunityChangeEvent.
    org.control.update("Opportunity", anOpportunity(org), { StageName: "Qualification" });
    expect(org.control.changeEvents().map((e) => e.channel)).toEqual(["/data/OpportunityChangeEvent"]);
    const second = await org.adapter.setup();
    expect(second.created).toEqual([]);
    expect(second.unchanged).toContain("Change Data Capture selected for Opportunity");
    expect(
      (await org.adapter.verifySetup()).checks.find((c) => c.name === "change data capture"),
    ).toMatchObject({ ok: true });
  });

  it("an org at its selected-entity allocation: setup says why it could not select Opportunity and goes on", async () => {
    const org = await startOrg({
      changeDataCapture: { selectedEntities: ["AccountChangeEvent"], maxSelectedEntities: 1 },
    });
    const report = await org.adapter.setup();
    expect(report.skipped).toHaveLength(1);
    expect(report.skipped![0]).toMatch(/not selected .*LIMIT_EXCEEDED.*polling/);
    expect(report.created.some((c) => c.startsWith("Field "))).toBe(true);
    org.control.update("Opportunity", anOpportunity(org), { StageName: "Qualification" });
    expect(org.control.changeEvents()).toEqual([]);
  });

  it("a seller's edit arrives as the opportunity's id and its replay id is stored; the integration user's own writes are skipped", async () => {
    const org = await startOrg({ changeDataCapture: { selectedEntities: ["OpportunityChangeEvent"] } });
    const s = listen_(org);
    await vi.waitFor(() => expect(s.sub.state().connected).toBe(true), wait);
    const id = anOpportunity(org);
    org.control.update("Opportunity", id, { StageName: "Qualification" }, { as: seller(org) });
    await vi.waitFor(() => expect(s.records).toEqual([[id]]), wait);
    expect(s.store.getFeedPosition(OPPORTUNITY_FEED)).toBe(String(lastReplayId(org)));
    expect(s.sub.state()).toMatchObject({ connected: true, lastReplayId: lastReplayId(org) });

    // cosell's own write (the integration user's): no read, but the position moves past it.
    org.control.update("Opportunity", id, { Description: "written by cosell" });
    await vi.waitFor(() => expect(s.skipped).toEqual([lastReplayId(org)]), wait);
    expect(s.records).toEqual([[id]]);
    expect(s.store.getFeedPosition(OPPORTUNITY_FEED)).toBe(String(lastReplayId(org)));
    expect(s.reconciles).toEqual([]);
  });

  it("a restart resumes from the stored replay id: what was published meanwhile arrives, nothing twice", async () => {
    const org = await startOrg({ changeDataCapture: { selectedEntities: ["OpportunityChangeEvent"] } });
    const [a, b, c] = [0, 1, 2].map((n) => anOpportunity(org, n));
    const first = listen_(org);
    await vi.waitFor(() => expect(first.sub.state().connected).toBe(true), wait);
    org.control.update("Opportunity", a!, { StageName: "Qualification" }, { as: seller(org) });
    await vi.waitFor(() => expect(first.records).toEqual([[a]]), wait);
    await first.sub.stop();

    org.control.update("Opportunity", b!, { StageName: "Qualification" }, { as: seller(org) });
    org.control.update("Opportunity", c!, { StageName: "Qualification" }, { as: seller(org) });
    const again = listen_(org, first.store);
    await vi.waitFor(() => expect(again.records).toEqual([[b], [c]]), wait);
    expect(again.store.getFeedPosition(OPPORTUNITY_FEED)).toBe(String(lastReplayId(org)));
    expect(again.reconciles).toEqual([]);
  });

  it("a replay id older than the 72-hour retention: subscribes for new events and asks for one reconciliation", async () => {
    const org = await startOrg({ changeDataCapture: { selectedEntities: ["OpportunityChangeEvent"] } });
    const id = anOpportunity(org);
    const first = listen_(org);
    await vi.waitFor(() => expect(first.sub.state().connected).toBe(true), wait);
    org.control.update("Opportunity", id, { StageName: "Qualification" }, { as: seller(org) });
    await vi.waitFor(() => expect(first.records).toHaveLength(1), wait);
    await first.sub.stop();
    const stored = first.store.getFeedPosition(OPPORTUNITY_FEED);

    org.clock.advance(73 * 3600 * 1000);
    // Published while cosell was down; the stored event itself is purged by now.
    org.control.update("Opportunity", id, { StageName: "Needs Analysis" }, { as: seller(org) });
    expect(org.control.changeEvents().map((e) => String(e.data.event.replayId))).not.toContain(stored);

    const again = listen_(org, first.store);
    await vi.waitFor(() => expect(again.reconciles).toHaveLength(1), wait);
    expect(again.reconciles[0]).toMatch(/72-hour/);
    await vi.waitFor(() => expect(again.sub.state().connected).toBe(true), wait);
    // Subscribed with -1: the event published meanwhile is the reconciliation's, not replayed.
    expect(again.records).toEqual([]);
    org.control.update("Opportunity", id, { StageName: "Value Proposition" }, { as: seller(org) });
    await vi.waitFor(() => expect(again.records).toEqual([[id]]), wait);
    expect(again.store.getFeedPosition(OPPORTUNITY_FEED)).toBe(String(lastReplayId(org)));
  });

  it("after the session expires it renews the session and subscribes again from the last replay id", async () => {
    const org = await startOrg({ changeDataCapture: { selectedEntities: ["OpportunityChangeEvent"] } });
    const id = anOpportunity(org);
    const s = listen_(org);
    await vi.waitFor(() => expect(s.sub.state().connected).toBe(true), wait);
    org.control.update("Opportunity", id, { StageName: "Qualification" }, { as: seller(org) });
    await vi.waitFor(() => expect(s.records).toHaveLength(1), wait);

    expect(org.control.expireSessions()).toBeGreaterThan(0);
    await vi.waitFor(
      () => expect(s.states.some((x) => /session expired/.test(x.reason ?? ""))).toBe(true),
      wait,
    );
    // Published while the subscription was down: delivered after it subscribes again.
    org.control.update("Opportunity", id, { StageName: "Needs Analysis" }, { as: seller(org) });
    await vi.waitFor(() => expect(s.records).toEqual([[id], [id]]), wait);
    expect(s.sub.state().connected).toBe(true);
    expect(s.reconciles).toEqual([]);
  });

  it("a delete asks for a reconciliation (a targeted read does not see the Recycle Bin)", async () => {
    const org = await startOrg({ changeDataCapture: { selectedEntities: ["OpportunityChangeEvent"] } });
    const s = listen_(org);
    await vi.waitFor(() => expect(s.sub.state().connected).toBe(true), wait);
    org.control.delete("Opportunity", anOpportunity(org), { as: seller(org) });
    await vi.waitFor(() => expect(s.reconciles).toEqual(["an opportunity was deleted"]), wait);
    expect(s.records).toEqual([]);
  });
});
