import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AnySandbox, CRM_MODULES, DEMO_CRMS, pickReadyToShare, runCli, SECRET_KEYS } from "@cosell/cli";
import { type Sandbox, startSandbox } from "@cosell/sandbox";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type CapturedIo, captureIo } from "../../packages/cli/test/helpers/io.js";
import {
  freePort,
  partnerCenterSection,
  type Serving,
  secretsByReference,
  startServe,
} from "../../packages/cli/test/helpers/serve-rig.mjs";

/**
 * `cosell serve` with both feeds on, against the sandbox's real servers: Partner Center signs and
 * delivers its webhook events, Dataverse calls the service endpoint `cosell setup` registered. Every
 * change below arrives through an event: the reconciliation poll is set to an hour and runs once.
 */
const wait = { timeout: 15_000, interval: 50 };

describe("cosell serve with Partner Center and Dataverse webhooks", () => {
  let sandbox: Sandbox<"partnerCenter" | "dataverse" | "graph">;
  let io: CapturedIo;
  let serving: Serving | undefined;
  let base: string;
  const env: Record<string, string> = {};
  let dir: string;

  beforeAll(async () => {
    sandbox = await startSandbox({ systems: ["partnerCenter", "dataverse", "graph"] });
    dir = mkdtempSync(join(tmpdir(), "cosell-serve-dv-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const demo = DEMO_CRMS.dynamics;
    const any = sandbox as unknown as AnySandbox;
    const crm = CRM_MODULES.dynamics.sandboxConfig!(
      demo.credentials(any),
      demo.sandboxOptions?.(any),
    ) as Record<string, unknown>;
    const config = {
      partnerCenter: secretsByReference(
        await partnerCenterSection(sandbox, { webhookUrl: `${base}/webhooks/partner-center` }),
        env,
        "pc",
        SECRET_KEYS,
      ),
      crm: secretsByReference(
        {
          ...crm,
          webhookUrl: `${base}/webhooks/dataverse`,
          webhookSecret: "a-shared-secret-for-the-sandbox",
        },
        env,
        "crm",
        SECRET_KEYS,
      ),
      state: { path: "state.sqlite" },
      serve: { port, coalesceMs: 50 },
    };
    writeFileSync(join(dir, "cosell.json"), JSON.stringify(config, null, 2));
    const setup = captureIo({ env, cwd: dir });
    expect(await runCli(["--config", "cosell.json", "setup", "dynamics"], setup), setup.err()).toBe(0);
    sandbox.dataverse.activateKeys();

    io = captureIo({ env, cwd: dir });
    serving = await startServe({
      runCli,
      io,
      argv: ["--config", "cosell.json", "serve", "--reconcile-interval", "3600"],
      base,
      timeoutMs: wait.timeout,
    });
  });

  afterAll(async () => {
    await serving?.stop();
    await sandbox?.dataverse.webhooks.idle();
    await sandbox?.stop();
  });

  it("reports both feeds connected", async () => {
    const ready = (await (await fetch(`${base}/readyz`)).json()) as {
      checks: { name: string; ok: boolean }[];
    };
    expect(ready.checks).toEqual(
      expect.arrayContaining([
        { name: "feed: partner center webhooks", ok: true },
        { name: "feed: dataverse webhooks", ok: true },
      ]),
    );
  });

  it("an opt-in, an edit in Dataverse and an edit in Partner Center each arrive through events", async () => {
    const adapter = CRM_MODULES.dynamics.createAdapter!(
      CRM_MODULES.dynamics.sandboxConfig!(
        DEMO_CRMS.dynamics.credentials(sandbox as unknown as AnySandbox),
        DEMO_CRMS.dynamics.sandboxOptions?.(sandbox as unknown as AnySandbox),
      ),
    );
    const [id] = await pickReadyToShare(
      adapter,
      DEMO_CRMS.dynamics.openOpportunities(sandbox as unknown as AnySandbox),
      1,
    );
    DEMO_CRMS.dynamics.optIn(sandbox as unknown as AnySandbox, [id!]);
    const referral = await vi.waitFor(() => {
      const r = sandbox.partnerCenter.all().find((x) => x.externalReferenceId === id);
      expect(r).toBeDefined();
      return r!;
    }, wait);

    sandbox.dataverse.update("opportunity", id!, { description: "Edited by the seller" });
    await vi.waitFor(
      () => expect(sandbox.partnerCenter.get(referral.id)?.details?.notes).toBe("Edited by the seller"),
      wait,
    );

    sandbox.partnerCenter.updateNotes(referral.id, "Edited in Partner Center");
    await vi.waitFor(
      () => expect(sandbox.dataverse.get("opportunity", id!)?.description).toBe("Edited in Partner Center"),
      wait,
    );

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^cosell_events_received_total\{source="dataverse"\} [1-9]/m);
    expect(metrics).toMatch(/^cosell_events_received_total\{source="partner_center"\} [1-9]/m);
    // The poll ran once, at start: everything above came through events.
    expect(metrics).toMatch(/^cosell_cycles_total\{mode="incremental",outcome="ok"\} 1$/m);
    expect(io.err()).not.toContain("a-shared-secret-for-the-sandbox");
  });
});
