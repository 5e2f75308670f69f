/**
 * The sandbox's clock. Starts at the real time and only moves forward when told to (or with real
 * time, offset by what was advanced), so tests can jump 14 days without waiting.
 */
export class SandboxClock {
  private offsetMs = 0;
  private frozenAt: number | undefined;

  /**
   * `frozen` stops the clock at `start` from the first instant: freezing in a later call would
   * leave it a millisecond or two past `start` whenever the wall clock ticked in between.
   */
  constructor(start?: Date, options: { frozen?: boolean } = {}) {
    const wall = Date.now();
    if (start) this.offsetMs = start.getTime() - wall;
    if (options.frozen) this.frozenAt = wall;
  }

  now(): Date {
    return new Date((this.frozenAt ?? Date.now()) + this.offsetMs);
  }

  /** Moves the clock forward by `ms`. */
  advance(ms: number): Date {
    this.offsetMs += ms;
    return this.now();
  }

  /** Stops real time from moving the clock (deterministic tests); `unfreeze` resumes it. */
  freeze(): void {
    this.frozenAt ??= Date.now();
  }

  unfreeze(): void {
    if (this.frozenAt !== undefined) {
      this.offsetMs -= Date.now() - this.frozenAt;
      this.frozenAt = undefined;
    }
  }

  /** Jumps to `date` (forward or back). */
  set(date: Date): void {
    this.offsetMs = date.getTime() - (this.frozenAt ?? Date.now());
  }
}
