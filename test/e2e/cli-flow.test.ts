import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AnySandbox,
  CRM_KINDS,
  CRM_MODULES,
  type CrmKind,
  DEMO_CRMS,
  DEMO_SOLUTION,
  pickReadyToShare,
  runCli,
  SECRET_KEYS,
} from "@cosell/cli";
import { startSandbox } from "@cosell/sandbox";
import { describe, expect, it } from "vitest";
import { captureIo } from "../../packages/cli/test/helpers/io.js";
import { partnerCenterSection, secretsByReference } from "../../packages/cli/test/helpers/serve-rig.mjs";

/**
 * The admin's path through the CLI, for each CRM whose adapter is in this build, against the
 * sandbox's real HTTP servers: init → setup → doctor → backfill → plan (exit 2) → sync →
 * plan (exit 0) → status. Runs `runCli` in-process (no build needed), with a real config file whose
 * secrets are `env:` references.
 */
const available = CRM_KINDS.filter((k) => CRM_MODULES[k].available);

describe.each(available.map((k) => [k] as [CrmKind]))("cosell CLI end to end on the sandbox: %s", (kind) => {
  it("init → setup → doctor → backfill → plan (2) → sync → plan (0) → status; no secret printed", async () => {
    const demo = DEMO_CRMS[kind];
    const sandbox = (await startSandbox({ systems: demo.systems })) as unknown as AnySandbox;
    try {
      const dir = mkdtempSync(join(tmpdir(), `cosell-e2e-${kind}-`));
      const env: Record<string, string> = {};
      const cli = async (...argv: string[]) => {
        const io = captureIo({ env, cwd: dir });
        const code = await runCli(["--config", "cosell.json", ...argv], io);
        return { code, out: io.out(), err: io.err(), json: () => JSON.parse(io.out()) };
      };

      // init writes the commented template; the test then writes the same settings, pointed at the sandbox.
      const init = await runCli(["init", "--crm", kind], captureIo({ env, cwd: dir }));
      expect(init).toBe(0);
      expect(readFileSync(join(dir, "cosell.yaml"), "utf8")).toContain(`kind: ${kind}`);
      const config: Record<string, unknown> = { state: { path: "state.sqlite" } };
      const pc = sandbox.credentials.partnerCenter;
      config.partnerCenter = secretsByReference(await partnerCenterSection(sandbox), env, "pc", SECRET_KEYS);
      const crmSection = CRM_MODULES[kind].sandboxConfig!(
        demo.credentials(sandbox),
        demo.sandboxOptions?.(sandbox),
      );
      config.crm = secretsByReference(crmSection, env, "crm", SECRET_KEYS);
      // The partner's own published solution, which setup puts in the catalog sellers pick from.
      config.solutions = [{ id: "sol-own-1", name: "Contoso Own Platform" }];
      writeFileSync(join(dir, "cosell.json"), JSON.stringify(config, null, 2));
      expect(readFileSync(join(dir, "cosell.json"), "utf8")).not.toContain(pc.clientSecret);

      // Salesforce validates the whole package without saving it; Dynamics 365 has no such call.
      const check = await cli("setup", kind, "--check-only", "--json");
      if (kind === "salesforce") {
        expect(check.code, check.err).toBe(0);
        expect(check.json()).toMatchObject({ ok: true, checkOnly: true, failures: [] });
        expect(check.json().components).toBeGreaterThan(20);
      } else {
        expect(check.code).toBe(1);
        expect(check.err).toContain("SETUP_CHECK_UNSUPPORTED");
      }

      const setup = await cli("setup", kind, "--json");
      expect(setup.code, setup.err).toBe(0);
      expect(setup.json().created.length).toBeGreaterThan(0);
      const afterSetup = await cli("solutions", "list", "--json");
      expect(afterSetup.json().entries).toEqual([
        { id: "sol-own-1", name: "Contoso Own Platform", kind: "own", active: true },
      ]);
      expect((await cli("setup", kind, "--json")).json().created).toEqual([]);

      const doctor = await cli("doctor");
      expect(doctor.code, doctor.out).toBe(0);

      // The solution catalog sellers pick from: a file with a bad line imports its good lines.
      writeFileSync(
        join(dir, "solutions.csv"),
        "id,name,kind\nsol-e2e-1,Contoso Analytics,own\nsol-e2e-2,Azure Migrate,microsoft\nsol-e2e-3,,own\n",
      );
      const imported = await cli("solutions", "import", "solutions.csv", "--json");
      expect(imported.code).toBe(1);
      expect(imported.json()).toMatchObject({ created: ["sol-e2e-1", "sol-e2e-2"], failed: [] });
      expect(imported.json().problems).toEqual([expect.objectContaining({ line: 4 })]);
      const again = await cli("solutions", "import", "solutions.csv", "--json");
      expect(again.json()).toMatchObject({ created: [], updated: [], unchanged: ["sol-e2e-1", "sol-e2e-2"] });
      const listed = await cli("solutions", "list", "--json");
      expect(listed.code).toBe(0);
      expect(listed.json().entries).toEqual([
        { id: "sol-e2e-2", name: "Azure Migrate", kind: "microsoft", active: true },
        { id: "sol-e2e-1", name: "Contoso Analytics", kind: "own", active: true },
        { id: "sol-own-1", name: "Contoso Own Platform", kind: "own", active: true },
      ]);

      // Existing business: a referral that already carries the CRM id of an opportunity, and opt-ins.
      const adapter = CRM_MODULES[kind].createAdapter!(crmSection);
      const open = await pickReadyToShare(adapter, demo.openOpportunities(sandbox), 3);
      await adapter.close?.();
      demo.optIn(sandbox, open.slice(0, 2));
      const existing = sandbox.partnerCenter.sendInboundReferral({ externalReferenceId: open[2] } as never);
      const backfill = await cli("backfill", "--yes", "--json");
      expect(backfill.code, backfill.err).toBe(0);
      expect(backfill.json().linked).toContainEqual(
        expect.objectContaining({ crmId: open[2], referralId: existing.id, basis: "crm id" }),
      );

      sandbox.partnerCenter.sendInboundReferral();
      const plan = await cli("plan");
      expect(plan.code, plan.out).toBe(2);
      const sync = await cli("sync", "--json");
      expect(sync.code).toBe(0);
      expect(sync.json().summary.errors).toEqual([]);
      const quiet = await cli("plan", "--json");
      expect(quiet.code, JSON.stringify(quiet.json().plan.steps, null, 1)).toBe(0);

      // Every solution seen on a shared deal joined the catalog.
      const catalog = (await cli("solutions", "list", "--json"))
        .json()
        .entries.map((e: { id: string }) => e.id);
      expect(catalog).toEqual(expect.arrayContaining(["sol-e2e-1", "sol-e2e-2", DEMO_SOLUTION.id]));

      const status = await cli("status", "--json");
      expect(status.code).toBe(0);
      expect(status.json().cycles.length).toBeGreaterThanOrEqual(2);
      expect(status.json().failing).toEqual([]);

      const printed = [setup, doctor, backfill, plan, sync, quiet, status]
        .map((r) => r.out + r.err)
        .join("\n");
      for (const s of sandbox.secrets()) expect(printed.includes(s), "a secret was printed").toBe(false);
    } finally {
      await sandbox.stop();
    }
  });
});

it("the demo covers every CRM whose adapter is in this build", async () => {
  const io = captureIo();
  const code = await runCli(["demo", "--json"], io);
  const report = JSON.parse(io.out()) as {
    ok: boolean;
    crms: { crm: string; ran: boolean; note?: string }[];
  };
  expect(code).toBe(0);
  for (const k of available) expect(report.crms.find((c) => c.crm === k)?.ran, k).toBe(true);
  expect(available.length).toBeGreaterThan(0);
});
