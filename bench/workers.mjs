/**
 * `pnpm bench:workers [-- options]`: the PostgreSQL deployment's throughput with 1, 2 and 3
 * `cosell worker` processes, and the PostgreSQL state store's per-deal cost against SQLite's.
 *
 * For each worker count: a fresh sandbox process (one sandbox per tenant, half Dynamics 365, half
 * Salesforce, `--deals` opted-in opportunities each), a fresh PostgreSQL database with every tenant
 * registered (`cosell tenants add`), then N workers (the built `cosell`, one job at a time each) run
 * the backfill — the first cycles, which share every deal — until every deal is linked. Reported:
 * deals/s (wall clock from the workers' start to the last link), CPU ms per deal (the workers' user
 * + system time from /proc/<pid>/stat), peak RSS per worker (VmHWM from /proc/<pid>/status).
 *
 * Then the store comparison on the same data: one tenant per CRM and store kind, identical seeds,
 * each backfilled in this process by `runCycle` with the state store wrapped in a timer; reported as
 * store milliseconds per deal (PostgreSQL's calls are synchronous too, so their wall time is their
 * cost to the worker: the round trips to the server included).
 *
 * Options: --tenants N (default 50), --deals N (default 1000), --workers 1,2,3,
 * --timeout-min M (per worker count, default 30), --skip-store, --heap-mb MB (each worker's V8 heap
 * cap, default 256 as docs/operations.md runs cosell; 0 for V8's default), --semi-space-mb MB (each
 * worker's young-generation semi-space, default 2 as docs/postgres.md runs workers; 0 for V8's
 * default), --malloc-arenas N (each worker's MALLOC_ARENA_MAX, glibc's limit on malloc arenas,
 * default 2 as docs/postgres.md runs workers; 0 for glibc's default), --latency-ms MS (in the worker
 * runs, every answer of the tenants' Partner Center and CRM waits MS first, as a remote service's
 * round trip would; Entra ID's do not; the store comparison runs without), --concurrency N (each
 * worker's `--concurrency`, jobs of different tenants at once, default 1). Needs Linux (/proc) and a
 * PostgreSQL server: COSELL_BENCH_DATABASE_URL, else
 * COSELL_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test (a database per run is
 * created in it and dropped).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { CRM_MODULES, runCli } from "@cosell/cli";
import { runCycle, SqliteStateStore } from "@cosell/core";
import { PostgresStateStore } from "@cosell/postgres";
import pg from "pg";
import { partnerCenterClient } from "./lib/engine.mjs";
import { readFlags } from "./lib/flags.mjs";

const bin = fileURLToPath(new URL("../packages/cli/dist/bin.js", import.meta.url));
const fleetChild = fileURLToPath(new URL("./lib/fleet-sandbox.mjs", import.meta.url));
const say = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function parseArgs(argv) {
  const flags = readFlags(argv);
  const num = (k, d) => {
    const v = flags.has(k) ? Number(flags.get(k)) : d;
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k}: give a whole number ≥ 1`);
    return v;
  };
  /** A whole number where 0 turns the setting off; `what` is the error's hint. */
  const wholeOrZero = (k, d, what) => {
    const v = flags.has(k) ? Number(flags.get(k)) : d;
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${k}: give ${what}`);
    return v;
  };
  const workers = String(flags.get("workers") ?? "1,2,3")
    .split(",")
    .map(Number);
  if (workers.some((w) => !Number.isInteger(w) || w < 1)) throw new Error("--workers: e.g. 1,2,3");
  return {
    tenants: num("tenants", 50),
    latencyMs: wholeOrZero("latency-ms", 0, "a whole number of milliseconds, 0 for none"),
    concurrency: num("concurrency", 1),
    deals: num("deals", 1000),
    workers,
    timeoutMs: num("timeout-min", 30) * 60_000,
    skipStore: flags.has("skip-store"),
    heapMb: wholeOrZero("heap-mb", 256, "a whole number of MB, 0 for none"),
    semiSpaceMb: wholeOrZero("semi-space-mb", 2, "a whole number of MB, 0 for V8's default"),
    mallocArenas: wholeOrZero("malloc-arenas", 2, "a whole number, 0 for glibc's default"),
    cpuProfDir: flags.has("cpu-prof") ? String(flags.get("cpu-prof")) : undefined,
  };
}

const serverUrl =
  process.env.COSELL_BENCH_DATABASE_URL ??
  process.env.COSELL_TEST_DATABASE_URL ??
  "postgres://postgres@127.0.0.1:5432/test";

async function admin(sql) {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A database of its own for one run; `drop()` removes it. */
async function database() {
  const name = `cosell_bench_${process.pid}_${randomBytes(3).toString("hex")}`;
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * Starts the sandbox process and waits for its tenants: `names` for them (default t000, t001, …),
 * `latencyMs` before every Partner Center and CRM answer (default none).
 * @param {string} dir
 * @param {string[]} kinds
 * @param {number} deals
 * @param {{ names?: string[], latencyMs?: number }} [options]
 */
async function startFleet(dir, kinds, deals, { names, latencyMs = 0 } = {}) {
  const child = spawn(
    process.execPath,
    [fleetChild, JSON.stringify({ dir, kinds, deals, names, latencyMs })],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  const ready = await new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      out += String(d);
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    child.once("exit", (code) => reject(new Error(`the sandbox process exited ${code} before it was ready`)));
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  };
  return { ...ready, pid: child.pid, stop };
}

/** A CLI run in this process (set-up only: nothing measured runs here). */
async function cli(argv, env, cwd) {
  let err = "";
  let out = "";
  const io = {
    stdout: {
      write: (s) => {
        out += s;
        return true;
      },
    },
    // The logger writes to it as a stream.
    stderr: new Writable({
      write(chunk, _enc, cb) {
        err += String(chunk);
        cb();
      },
    }),
    env,
    cwd,
    interactive: false,
    ask: async () => "",
    onSignal: () => () => {},
  };
  const code = await runCli(argv, /** @type {any} */ (io));
  if (code !== 0) throw new Error(`cosell ${argv.join(" ")} exited ${code}: ${err}`);
  return out;
}

/** user + system CPU ms of a live process (/proc/<pid>/stat, fields 14 and 15, in clock ticks). */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Linux's USER_HZ is 100 on every mainstream build.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * CPU ms of the PostgreSQL server so far: every live `postgres` process, plus what its exited
 * children used (the postmaster's cutime and cstime). Only differences of two readings mean anything.
 */
function postgresCpuMs() {
  let ms = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    if (!stat.includes("(postgres)")) continue;
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ms += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
  }
  return ms;
}

/** Peak resident set of a live process, MB (/proc/<pid>/status VmHWM). */
function peakRssMb(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Links in every tenant schema of the run's database. */
async function linkCount(client, schemas) {
  const sql = schemas.map((s) => `SELECT count(*)::int AS n FROM "${s}".links`).join(" UNION ALL ");
  const { rows } = await client.query(sql);
  return rows.reduce((a, r) => a + r.n, 0);
}

/** One backfill with `workers` processes; returns its figures. */
async function workerRun(opts, workers) {
  const dir = mkdtempSync(join(tmpdir(), "cosell-bench-workers-"));
  const kinds = Array.from({ length: opts.tenants }, (_, i) => (i % 2 === 0 ? "dynamics" : "salesforce"));
  say(`${workers} worker(s): starting ${opts.tenants} sandboxes with ${opts.deals} deals each`);
  const fleet = await startFleet(dir, kinds, opts.deals, { latencyMs: opts.latencyMs });
  const db = await database();
  const env = {
    ...fleet.env,
    COSELL_DATABASE_URL: db.url,
    PATH: process.env.PATH ?? "",
    // glibc's limit on malloc arenas, as docs/postgres.md runs workers: by default glibc gives each
    // thread that allocates an arena of its own (up to 8 per core), and each keeps what it freed.
    ...(opts.mallocArenas ? { MALLOC_ARENA_MAX: String(opts.mallocArenas) } : {}),
    // Workers run as docs/postgres.md runs them: with a V8 heap cap (without one V8 sizes the heap
    // from the machine's memory and lets garbage pile up) and a small young generation (V8's default
    // lets it reach tens of MB, which a job's short-lived objects fill). Other settings reach them too.
    NODE_OPTIONS: [
      opts.heapMb ? `--max-old-space-size=${opts.heapMb}` : "",
      opts.semiSpaceMb ? `--max-semi-space-size=${opts.semiSpaceMb}` : "",
      process.env.NODE_OPTIONS ?? "",
    ]
      .filter(Boolean)
      .join(" "),
  };
  const procs = [];
  try {
    const schemas = [];
    for (const t of fleet.tenants) {
      const added = JSON.parse(
        await cli(["tenants", "add", t.name, "--tenant-config", t.configPath, "--json"], env, dir),
      );
      schemas.push(added.tenant.schema);
    }
    const total = opts.tenants * opts.deals;
    // The bench's own link counting is not the workers' cost: its server process's CPU is taken out
    // of PostgreSQL's, and it counts without parallel workers (processes of their own, which the
    // count of 50 tables every 250 ms would otherwise start, and which could not be taken out).
    const client = new pg.Client({ connectionString: db.url, application_name: "cosell-bench:counter" });
    await client.connect();
    await client.query("SET max_parallel_workers_per_gather = 0");
    const counterPid = (await client.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
    const serverCpuMs = () => postgresCpuMs() - cpuMs(counterPid);
    say(`${workers} worker(s): backfilling ${total} deals`);
    const sandboxCpu0 = cpuMs(fleet.pid);
    const postgresCpu0 = serverCpuMs();
    const started = performance.now();
    for (let i = 0; i < workers; i++)
      procs.push(
        spawn(
          process.execPath,
          [
            // A V8 CPU profile of each worker, written when it exits: where a worker's time goes.
            ...(opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}`] : []),
            bin,
            // Warnings too: a job that fails and is retried shows here instead of only slowing the run.
            "--log-level",
            "warn",
            "worker",
            "--interval",
            "1",
            "--concurrency",
            String(opts.concurrency),
          ],
          {
            cwd: dir,
            env,
            stdio: ["ignore", "ignore", "inherit"],
          },
        ),
      );
    let linked = 0;
    let lastSay = performance.now();
    while (linked < total && performance.now() - started < opts.timeoutMs) {
      await sleep(250);
      for (const p of procs) if (p.exitCode !== null) throw new Error(`a worker exited ${p.exitCode}`);
      linked = await linkCount(client, schemas);
      if (performance.now() - lastSay > 15_000) {
        lastSay = performance.now();
        say(`  ${linked}/${total} linked`);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    // Read while the processes live: /proc/<pid> goes with them.
    const cpu = procs.map((p) => cpuMs(p.pid));
    const sandboxCpu = cpuMs(fleet.pid) - sandboxCpu0;
    const postgresCpu = serverCpuMs() - postgresCpu0;
    const rss = procs.map((p) => peakRssMb(p.pid));
    await client.end();
    return {
      workers,
      tenants: opts.tenants,
      deals: total,
      linked,
      complete: linked >= total,
      seconds: round(seconds, 1),
      dealsPerSecond: round(linked / seconds, 1),
      cpuMsPerDeal: round(cpu.reduce((a, b) => a + b, 0) / Math.max(1, linked), 2),
      // What the rest of the machine spent on the same deals: the emulators and the database server.
      sandboxCpuMsPerDeal: round(sandboxCpu / Math.max(1, linked), 2),
      postgresCpuMsPerDeal: round(postgresCpu / Math.max(1, linked), 2),
      // Cores kept busy on average by workers, sandbox and PostgreSQL together.
      coresBusy: round((cpu.reduce((a, b) => a + b, 0) + sandboxCpu + postgresCpu) / 1000 / seconds, 2),
      peakRssMbPerWorker: rss.map((r) => round(r, 0)),
    };
  } finally {
    for (const p of procs) {
      if (p.exitCode !== null) continue;
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      const t = setTimeout(() => p.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(t);
    }
    await fleet.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The store wrapped in a timer: wall time of every outermost call (a `transaction`'s callback makes
 * inner calls through the same wrapper; those are not counted twice).
 */
function timed(store) {
  let ms = 0;
  let calls = 0;
  let depth = 0;
  /** @type {Map<string, number>} outermost milliseconds per method (where a store's cost goes) */
  const byMethod = new Map();
  const proxy = new Proxy(store, {
    get(target, key) {
      const v = Reflect.get(target, key, target);
      if (typeof v !== "function") return v;
      return (...args) => {
        const t0 = performance.now();
        if (depth === 0) calls++;
        depth++;
        try {
          return v.apply(target, args);
        } finally {
          depth--;
          if (depth === 0) {
            const spent = performance.now() - t0;
            ms += spent;
            byMethod.set(String(key), (byMethod.get(String(key)) ?? 0) + spent);
          }
        }
      };
    },
  });
  return { store: proxy, ms: () => ms, calls: () => calls, byMethod };
}

/** The same backfill on SQLite and on PostgreSQL, per CRM, in this process. */
async function storeComparison(opts) {
  const dir = mkdtempSync(join(tmpdir(), "cosell-bench-stores-"));
  const kinds = ["dynamics", "dynamics", "salesforce", "salesforce"];
  const names = ["dyn-sqlite", "dyn-pg", "sf-sqlite", "sf-pg"];
  say(`store comparison: 4 sandboxes (each CRM twice, same seed) with ${opts.deals} deals each`);
  const fleet = await startFleet(dir, kinds, opts.deals, { names });
  const db = await database();
  const rows = [];
  try {
    for (const t of fleet.tenants) {
      const kind = t.name.endsWith("pg") ? "postgres" : "sqlite";
      const raw =
        kind === "postgres"
          ? PostgresStateStore.open({ url: db.url, schema: `bench_${t.name.replace("-", "_")}` })
          : SqliteStateStore.open(join(dir, `${t.name}.sqlite`));
      const { store, ms, calls, byMethod } = timed(raw);
      const adapter = /** @type {any} */ (CRM_MODULES[t.kind].createAdapter?.(t.crm));
      const partnerCenter = partnerCenterClient({ partnerCenter: t.partnerCenter });
      const started = performance.now();
      let cycles = 0;
      // The backfill: cycles until every deal is linked (the first cycle shares in batches), or one
      // links nothing more.
      let links = 0;
      while (cycles < 20) {
        await runCycle({ adapter, partnerCenter, store: /** @type {any} */ (store) });
        cycles++;
        const now = raw.listLinks().length;
        if (now >= opts.deals || now === links) {
          links = now;
          break;
        }
        links = now;
      }
      const wall = performance.now() - started;
      rows.push({
        crm: t.kind,
        store: kind,
        deals: links,
        cycles,
        storeMsPerDeal: round(ms() / links, 3),
        storeCallsPerDeal: round(calls() / links, 1),
        // The three methods that cost the most, in store milliseconds per deal.
        topMethods: Object.fromEntries(
          [...byMethod]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 3)
            .map(([k, v]) => [k, round(v / links, 3)]),
        ),
        wallMsPerDeal: round(wall / links, 2),
      });
      await adapter.close?.();
      raw.close();
    }
  } finally {
    await fleet.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

const round = (n, d) => Math.round(n * 10 ** d) / 10 ** d;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`;
  say(
    `${machine}; ${opts.tenants} tenants × ${opts.deals} deals; workers ${opts.workers.join(", ")}` +
      (opts.latencyMs ? `; ${opts.latencyMs} ms per answer` : ""),
  );
  const runs = [];
  for (const w of opts.workers) {
    const r = await workerRun(opts, w);
    runs.push(r);
    say(
      `${w} worker(s): ${r.dealsPerSecond} deals/s, ${r.cpuMsPerDeal} CPU ms/deal, peak RSS ${r.peakRssMbPerWorker.join(", ")} MB` +
        (r.complete ? "" : ` — INCOMPLETE: ${r.linked}/${r.deals} linked before the timeout`),
    );
  }
  const stores = opts.skipStore ? [] : await storeComparison(opts);

  console.log(`\nWorkers bench — ${new Date().toISOString()} — ${machine}`);
  console.log(
    `${opts.tenants} tenants (half Dynamics 365, half Salesforce) × ${opts.deals} opted-in deals each; ` +
      `workers' heap cap ${opts.heapMb ? `${opts.heapMb} MB` : "V8's default"}, ` +
      `semi-space ${opts.semiSpaceMb ? `${opts.semiSpaceMb} MB` : "V8's default"}, ` +
      `malloc arenas ${opts.mallocArenas || "glibc's default"}, ` +
      `jobs at once per worker ${opts.concurrency}` +
      `${opts.latencyMs ? `; every Partner Center and CRM answer delayed ${opts.latencyMs} ms in the worker runs` : ""}\n`,
  );
  console.log(
    "workers | deals/s | CPU ms/deal | peak RSS per worker (MB) | wall s | linked | sandbox, PostgreSQL CPU ms/deal | cores busy",
  );
  for (const r of runs)
    console.log(
      `${r.workers} | ${r.dealsPerSecond} | ${r.cpuMsPerDeal} | ${r.peakRssMbPerWorker.join(", ")} | ${r.seconds} | ${r.linked}/${r.deals} | ${r.sandboxCpuMsPerDeal}, ${r.postgresCpuMsPerDeal} | ${r.coresBusy} of ${cpus().length}`,
    );
  const one = runs.find((r) => r.workers === 1);
  const two = runs.find((r) => r.workers === 2);
  const goals = [];
  if (one && two)
    goals.push(
      `throughput 1 → 2 workers: ×${round(two.dealsPerSecond / one.dealsPerSecond, 2)} (goal ≥ 1.6): ${two.dealsPerSecond / one.dealsPerSecond >= 1.6 ? "met" : "NOT met"}`,
    );
  // Every deal costs the same CPU (workers, sandbox and PostgreSQL together) however many workers
  // share it, at best: so no worker count gets more out of this machine than its cores over what
  // one worker already keeps busy.
  if (one)
    goals.push(
      `this machine's ceiling for any worker count: ×${round(cpus().length / one.coresBusy, 2)} (${cpus().length} cores ÷ ${one.coresBusy} kept busy by one worker)`,
    );
  const maxRss = Math.max(...runs.flatMap((r) => r.peakRssMbPerWorker));
  goals.push(`peak RSS per worker: ${maxRss} MB (goal ≤ 200): ${maxRss <= 200 ? "met" : "NOT met"}`);
  if (stores.length) {
    console.log(
      "\nCRM | store | deals | cycles | store calls/deal | store ms/deal | wall ms/deal | costliest (ms/deal)",
    );
    for (const s of stores)
      console.log(
        `${s.crm} | ${s.store} | ${s.deals} | ${s.cycles} | ${s.storeCallsPerDeal} | ${s.storeMsPerDeal} | ${s.wallMsPerDeal} | ${Object.entries(
          s.topMethods,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
      );
    for (const crm of ["dynamics", "salesforce"]) {
      const sq = stores.find((s) => s.crm === crm && s.store === "sqlite");
      const pgs = stores.find((s) => s.crm === crm && s.store === "postgres");
      if (!sq || !pgs) continue;
      const ratio = pgs.storeMsPerDeal / sq.storeMsPerDeal;
      const wallRatio = pgs.wallMsPerDeal / sq.wallMsPerDeal;
      goals.push(
        `${crm}: PostgreSQL store ×${round(ratio, 2)} SQLite's store ms per deal, ×${round(wallRatio, 2)} per deal end to end (goal ≤ 1.5): ${ratio <= 1.5 ? "met" : wallRatio <= 1.5 ? "met end to end only" : "NOT met"}`,
      );
    }
  }
  console.log(`\n${goals.join("\n")}`);
  console.log(`\n${JSON.stringify({ machine, runs, stores })}`);
}

main().catch((e) => {
  console.error(e?.stack ?? e);
  process.exit(1);
});
