import { SingleBar } from "cli-progress";
import type { TerminalLines } from "../terminal-lines.js";

/** Records done / total, rate and ETA on stderr — only on a terminal (logs and pipes get nothing). */
export interface Progress {
  start(total: number): void;
  tick(n?: number): void;
  stop(): void;
}

/**
 * A cli-progress bar on `stream` when it is a TTY, otherwise a no-op. With `lines` (the terminal's
 * shared writer) log lines written meanwhile go above the bar instead of through it.
 */
export function createProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  lines?: TerminalLines,
): Progress {
  if (!stream.isTTY) return { start() {}, tick() {}, stop() {} };
  const bar = new SingleBar({
    stream,
    format: "backfill [{bar}] {value}/{total} records | {rate}/s | ETA {eta_formatted}",
    hideCursor: true,
    etaBuffer: 50,
  });
  const started = Date.now();
  let done = 0;
  const rate = () => (done / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1);
  let release: (() => void) | undefined;
  return {
    start(total) {
      bar.start(total, 0, { rate: "0.0" });
      release = lines?.hold({
        clear: () => stream.write("\r\x1b[2K"),
        // cli-progress skips a redraw of an unchanged bar unless forced (its typings omit the flag).
        redraw: () => (bar as unknown as { render(force: boolean): void }).render(true),
      });
    },
    tick(n = 1) {
      done += n;
      bar.increment(n, { rate: rate() });
    },
    stop() {
      release?.();
      bar.stop();
    },
  };
}
