import { SingleBar } from "cli-progress";

/** Records done / total, rate and ETA on stderr — only on a terminal (logs and pipes get nothing). */
export interface Progress {
  start(total: number): void;
  tick(n?: number): void;
  stop(): void;
}

/** A cli-progress bar on `stream` when it is a TTY, otherwise a no-op. */
export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }): Progress {
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
  return {
    start(total) {
      bar.start(total, 0, { rate: "0.0" });
    },
    tick(n = 1) {
      done += n;
      bar.increment(n, { rate: rate() });
    },
    stop() {
      bar.stop();
    },
  };
}
