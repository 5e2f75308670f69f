/**
 * Child process of the peak-RSS measurement: runs one backfill cycle with the real engine, adapter and
 * SQLite store against a sandbox that lives in the parent process (so the emulators' memory does not
 * count), then prints one JSON line with its wall time and peak resident set size.
 * Input: env COSELL_BENCH_CHILD = JSON { target, credentials, n }.
 */
import { runCycle } from "@cosell/core";
import { engineDeps, tempStore } from "./lib/engine.mjs";
import { TARGETS } from "./lib/targets.mjs";

const input = JSON.parse(process.env.COSELL_BENCH_CHILD ?? "{}");
const target = TARGETS[input.target];
const loaded = await target.load();
if (!loaded.ok) throw new Error(loaded.reason);
const sandboxView = { credentials: input.credentials, urls: input.urls };
const state = tempStore();
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
// resourceUsage().maxRSS is in kilobytes: the high-water mark of the whole process.
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;
// Progress lines let the parent report the peak so far when it has to stop a run that takes too long.
const progress = setInterval(() => {
  process.stdout.write(
    `${JSON.stringify({ progress: { peakRssMb: peakRssMb(), atMs: performance.now() - t0 } })}\n`,
  );
}, 2_000);
try {
  const result = await runCycle(
    engineDeps(target, loaded.mod, sandboxView, state.store, {
      // One cycle to the end: a cycle step's own deadline (10 minutes by default, so that a hung call
      // never holds `cosell run`) would end a long backfill that `cosell run` simply continues in its
      // next cycle. Here the parent's --rss-timeout-min is the bound.
      rules: { stepTimeoutMs: 86_400_000 },
    }),
  );
  // The high-water mark of the backfill itself, before anything the bench does to check it.
  const peakMb = peakRssMb();
  const cpu = process.cpuUsage();
  // Counted by the store: listing 100,000 links with their baselines would cost more than the cycle.
  const links = state.store.countLinks();
  process.stdout.write(
    `${JSON.stringify({
      wallMs: performance.now() - t0,
      peakRssMb: peakMb,
      rssBeforeMb: rssBefore / 1024 / 1024,
      /** CPU time of the engine process (engine, adapter, HTTP clients, SQLite): the emulators run elsewhere. */
      cpuMs: (cpu.user + cpu.system) / 1000,
      linked: links.linked ?? 0,
      errors: result.summary.errors.length,
      engineCounted: result.summary.apiCalls,
    })}\n`,
  );
} finally {
  clearInterval(progress);
  state.dispose();
}
