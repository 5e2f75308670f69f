import { errorMessage } from "@cosell/core";
import type { Connection } from "jsforce";
// jsforce has no exports map and its `api/streaming` entry is a directory, which Node's ESM loader
// does not resolve: import the file.
import { StreamingExtension } from "jsforce/lib/api/streaming.js";
import { isOpportunityId } from "./ids.js";

/**
 * Change Data Capture for Opportunity over the Streaming API (CometD), with jsforce's own streaming
 * client (faye) and its Replay and AuthFailure extensions.
 *
 * Why CometD and not the Pub/Sub API: jsforce, already the adapter's only Salesforce client, speaks
 * it; the Pub/Sub API needs gRPC, Avro schema decoding and a second client library, for the same
 * events, the same replay ids and the same 72-hour retention. The events are hints: each names the
 * opportunities a transaction changed, and cosell reads them afresh (a targeted sync), so nothing
 * depends on the payload's field values.
 *
 * Delivery rules this follows (Change Data Capture Developer Guide: "Change Event Message
 * Structure", "Change Event Storage and Delivery", "Gap Events", "Overflow Events"; Streaming API
 * Developer Guide: "Message Durability", "Streaming API Error Codes"):
 * - the replay id of the last event handled is stored (`feedName`), and a restart subscribes from
 *   it, so the events published while cosell was down are delivered then, none twice;
 * - events are kept 72 hours: an older replay id is refused (`400::The replayId {…} you provided was
 *   invalid…`). The documented way out is to subscribe again with -1 (new events only) — and since
 *   what happened in between is then unknown, a reconciliation cycle runs, which reads every change
 *   since the last cycle by SystemModstamp (the poll cursor moves only with cycles);
 * - `GAP_*` events carry record ids but no field values (Salesforce could not build the event): the
 *   record is read anyway, so a targeted sync of those ids is complete; a gap without ids, a
 *   `GAP_OVERFLOW` (over 100,000 changes in one transaction, no ids) or an id that is not an
 *   opportunity's (a wildcard) asks for a reconciliation;
 * - DELETE and UNDELETE ask for a reconciliation: a targeted read does not see the Recycle Bin, the
 *   cycle's `queryAll` does;
 * - `commitUser` is the user whose transaction it was: events of the integration user are cosell's
 *   own writes (echoes) and are skipped without a read (the engine's write ledger would also
 *   recognise them);
 * - the faye client keeps the token it was made with: after an authentication failure
 *   (`403::Handshake denied` / `401::Authentication invalid`, advice `reconnect: none`) the session
 *   is renewed and a new client subscribes from the last handled replay id.
 */

/** The Opportunity change-event channel. */
export const OPPORTUNITY_CHANNEL = "/data/OpportunityChangeEvent";
/** The feed position's name in the state store. */
export const OPPORTUNITY_FEED = `salesforce:${OPPORTUNITY_CHANNEL}`;
/** Replay id meaning "only events published from now on". */
const NEW_EVENTS_ONLY = -1;

/** Where the last handled replay id is kept (the state store's feed positions). */
export interface FeedPositions {
  getFeedPosition(feed: string): string | undefined;
  setFeedPosition(feed: string, position: string): void;
}

/** What the subscriber does with what the events say. */
export interface ChangeEventHandlers {
  /** Opportunities a committed transaction changed: sync each (a targeted sync). */
  records(ids: string[]): void | Promise<void>;
  /** The events cannot say what changed (expired replay id, gap, overflow, delete): run a cycle. */
  reconcile(reason: string): void | Promise<void>;
  /** An event skipped without a read (`echo`: the integration user's own write). */
  skipped?(reason: "echo", replayId: number): void;
  /** The subscription's state changed (readiness). */
  stateChanged?(state: ChangeSubscriptionState): void;
}

/** The subscription as readiness reports it. */
export interface ChangeSubscriptionState {
  connected: boolean;
  /** Why it is not connected. */
  reason?: string;
  /** The last replay id handled (stored), if any. */
  lastReplayId?: number;
  /** When the last event was handled. */
  lastEventAt?: Date;
}

/** A running subscription. */
export interface ChangeSubscription {
  state(): ChangeSubscriptionState;
  /** Disconnects; events already received are handled (and their position stored) first. */
  stop(): Promise<void>;
}

/** What the subscriber needs of the adapter's Salesforce client. */
export interface StreamingSession {
  connection(): Promise<Connection>;
  renewSession(): Promise<Connection>;
  /** The integration user's id, once logged in. */
  userId(): string | undefined;
}

/** Settings of {@link subscribeOpportunityChanges}. */
export interface SubscribeOptions {
  session: StreamingSession;
  positions: FeedPositions;
  handlers: ChangeEventHandlers;
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Waits before a failed subscription is tried again (tests pass a short one). Default 5 s → 5 min. */
  retryDelayMs?: (attempt: number) => number;
  now?: () => Date;
}

/** One delivered change event (the CometD message's `data`). */
interface ChangeEventMessage {
  payload?: { ChangeEventHeader?: ChangeEventHeader };
  event?: { replayId?: number | string };
}
interface ChangeEventHeader {
  entityName?: string;
  recordIds?: string[];
  changeType?: string;
  commitUser?: string;
}

/** What cosell uses of faye's client (jsforce's bundled typings omit `disconnect` and `on`). */
interface FayeClient {
  subscribe(channel: string, listener: (m: unknown) => void): PromiseLike<void>;
  disconnect(): unknown;
  on(event: "transport:up" | "transport:down", fn: () => void): void;
}

const defaultRetry = (attempt: number) => Math.min(300_000, 5000 * 2 ** Math.max(0, attempt - 1));

/** Ids compare on their case-sensitive 15-character form (the 18-character form adds a checksum). */
const sameId = (a: string | undefined, b: string | undefined) =>
  !!a && !!b && a.slice(0, 15) === b.slice(0, 15);

/** faye's errors are not `Error`s: `{ code, params, message }` (Bayeux `code:params:message`). */
function text(e: unknown): string {
  const m = (e as { message?: unknown } | undefined)?.message;
  return typeof m === "string" && m ? m : errorMessage(e);
}

/** Salesforce's answer to a replay id outside the retention window (or never published). */
function isInvalidReplay(e: unknown): boolean {
  return /replayId \{?[^}\s]*\}? you provided was invalid/i.test(text(e));
}

/** Starts the subscription to {@link OPPORTUNITY_CHANNEL}; it runs (and reconnects) until stopped. */
export function subscribeOpportunityChanges(o: SubscribeOptions): ChangeSubscription {
  const retryDelay = o.retryDelayMs ?? defaultRetry;
  const now = o.now ?? (() => new Date());
  const stored = Number(o.positions.getFeedPosition(OPPORTUNITY_FEED));
  let lastReplayId: number | undefined = Number.isInteger(stored) && stored > 0 ? stored : undefined;
  let lastEventAt: Date | undefined;
  let connected = false;
  let reason = "Subscribing to Opportunity change events.";
  let client: FayeClient | undefined;
  let generation = 0;
  let attempt = 0;
  /** Authentication failures since the last successful subscription. */
  let authFailures = 0;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  /** Events are handled one after another, in replay order. */
  let chain: Promise<void> = Promise.resolve();

  const state = (): ChangeSubscriptionState => ({
    connected,
    ...(connected ? {} : { reason }),
    ...(lastReplayId !== undefined ? { lastReplayId } : {}),
    ...(lastEventAt ? { lastEventAt } : {}),
  });
  const setState = (up: boolean, why?: string) => {
    connected = up;
    if (why) reason = why;
    o.handlers.stateChanged?.(state());
  };

  const handle = async (m: ChangeEventMessage) => {
    const replayId = Number(m.event?.replayId);
    const h = m.payload?.ChangeEventHeader ?? {};
    const type = String(h.changeType ?? "");
    const ids = (h.recordIds ?? []).map(String);
    if (sameId(h.commitUser, o.session.userId())) o.handlers.skipped?.("echo", replayId);
    else if (type === "GAP_OVERFLOW") await o.handlers.reconcile("change events overflowed (GAP_OVERFLOW)");
    else if (type === "DELETE" || type === "UNDELETE" || type === "GAP_DELETE" || type === "GAP_UNDELETE")
      await o.handlers.reconcile(`an opportunity was ${type.replace(/^GAP_/, "").toLowerCase()}d`);
    else if (!ids.length || !ids.every(isOpportunityId))
      await o.handlers.reconcile(`a ${type || "change"} event without opportunity ids`);
    else await o.handlers.records(ids);
    if (Number.isInteger(replayId) && replayId > 0) {
      o.positions.setFeedPosition(OPPORTUNITY_FEED, String(replayId));
      lastReplayId = replayId;
    }
    lastEventAt = now();
  };

  const onMessage = (raw: unknown) => {
    chain = chain
      .then(() => handle((raw ?? {}) as ChangeEventMessage))
      .catch((e: unknown) => {
        // The position does not move past an event that failed: a restart gets it again, and the
        // reconciliation poll covers it meanwhile.
        o.logger?.warn(
          { code: "SALESFORCE_CHANGE_EVENT_FAILED" },
          `a change event could not be handled: ${errorMessage(e)}`,
        );
      });
  };

  const drop = () => {
    generation++;
    const c = client;
    client = undefined;
    try {
      c?.disconnect();
    } catch {
      // A client that never connected has nothing to disconnect.
    }
  };

  const retryLater = (why: string, renew = false) => {
    if (stopped) return;
    attempt++;
    const wait = retryDelay(attempt);
    setState(
      false,
      `${why} Trying again in ${Math.round(wait / 1000)} s; the reconciliation poll runs meanwhile.`,
    );
    o.logger?.warn({ code: "SALESFORCE_CHANGE_EVENTS_DOWN", retryInMs: wait }, why);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => void connect(renew), wait);
    retryTimer.unref?.();
  };

  const connect = async (renew: boolean, from?: number): Promise<void> => {
    if (stopped) return;
    drop();
    const mine = generation;
    let conn: Connection;
    try {
      conn = renew ? await o.session.renewSession() : await o.session.connection();
    } catch (e) {
      return retryLater(`Salesforce login for change events failed: ${errorMessage(e)}.`);
    }
    if (stopped || mine !== generation) return;
    // Wait for the events already received: the replay id must be the last one handled.
    await chain;
    const replayFrom = from ?? lastReplayId ?? NEW_EVENTS_ONLY;
    const c = conn.streaming.createClient([
      new StreamingExtension.Replay(OPPORTUNITY_CHANNEL, replayFrom),
      new StreamingExtension.AuthFailure(() => {
        if (mine !== generation || stopped) return;
        authFailures++;
        // A renewed session refused again is not an expiry: wait before asking for another.
        if (authFailures > 1) {
          drop();
          return retryLater("Salesforce refused the streaming session again after renewing it.", true);
        }
        o.logger?.info({}, "Salesforce refused the streaming session; renewing it and subscribing again");
        setState(false, "The Salesforce session expired; renewing it.");
        void connect(true);
      }),
    ]) as unknown as FayeClient;
    client = c;
    let subscribed = false;
    c.on("transport:down", () => {
      if (mine === generation && !stopped)
        setState(false, "The connection to Salesforce's Streaming API is down; reconnecting.");
    });
    c.on("transport:up", () => {
      if (mine === generation && !stopped && subscribed) setState(true);
    });
    try {
      await c.subscribe(OPPORTUNITY_CHANNEL, (m) => {
        if (mine === generation) onMessage(m);
      });
    } catch (e) {
      if (mine !== generation || stopped) return;
      if (isInvalidReplay(e) && replayFrom !== NEW_EVENTS_ONLY) {
        // Older than the 72-hour retention (Streaming API: "Message Durability"; Change Data
        // Capture: "Change Event Storage and Delivery"): the events in between are gone. Subscribe for
        // new events, then let a cycle find what changed meanwhile — in this order, so nothing falls
        // between the two.
        o.logger?.warn(
          { replayId: replayFrom },
          "the stored replay id is outside Salesforce's 72-hour retention; subscribing for new events and reconciling",
        );
        lastReplayId = undefined;
        await connect(false, NEW_EVENTS_ONLY);
        await o.handlers.reconcile("the stored replay id is older than Salesforce's 72-hour event retention");
        return;
      }
      return retryLater(`Subscribing to ${OPPORTUNITY_CHANNEL} failed: ${text(e)}.`);
    }
    if (mine !== generation || stopped) return;
    subscribed = true;
    attempt = 0;
    authFailures = 0;
    o.logger?.info({ channel: OPPORTUNITY_CHANNEL, replayFrom }, "subscribed to Salesforce change events");
    setState(true);
  };

  void connect(false);

  return {
    state,
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      drop();
      setState(false, "Stopped.");
      await chain;
    },
  };
}
