import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The built `cosell` executable: the processes run as an operator runs them. */
export const bin = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url));

/** A `cosell` child process with the tail of its output kept for failure messages. */
export interface CosellProcess {
  child: ChildProcess;
  /** The last 4 kB of stdout and stderr. */
  tail(): string;
  exited: Promise<number | null>;
}

/** Starts `cosell <args>`; its whole output is also appended to `logFile` (for a failure's post-mortem). */
export function spawnCosell(
  args: string[],
  env: Record<string, string>,
  cwd: string,
  logFile?: string,
): CosellProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { ...env, PATH: process.env.PATH ?? "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const keep = (d: Buffer) => {
    log = (log + String(d)).slice(-4000);
    if (logFile) appendFileSync(logFile, d);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, tail: () => log, exited };
}

/** Sends `signal` and waits for the exit (SIGKILL after `graceMs` if it does not come). */
export async function stopProcess(p: CosellProcess, signal: NodeJS.Signals, graceMs = 20_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
  await p.exited;
  clearTimeout(timer);
}
