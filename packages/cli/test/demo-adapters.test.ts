import { describe, expect, it } from "vitest";
import { CRM_KINDS, CRM_MODULES } from "../src/crm-modules.js";
import { type AnySandbox, DEMO_CRMS, replaceDemoCrm } from "../src/demo/crms.js";
import { type DemoReport, tryItLines } from "../src/demo/report.js";
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

/** Splits a printed command line as a POSIX shell would for the quoting the demo prints. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (const m of line.matchAll(re)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

describe.each(available.map((k) => [k]))("cosell demo --keep (%s)", (kind) => {
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
    const deals = JSON.parse(inbound.out()).deals as { id: string; stage: string }[];
    // The five scripted referrals, and one left waiting for an answer to try `accept` on.
    expect(deals).toHaveLength(6);
    expect(deals.find((d) => d.id === kept.waiting!.referralId)?.stage).toBe("received");
    const doctor = captureIo();
    expect(await runCli(["--config", kept.configFile, "doctor"], doctor), doctor.out()).toBe(0);

    // Every command the screen prints works as printed, in order.
    const lines = tryItLines(kept, "cosell")
      .filter((l) => !l.trimStart().startsWith("#"))
      .slice(1);
    expect(lines.length).toBeGreaterThanOrEqual(6);
    for (const line of lines) {
      const [cmd, ...args] = shellWords(line.trim());
      if (cmd === "cosell") {
        const run = captureIo();
        expect(await runCli(args, run), `${line}\n${run.err()}`).toBe(0);
      } else {
        expect(cmd).toBe("curl");
        const url = args.find((a) => a.startsWith("http"))!;
        const method = args[args.indexOf("-X") + 1] ?? "GET";
        const body = args.includes("-d") ? args[args.indexOf("-d") + 1] : undefined;
        const res = await fetch(url, {
          method: args.includes("-X") ? method : "GET",
          headers: { "content-type": "application/json" },
          ...(body ? { body } : {}),
        });
        expect(res.status, `${line}\n${await res.clone().text()}`).toBe(200);
      }
    }
    const after = captureIo();
    expect(await runCli(["--config", kept.configFile, "deals", "inbound", "--json"], after)).toBe(0);
    const now = JSON.parse(after.out()).deals as { id: string; stage: string; name: string }[];
    expect(now.find((d) => d.id === kept.waiting!.referralId)?.stage).toBe("accepted");
    expect(now.some((d) => d.name === "Contoso expansion")).toBe(true);
    io.signal("SIGINT");
    expect(await running).toBe(0);
  });
});
