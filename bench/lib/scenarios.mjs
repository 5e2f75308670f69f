/**
 * The measured phases for one CRM target, each over real loopback HTTP on a sandbox restored from the
 * same pristine snapshot (same credentials, same seeded opportunities, same clock start).
 */
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { planCycle, referralToDeal, runCycle, SqliteStateStore } from "@cosell/core";
import { startSandbox } from "@cosell/sandbox";
import { apiTotal, callsSince, mark } from "./calls.mjs";
import { childResult } from "./child.mjs";
import { cycleReport } from "./cycle-report.mjs";
import { engineDeps, tempStoreFile } from "./engine.mjs";
import {
  cachedTokens,
  classifyWrites,
  finishRecording,
  signInSubstitutions,
  startRecording,
} from "./record-replay.mjs";
import { percentile } from "./stats.mjs";

const CYCLE_CHILD = fileURLToPath(new URL("../cycle-child.mjs", import.meta.url));
const REPLAY_CHILD = fileURLToPath(new URL("../replay-child.mjs", import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Default overlap window of the sync rules (core's SyncRulesSchema). */
const OVERLAP_MS = 120_000;

/**
 * Starts a sandbox for `target`, runs the adapter's own setup() (custom fields over the API), seeds `n`
 * opted-in opportunities and saves it all to `snapshotFile`.
 */
export async function preparePristine(target, mod, n, snapshotFile, basePort) {
  rmSync(snapshotFile, { force: true });
  const sb = await startSandbox({ systems: target.systems, basePort, snapshotFile });
  try {
    await target.adapter(mod, sb).setup();
    target.seed(mod, sb, n);
  } finally {
    await sb.stop();
  }
}

/**
 * A sandbox restored from a copy of the pristine snapshot (the copy absorbs the save on stop). Every
 * answer of its systems waits `latencyMs` first, as a remote service's round trip would; Entra ID's
 * are not delayed (the fault kit leaves the token server out), Salesforce's own token endpoint is.
 */
async function restored(target, snapshotFile, basePort, latencyMs, tag) {
  const copy = `${snapshotFile}.${tag}.json`;
  copyFileSync(snapshotFile, copy);
  const sb = await startSandbox({ systems: target.systems, basePort, snapshotFile: copy });
  if (latencyMs > 0) sb.faults.setRates({ latencyMs });
  const stop = async () => {
    await sb.stop();
    rmSync(copy, { force: true });
  };
  return { sb, stop };
}

/** A cycle in this process; its wall time is that of `runCycle` alone. */
function inProcess(deps) {
  return async () => {
    const t0 = performance.now();
    const result = await runCycle(deps);
    return { wallMs: performance.now() - t0, ...cycleReport(result) };
  };
}

/**
 * A cycle in a child process (bench/cycle-child.mjs) on the SQLite file `storePath`, the sandbox
 * staying here as a remote service would. Its wall time is the child's own around `runCycle`;
 * `processWallMs` adds the child's start-up, `engineCpuMs` is the child's CPU time in the cycle.
 */
function inChild(target, sb, storePath, rules) {
  return async () => {
    const child = await childResult(CYCLE_CHILD, {
      target: target.key,
      credentials: sb.credentials,
      urls: sb.urls,
      storePath,
      rules,
      // The sandbox clock runs with real time, offset by what was advanced: the child reads it alike.
      clockOffsetMs: sb.clock.now().getTime() - Date.now(),
    });
    const { wallMs, cpuMs, ...report } = child.result;
    return { wallMs, ...report, engineCpuMs: cpuMs, processWallMs: child.wallMs };
  };
}

/** Ports of the systems the engine talks to (what the raw replay must repeat). */
function enginePorts(sb) {
  return Object.entries(sb.urls)
    .filter(([name]) => name !== "control")
    .map(([, url]) => Number(new URL(url).port));
}

/**
 * Timed: the recorded requests with plain fetch, no engine, sent from a child process
 * (bench/replay-child.mjs) as the engine's were; the sandbox runs here. `clientCpuMs` is the child's
 * CPU time in the replay.
 */
export async function rawReplay(target, exchanges, snapshotFile, basePort, latencyMs) {
  const { sb, stop } = await restored(target, snapshotFile, basePort, latencyMs, "replay");
  const requestsFile = `${snapshotFile}.replay-requests.json`;
  try {
    const origins = Object.fromEntries(
      Object.values(sb.urls).map((url) => [Number(new URL(url).port), new URL(url).origin]),
    );
    const pcPort = Number(new URL(sb.urls.partnerCenter).port);
    const fresh = cachedTokens(readFileSync(sb.credentials.partnerCenter.tokenCachePath, "utf8"));
    // The recording's ports are the first run's; the replaying sandbox listens on the same base port.
    const substitutions = signInSubstitutions(exchanges, pcPort, fresh);
    writeFileSync(requestsFile, JSON.stringify({ exchanges, origins, substitutions }));
    const { result } = await childResult(REPLAY_CHILD, { file: requestsFile });
    const { cpuMs, ...raw } = /** @type {{ wallMs: number, cpuMs: number } & Record<string, any>} */ (result);
    return { ...raw, clientCpuMs: cpuMs };
  } finally {
    rmSync(requestsFile, { force: true });
    await stop();
  }
}

/**
 * Runs one cycle (`cycle`: in this process or in a child) with the recorder on; returns its figures
 * (what `cycle` reported, calls by side as the server saw them) and, with `keepExchanges`, the
 * recorded requests.
 * @param {{ crmServer: string }} target
 * @param {any} sb
 * @param {() => Promise<{ wallMs: number } & Record<string, unknown>>} cycle
 * @param {{ keepExchanges?: boolean }} [options]
 */
async function measuredCycle(target, sb, cycle, { keepExchanges = false } = {}) {
  const from = mark(sb.log);
  const recorder = startRecording();
  const t0 = performance.now();
  // A long cycle says how far it got every 30 s (on stderr, like the rest of the progress).
  const ticker = setInterval(() => {
    const calls = callsSince(sb.log, from, target.crmServer);
    process.stderr.write(
      `  … ${Math.round((performance.now() - t0) / 1000)} s: ${calls.partnerCenter.total} Partner Center and ${calls.crm.total} CRM calls so far\n`,
    );
  }, 30_000);
  let report;
  let exchanges;
  try {
    report = await cycle();
  } finally {
    clearInterval(ticker);
    exchanges = finishRecording(recorder.stop(), enginePorts(sb));
  }
  const { wallMs, ...reported } = report;
  const calls = callsSince(sb.log, from, target.crmServer);
  const portSide = new Map();
  for (const [name, url] of Object.entries(sb.urls))
    portSide.set(Number(new URL(url).port), name === "partnerCenter" ? "partnerCenter" : "crm");
  const side = (s) => {
    const w = classifyWrites(exchanges.filter((e) => portSide.get(e.port) === s));
    // A read sent as POST ($batch of GETs, collection retrieve) counts as a read.
    const c = calls[s];
    return {
      ...c,
      reads: c.reads + w.readsSentAsPost,
      writes: c.writes - w.readsSentAsPost,
      recordsWritten: w.operations,
    };
  };
  return {
    keep: keepExchanges ? exchanges : undefined,
    figures: {
      wallMs,
      partnerCenter: side("partnerCenter"),
      crm: side("crm"),
      auth: calls.auth,
      ...reported,
      endpoints: calls.endpoints,
      failedResponses: calls.failures,
    },
  };
}

/**
 * One full measured run: backfill, no-op cycles, 1% edits on each side, then edit→referral latency
 * with a `cosell run`-style loop.
 */
export async function measuredRun(target, mod, opts, tag) {
  const { sb, stop } = await restored(target, opts.snapshotFile, opts.basePort, opts.latencyMs, tag);
  // Unset when `--concurrency` is not given: the engine's default.
  const rules = { partnerCenterConcurrency: opts.concurrency };
  const storeFile = tempStoreFile();
  /** @type {SqliteStateStore | undefined} */
  let store;
  const out = {};
  try {
    // Backfill in a child process (recorded: the first run's requests are what the raw replay repeats).
    const bf = await measuredCycle(target, sb, inChild(target, sb, storeFile.path, rules), {
      keepExchanges: opts.record,
    });
    if (bf.keep) out.recorded = bf.keep;
    // The phases after it run here, on the state the child left. This process's adapter is new: an
    // unmeasured dry-run cycle (reads only, nothing stored) has it sign in and read the CRM's metadata
    // (describes, currencies, …) as the child's did, so the cycles measured next count what a running
    // connector's cycle sends, as when the backfill ran here.
    store = SqliteStateStore.open(storeFile.path);
    const deps = engineDeps(target, mod, sb, store, { now: () => sb.clock.now(), rules });
    await planCycle(deps);
    const links = store.listLinks();
    const linked = links.filter((l) => l.state === "linked");
    out.backfill = {
      ...bf.figures,
      callsPerDeal: apiTotal(bf.figures) / opts.n,
      linked: linked.length,
    };

    // No-op right away (every record is still inside the overlap window), then 3 minutes later.
    out.noopImmediate = (await measuredCycle(target, sb, inProcess(deps))).figures;
    sb.clock.advance(OVERLAP_MS + 60_000);
    out.noopSteady = (await measuredCycle(target, sb, inProcess(deps))).figures;

    // 1% edited on each side (different deals), then one cycle.
    // Deals open on both sides: a closed opportunity or referral is read-only, so an edit would not flow.
    // (Every Partner Center control call expires due referrals over all of them first, so the bench
    // reads them once with all() instead of get() per deal.)
    const closed = new Set(["won", "lost", "declined", "expired"]);
    const referralStatus = new Map(sb.partnerCenter.all().map((r) => [r.id, r.status]));
    const open = linked.filter(
      (l) => !closed.has(String(l.crm?.stage)) && referralStatus.get(String(l.referralId)) !== "Closed",
    );
    const k = Math.max(1, Math.round(opts.n / 100));
    const crmEdited = open.slice(0, k);
    const pcEdited = open.slice(k, 2 * k);
    for (const [i, l] of crmEdited.entries()) target.editValue(mod, sb, String(l.crmId), 700_000 + i);
    for (const [i, l] of pcEdited.entries())
      sb.partnerCenter.updateNotes(String(l.referralId), `Microsoft note ${tag}-${i}`);
    sb.clock.advance(1_000);
    const ed = (await measuredCycle(target, sb, inProcess(deps))).figures;
    const changed = crmEdited.length + pcEdited.length;
    const after = referralsById(sb);
    const crmArrived = crmEdited.filter(
      (l, i) => referralToDeal(after.get(l.referralId)).value?.amount === 700_000 + i,
    ).length;
    const crmNow = await deps.adapter.read(pcEdited.map((l) => l.crmId));
    const pcArrived = crmNow.filter((c) => /^Microsoft note /.test(c.deal.notes ?? "")).length;
    out.edits = {
      ...ed,
      changedDeals: changed,
      callsPerChangedDeal: apiTotal(ed) / changed,
      arrived: { crmToPartnerCenter: crmArrived, partnerCenterToCrm: pcArrived, each: k },
    };

    // Latency: a `cosell run`-style loop, one edit at a time.
    sb.clock.advance(OVERLAP_MS + 60_000);
    out.latency = await latency(target, mod, sb, deps, open.slice(2 * k), opts);
    return out;
  } finally {
    store?.close();
    storeFile.dispose();
    await stop();
  }
}

function referralsById(sb) {
  return new Map(sb.partnerCenter.all().map((r) => [r.id, r]));
}

/** Index of the first successful Partner Center write to `referralId` logged at or after `from`. */
function referralWriteSince(log, from, referralId) {
  for (let i = from; i < log.entries.length; i++) {
    const e = log.entries[i];
    if (e.server === "partner-center" && e.method !== "GET" && e.status < 300 && e.url.includes(referralId))
      return i;
  }
  return -1;
}

/**
 * Edit → referral latency. The edit lands through the CRM emulator's control; the bench then watches
 * the sandbox request log (cheap, unlike a control read of the referral, which scans every referral)
 * for the Partner Center write to that referral, and checks at the end that every referral shows its
 * new amount.
 */
async function latency(target, mod, sb, deps, candidates, opts) {
  let running = true;
  let cycles = 0;
  let cycleErrors = 0;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        await runCycle(deps);
      } catch {
        cycleErrors++;
      }
      cycles++;
      await sleep(Math.max(0, opts.intervalMs - (performance.now() - started)));
    }
  })();
  const samples = [];
  const edited = [];
  let timedOut = 0;
  try {
    const edits = Math.min(opts.edits, candidates.length);
    for (let i = 0; i < edits; i++) {
      const link = candidates[i];
      const amount = 900_000 + i;
      let from = mark(sb.log);
      target.editValue(mod, sb, link.crmId, amount);
      const t0 = performance.now();
      for (;;) {
        const hit = referralWriteSince(sb.log, from, link.referralId);
        if (hit >= 0) {
          samples.push(performance.now() - t0);
          edited.push({ referralId: link.referralId, amount });
          break;
        }
        from = mark(sb.log);
        if (performance.now() - t0 > opts.latencyTimeoutMs) {
          timedOut++;
          break;
        }
        await sleep(2);
      }
    }
  } finally {
    running = false;
    await loop;
  }
  const now = referralsById(sb);
  const verified = edited.filter(
    (e) => referralToDeal(now.get(e.referralId)).value?.amount === e.amount,
  ).length;
  return {
    edits: samples.length + timedOut,
    /** Referrals that show the edited amount at the end (should equal the edits measured). */
    verified,
    p50Ms: percentile(samples, 50),
    p95Ms: percentile(samples, 95),
    maxMs: samples.length ? Math.max(...samples) : null,
    timedOut,
    cycles,
    cycleErrors,
    intervalMs: opts.intervalMs,
  };
}
