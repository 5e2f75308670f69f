import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CRM_MODULES, pickReadyToShare, runCli, SECRET_KEYS } from "@cosell/cli";
import { type Sandbox, startSandbox } from "@cosell/sandbox";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type CapturedIo, captureIo } from "../../packages/cli/test/helpers/io.js";
import {
  freePort,
  partnerCenterSection,
  type Serving,
  secretsByReference,
  startServe as startServeUntilReady,
} from "../../packages/cli/test/helpers/serve-rig.mjs";

/**
 * `cosell serve` with Salesforce Change Data Capture against the sandbox's real servers: the org
 * publishes OpportunityChangeEvents over CometD (faye), cosell's subscription turns a seller's edit
 * into a targeted sync. The reconciliation poll is set to an hour, so an edit that arrives came
 * through the subscription; the metrics say how many events arrived, were skipped, or asked for a
 * reconciliation.
 */
const wait = { timeout: 20_000, interval: 50 };

/** One counter of the Prometheus text (0 when the series is not there yet). */
function counter(metrics: string, series: string): number {
  const escaped = series.replace(/[{}()[\].*+?^$|\\]/g, "\\$&");
  const m = new RegExp(`^${escaped} (\\S+)$`, "m").exec(metrics);
  return m ? Number(m[1]) : 0;
}

describe("cosell serve with Salesforce Change Data Capture", () => {
  let sandbox: Sandbox<"partnerCenter" | "salesforce">;
  let io: CapturedIo;
  let serving: Serving | undefined;
  let base: string;
  const env: Record<string, string> = {};
  let dir: string;
  let seller: string;
  let dealId: string;
  let referralId: string;

  const metrics = async () => (await fetch(`${base}/metrics`)).text();

  async function startServe(): Promise<void> {
    io = captureIo({ env, cwd: dir });
    serving = await startServeUntilReady({
      runCli,
      io,
      argv: ["--config", "cosell.json", "serve", "--reconcile-interval", "3600"],
      base,
      timeoutMs: wait.timeout,
    });
  }

  async function stopServe(): Promise<void> {
    expect(await serving?.stop()).toBe(0);
    serving = undefined;
  }

  beforeAll(async () => {
    sandbox = await startSandbox({ systems: ["partnerCenter", "salesforce"] });
    dir = mkdtempSync(join(tmpdir(), "cosell-serve-sf-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // Client credentials: no JWT assertion whose expiry the sandbox checks against its own clock,
    // which the last test moves by three days.
    const crm = CRM_MODULES.salesforce.sandboxConfig!(sandbox.credentials.salesforce, {
      auth: "clientCredentials",
      teamIncludesOwner: true,
    }) as Record<string, unknown>;
    const config = {
      partnerCenter: secretsByReference(await partnerCenterSection(sandbox), env, "pc", SECRET_KEYS),
      crm: secretsByReference(crm, env, "crm", SECRET_KEYS),
      state: { path: "state.sqlite" },
      serve: { port, coalesceMs: 50 },
    };
    writeFileSync(join(dir, "cosell.json"), JSON.stringify(config, null, 2));
    const setup = captureIo({ env, cwd: dir });
    expect(
      await runCli(["--config", "cosell.json", "--json", "setup", "salesforce"], setup),
      setup.err(),
    ).toBe(0);
    expect(JSON.parse(setup.out()).created).toContain(
      "Change Data Capture selected for Opportunity (ChangeEvents_OpportunityChangeEvent)",
    );

    const sf = sandbox.salesforce;
    const integration = sf.integrationUser.id;
    seller = String(sf.all("User").find((u) => u.Id !== integration && u.IsActive !== false)!.Id);
    const adapter = CRM_MODULES.salesforce.createAdapter!(crm);
    const open = sf
      .all("Opportunity")
      .filter((o) => o.IsClosed !== true)
      .map((o) => String(o.Id));
    [dealId] = (await pickReadyToShare(adapter, open, 1)) as [string];

    await startServe();
    // No replay id stored yet: the subscription's start asks for one more cycle (changes made
    // before it took hold are only a cycle's to find). Let both finish before measuring.
    await vi.waitFor(
      async () =>
        expect(counter(await metrics(), 'cosell_cycles_total{mode="incremental",outcome="ok"}')).toBe(2),
      wait,
    );
  });

  afterAll(async () => {
    await serving?.stop();
    await sandbox?.stop();
  });

  it("reports the subscription in /readyz", async () => {
    const ready = (await (await fetch(`${base}/readyz`)).json()) as {
      checks: { name: string; ok: boolean; details?: Record<string, unknown> }[];
    };
    expect(ready.checks).toContainEqual({ name: "feed: salesforce change events", ok: true, details: {} });
  });

  it("a seller's opt-in and edit reach Partner Center through change events; cosell's own writes are skipped", async () => {
    const sf = sandbox.salesforce;
    sf.update(
      "Opportunity",
      dealId,
      {
        Cosell_Sync__c: true,
        Cosell_Solutions__c: "sol-field-service | Field Service Accelerator | own",
      },
      { as: seller },
    );
    const referral = await vi.waitFor(() => {
      const r = sandbox.partnerCenter.all().find((x) => x.externalReferenceId === dealId);
      expect(r).toBeDefined();
      return r!;
    }, wait);
    referralId = referral.id;

    sf.update("Opportunity", dealId, { Amount: 424_242 }, { as: seller });
    await vi.waitFor(
      () => expect(sandbox.partnerCenter.get(referralId)?.details?.dealValue).toBe(424_242),
      wait,
    );
    // cosell wrote the referral id and its sync status back: those events are its own (the
    // integration user's) and are skipped without a read.
    await vi.waitFor(
      async () =>
        expect(
          counter(await metrics(), 'cosell_events_ignored_total{source="salesforce",reason="echo"}'),
        ).toBeGreaterThanOrEqual(2),
      wait,
    );
    const m = await metrics();
    // Exactly the seller's two saves became targeted syncs; the poll did not run again.
    expect(counter(m, 'cosell_events_received_total{source="salesforce"}')).toBe(2);
    expect(counter(m, 'cosell_cycles_total{mode="incremental",outcome="ok"}')).toBe(2);
    expect(counter(m, 'cosell_reconcile_requests_total{source="salesforce"}')).toBe(0);
    const ready = (await (await fetch(`${base}/readyz`)).json()) as {
      checks: { name: string; details?: { lastReplayId?: number; secondsSinceLastEvent?: number } }[];
    };
    const feed = ready.checks.find((c) => c.name === "feed: salesforce change events")!;
    expect(feed.details?.lastReplayId).toBe(sf.changeEvents().at(-1)!.data.event.replayId);
    expect(typeof feed.details?.secondsSinceLastEvent).toBe("number");
  });

  it("a restart resumes from the stored replay id: the edit made meanwhile arrives once, nothing older again", async () => {
    await stopServe();
    sandbox.salesforce.update("Opportunity", dealId, { Amount: 515_151 }, { as: seller });
    await startServe();
    await vi.waitFor(
      () => expect(sandbox.partnerCenter.get(referralId)?.details?.dealValue).toBe(515_151),
      wait,
    );
    await vi.waitFor(
      async () =>
        expect(counter(await metrics(), 'cosell_events_received_total{source="salesforce"}')).toBe(1),
      wait,
    );
    const m = await metrics();
    expect(counter(m, 'cosell_reconcile_requests_total{source="salesforce"}')).toBe(0);
    expect(counter(m, 'cosell_cycles_total{mode="incremental",outcome="ok"}')).toBe(1);
  });

  it("a stored replay id older than the 72-hour retention asks for a reconciliation, and the edit is not lost", async () => {
    await stopServe();
    sandbox.salesforce.update("Opportunity", dealId, { Amount: 626_262 }, { as: seller });
    sandbox.clock.advance(73 * 3600 * 1000);
    await startServe();
    await vi.waitFor(
      () => expect(sandbox.partnerCenter.get(referralId)?.details?.dealValue).toBe(626_262),
      wait,
    );
    await vi.waitFor(
      async () =>
        expect(counter(await metrics(), 'cosell_reconcile_requests_total{source="salesforce"}')).toBe(1),
      wait,
    );
    // The expired events are not replayed: the reconciliation found the edit.
    expect(counter(await metrics(), 'cosell_events_received_total{source="salesforce"}')).toBe(0);
    expect(io.err()).toMatch(/72-hour retention/);
  });
});
