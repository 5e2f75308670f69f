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
