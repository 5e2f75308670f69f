import { seededRandom } from "./random.js";
import type { ServerName } from "./request-log.js";

/** What the injector does to one request instead of (or before) serving it. */
export type Fault =
  | { kind: "throttle"; retryAfterSeconds: number }
  | { kind: "serverError"; status: 500 | 502 | 503 | 504 }
  | { kind: "reset" }
  | { kind: "latency"; ms: number }
  /** Answer the next matching write with 412 as if someone else had just changed the record. */
  | { kind: "preconditionFailed" };

export interface FaultRates {
  /** Share of requests answered 429 with Retry-After (0–1). */
  throttle?: number;
  /** Retry-After value sent with injected 429s, in seconds (may be fractional; sent rounded up). */
  retryAfterSeconds?: number;
  /** Share answered 500/503. */
  serverError?: number;
  /** Share whose connection is reset without an answer. */
  reset?: number;
  /** Added latency for every request, in ms. */
  latencyMs?: number;
}

export interface ScriptedFault {
  fault: Fault;
  /** Only requests to this server (any when omitted). */
  server?: ServerName;
  /** Only requests whose method matches (any when omitted). */
  method?: string;
  /** Only requests whose path contains this. */
  pathIncludes?: string;
}

/**
 * Decides, request by request, whether a sandbox server misbehaves. Rates apply per server (or to all);
 * scripted faults are consumed in order by the first matching request. Token-server requests are
 * never rate-faulted unless asked, so that one fault does not hide behind msal's own throttle cache.
 */
export class FaultInjector {
  private rates = new Map<ServerName | "*", FaultRates>();
  private scripted: ScriptedFault[] = [];
  private random: () => number;
  /** How many faults of each kind were injected. */
  readonly injected: Record<string, number> = {};

  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  /** Sets rates for one server, or for all servers except `entra` with `"*"`. Pass `{}` to clear. */
  setRates(rates: FaultRates, server: ServerName | "*" = "*"): void {
    this.rates.set(server, rates);
  }

  /** Queues faults for the next matching requests. */
  script(...faults: ScriptedFault[]): void {
    this.scripted.push(...faults);
  }

  clear(): void {
    this.rates.clear();
    this.scripted = [];
  }

  /** Pending scripted faults (for inspection). */
  pending(): readonly ScriptedFault[] {
    return this.scripted;
  }

  /** Picks the fault for a request, if any, and counts it. `latency` is returned separately. */
  decide(server: ServerName, method: string, path: string): { fault?: Fault; latencyMs: number } {
    const idx = this.scripted.findIndex(
      (s) =>
        (!s.server || s.server === server) &&
        (!s.method || s.method === method) &&
        (!s.pathIncludes || path.includes(s.pathIncludes)) &&
        (s.fault.kind !== "preconditionFailed" || method !== "GET"),
    );
    const rates = this.rates.get(server) ?? (server === "entra" ? undefined : this.rates.get("*")) ?? {};
    const latencyMs = rates.latencyMs ?? 0;
    if (idx >= 0) {
      const [s] = this.scripted.splice(idx, 1);
      return this.count(s!.fault, latencyMs);
    }
    const r = this.random();
    let edge = rates.throttle ?? 0;
    if (r < edge)
      return this.count({ kind: "throttle", retryAfterSeconds: rates.retryAfterSeconds ?? 1 }, latencyMs);
    edge += rates.serverError ?? 0;
    if (r < edge)
      return this.count({ kind: "serverError", status: this.random() < 0.5 ? 500 : 503 }, latencyMs);
    edge += rates.reset ?? 0;
    if (r < edge) return this.count({ kind: "reset" }, latencyMs);
    return { latencyMs };
  }

  private count(fault: Fault, latencyMs: number): { fault: Fault; latencyMs: number } {
    this.injected[fault.kind] = (this.injected[fault.kind] ?? 0) + 1;
    return { fault, latencyMs };
  }
}
