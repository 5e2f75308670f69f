import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { TokenRegistry } from "../../kit/index.js";
import {
  ALL_CHANGE_EVENTS,
  type ChangeEventBus,
  InvalidReplayIdError,
  type RetainedEvent,
} from "./change-events.js";
import { type BayeuxMessage, type FayeEngineHost, ReplayCapableEngine } from "./faye-engine.js";

/**
 * The Streaming API's CometD endpoint, `/cometd/<version>` (Streaming API Developer Guide: "How
 * the Client Connects", "Message Durability", "Handling Streaming API Errors", "Streaming API
 * Error Codes"), served by faye's Bayeux server with Salesforce's rules added as faye extensions:
 *
 * - every message needs `Authorization: OAuth <token>` (or Bearer) with a live session: a handshake
 *   without one fails `403::Handshake denied` with `ext.sfdc.failureReason` and `advice.reconnect:
 *   none`; a connect or subscribe fails `401::Authentication invalid` (reconnect none);
 * - the handshake answers `ext: { replay: true, "payload.format": true }` and long-polling only;
 * - a subscribe may carry `ext.replay: { <channel>: <replayId> }`: -1 new events only (also the
 *   default), -2 every retained event, or an id whose event is still retained (else
 *   `400::The replayId {id} you provided was invalid…`); the retained events after it are sent to
 *   that subscriber alone;
 * - only change-event channels exist here (`/data/<Object>ChangeEvent`, `/data/ChangeEvents`);
 * - the API version in the path is mandatory and at least 37.0.
 */

/** faye ships no types: what this endpoint uses of its documented server API (NodeAdapter). */
interface FayeNodeAdapter {
  addExtension(extension: {
    incoming(m: BayeuxMessage, req: IncomingMessage | null, cb: (m: BayeuxMessage) => void): void;
    outgoing(m: BayeuxMessage, req: IncomingMessage | null, cb: (m: BayeuxMessage) => void): void;
  }): void;
  handle(request: IncomingMessage, response: ServerResponse): void;
  close(): void;
}
const faye = createRequire(import.meta.url)("faye") as {
  NodeAdapter: new (options: {
    mount: string;
    timeout: number;
    engine: { type: { create(host: FayeEngineHost): unknown } };
  }) => FayeNodeAdapter;
};

/** Lowest API version the Streaming API accepts (Streaming API Error Codes). */
const MIN_VERSION = 37;

export interface CometdOptions {
  bus: ChangeEventBus;
  tokens: TokenRegistry;
  /** Seconds a `/meta/connect` is held open without events (Salesforce: 110). */
  longPollSeconds?: number;
}

/** The CometD endpoint: `handles(path)` says whether a request is its, `serve` answers it. */
export interface CometdEndpoint {
  handles(pathname: string): boolean;
  serve(req: IncomingMessage, res: ServerResponse): void;
  /** Subscribed CometD clients right now (tests, readiness of the emulator). */
  clientCount(): number;
  close(): void;
}

function sessionOf(tokens: TokenRegistry, request: IncomingMessage | null): "ok" | "missing" | "invalid" {
  // faye's own server-side client publishes with no HTTP request: trusted.
  if (!request) return "ok";
  const raw = request.headers.authorization;
  if (!raw) return "missing";
  const m = /^(?:OAuth|Bearer)\s+(.+)$/i.exec(raw);
  if (!m) return "invalid";
  return tokens.verifyBearer(`Bearer ${m[1]}`, "salesforce")?.subject ? "ok" : "invalid";
}

function toMessage(e: RetainedEvent, channel: string): BayeuxMessage {
  return { channel, data: e.data };
}

/** Builds the endpoint over the org's change-event bus. */
export function createCometdEndpoint(o: CometdOptions): CometdEndpoint {
  let engine: ReplayCapableEngine | undefined;
  const engineType = {
    create(host: FayeEngineHost) {
      engine = new ReplayCapableEngine(host);
      return engine;
    },
  };
  const adapter = new faye.NodeAdapter({
    mount: "/cometd",
    timeout: o.longPollSeconds ?? 110,
    engine: { type: engineType },
  });
  /** Replays owed to a subscriber, sent once its subscribe succeeded. */
  const owed = new Map<string, RetainedEvent[]>();
  const owedKey = (clientId: unknown, channel: unknown) => `${String(clientId)} ${String(channel)}`;

  adapter.addExtension({
    incoming(message: BayeuxMessage, request: IncomingMessage | null, callback: (m: BayeuxMessage) => void) {
      const session = sessionOf(o.tokens, request);
      if (session !== "ok") {
        const why =
          session === "missing" ? "401::Request requires authentication" : "401::Authentication invalid";
        message.error = message.channel === "/meta/handshake" ? "403::Handshake denied" : why;
        (message as { _failure?: string })._failure = why;
        return callback(message);
      }
      if (message.channel === "/meta/connect" && message.connectionType !== "long-polling") {
        message.error = `400::Invalid connection type ${String(message.connectionType)}`;
        return callback(message);
      }
      if (message.channel === "/meta/subscribe") {
        const channel = String(message.subscription ?? "");
        if (!channel) {
          message.error = "400::Channel name not specified";
          return callback(message);
        }
        if (!channel.startsWith("/")) {
          message.error = "400::Channel subscriptions must start with a leading '/'";
          return callback(message);
        }
        if (!o.bus.channelExists(channel)) {
          message.error = `400::The channel you requested to subscribe to does not exist ${channel}`;
          return callback(message);
        }
        const replay = (message.ext as { replay?: Record<string, unknown> } | undefined)?.replay;
        const from = replay?.[channel] ?? -1;
        try {
          const events = o.bus.replayFrom(channel, from as number);
          if (events.length) owed.set(owedKey(message.clientId, channel), events);
        } catch (e) {
          if (!(e instanceof InvalidReplayIdError)) throw e;
          message.error = e.message;
        }
        return callback(message);
      }
      // Clients publish nothing on change-event channels.
      if (request && !message.channel.startsWith("/meta/")) message.error = `403::Publishing is not allowed`;
      callback(message);
    },
    outgoing(reply: BayeuxMessage, _request: IncomingMessage | null, callback: (m: BayeuxMessage) => void) {
      if (reply.channel === "/meta/handshake") {
        if (reply.successful) {
          reply.ext = { replay: true, "payload.format": true };
          reply.supportedConnectionTypes = ["long-polling"];
        }
      }
      const error = typeof reply.error === "string" ? reply.error : "";
      if (
        /^403::Handshake denied/.test(error) ||
        /^401::(Authentication invalid|Request requires)/.test(error)
      ) {
        reply.advice = { reconnect: "none", interval: 0 };
        if (reply.channel === "/meta/handshake")
          reply.ext = {
            sfdc: { failureReason: error.startsWith("403") ? "401::Authentication invalid" : error },
          };
      }
      // faye says 401 for an unknown client; the Streaming API says 403 (and: handshake again).
      if (/^401:[^:]*:Unknown client/.test(error)) reply.error = "403::Unknown client";
      if (reply.channel === "/meta/subscribe" && reply.successful) {
        const key = owedKey(reply.clientId, reply.subscription);
        const events = owed.get(key);
        owed.delete(key);
        if (events && engine && reply.clientId)
          engine.deliverTo(
            String(reply.clientId),
            events.map((e) => toMessage(e, String(reply.subscription))),
          );
      }
      callback(reply);
    },
  });

  const unsubscribe = o.bus.subscribe((e) => {
    engine?.publish(toMessage(e, e.channel), [e.channel]);
    engine?.publish(toMessage(e, ALL_CHANGE_EVENTS), [ALL_CHANGE_EVENTS]);
  });

  return {
    handles: (pathname) => pathname === "/cometd" || pathname.startsWith("/cometd/"),
    serve(req, res) {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      const m = /^\/cometd\/(\d+)\.(\d+)\/?$/.exec(path);
      const refuse = (text: string) => {
        req.resume();
        res.writeHead(400, { "content-type": "text/plain;charset=UTF-8" });
        res.end(text);
      };
      if (!m) return refuse(`400::API version in the URI is mandatory. URI format: '/cometd/66.0'`);
      if (Number(m[1]) < MIN_VERSION)
        return refuse(
          `400::Unsupported API version. Only API versions '${MIN_VERSION}.0' and later are supported. URI format: '/cometd/66.0'`,
        );
      adapter.handle(req, res);
    },
    clientCount: () => engine?.connectedClients() ?? 0,
    close() {
      unsubscribe();
      adapter.close();
    },
  };
}
