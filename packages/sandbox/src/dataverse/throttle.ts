import type { SandboxClock } from "../kit/clock.js";

/** Requests allowed per client in a sliding window (Dataverse's default: 6000 per 300 s). */
export interface ThrottleLimits {
  limit: number;
  windowSeconds: number;
}

/** Result of counting one request. */
export type ThrottleDecision =
  | { allowed: true; remaining: number }
  | { allowed: false; retryAfterSeconds: number };

/**
 * A per-client sliding-window request counter on the sandbox clock, like Dataverse's service
 * protection "number of requests" limit (dynamics.md §5). Refused requests do not count.
 */
export class SlidingWindowThrottle {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly clock: SandboxClock,
    private limits: ThrottleLimits | undefined,
  ) {}

  /** Changes the limits (or turns counting off with `undefined`) and forgets past requests. */
  configure(limits: ThrottleLimits | undefined): void {
    this.limits = limits;
    this.hits.clear();
  }

  current(): ThrottleLimits | undefined {
    return this.limits;
  }

  /** Counts a request from `client`, or says how long it must wait. */
  hit(client: string): ThrottleDecision {
    if (!this.limits) return { allowed: true, remaining: Number.POSITIVE_INFINITY };
    const now = this.clock.now().getTime();
    const windowMs = this.limits.windowSeconds * 1000;
    const list = this.hits.get(client) ?? [];
    let drop = 0;
    while (drop < list.length && list[drop]! <= now - windowMs) drop++;
    if (drop > 0) list.splice(0, drop);
    if (list.length >= this.limits.limit) {
      const oldest = list[0]!;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + windowMs - now) / 1000)) };
    }
    list.push(now);
    this.hits.set(client, list);
    return { allowed: true, remaining: this.limits.limit - list.length };
  }
}
