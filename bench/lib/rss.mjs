/**
 * Peak RSS of a large backfill: the sandbox (seeded with `n` opted-in opportunities) runs here, the
 * engine runs in a child process (bench/rss-child.mjs) whose peak RSS is read from
 * `process.resourceUsage().maxRSS`. A run that exceeds `timeoutMs` is stopped and reported with how
 * far it got, never extrapolated.
 */
import { fileURLToPath } from "node:url";
import { startSandbox } from "@cosell/sandbox";
import { callsSince, mark } from "./calls.mjs";
import { childFailure, runChild } from "./child.mjs";

const CHILD = fileURLToPath(new URL("../rss-child.mjs", import.meta.url));

/** @returns {Promise<Record<string, any>>} what the child reported, or how far it got */
export async function peakRss(target, mod, n, timeoutMs, cpuProfDir, heapMb = 0) {
  const sb = await startSandbox({ systems: target.systems });
  try {
    await target.adapter(mod, sb).setup();
    const seedT0 = performance.now();
    target.seed(mod, sb, n);
    const seedMs = performance.now() - seedT0;
    const from = mark(sb.log);
    // --cpu-prof: where the time of the engine process goes (V8 profile, open in Chrome DevTools).
    const profile = cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : [];
    // The heap cap cosell is run with (docs/operations.md): without one, V8 lets garbage pile up to
    // a share of the machine's memory before collecting it, and RSS says more about the machine than
    // about the engine.
    const heap = heapMb > 0 ? [`--max-old-space-size=${heapMb}`] : [];
    /** @type {{ peakRssMb: number, atMs: number } | undefined} */
    let lastProgress;
    const {
      code,
      killed,
      result: finalLine,
      stderr,
      wallMs,
    } = await runChild(
      CHILD,
      { target: target.key, credentials: sb.credentials, urls: sb.urls, n },
      {
        nodeArgs: [...profile, ...heap],
        timeoutMs,
        onProgress: (p) => {
          lastProgress = p;
        },
      },
    );
    const calls = callsSince(sb.log, from, target.crmServer);
    const referralsCreated = sb.log.entries
      .slice(from)
      .filter((e) => e.server === "partner-center" && e.method === "POST").length;
    if (killed)
      return {
        n,
        heapMb,
        finished: false,
        note: `stopped after ${Math.round(wallMs / 1000)} s with ${referralsCreated} of ${n} referrals created; peak RSS so far ${Math.round(lastProgress?.peakRssMb ?? 0)} MB`,
        wallMs,
        peakRssSoFarMb: lastProgress?.peakRssMb,
        referralsCreated,
        seedMs,
      };
    if (code !== 0 || !finalLine)
      return {
        n,
        heapMb,
        finished: false,
        note: childFailure(code, stderr),
      };
    return {
      n,
      heapMb,
      finished: true,
      ...finalLine,
      seedMs,
      partnerCenter: calls.partnerCenter,
      crm: calls.crm,
      auth: calls.auth,
    };
  } finally {
    await sb.stop();
  }
}
