import { Writable } from "node:stream";
import type { CliIo } from "../../src/io.js";

/** A captured run of the CLI. */
export interface CapturedIo extends CliIo {
  out(): string;
  err(): string;
  /** Sends a signal to every handler registered through `onSignal`. */
  signal(name: "SIGINT" | "SIGTERM"): void;
}

/** In-memory stdout/stderr, a fixed env and cwd, no terminal. */
export function captureIo(
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; answers?: string[] } = {},
): CapturedIo {
  let out = "";
  let err = "";
  const handlers = new Set<(s: "SIGINT" | "SIGTERM") => void>();
  const stderr = new Writable({
    write(chunk, _enc, cb) {
      err += String(chunk);
      cb();
    },
  });
  const answers = [...(opts.answers ?? [])];
  return {
    stdout: {
      write: (s: string) => {
        out += s;
        return true;
      },
    },
    stderr,
    env: opts.env ?? {},
    cwd: opts.cwd ?? process.cwd(),
    interactive: opts.answers !== undefined,
    ask: async () => answers.shift() ?? "",
    onSignal: (h) => {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    out: () => out,
    err: () => err,
    signal: (name) => {
      for (const h of [...handlers]) h(name);
    },
  };
}
