import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The built `cosell` executable as a user runs it (CI builds before testing; `pnpm demo` builds too).
const bin = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url));
const built = existsSync(bin);

function run(args: string[], onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += String(d);
      onStdout?.(out, (s) => child.kill(s));
    });
    child.stderr.on("data", (d) => {
      err += String(d);
    });
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

describe.runIf(built)("the built cosell executable", () => {
  it("--help exits 0; an unknown command exits 1", async () => {
    expect((await run(["--help"])).code).toBe(0);
    const bad = await run(["frobnicate"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("unknown command");
  });

  it("demo --json exits 0 with both CRMs reported, logs as JSON lines on stderr", async () => {
    const r = await run(["demo", "--json"]);
    expect(r.code, r.err.slice(-1500)).toBe(0);
    const report = JSON.parse(r.out) as { ok: boolean; crms: { crm: string; ran: boolean }[] };
    expect(report.ok).toBe(true);
    expect(report.crms.map((c) => c.crm).sort()).toEqual(["dynamics", "salesforce"]);
    for (const line of r.err.split("\n").filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
  });

  it("demo --keep stays up until SIGTERM, then stops the sandbox and exits 0", async () => {
    let sent = false;
    const r = await run(["demo", "--keep", "--json", "--crm", "dynamics"], (out, kill) => {
      if (!sent && out.trim().endsWith("}")) {
        sent = true;
        setTimeout(() => kill("SIGTERM"), 200);
      }
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).kept[0].configFile).toMatch(/dynamics-cosell\.json$/);
  });
});
