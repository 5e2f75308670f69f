import { describe, expect, it } from "vitest";
import { CRM_KINDS, CRM_MODULES } from "../src/crm-modules.js";
import { type AnySandbox, DEMO_CRMS, replaceDemoCrm } from "../src/demo/crms.js";
import type { DemoReport } from "../src/demo/report.js";
import { runCli } from "../src/program.js";
import { captureIo } from "./helpers/io.js";

// The demo with the real adapters over the sandbox's HTTP servers, for every adapter in this build.
const available = CRM_KINDS.filter((k) => CRM_MODULES[k].available);

describe.each(available.map((k) => [k]))("cosell demo --crm %s (real adapter, sandbox)", (kind) => {
  it("exits 0, every deal in step, no record errors, and no secret in any log line", async () => {
    const sandboxes: AnySandbox[] = [];
    const original = DEMO_CRMS[kind];
    const restore = replaceDemoCrm(kind, {
      credentials: (sb) => {
        sandboxes.push(sb);
        return original.credentials(sb);
      },
    });
    try {
      const io = captureIo();
      const code = await runCli(["demo", "--json", "--crm", kind, "--log-level", "trace"], io);
      const report = JSON.parse(io.out()) as DemoReport;
      const r = report.crms[0]!;
      expect(r.note, io.err().slice(-2000)).toBeUndefined();
      expect(code).toBe(0);
      expect(r.ran).toBe(true);
      expect(r.warnings).toEqual([]);
      expect(r.recordErrors).toBe(0);
      expect(r.deals).toMatchObject({
        createdInCrm: 5,
        createdInPartnerCenter: 3,
        won: 1,
        lost: 1,
        expired: 1,
      });
      expect(r.inStep.total).toBe(8);
      expect(r.inStep.agree).toBe(8);
      expect(r.calls.crm).toBeGreaterThan(0);

      const lines = io.err().split("\n").filter(Boolean);
      for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
      const secrets = sandboxes.flatMap((s) => s.secrets());
      expect(secrets.length).toBeGreaterThan(3);
      const all = `${io.err()}\n${io.out()}`;
      const leaked = secrets.filter((s) => all.includes(s));
      expect(leaked.length, "secrets found in the demo's output or logs").toBe(0);
    } finally {
      restore();
    }
  });
});

it("at least one real adapter is in this build", () => {
  expect(available.length).toBeGreaterThan(0);
});

describe.each(available.slice(0, 1).map((k) => [k]))("cosell demo --keep (%s)", (kind) => {
  it("leaves the sandbox up with a config every command can use, until a signal", async () => {
    const io = captureIo();
    const running = runCli(["demo", "--keep", "--json", "--crm", kind], io);
    for (let i = 0; i < 200 && !io.out().trim().endsWith("}"); i++)
      await new Promise((r) => setTimeout(r, 50));
    const report = JSON.parse(io.out()) as DemoReport;
    const kept = report.kept![0]!;
    expect(kept.urls.partnerCenter).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const status = captureIo();
    expect(await runCli(["--config", kept.configFile, "status", "--cycles", "10", "--json"], status)).toBe(0);
    expect(JSON.parse(status.out()).cycles.length).toBe(report.crms[0]!.cycles);
    const inbound = captureIo();
    expect(await runCli(["--config", kept.configFile, "deals", "inbound", "--json"], inbound)).toBe(0);
    expect(JSON.parse(inbound.out()).deals).toHaveLength(5);
    const doctor = captureIo();
    expect(await runCli(["--config", kept.configFile, "doctor"], doctor), doctor.out()).toBe(0);
    io.signal("SIGINT");
    expect(await running).toBe(0);
  });
});
