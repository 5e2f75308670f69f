import type { SandboxClock } from "../kit/index.js";

const MINUTE = 60_000;
const WINDOW_MINUTES = 24 * 60;

/**
 * The org's API request counter over a rolling 24 hours (sandbox clock), in one-minute buckets,
 * as reported by `Sforce-Limit-Info: api-usage=N/M` and `GET /limits` DailyApiRequests.
 */
export class ApiUsage {
  private buckets = new Map<number, number>();

  constructor(
    private readonly clock: SandboxClock,
    public limit: number,
  ) {}

  private minute(): number {
    return Math.floor(this.clock.now().getTime() / MINUTE);
  }

  private prune(): void {
    const oldest = this.minute() - WINDOW_MINUTES + 1;
    for (const k of this.buckets.keys()) if (k < oldest) this.buckets.delete(k);
  }

  used(): number {
    this.prune();
    let n = 0;
    for (const v of this.buckets.values()) n += v;
    return n;
  }

  /** Whether the allocation is used up (the next request gets 403 REQUEST_LIMIT_EXCEEDED). */
  exhausted(): boolean {
    return this.used() >= this.limit;
  }

  /** Counts one request. */
  count(): void {
    const m = this.minute();
    this.buckets.set(m, (this.buckets.get(m) ?? 0) + 1);
  }

  /** Sets the usage of the last 24 hours to `n` (as if made this minute). */
  set(n: number): void {
    this.buckets.clear();
    if (n > 0) this.buckets.set(this.minute(), n);
  }

  header(): string {
    return `api-usage=${this.used()}/${this.limit}`;
  }

  snapshot(): Array<[number, number]> {
    return [...this.buckets.entries()];
  }

  restore(entries: Array<[number, number]>): void {
    this.buckets = new Map(entries);
  }
}
