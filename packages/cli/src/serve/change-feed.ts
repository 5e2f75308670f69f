import type { Logger } from "pino";
import type { ServeMetrics } from "./metrics.js";
import type { SyncService } from "./service.js";

/** A subscription's state as the adapter reports it. */
interface SubscriptionState {
  connected: boolean;
  reason?: string;
  lastReplayId?: number;
  lastEventAt?: Date;
}

/** Where a subscription keeps its position (the state store). */
interface FeedPositions {
  getFeedPosition(feed: string): string | undefined;
  setFeedPosition(feed: string, position: string): void;
}

/**
 * A CRM adapter that subscribes to its CRM's change events (Salesforce Change Data Capture). Read
 * structurally, so the CLI needs no adapter's types.
 */
export interface ChangeEventCapableAdapter {
  changeEvents?: {
    enabled(): boolean;
    subscribe(
      positions: FeedPositions,
      handlers: {
        records(ids: string[]): void | Promise<void>;
        reconcile(reason: string): void | Promise<void>;
        skipped?(reason: "echo", replayId: number): void;
        stateChanged?(state: SubscriptionState): void;
      },
    ): { state(): SubscriptionState; stop(): Promise<void> };
  };
}

/** The running subscription of `cosell serve`. */
export interface RunningChangeFeed {
  stop(): Promise<void>;
}

const FEED = "salesforce change events";

/**
 * Starts the CRM's change-event subscription for `cosell serve`: each opportunity an event names
 * becomes a targeted sync, a feed that lost track asks for a reconciliation cycle now, and
 * readiness shows the subscription (connected, last replay id, seconds since the last event).
 * The reconciliation poll keeps its interval: it is the safety net.
 */
export function startChangeFeed(o: {
  adapter: ChangeEventCapableAdapter;
  positions: FeedPositions;
  service: SyncService;
  metrics: ServeMetrics;
  log: Logger;
  now?: () => number;
}): RunningChangeFeed | undefined {
  const feed = o.adapter.changeEvents;
  if (!feed?.enabled()) return undefined;
  const now = o.now ?? Date.now;
  let current: SubscriptionState = { connected: false, reason: "Subscribing to Opportunity change events." };
  let subscription:
    | ReturnType<NonNullable<ChangeEventCapableAdapter["changeEvents"]>["subscribe"]>
    | undefined;
  // Read when readiness is asked: the replay id moves with every event, the state only on (re)connects.
  const details = () => {
    const live = subscription?.state() ?? current;
    return {
      ...(live.lastReplayId !== undefined ? { lastReplayId: live.lastReplayId } : {}),
      ...(live.lastEventAt
        ? { secondsSinceLastEvent: Math.max(0, Math.round((now() - live.lastEventAt.getTime()) / 1000)) }
        : {}),
    };
  };
  const publish = (s: SubscriptionState) => {
    // Subscribed with no replay id to resume from (the first start, or nothing received yet): the
    // changes made before the subscription took hold are only a cycle's to find, and the cycle
    // running now may have read its changes before that moment.
    if (s.connected && !current.connected && s.lastReplayId === undefined) o.service.requestCycle();
    current = s;
    o.service.setFeed({
      name: FEED,
      connected: s.connected,
      ...(s.reason ? { reason: s.reason } : {}),
      details,
    });
  };
  publish(current);
  subscription = feed.subscribe(o.positions, {
    records: async (ids) => {
      for (const id of ids) await o.service.event("salesforce", { side: "crm", id });
    },
    reconcile: (reason) => {
      o.metrics.reconcileRequests.inc({ source: "salesforce" });
      o.log.info({ source: "salesforce", reason }, "change feed asks for a reconciliation cycle");
      o.service.requestCycle();
    },
    skipped: (reason) => {
      o.metrics.eventsIgnored.inc({ source: "salesforce", reason });
    },
    stateChanged: publish,
  });
  const running = subscription;
  return { stop: () => running.stop() };
}
