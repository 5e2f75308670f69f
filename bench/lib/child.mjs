/**
 * Runs one of the bench's child scripts with Node: the script reads its input from env
 * COSELL_BENCH_CHILD (JSON) and prints JSON lines on stdout, `{ progress }` lines while it works and
 * one final line with its result. The sandbox stays in the bench process, so a child is a client of
 * it as a remote service's client would be.
 */
import { spawn } from "node:child_process";
import { basename } from "node:path";

/**
 * @param {string} script path of the child script
 * @param {unknown} input what the child reads from COSELL_BENCH_CHILD
 * @param {{ nodeArgs?: string[], timeoutMs?: number, onProgress?: (progress: any) => void }} [options]
 *   `timeoutMs`: the child is killed after it (then `killed` is true)
 * @returns {Promise<{ code: number | null, killed: boolean, result: Record<string, any> | undefined, stderr: string, wallMs: number }>}
 *   `wallMs`: from spawn to exit, start-up included
 */
export async function runChild(script, input, { nodeArgs = [], timeoutMs, onProgress } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { ...process.env, COSELL_BENCH_CHILD: JSON.stringify(input) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  /** @type {Record<string, any> | undefined} */
  let result;
  child.stdout.on("data", (d) => {
    stdout += d;
    const lines = stdout.split("\n");
    stdout = lines.pop() ?? "";
    for (const l of lines) {
      let msg;
      try {
        msg = JSON.parse(l);
      } catch {
        continue; // something else printed to stdout (a log line): not ours
      }
      if (msg.progress) onProgress?.(msg.progress);
      else result = msg;
    }
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const t0 = performance.now();
  let killed = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          killed = true;
          child.kill("SIGKILL");
        }, timeoutMs);
  /** @type {number | null} */
  const code = await new Promise((resolve) => child.on("close", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, killed, result, stderr, wallMs: performance.now() - t0 };
}

/**
 * Why a child failed, in a line: the error's own lines, not only Node's closing banner (the first
 * lines say what failed).
 * @param {number | null} code
 * @param {string} stderr
 */
export function childFailure(code, stderr) {
  return `child exited ${code}: ${stderr.trim().split("\n").filter(Boolean).slice(0, 12).join(" | ").slice(0, 1500)}`;
}

/**
 * `runChild` for a child whose result the run needs: throws with the child's stderr when it exits
 * with an error or without a result line.
 * @param {string} script
 * @param {unknown} input
 * @returns {Promise<{ result: Record<string, any>, wallMs: number }>}
 */
export async function childResult(script, input) {
  const { code, result, stderr, wallMs } = await runChild(script, input);
  if (code !== 0 || !result) throw new Error(`${basename(script)}: ${childFailure(code, stderr)}`);
  return { result, wallMs };
}
