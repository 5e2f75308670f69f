import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli, SECRET_KEYS } from "@cosell/cli";
import { columnsFor, dynamicsSandboxConfig } from "@cosell/dynamics";
import { type Sandbox, startSandbox } from "@cosell/sandbox";
import { afterAll, describe, expect, it, vi } from "vitest";
import { captureIo } from "../../packages/cli/test/helpers/io.js";
import {
  freePort,
  partnerCenterSection,
  secretsByReference,
  waitUntilReady,
} from "../../packages/cli/test/helpers/serve-rig.mjs";

/**
 * `cosell serve` (the built binary, in its own process) is SIGKILLed in the middle of a burst of 500
 * events on both sides (seller edits in Dataverse, Microsoft's note edits in Partner Center, each a
 * webhook call), then started again. Events sent while it is down are lost by design: the first
 * reconciliation cycle after the restart picks their changes up. At the end every deal is linked
 * exactly once and both sides hold every last edit.
 */
const bin = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url));
const DEALS = 50;
const EVENTS = 500;

describe("chaos: SIGKILL of cosell serve during a burst of events", () => {
  let sandbox: Sandbox<"partnerCenter" | "dataverse" | "graph">;
  let child: ChildProcess | undefined;
  afterAll(async () => {
    child?.kill("SIGKILL");
    await sandbox?.stop();
  });

  it("every change arrives exactly once after a restart", async () => {
    sandbox = await startSandbox({ systems: ["partnerCenter", "dataverse", "graph"] });
    const dir = mkdtempSync(join(tmpdir(), "cosell-serve-chaos-"));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {};
    const c = columnsFor("cosell");
    const ids = sandbox.dataverse.seedOpportunities(DEALS, {
      seed: 11,
      extra: () => ({
        [c.syncFlag]: true,
        // Kept as an earlier release did: `cosell setup` below moves it into related rows.
        [c.solutions]: JSON.stringify([{ id: "sol-chaos", name: "Chaos Accelerator", kind: "own" }]),
        [c.closeReason]: "Customer chose another vendor",
      }),
    });
    const config = {
      partnerCenter: secretsByReference(
        await partnerCenterSection(sandbox, { webhookUrl: `${base}/webhooks/partner-center` }),
        env,
        "pc",
        SECRET_KEYS,
      ),
      crm: secretsByReference(
        {
          ...dynamicsSandboxConfig(sandbox.credentials.dataverse, { graphUrl: sandbox.urls.graph }),
          webhookUrl: `${base}/webhooks/dataverse`,
          webhookSecret: "chaos-webhook-secret-0123456789",
        },
        env,
        "crm",
        SECRET_KEYS,
      ),
      state: { path: "state.sqlite" },
      serve: { port, coalesceMs: 50 },
      log: { level: "warn" },
    };
    writeFileSync(join(dir, "cosell.json"), JSON.stringify(config));
    const setup = captureIo({ env, cwd: dir });
    expect(await runCli(["--config", "cosell.json", "setup", "dynamics"], setup), setup.err()).toBe(0);
    sandbox.dataverse.activateKeys();

    let logs = "";
    const start = () => {
      const p = spawn(
        process.execPath,
        [bin, "--config", "cosell.json", "serve", "--reconcile-interval", "3600"],
        {
          cwd: dir,
          env: { ...env, PATH: process.env.PATH ?? "" },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      p.stdout?.on("data", (d) => {
        logs += String(d);
      });
      p.stderr?.on("data", (d) => {
        logs += String(d);
      });
      return p;
    };
    const ready = () =>
      waitUntilReady(base, { timeoutMs: 60_000, intervalMs: 100, why: () => logs.slice(-2000) });
    child = start();
    await ready();

    const referralOf = new Map(
      sandbox.partnerCenter
        .all()
        .filter((r) => ids.includes(String(r.externalReferenceId)))
        .map((r) => [String(r.externalReferenceId), r.id] as const),
    );
    // Deals open on both sides take edits both ways.
    const open = ids.filter(
      (id) =>
        sandbox.dataverse.get("opportunity", id)?.statecode === 0 &&
        sandbox.partnerCenter.get(referralOf.get(id) ?? "")?.status === "Active",
    );
    expect(open.length).toBeGreaterThan(10);
    const crmSide = open.slice(0, Math.floor(open.length / 2));
    const pcSide = open.slice(Math.floor(open.length / 2));
    const lastValue = new Map<string, number>();
    const lastNote = new Map<string, string>();

    for (let e = 0; e < EVENTS; e++) {
      if (e === EVENTS / 2) {
        child.kill("SIGKILL");
        await new Promise((r) => child!.once("exit", r));
      }
      if (e % 2 === 0) {
        const id = crmSide[(e / 2) % crmSide.length]!;
        const value = 900_000 + e;
        sandbox.dataverse.update("opportunity", id, { estimatedvalue: value });
        lastValue.set(id, value);
      } else {
        const id = pcSide[((e - 1) / 2) % pcSide.length]!;
        const note = `Microsoft note ${e}`;
        sandbox.partnerCenter.updateNotes(referralOf.get(id)!, note);
        lastNote.set(id, note);
      }
      if (e % 25 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    child = start();
    await ready();

    await vi.waitFor(
      () => {
        for (const [id, value] of lastValue)
          expect(sandbox.partnerCenter.get(referralOf.get(id)!)?.details?.dealValue).toBe(value);
        for (const [id, note] of lastNote)
          expect(sandbox.dataverse.get("opportunity", id)?.description).toBe(note);
      },
      { timeout: 60_000, interval: 200 },
    );
    // Exactly once: one referral per deal, one opportunity per referral.
    const refs = sandbox.partnerCenter.all().filter((r) => ids.includes(String(r.externalReferenceId)));
    expect(new Set(refs.map((r) => r.externalReferenceId)).size).toBe(refs.length);
    const withReferral = sandbox.dataverse
      .all("opportunity")
      .map((o) => o[c.referralId])
      .filter(Boolean);
    expect(new Set(withReferral).size).toBe(withReferral.length);
    child.kill("SIGTERM");
    await new Promise((r) => child!.once("exit", r));
    child = undefined;
  }, 240_000);
});
