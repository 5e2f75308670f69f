/**
 * `pnpm bench [-- options]`: measures the sync engine with each CRM adapter over real loopback HTTP on
 * the sandbox, prints a table and writes bench/results/latest.json. See bench/README.md.
 *
 * Options: --runs N (default 3; medians are reported), --quick (1,000 deals, 5,000 for RSS, 50
 * latency edits), --only salesforce|dynamics, --n N, --rss-n N, --edits N, --interval MS,
 * --rss-timeout-min M, --rss-heap-mb MB (the engine child's V8 heap cap, default 256 as
 * docs/operations.md runs cosell; 0 for V8's default), --base-port P, --skip-rss, --skip-latency,
 * --rss-only, --skip-replay, --cpu-prof DIR (the RSS child writes a V8 CPU profile of its backfill there),
 * --concurrency N (the sync rule `partnerCenterConcurrency` of the measured cycles; the engine's default
 * when not given), --latency-ms MS (every answer of the measured sandboxes delayed by MS, as a remote
 * service's round trip; default 0).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SyncRulesSchema } from "@cosell/core";
import { readFlags } from "./lib/flags.mjs";
import { peakRss } from "./lib/rss.mjs";
import { measuredRun, preparePristine, rawReplay } from "./lib/scenarios.mjs";
import { median, medianOf } from "./lib/stats.mjs";
import { renderTable } from "./lib/table.mjs";
import { TARGETS } from "./lib/targets.mjs";

function parseArgs(argv) {
  const flags = readFlags(argv);
  const quick = flags.has("quick");
  const num = (k, d) => {
    if (!flags.has(k)) return d;
    const v = Number(flags.get(k));
    if (!(Number.isFinite(v) && v >= 0)) throw new Error(`--${k} ${flags.get(k)}: give a number, 0 or more`);
    return v;
  };
  const opts = {
    quick,
    runs: num("runs", 3),
    n: num("n", quick ? 1_000 : 10_000),
    rssN: num("rss-n", quick ? 5_000 : 100_000),
    edits: num("edits", quick ? 50 : 200),
    intervalMs: num("interval", 100),
    latencyTimeoutMs: num("latency-timeout-ms", 30_000),
    rssTimeoutMs: num("rss-timeout-min", 10) * 60_000,
    // The engine process's V8 heap cap, as docs/operations.md has cosell run (0: V8's own default).
    rssHeapMb: num("rss-heap-mb", 256),
    basePort: num("base-port", 47_310),
    only: flags.get("only"),
    skipRss: flags.has("skip-rss"),
    skipLatency: flags.has("skip-latency"),
    rssOnly: flags.has("rss-only"),
    skipReplay: flags.has("skip-replay"),
    cpuProfDir: flags.get("cpu-prof"),
    concurrency: concurrencyFlag(flags.get("concurrency")),
    latencyMs: num("latency-ms", 0),
  };
  if (opts.runs < 1) throw new Error("--runs must be at least 1");
  if (opts.only && !TARGETS[opts.only])
    throw new Error(`--only ${opts.only}: choose ${Object.keys(TARGETS).join(" or ")}`);
  return opts;
}

/**
 * `--concurrency`, checked by the engine's own rule schema (so the bench accepts what the engine
 * does, with its message); `undefined` when not given: the engine's default applies.
 * @param {string | undefined} value
 */
function concurrencyFlag(value) {
  if (value === undefined) return undefined;
  const parsed = SyncRulesSchema.shape.partnerCenterConcurrency.safeParse(Number(value));
  if (!parsed.success) throw new Error(`--concurrency ${value}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

const say = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function benchTarget(target, opts) {
  const loaded = await target.load();
  if (!loaded.ok) {
    say(`${target.name}: not built — ${loaded.reason}`);
    return { status: "not built", reason: loaded.reason };
  }
  const mod = loaded.mod;
  if (opts.rssOnly) {
    say(`${target.name}: peak RSS of a ${opts.rssN} backfill (child process)`);
    const rss = await peakRss(target, mod, opts.rssN, opts.rssTimeoutMs, opts.cpuProfDir, opts.rssHeapMb);
    return { status: "measured", median: null, rss, runs: [] };
  }
  const snapshotFile = join(opts.workDir, `${target.key}-pristine.json`);
  say(`${target.name}: seeding ${opts.n} opted-in opportunities (adapter setup() first)`);
  await preparePristine(target, mod, opts.n, snapshotFile, opts.basePort);
  const runs = [];
  let exchanges;
  for (let i = 0; i < opts.runs; i++) {
    say(`${target.name}: run ${i + 1}/${opts.runs} — engine${i === 0 ? " (recording its requests)" : ""}`);
    const engine = await measuredRun(target, mod, { ...opts, snapshotFile, record: i === 0 }, `run${i}`);
    if (engine.recorded) {
      exchanges = engine.recorded;
      delete engine.recorded;
    }
    if (!opts.skipReplay) {
      say(`${target.name}: run ${i + 1}/${opts.runs} — raw replay`);
      const raw = await rawReplay(target, exchanges, snapshotFile, opts.basePort, opts.latencyMs);
      engine.raw = { ...raw, overhead: engine.backfill.wallMs / raw.wallMs };
    }
    say(
      `${target.name}: run ${i + 1}: backfill ${(engine.backfill.wallMs / 1000).toFixed(1)} s, raw ${engine.raw ? (engine.raw.wallMs / 1000).toFixed(1) : "–"} s, latency p50 ${engine.latency?.p50Ms?.toFixed(0)} ms`,
    );
    runs.push(engine);
  }
  let rss;
  if (!opts.skipRss) {
    say(`${target.name}: peak RSS of a ${opts.rssN} backfill (child process)`);
    rss = await peakRss(target, mod, opts.rssN, opts.rssTimeoutMs, opts.cpuProfDir, opts.rssHeapMb);
    say(`${target.name}: RSS ${rss.finished ? `${rss.peakRssMb.toFixed(0)} MB` : rss.note}`);
  }
  rmSync(snapshotFile, { force: true });
  const med = medianOf(runs);
  // Overhead is a ratio per run; its median is not the ratio of medians.
  if (med.raw) med.raw.overhead = median(runs.map((r) => r.raw.overhead));
  return { status: "measured", median: med, rss, runs };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.skipLatency) opts.edits = 0;
  opts.workDir = join(tmpdir(), `cosell-bench-${process.pid}`);
  mkdirSync(opts.workDir, { recursive: true });
  const started = new Date();
  const startLoad = loadavg()[0];
  const results = {};
  try {
    for (const target of Object.values(TARGETS)) {
      if (opts.only && opts.only !== target.key) continue;
      try {
        results[target.key] = await benchTarget(target, opts);
      } catch (err) {
        const e = /** @type {Error} */ (err);
        say(`${target.name}: failed — ${e.stack ?? e}`);
        results[target.key] = { status: "failed", reason: String(e.message ?? e).split("\n")[0] };
      }
      writeReport(started, startLoad, opts, results, false);
    }
  } finally {
    rmSync(opts.workDir, { recursive: true, force: true });
  }
  writeReport(started, startLoad, opts, results, true);
}

/** Writes the table and JSON; called after each CRM too, so an interrupted run keeps what it measured. */
function writeReport(started, startLoad, opts, results, final) {
  const report = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    complete: final,
    machine: {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpu: `${cpus()[0]?.model ?? "?"} × ${cpus().length}`,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      /** 1-minute load average at the start and at the end: other work on the machine skews wall times. */
      loadAverage: { start: startLoad, end: loadavg()[0] },
    },
    options: {
      ...opts,
      workDir: undefined,
      /** The value the measured cycles ran with: `--concurrency`, else the engine's default. */
      partnerCenterConcurrency: opts.concurrency ?? SyncRulesSchema.parse({}).partnerCenterConcurrency,
    },
    results,
  };
  const table = renderTable(report, TARGETS);
  if (final) process.stdout.write(`${table}\n`);
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, "latest.txt"), `${table}\n`);
  say(`wrote bench/results/latest.json${final ? "" : " (partial)"}`);
}

await main();
