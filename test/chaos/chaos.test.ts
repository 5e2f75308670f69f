import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SqliteStateStore } from "@cosell/core";
import { MemoryCrm, sampleDeal } from "@cosell/core/testing";
import { startSandbox } from "@cosell/sandbox";
import { afterAll, describe, expect, it } from "vitest";
import { type ChaosCrmServer, startChaosCrm } from "./crm-server.js";
import { Oracle, verify } from "./oracle.js";
import { type RunningWorker, startWorker, type WorkerSettings } from "./worker-process.js";

/**
 * The chaos run. The sandbox's Partner Center injects 10% 429 (with Retry-After), 5% 5xx and 2%
 * connection resets, and expires every token mid-run; the CRM (in this process, so it survives) gets
 * the same. Sellers and Microsoft keep editing both sides while the sync worker — a separate Node
 * process on a SQLite state file — is SIGKILLed at random points and started again. Then the faults
 * stop, one worker runs until two cycles in a row write nothing, and both sides are compared with the
 * oracle: every opted-in deal linked exactly once, every last edit present on both sides.
 *
 * CI mode stays well under 5 minutes; COSELL_CHAOS_LONG=1 runs longer with more kills and takes
 * every Retry-After in full. COSELL_CHAOS_SEED replays another schedule.
 */

const LONG = process.env.COSELL_CHAOS_LONG === "1";
const SEED = Number(process.env.COSELL_CHAOS_SEED ?? 20261129);
const KILLS = LONG ? 120 : 30;
/** A worker lives this long (ms) after loading before its SIGKILL: from its first reads to several cycles in. */
const LIFETIME = LONG ? { min: 0, spread: 4000 } : { min: 0, spread: 1500 };
const RATES = { throttle: 0.1, retryAfterSeconds: 1, serverError: 0.05, reset: 0.02 };

/** mulberry32: the edit and kill schedule is replayable from the seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("chaos", () => {
  const dir = mkdtempSync(join(tmpdir(), "cosell-chaos-"));
  let crmServer: ChaosCrmServer | undefined;
  let sb: Awaited<ReturnType<typeof startSandbox<"partnerCenter">>> | undefined;
  let worker: RunningWorker | undefined;
  afterAll(async () => {
    worker?.child.kill("SIGKILL");
    await crmServer?.close();
    await sb?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs the worker on core's build", () => {
    // The worker is plain JS on packages/core/dist: CI builds before testing; locally run `pnpm build`.
    expect(
      existsSync(fileURLToPath(new URL("../../packages/core/dist/index.js", import.meta.url))),
      "run `pnpm build` first",
    ).toBe(true);
  });

  it(
    "SIGKILLed ≥ 20 times under 429s, 5xx, resets and token expiry: 0 duplicates, 0 lost edits",
    async () => {
      const random = rng(SEED);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      sb = await startSandbox({ systems: ["partnerCenter"], seed: SEED });
      sb.faults.setRates(RATES, "partner-center");
      const crm = new MemoryCrm();
      crmServer = await startChaosCrm(crm, { seed: SEED + 1, rates: RATES });
      const { certificate: _c, ...pc } = sb.credentials.partnerCenter;
      const settings = (mode: WorkerSettings["mode"]): WorkerSettings => ({
        statePath: join(dir, "state.db"),
        crmUrl: crmServer!.url,
        pc: { ...pc, retry: { maxAttempts: 8 } },
        maxWaitMs: LONG ? 0 : 25,
        mode,
        maxCycles: 40,
      });

      // ── the world before the first run ─────────────────────────────────────────────────────────
      const oracle = new Oracle();
      let serial = 0;
      const newDeal = () => {
        const n = ++serial;
        const name = `Chaos deal ${n}`;
        const amount = 1000 * n;
        const crmId = crm.createOpportunity(sampleDeal({ name, value: { amount, currency: "USD" } }), {
          optedIn: true,
        });
        oracle.outbound.set(crmId, { name, amount });
      };
      const newInbound = () =>
        oracle.inbound.add(sb!.partnerCenter.sendInboundReferral({ name: `Inbound ${++serial}` }).id);
      for (let i = 0; i < 20; i++) newDeal();
      for (let i = 0; i < 6; i++) newInbound();
      for (let i = 0; i < 3; i++)
        oracle.private.add(crm.createOpportunity(sampleDeal({ name: `Private ${i}` }), { optedIn: false }));

      /** One edit by a seller or by Microsoft, recorded in the oracle. */
      const edit = () => {
        const r = random();
        if (r < 0.35) {
          const crmId = pick([...oracle.outbound.keys()]);
          const name = `Renamed ${++serial}`;
          crm.update(crmId, { name });
          oracle.outbound.get(crmId)!.name = name;
          oracle.count("crm rename");
        } else if (r < 0.55) {
          const crmId = pick([...oracle.outbound.keys()]);
          const amount = 500 * ++serial;
          crm.update(crmId, { value: { amount, currency: "USD" } });
          oracle.outbound.get(crmId)!.amount = amount;
          oracle.count("crm value");
        } else if (r < 0.85) {
          const referrals = sb!.partnerCenter.all();
          if (!referrals.length) return;
          const id = pick(referrals).id;
          const notes = `Microsoft note ${++serial}`;
          sb!.partnerCenter.updateNotes(id, notes);
          oracle.notes.set(id, notes);
          oracle.count("microsoft notes");
        } else if (r < 0.95) {
          newDeal();
          oracle.count("crm new deal");
        } else {
          newInbound();
          oracle.count("microsoft new referral");
        }
      };

      // ── kill loop ──────────────────────────────────────────────────────────────────────────────
      let kills = 0;
      let killedMidCycle = 0;
      const killedAt: Record<string, number> = {};
      let tokenExpiries = 0;
      const totals = { cycles: 0, failed: 0, checkpoints: 0 };
      const failures = new Map<string, number>();
      for (let k = 0; k < KILLS; k++) {
        worker = startWorker(settings("chaos"));
        // Edits land while the worker loads, too; its lifetime counts from when it can sync.
        while (!(await Promise.race([worker.started.then(() => true), sleep(30).then(() => false)])))
          if (random() < 0.3) edit();
        const deadline = Date.now() + LIFETIME.min + random() * LIFETIME.spread;
        let expireAt =
          k % 3 === 1 ? Date.now() + random() * (deadline - Date.now()) : Number.POSITIVE_INFINITY;
        while (Date.now() < deadline) {
          await sleep(20 + random() * 60);
          if (random() < 0.6) edit();
          if (Date.now() >= expireAt) {
            sb.tokens.expireAll();
            tokenExpiries++;
            expireAt = Number.POSITIVE_INFINITY;
          }
        }
        const midCycle = worker.inCycle;
        const last = worker.last;
        worker.child.kill("SIGKILL");
        const code = await worker.exited;
        if (code !== null)
          throw new Error(`The worker exited on its own (${code}) before its kill:\n${worker.stderr}`);
        kills++;
        if (midCycle) killedMidCycle++;
        killedAt[last] = (killedAt[last] ?? 0) + 1;
        for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += worker.counts[key];
        for (const f of worker.failures)
          failures.set(f.replace(/^\S+ /, ""), (failures.get(f.replace(/^\S+ /, "")) ?? 0) + 1);
      }

      // ── settle: faults off, one worker to quiet ────────────────────────────────────────────────
      const faultsInjected = {
        partnerCenter: { ...sb.faults.injected },
        crm: { ...crmServer.faults.injected },
      };
      sb.faults.setRates({}, "partner-center");
      crmServer.faults.setRates({}, "salesforce");
      worker = startWorker(settings("settle"));
      const settled = await Promise.race([worker.exited, sleep(150_000).then(() => "timeout" as const)]);
      if (settled !== 0) worker.child.kill("SIGKILL");
      expect(
        settled,
        `the final worker did not settle:\n${worker.stderr}\n${worker.failures.join("\n")}`,
      ).toBe(0);

      // ── the verdict ────────────────────────────────────────────────────────────────────────────
      const store = SqliteStateStore.open(join(dir, "state.db"));
      const links = store.listLinks();
      store.close();
      const verdict = verify(oracle, { crm: crm.all(), referrals: sb.partnerCenter.all(), links });
      const figures = {
        seed: SEED,
        mode: LONG ? "long" : "ci",
        kills,
        killedMidCycle,
        killedAfter: killedAt,
        tokenExpiries,
        faultsInjected,
        workerCycles: totals,
        settleCycles: worker.counts.cycles,
        edits: oracle.edits,
        deals: { outbound: oracle.outbound.size, inbound: oracle.inbound.size, private: oracle.private.size },
        recordErrorsDuringChaos: Object.fromEntries(failures),
        duplicates: verdict.duplicates,
        lostEdits: verdict.lostEdits.length,
        unlinked: verdict.unlinked.length,
      };
      console.info(`chaos figures\n${JSON.stringify(figures, null, 2)}`);
      expect(verdict.lostEdits).toEqual([]);
      expect(verdict.unlinked).toEqual([]);
      expect(verdict.other).toEqual([]);
      expect(verdict.duplicates).toBe(0);
      expect(kills).toBeGreaterThanOrEqual(20);
      expect(killedMidCycle).toBeGreaterThan(0);
      expect(tokenExpiries).toBeGreaterThan(0);
      expect(
        (faultsInjected.partnerCenter.throttle ?? 0) + (faultsInjected.crm.throttle ?? 0),
      ).toBeGreaterThan(0);
    },
    LONG ? 3_600_000 : 280_000,
  );
});
