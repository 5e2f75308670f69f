import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** Path of the worker script (plain JS on core's build). */
export const WORKER_SCRIPT = fileURLToPath(new URL("./worker.mjs", import.meta.url));

/** Settings the worker reads from `COSELL_CHAOS_WORKER` (see worker.mjs). */
export interface WorkerSettings {
  statePath: string;
  /** Where the worker appends its trace of reads, writes and stored links (for diagnosing a lost edit). */
  tracePath?: string;
  /** The test's CRM server, or the Dynamics adapter's settings for the sandbox's Dataverse. */
  crm: { kind: "http"; url: string } | { kind: "dynamics"; config: Record<string, unknown> };
  pc: Record<string, unknown>;
  maxWaitMs: number;
  mode: "chaos" | "settle";
  maxCycles?: number;
}

/** What the test learns from a worker's event stream. */
export interface RunningWorker {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves once the worker has loaded and opened its state (its "start" event), or exited. */
  started: Promise<void>;
  /** Inside a cycle right now (between cycle-start and its end). */
  readonly inCycle: boolean;
  /** The last thing the worker reported: an event, or `checkpoint <name>`. */
  readonly last: string;
  /** Cycles that finished, failed, and checkpoints passed, so far. */
  readonly counts: { cycles: number; failed: number; checkpoints: number };
  /** Codes of failed cycles and record errors, for the report. */
  readonly failures: string[];
  /** Stderr, for diagnosing a worker that died on its own. */
  readonly stderr: string;
}

/** Starts one worker process. */
export function startWorker(settings: WorkerSettings): RunningWorker {
  const child = spawn(process.execPath, [WORKER_SCRIPT], {
    env: { ...process.env, COSELL_CHAOS_WORKER: JSON.stringify(settings) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const state = {
    inCycle: false,
    last: "spawned",
    counts: { cycles: 0, failed: 0, checkpoints: 0 },
    failures: [] as string[],
    stderr: "",
  };
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  child.stderr?.on("data", (d: Buffer) => {
    state.stderr += d.toString("utf8");
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    let e: { event: string; code?: string; errors?: string[] };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      return;
    }
    state.last = e.event === "checkpoint" ? `checkpoint ${(e as { name?: string }).name}` : e.event;
    if (e.event === "start") markStarted();
    if (e.event === "cycle-start") state.inCycle = true;
    else if (e.event === "checkpoint") state.counts.checkpoints++;
    else if (e.event === "cycle-end") {
      state.inCycle = false;
      state.counts.cycles++;
      state.failures.push(...(e.errors ?? []));
    } else if (e.event === "cycle-failed") {
      state.inCycle = false;
      state.counts.failed++;
      state.failures.push(`cycle failed: ${e.code}`);
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      markStarted();
      resolve(code);
    }),
  );
  return {
    child,
    exited,
    started,
    get inCycle() {
      return state.inCycle;
    },
    get last() {
      return state.last;
    },
    counts: state.counts,
    failures: state.failures,
    get stderr() {
      return state.stderr;
    },
  };
}
