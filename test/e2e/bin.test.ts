import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startSandbox } from "@cosell/sandbox";
import { describe, expect, it } from "vitest";
import { signedInPartnerCenter } from "../../packages/cli/test/helpers/workspace.js";

// The built `cosell` executable as a user runs it (CI builds before testing; `pnpm demo` builds too).
const bin = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url));
const built = existsSync(bin);

function run(
  args: string[],
  onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void,
  opts: {
    env?: NodeJS.ProcessEnv;
    onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void;
    /** Also call onStderr every 50 ms (for conditions outside the child's output). */
    poll?: boolean;
  } = {},
) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      ...(opts.env ? { env: opts.env } : {}),
    });
    let out = "";
    let err = "";
    const kill = (s: NodeJS.Signals) => child.kill(s);
    child.stdout.on("data", (d) => {
      out += String(d);
      onStdout?.(out, kill);
    });
    child.stderr.on("data", (d) => {
      err += String(d);
      opts.onStderr?.(err, kill);
    });
    const timer = opts.poll ? setInterval(() => opts.onStderr?.(err, kill), 50) : undefined;
    child.on("close", (code) => {
      clearInterval(timer);
      resolve({ code, out, err });
    });
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

  it("run: SIGTERM while a call hangs exits 1 after run.shutdownGraceMs, saying so, instead of waiting", async () => {
    // Partner Center and Salesforce both accept the connection and never answer.
    const seen: string[] = [];
    const hang = createServer((req) => void seen.push(`${req.method} ${req.url}`));
    await new Promise<void>((r) => hang.listen(0, "127.0.0.1", r));
    const hangUrl = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
    const sandbox = await startSandbox({ systems: ["partnerCenter"] });
    const dir = mkdtempSync(join(tmpdir(), "cosell-grace-"));
    try {
      const partnerCenter = signedInPartnerCenter(dir, sandbox.credentials.partnerCenter);
      const config = join(dir, "cosell.json");
      writeFileSync(
        config,
        JSON.stringify({
          partnerCenter: { ...partnerCenter, apiBaseUrl: `${hangUrl}/v1.0` },
          crm: {
            kind: "salesforce",
            auth: {
              kind: "clientCredentials",
              clientId: "key",
              clientSecret: "env:SF_SECRET",
              loginUrl: hangUrl,
            },
          },
          state: { path: "state.sqlite" },
          run: { shutdownGraceMs: 300 },
        }),
      );
      let sent = false;
      const r = await run(["--config", config, "run"], undefined, {
        env: { ...process.env, SF_SECRET: "s3cret-value" },
        onStderr: (_err, kill) => {
          // Once a call is in flight (the server saw it), ask the run to stop.
          if (!sent && seen.length > 0) {
            sent = true;
            kill("SIGTERM");
          }
        },
        poll: true,
      });
      expect(sent).toBe(true);
      expect(r.code).toBe(1);
      expect(r.err).toContain("SHUTDOWN_GRACE_EXPIRED");
      expect(r.err).toContain("stopping after the current batch");
    } finally {
      await sandbox.stop();
      await new Promise((r) => hang.close(r));
      hang.closeAllConnections();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
