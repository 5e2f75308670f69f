/**
 * Child process of a measured backfill: runs one `runCycle` with the real engine, adapter and SQLite
 * store against a sandbox that lives in the parent process, as a remote service would, so the
 * emulators' CPU is not the engine's and requests the engine sends at once are served at once.
 * Prints one JSON line: the cycle's own wall time and CPU time (start-up and module loading not
 * included) and what the bench reports of its result (lib/cycle-report.mjs).
 * Input: env COSELL_BENCH_CHILD = JSON { target, credentials, urls, storePath, rules?, clockOffsetMs },
 * where `rules` are sync rules for `runCycle` and the sandbox clock reads the real time plus
 * `clockOffsetMs`.
 */
import { runCycle, SqliteStateStore } from "@cosell/core";
import { cycleReport } from "./lib/cycle-report.mjs";
import { engineDeps } from "./lib/engine.mjs";
import { TARGETS } from "./lib/targets.mjs";

const input = JSON.parse(process.env.COSELL_BENCH_CHILD ?? "{}");
const target = TARGETS[input.target];
const loaded = await target.load();
if (!loaded.ok) throw new Error(loaded.reason);
const now = () => new Date(Date.now() + input.clockOffsetMs);
const sandboxView = { credentials: input.credentials, urls: input.urls };
// The parent opens the same file after this process has ended, for the cycles that follow.
const store = SqliteStateStore.open(input.storePath);
try {
  const deps = engineDeps(target, loaded.mod, sandboxView, store, { now, rules: input.rules });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await runCycle(deps);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(
    `${JSON.stringify({
      wallMs,
      /** CPU time of the engine process during the cycle (engine, adapter, HTTP clients, SQLite). */
      cpuMs: (cpu.user + cpu.system) / 1000,
      ...cycleReport(result),
    })}\n`,
  );
} finally {
  store.close();
}
