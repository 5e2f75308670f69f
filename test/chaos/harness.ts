import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStateStore } from "@cosell/core";
import { partnerCenterClientConfig, type Sandbox, seededRandom, startSandbox } from "@cosell/sandbox";
import { type ChaosCrm, dataverseChaosCrm, memoryChaosCrm, salesforceChaosCrm } from "./crms.js";
import { Oracle, type Verdict, verify } from "./oracle.js";
import { type RunningWorker, startWorker, type WorkerSettings } from "./worker-process.js";

/**
 * The chaos run. Partner Center (the sandbox's) and the CRM get 10% 429 with Retry-After, 5% 5xx and
 * 2% connection resets, and every token is expired now and then mid-run. Sellers and Microsoft keep
 * editing both sides while the sync worker — a separate Node process on a SQLite state file — is
 * SIGKILLed at random points and started again. Then the faults stop, one worker runs until two
 * cycles in a row write nothing, and both sides are compared with the oracle.
 */

/** Run length and waits. CI mode stays well under 5 minutes. */
export interface ChaosOptions {
  crm: ChaosCrmKind;
  seed: number;
  long: boolean;
}

/** The CRMs the chaos run knows. */
export const CHAOS_CRMS = ["memory", "dynamics", "salesforce"] as const;
export type ChaosCrmKind = (typeof CHAOS_CRMS)[number];

export const RATES = { throttle: 0.1, retryAfterSeconds: 1, serverError: 0.05, reset: 0.02 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a run reports (printed by the test) and the oracle's verdict. */
export interface ChaosResult {
  figures: Record<string, unknown>;
  verdict: Verdict;
  kills: number;
  killedMidCycle: number;
  tokenExpiries: number;
  faultsInjected: number;
  settled: number | null | "timeout";
  settleLog: string;
}

/** Runs the whole chaos scenario once and returns its figures; cleans up after itself. */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const kills = options.long ? 120 : 30;
  // How long a worker lives after loading before its SIGKILL: from its first reads to several cycles
  // in. The long mode waits every Retry-After in full, so its cycles take seconds: longer lives.
  const lifetimeMs = options.long ? 12_000 : 1500;
  // Chance of an edit every 20–80 ms while a worker runs (the long mode edits less often per tick).
  const editRate = options.long ? 0.2 : 0.6;
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const dir = mkdtempSync(join(tmpdir(), "cosell-chaos-"));
  // Partner Center always; the CRM's own systems when it is the sandbox's.
  let sb: Sandbox<"partnerCenter">;
  let crm: ChaosCrm | undefined;
  if (options.crm === "salesforce") {
    const sf = await startSandbox({ systems: ["partnerCenter", "salesforce"], seed: options.seed });
    sb = sf;
    crm = await salesforceChaosCrm(sf).catch(async (e) => {
      await sf.stop();
      throw e;
    });
    sf.faults.setRates(RATES, "salesforce");
  } else {
    const dv = await startSandbox({ systems: ["partnerCenter", "dataverse", "graph"], seed: options.seed });
    sb = dv;
    if (options.crm === "dynamics") {
      crm = await dataverseChaosCrm(dv).catch(async (e) => {
        await dv.stop();
        throw e;
      });
      dv.faults.setRates(RATES, "dataverse");
    }
  }
  let worker: RunningWorker | undefined;
  try {
    sb.faults.setRates(RATES, "partner-center");
    crm ??= await memoryChaosCrm(options.seed + 1, RATES);
    // Signed in as the sandbox's sync user (the token cache its start-up login filled), as in production.
    const pc = partnerCenterClientConfig(sb.credentials.partnerCenter);
    const settings = (mode: WorkerSettings["mode"]): WorkerSettings => ({
      statePath: join(dir, "state.db"),
      tracePath: join(dir, "trace.log"),
      // worker-process.ts lists only the http and Dynamics kinds; the Salesforce one goes through as
      // JSON all the same (worker.mjs reads it).
      crm: crm!.worker as WorkerSettings["crm"],
      pc: { ...pc, retry: { maxAttempts: 8 } },
      maxWaitMs: options.long ? 0 : 25,
      mode,
      maxCycles: 40,
    });

    // ── the world before the first run ───────────────────────────────────────────────────────────
    const oracle = new Oracle();
    let serial = 0;
    const newDeal = () => {
      const n = ++serial;
      const want = { name: `Chaos deal ${n}`, amount: 1000 * n };
      oracle.outbound.set(crm!.create(want.name, want.amount, true), want);
    };
    const newInbound = () =>
      oracle.inbound.add(sb.partnerCenter.sendInboundReferral({ name: `Inbound ${++serial}` }).id);
    for (let i = 0; i < 20; i++) newDeal();
    for (let i = 0; i < 6; i++) newInbound();
    for (let i = 0; i < 3; i++) oracle.private.add(crm.create(`Private ${i}`, 1, false));

    /** One edit by a seller or by Microsoft, recorded in the oracle. */
    const edit = () => {
      const r = random();
      if (r < 0.35) {
        const crmId = pick([...oracle.outbound.keys()]);
        const name = `Renamed ${++serial}`;
        crm!.rename(crmId, name);
        oracle.outbound.get(crmId)!.name = name;
        oracle.count("crm rename");
      } else if (r < 0.55) {
        const crmId = pick([...oracle.outbound.keys()]);
        const amount = 500 * ++serial;
        crm!.setValue(crmId, amount);
        oracle.outbound.get(crmId)!.amount = amount;
        oracle.count("crm value");
      } else if (r < 0.85) {
        const referrals = sb.partnerCenter.all();
        if (!referrals.length) return;
        const id = pick(referrals).id;
        const notes = `Microsoft note ${++serial}`;
        sb.partnerCenter.updateNotes(id, notes);
        oracle.notes.set(id, notes);
        oracle.notesHistory.set(id, [
          ...(oracle.notesHistory.get(id) ?? []),
          `${new Date().toISOString()} ${notes}`,
        ]);
        oracle.count("microsoft notes");
      } else if (r < 0.95) {
        newDeal();
        oracle.count("crm new deal");
      } else {
        newInbound();
        oracle.count("microsoft new referral");
      }
    };

    // ── kill loop ────────────────────────────────────────────────────────────────────────────────
    let killed = 0;
    let killedMidCycle = 0;
    let tokenExpiries = 0;
    const killedAfter: Record<string, number> = {};
    const totals = { cycles: 0, failed: 0, checkpoints: 0 };
    const failures: Record<string, number> = {};
    for (let k = 0; k < kills; k++) {
      worker = startWorker(settings("chaos"));
      // Edits land while the worker loads, too; its lifetime counts from when it can sync.
      while (!(await Promise.race([worker.started.then(() => true), sleep(30).then(() => false)])))
        if (random() < 0.3) edit();
      const deadline = Date.now() + random() * lifetimeMs;
      let expireAt = k % 3 === 1 ? Date.now() + random() * (deadline - Date.now()) : Number.POSITIVE_INFINITY;
      while (Date.now() < deadline) {
        await sleep(20 + random() * 60);
        if (random() < editRate) edit();
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
      killed++;
      if (midCycle) killedMidCycle++;
      killedAfter[last] = (killedAfter[last] ?? 0) + 1;
      for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += worker.counts[key];
      for (const f of worker.failures) {
        const what = f.replace(/^\S+ /, "");
        failures[what] = (failures[what] ?? 0) + 1;
      }
    }

    // ── settle: faults off, one worker to quiet ──────────────────────────────────────────────────
    const injected = { sandbox: { ...sb.faults.injected }, crm: crm.faultsInjected() };
    const faultsInjected = [injected.sandbox, injected.crm ?? {}]
      .flatMap((m) => Object.values(m))
      .reduce((a, b) => a + b, 0);
    sb.faults.setRates({}, "partner-center");
    crm.stopFaults();
    worker = startWorker(settings("settle"));
    const settled = await Promise.race([worker.exited, sleep(150_000).then(() => "timeout" as const)]);
    if (settled !== 0) worker.child.kill("SIGKILL");

    // ── the verdict ──────────────────────────────────────────────────────────────────────────────
    const store = SqliteStateStore.open(join(dir, "state.db"));
    const links = store.listLinks();
    const verdict = verify(oracle, { crm: crm.views(), referrals: sb.partnerCenter.all(), links });
    // For each lost edit: what the state store believes about that pair (baseline, last seen, ledger).
    const traceLines = existsSync(join(dir, "trace.log"))
      ? readFileSync(join(dir, "trace.log"), "utf8").split("\n")
      : [];
    const diagnosis = verdict.lostEdits.map((lostEdit) => {
      const id = lostEdit.split(" ")[0]!;
      const link = links.find((l) => l.referralId === id || l.crmId === id);
      const ledger = link
        ? (["crm", "partnerCenter"] as const).map((side) => ({
            side,
            notes: store.listLedger(side, (side === "crm" ? link.crmId : link.referralId) ?? "", "notes"),
          }))
        : [];
      return {
        lostEdit,
        notesHistory: link?.referralId ? oracle.notesHistory.get(link.referralId) : undefined,
        baseline: link?.baseline?.notes,
        lastSeenCrm: link?.crm?.notes,
        lastSeenReferral: link?.referral?.details?.notes,
        state: link?.state,
        ledger,
        audit: store
          .listAudit(100_000)
          .filter((a) => a.linkId === link?.linkId)
          .map((a) => `${a.at} ${a.kind} ${a.message}`),
        // What the workers read, wrote and stored for this pair (worker.mjs traces every call).
        trace: traceLines.filter(
          (l) =>
            l.includes(id) ||
            (link?.crmId && l.includes(link.crmId)) ||
            (link?.referralId && l.includes(link.referralId)),
        ),
        links: links
          .filter((l) => l.referralId === id || l.crmId === id || JSON.stringify(l).includes(id))
          .map((l) => ({ linkId: l.linkId, crmId: l.crmId, referralId: l.referralId, state: l.state })),
      };
    });
    store.close();
    // The whole trace outlives the run when an edit was lost (the run's directory is removed below).
    if (verdict.lostEdits.length && traceLines.length)
      writeFileSync(
        join(tmpdir(), `cosell-chaos-trace-${options.crm}-${options.seed}-${Date.now()}.log`),
        traceLines.join("\n"),
      );
    const figures = {
      crm: options.crm,
      seed: options.seed,
      mode: options.long ? "long" : "ci",
      kills: killed,
      killedMidCycle,
      killedAfter,
      tokenExpiries,
      faultsInjected: injected,
      workerCycles: totals,
      settleCycles: worker.counts.cycles,
      edits: oracle.edits,
      deals: { outbound: oracle.outbound.size, inbound: oracle.inbound.size, private: oracle.private.size },
      recordErrorsDuringChaos: failures,
      duplicates: verdict.duplicates,
      lostEdits: verdict.lostEdits.length,
      unlinked: verdict.unlinked.length,
      ...(diagnosis.length ? { diagnosis } : {}),
    };
    return {
      figures,
      verdict,
      kills: killed,
      killedMidCycle,
      tokenExpiries,
      faultsInjected,
      settled,
      settleLog: `${worker.stderr}\n${worker.failures.join("\n")}`,
    };
  } finally {
    worker?.child.kill("SIGKILL");
    await crm?.close();
    await sb.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
