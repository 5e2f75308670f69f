/** Where a command writes and what it may ask: the process by default, buffers in tests. */
export interface CliIo {
  /** Command output (tables, or JSON with `--json`). */
  stdout: { write(text: string): unknown; isTTY?: boolean };
  /** Logs, progress bars and prompts. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Environment for `env:NAME` secret references. */
  env: NodeJS.ProcessEnv;
  /** Folder relative paths resolve against. */
  cwd: string;
  /** Standard input is a terminal (interactive prompts allowed). */
  interactive: boolean;
  /** Asks one question (only called when `interactive`). */
  ask?(question: string): Promise<string>;
  /**
   * Subscribes to SIGINT/SIGTERM; returns the unsubscribe function. Tests pass their own to simulate
   * a signal.
   */
  onSignal(handler: (signal: "SIGINT" | "SIGTERM") => void): () => void;
}

/** The real process: stdout/stderr, process.env, signals. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    interactive: process.stdin.isTTY === true && process.stdout.isTTY === true,
    ask: async (question) => {
      const { createInterface } = await import("node:readline/promises");
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    onSignal: (handler) => {
      const on = (s: NodeJS.Signals) => handler(s as "SIGINT" | "SIGTERM");
      process.on("SIGINT", on);
      process.on("SIGTERM", on);
      return () => {
        process.off("SIGINT", on);
        process.off("SIGTERM", on);
      };
    },
  };
}
