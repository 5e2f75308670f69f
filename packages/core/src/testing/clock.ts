/**
 * A manual clock for tests: time stands still until `advance` moves it, so a test can jump 14 days
 * without waiting and every timestamp is reproducible. (The sandbox has its own `SandboxClock`; core
 * cannot import the sandbox, and this one needs no real time at all.)
 */
export class ManualClock {
  private ms: number;

  constructor(start: Date = new Date("2026-03-01T09:00:00.000Z")) {
    this.ms = start.getTime();
  }

  /** The current test time (a fresh `Date` each call). */
  now = (): Date => new Date(this.ms);

  /** Moves time forward by `ms` (never backwards: CRMs and Partner Center only see time move on). */
  advance = (ms: number): Date => {
    if (ms < 0) throw new RangeError(`ManualClock.advance needs ms ≥ 0, got ${ms}.`);
    this.ms += ms;
    return this.now();
  };
}
