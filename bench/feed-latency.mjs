/**
 * `node bench/feed-latency.mjs [--only salesforce|dynamics] [--edits N] [--timeout-ms MS]`
 * (also run by `pnpm bench` after the engine figures): edit → other side latency with `cosell serve`
 * at its default settings and the change feeds on, and the API calls of an idle hour. Merges
 * `results.<crm>.median.feedLatency` and `results.<crm>.feeds` into bench/results/latest.json.
 *
 * Per CRM: the sandbox (real loopback HTTP servers) with deals seeded and opted in, `cosell setup`
 * (it registers the Dataverse webhook when `crm.webhookUrl` is set), then `cosell serve` in this
 * process with nothing but `--port` given: Partner Center's signed webhook events and Dataverse's
 * service-endpoint calls trigger targeted syncs; the reconciliation poll keeps its default interval.
 * Edits are made one at a time (each waits for its arrival, up to the timeout), `edits` each way.
 * Salesforce's CRM → Partner Center edits arrive through Change Data Capture (`cosell setup`
 * selects Opportunity; `serve` subscribes to /data/OpportunityChangeEvent over CometD), made as a
 * seller so they are not taken for cosell's own echoes.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { runCli, SECRET_KEYS } from "@cosell/cli";
import { startSandbox } from "@cosell/sandbox";
// The serve tests' rig (plain JavaScript importing only node:, so plain node runs it here): the
// bench starts serve and waits for it exactly as the tests do.
import {
  freePort,
  partnerCenterSection,
  secretsByReference,
  startServe,
} from "../packages/cli/test/helpers/serve-rig.mjs";
import { percentile } from "./lib/stats.mjs";
import { TARGETS } from "./lib/targets.mjs";

const say = (msg) => process.stderr.write(`[feed ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function parseArgs(argv) {
  const get = (k, d) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : d;
  };
  const quick = argv.includes("--quick");
  return {
    only: get("only", undefined),
    edits: Number(get("edits", quick ? 50 : 200)),
    timeoutMs: Number(get("timeout-ms", 10_000)),
  };
}

/** A CliIo that keeps output in memory and lets the bench send SIGTERM. */
function benchIo(env, cwd) {
  let out = "";
  let err = "";
  const handlers = new Set();
  return {
    stdout: {
      write: (s) => {
        out += s;
        return true;
      },
    },
    stderr: new Writable({
      write(chunk, _e, cb) {
        err += String(chunk);
        if (err.length > 1_000_000) err = err.slice(-500_000);
        cb();
      },
    }),
    env,
    cwd,
    interactive: false,
    onSignal: (h) => {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    signal: (s) => {
      for (const h of [...handlers]) h(s);
    },
    out: () => out,
    err: () => err,
  };
}

async function until(check, timeoutMs, everyMs = 10) {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return check();
}

const summary = (ms, timedOut, edits) => ({
  edits,
  p50Ms: ms.length ? percentile(ms, 50) : null,
  p95Ms: ms.length ? percentile(ms, 95) : null,
  timedOut,
});

/** Per CRM: how an edit shows in the CRM emulator, and whether cosell has a feed for it. */
const CRM = {
  dynamics: {
    feed: true,
    open: (sb, id) => sb.dataverse.get("opportunity", id)?.statecode === 0,
    notes: (sb, id) => sb.dataverse.get("opportunity", id)?.description,
  },
  salesforce: {
    feed: true,
    open: (sb, id) => sb.salesforce.get("Opportunity", id)?.IsClosed !== true,
    notes: (sb, id) => sb.salesforce.get("Opportunity", id)?.Description,
  },
};

async function measure(target, opts) {
  const loaded = await target.load();
  if (!loaded.ok) return { status: "not built", reason: loaded.reason };
  const mod = loaded.mod;
  const crm = CRM[target.key];
  const sb = await startSandbox({ systems: target.systems });
  const dir = mkdtempSync(join(tmpdir(), `cosell-feed-${target.key}-`));
  /** @type {Record<string, string>} */
  const env = {};
  let serving;
  try {
    // Salesforce's seed writes the co-sell fields, which exist only once setup made them (seeding
    // publishes no change events). Dynamics seeds first: after setup its webhook would fire for each.
    const seedFirst = target.key !== "salesforce";
    let deals = seedFirst ? target.seed(mod, sb, opts.edits * 3 + 100) : [];
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const crmSection =
      target.key === "dynamics"
        ? {
            ...mod.dynamicsSandboxConfig(sb.credentials.dataverse, { graphUrl: sb.urls.graph }),
            webhookUrl: `${base}/webhooks/dataverse`,
            webhookSecret: "bench-webhook-secret-0123456789",
          }
        : mod.salesforceSandboxConfig(sb.credentials.salesforce, { teamIncludesOwner: true });
    const config = {
      partnerCenter: secretsByReference(
        await partnerCenterSection(sb, { webhookUrl: `${base}/webhooks/partner-center` }),
        env,
        "pc",
        SECRET_KEYS,
      ),
      crm: secretsByReference(crmSection, env, "crm", SECRET_KEYS),
      state: { path: "state.sqlite" },
      log: { level: "warn" },
    };
    writeFileSync(join(dir, "cosell.json"), JSON.stringify(config));
    const setup = benchIo(env, dir);
    if ((await runCli(["--config", "cosell.json", "setup", target.key], setup)) !== 0)
      throw new Error(`setup failed: ${setup.err()}`);
    if (target.key === "dynamics") sb.dataverse.activateKeys();
    if (!seedFirst) deals = target.seed(mod, sb, opts.edits * 3 + 100);

    say(`${target.name}: cosell serve at defaults (feeds on), first cycle links ${deals.length} deals`);
    const io = benchIo(env, dir);
    const started = performance.now();
    serving = await startServe({
      runCli,
      io,
      argv: ["--config", "cosell.json", "serve", "--port", String(port)],
      base,
      timeoutMs: 600_000,
      intervalMs: 200,
    });
    const firstCycleMs = performance.now() - started;
    const readyz = /** @type {{ checks: unknown[] }} */ (await (await fetch(`${base}/readyz`)).json());

    const referrals = new Map(sb.partnerCenter.all().map((r) => [r.externalReferenceId, r]));
    const open = deals.filter((id) => {
      const r = referrals.get(id);
      // Deals open on both sides: a closed record is read-only, so an edit would not flow.
      return r && r.status === "Active" && crm.open(sb, id);
    });
    if (open.length < opts.edits * 2)
      say(`${target.name}: only ${open.length} open linked deals; fewer edits than asked are made`);

    const toPc = [];
    let toPcTimedOut = 0;
    if (crm.feed) {
      say(`${target.name}: ${opts.edits} CRM edits → Partner Center`);
      for (const [i, id] of open.slice(0, opts.edits).entries()) {
        const referralId = /** @type {{ id: string }} */ (referrals.get(id)).id;
        const amount = 800_000 + i;
        const t0 = performance.now();
        target.editValue(mod, sb, id, amount);
        const ok = await until(
          () => sb.partnerCenter.get(referralId)?.details?.dealValue === amount,
          opts.timeoutMs,
        );
        if (ok) toPc.push(performance.now() - t0);
        else toPcTimedOut++;
      }
    }
    say(`${target.name}: ${opts.edits} Partner Center edits → CRM`);
    const toCrm = [];
    let toCrmTimedOut = 0;
    for (const [i, id] of open.slice(opts.edits, opts.edits * 2).entries()) {
      const referralId = /** @type {{ id: string }} */ (referrals.get(id)).id;
      const note = `Microsoft note ${i}`;
      const t0 = performance.now();
      sb.partnerCenter.updateNotes(referralId, note);
      const ok = await until(() => crm.notes(sb, id) === note, opts.timeoutMs);
      if (ok) toCrm.push(performance.now() - t0);
      else toCrmTimedOut++;
    }
    const metrics = await (await fetch(`${base}/metrics`)).text();
    await serving.stop();
    serving = undefined;

    // An idle cycle's calls (what the poll costs when nothing changed), from two `cosell sync` runs.
    const idleCalls = async () => {
      const s = benchIo(env, dir);
      await runCli(["--config", "cosell.json", "--json", "sync"], s);
      const a = JSON.parse(s.out()).summary.apiCalls;
      return a.crm.total + a.partnerCenter.total;
    };
    await idleCalls();
    const perIdleCycle = await idleCalls();
    const all = [...toPc, ...toCrm];
    const feedLatency = {
      ...summary(
        all,
        toPcTimedOut + toCrmTimedOut,
        toPc.length + toCrm.length + toPcTimedOut + toCrmTimedOut,
      ),
      crmToPartnerCenter: crm.feed
        ? summary(toPc, toPcTimedOut, toPc.length + toPcTimedOut)
        : { measured: false, reason: "no change feed for this CRM: a CRM edit waits for the poll" },
      partnerCenterToCrm: summary(toCrm, toCrmTimedOut, toCrm.length + toCrmTimedOut),
      settings:
        "cosell serve defaults (coalesce 250 ms, reconcile every 900 s with both feeds on, 300 s otherwise)",
    };
    const feedsOn = crm.feed;
    const feeds = {
      feedsOn,
      readyChecks: readyz.checks,
      firstCycleMs,
      eventsReceived: [...metrics.matchAll(/^cosell_events_received_total\{source="(\w+)"\} (\d+)/gm)].map(
        (m) => ({
          source: m[1],
          count: Number(m[2]),
        }),
      ),
      idleCycleApiCalls: perIdleCycle,
      idleHourApiCalls: {
        // Events cost nothing when nothing changes; the poll runs 3600 / interval times.
        atDefaults: perIdleCycle * (3600 / (feedsOn ? 900 : 300)),
        feedsOnInterval900s: perIdleCycle * 4,
        pollingOnlyInterval300s: perIdleCycle * 12,
      },
      pollingOnlyLatency: {
        measured: false,
        reason:
          "with polling only, an edit waits for the next cycle: up to the 300 s default interval (about 150 s on average)",
      },
    };
    say(
      `${target.name}: ${JSON.stringify({ toPc: feedLatency.crmToPartnerCenter, toCrm: feedLatency.partnerCenterToCrm })}`,
    );
    say(
      `${target.name}: p50 ${feedLatency.p50Ms?.toFixed(0)} ms, p95 ${feedLatency.p95Ms?.toFixed(0)} ms, timed out ${feedLatency.timedOut}; idle cycle ${perIdleCycle} calls`,
    );
    return { status: "measured", feedLatency, feeds };
  } finally {
    await serving?.stop().catch(() => undefined);
    await sb.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const file = fileURLToPath(new URL("./results/latest.json", import.meta.url));
  let report;
  try {
    report = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    report = { results: {} };
  }
  report.results ??= {};
  mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  for (const target of Object.values(TARGETS)) {
    if (opts.only && opts.only !== target.key) continue;
    let r;
    try {
      r = await measure(target, opts);
    } catch (err) {
      const e = /** @type {Error} */ (err);
      say(`${target.name}: failed — ${e.stack ?? e}`);
      r = { status: "failed", reason: String(e.message ?? e).split("\n")[0] };
    }
    report.results[target.key] ??= { status: "feeds only" };
    const entry = report.results[target.key];
    if (r.status === "measured") {
      entry.median ??= {};
      entry.median.feedLatency = r.feedLatency;
      entry.feeds = { measuredAt: new Date().toISOString(), edits: opts.edits, ...r.feeds };
    } else entry.feeds = r;
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  }
  say("merged feedLatency into bench/results/latest.json");
}

await main();
