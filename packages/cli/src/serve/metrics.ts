import type { CycleSummary } from "@cosell/core";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";

/** Where an event came from. */
export type EventSource = "partner_center" | "dataverse" | "salesforce";
/** The systems cosell calls. */
export type ApiSystem = "partner_center" | "crm";

/**
 * The Prometheus series `cosell serve` exposes at `GET /metrics`, all prefixed `cosell_`
 * (docs/operations.md lists them with an example alert).
 */
export class ServeMetrics {
  readonly registry = new Registry();
  readonly cycles: Counter<"mode" | "outcome">;
  readonly targetedSyncs: Counter<"outcome">;
  readonly recordsSynced: Counter<"trigger">;
  readonly recordsFailed: Counter<"trigger">;
  readonly apiCalls: Counter<"system" | "status">;
  readonly eventsReceived: Counter<"source">;
  readonly eventsRejected: Counter<"source" | "code">;
  readonly eventsDropped: Counter<"source">;
  readonly eventsIgnored: Counter<"source" | "reason">;
  readonly reconcileRequests: Counter<"source">;
  private lastSuccessMs: number | undefined;
  private readonly fetchCalls: Record<ApiSystem, number> = { partner_center: 0, crm: 0 };

  constructor(options: { queueDepth: () => number; now?: () => number }) {
    const now = options.now ?? Date.now;
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: "cosell_" });
    this.cycles = new Counter({
      name: "cosell_cycles_total",
      help: "Sync cycles (reconciliation polls), by mode and outcome (ok, error, interrupted).",
      labelNames: ["mode", "outcome"],
      registers: [registry],
    });
    this.targetedSyncs = new Counter({
      name: "cosell_targeted_syncs_total",
      help: "Targeted syncs of one deal run for events, by outcome (ok, error, nothing).",
      labelNames: ["outcome"],
      registers: [registry],
    });
    this.recordsSynced = new Counter({
      name: "cosell_records_synced_total",
      help: "Writes planned and applied (creates, updates, lifecycle transitions), by trigger (cycle, event).",
      labelNames: ["trigger"],
      registers: [registry],
    });
    this.recordsFailed = new Counter({
      name: "cosell_records_failed_total",
      help: "Records marked with a sync error, by trigger (cycle, event).",
      labelNames: ["trigger"],
      registers: [registry],
    });
    this.apiCalls = new Counter({
      name: "cosell_api_calls_total",
      help: "HTTP requests to Partner Center and the CRM, by system and HTTP status (error: no answer; unknown: counted by the adapter, status not seen).",
      labelNames: ["system", "status"],
      registers: [registry],
    });
    this.eventsReceived = new Counter({
      name: "cosell_events_received_total",
      help: "Change events accepted (webhooks, change data capture), by source.",
      labelNames: ["source"],
      registers: [registry],
    });
    this.eventsRejected = new Counter({
      name: "cosell_events_rejected_total",
      help: "Events refused (bad signature, wrong secret, malformed body), by source and error code.",
      labelNames: ["source", "code"],
      registers: [registry],
    });
    this.eventsDropped = new Counter({
      name: "cosell_events_dropped_total",
      help: "Accepted events not queued because the queue was full; the next reconciliation picks them up.",
      labelNames: ["source"],
      registers: [registry],
    });
    this.eventsIgnored = new Counter({
      name: "cosell_events_ignored_total",
      help: "Change events handled without a sync, by source and reason (echo: cosell's own write).",
      labelNames: ["source", "reason"],
      registers: [registry],
    });
    this.reconcileRequests = new Counter({
      name: "cosell_reconcile_requests_total",
      help: "Reconciliation cycles a change feed asked for (expired replay id, gap, overflow, delete), by source.",
      labelNames: ["source"],
      registers: [registry],
    });
    new Gauge({
      name: "cosell_queue_depth",
      help: "Targeted syncs waiting.",
      registers: [registry],
      collect() {
        this.set(options.queueDepth());
      },
    });
    const self = this;
    new Gauge({
      name: "cosell_seconds_since_last_successful_cycle",
      help: "Seconds since the last sync cycle that finished without an error (-1 before the first).",
      registers: [registry],
      collect() {
        this.set(self.lastSuccessMs === undefined ? -1 : (now() - self.lastSuccessMs) / 1000);
      },
    });
    new Gauge({
      name: "cosell_last_successful_cycle_timestamp_seconds",
      help: "Unix time of the last sync cycle that finished without an error (0 before the first).",
      registers: [registry],
      collect() {
        this.set(self.lastSuccessMs === undefined ? 0 : self.lastSuccessMs / 1000);
      },
    });
  }

  /** Counts a finished cycle or targeted sync. */
  recordSummary(summary: CycleSummary, trigger: "cycle" | "event"): void {
    const s = summary.steps;
    const writes = (s.create ?? 0) + (s.update ?? 0) + (s.transition ?? 0);
    this.recordsSynced.inc({ trigger }, Math.max(0, writes - summary.errors.length));
    this.recordsFailed.inc({ trigger }, summary.errors.length);
  }

  /** A cycle ended without throwing. */
  cycleSucceeded(at: number): void {
    this.lastSuccessMs = at;
  }

  /** Requests seen by {@link countingFetch} for `system` since the last call. */
  takeFetchCalls(system: ApiSystem): number {
    const n = this.fetchCalls[system];
    this.fetchCalls[system] = 0;
    return n;
  }

  /** A `fetch` that counts every answer's status under `system`. */
  countingFetch(system: ApiSystem, inner?: typeof fetch): typeof fetch {
    return async (input, init) => {
      try {
        const res = await (inner ?? globalThis.fetch)(input, init);
        this.fetchCalls[system]++;
        this.apiCalls.inc({ system, status: String(res.status) });
        return res;
      } catch (e) {
        this.fetchCalls[system]++;
        this.apiCalls.inc({ system, status: "error" });
        throw e;
      }
    };
  }
}
