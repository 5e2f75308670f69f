import { SandboxClock } from "../kit/index.js";

/**
 * The sandbox clock, telling listeners when it is moved: moving time is what expires referrals, so
 * `sandbox.clock.advance(…)` expires them (and sends their webhooks) at once, not at the next request.
 */
export class ObservedClock extends SandboxClock {
  private readonly listeners = new Set<(now: Date) => void>();

  /** Calls `listener` after every `advance`/`set`; returns the unsubscribe function. */
  onChange(listener: (now: Date) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  override advance(ms: number): Date {
    const now = super.advance(ms);
    this.notify();
    return now;
  }

  override set(date: Date): void {
    super.set(date);
    this.notify();
  }

  private notify(): void {
    const now = this.now();
    for (const l of this.listeners) l(now);
  }
}
