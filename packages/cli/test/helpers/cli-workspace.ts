import { afterEach, beforeEach } from "vitest";
import { runCli } from "../../src/program.js";
import { useFakeDynamics } from "./fake-crm.js";
import { captureIo } from "./io.js";
import { type Workspace, workspace } from "./workspace.js";

/** One in-process run of the CLI. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
  /** stdout parsed as JSON (for `--json` runs). */
  // biome-ignore lint/suspicious/noExplicitAny: each test reads the fields of the command it ran.
  json(): any;
}

/** A workspace on the sandbox's Partner Center with the in-memory CRM as Dynamics, new for each test. */
export interface CliWorkspace {
  /** This test's workspace (a new one in each test). */
  readonly ws: Workspace;
  /** This test's in-memory CRM, plugged in as the "dynamics" adapter. */
  readonly fake: ReturnType<typeof useFakeDynamics>;
  /** Runs `cosell <argv>` in the workspace's folder with its environment (plus `env()`'s, if given). */
  cli(...argv: string[]): Promise<CliRun>;
}

/**
 * For a `describe` of CLI command tests: before each test a fresh {@link workspace} and the fake
 * Dynamics, after it the fake's undo and the sandbox stopped, so no test sees another's state.
 * `options.env` adds variables to every run (it is read per run, so it may use `ws`).
 */
export function useCliWorkspace(options: { env?: (ws: Workspace) => NodeJS.ProcessEnv } = {}): CliWorkspace {
  let ws: Workspace | undefined;
  let fake: ReturnType<typeof useFakeDynamics> | undefined;
  beforeEach(async () => {
    ws = await workspace();
    fake = useFakeDynamics();
  });
  afterEach(async () => {
    fake?.restore();
    await ws?.sandbox.stop();
  });
  const current = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("useCliWorkspace: used outside a test");
    return value;
  };
  return {
    get ws() {
      return current(ws);
    },
    get fake() {
      return current(fake);
    },
    async cli(...argv) {
      const w = current(ws);
      const io = captureIo({ env: { ...w.env, ...options.env?.(w) }, cwd: w.dir });
      const code = await runCli(argv, io);
      return { code, out: io.out(), err: io.err(), json: () => JSON.parse(io.out()) };
    },
  };
}
