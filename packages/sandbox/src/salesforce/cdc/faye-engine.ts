import { randomBytes } from "node:crypto";

/** A Bayeux message as faye hands it around. */
export type BayeuxMessage = Record<string, unknown> & { channel: string };

/**
 * What faye's engine proxy offers an engine (faye's `Engine.Proxy`, the object pluggable engines
 * such as faye-redis are created with).
 */
export interface FayeEngineHost {
  timeout: number;
  hasConnection(clientId: string): boolean;
  deliver(clientId: string, messages: BayeuxMessage[]): boolean;
  trigger(event: string, ...args: unknown[]): void;
}

type Cb<T> = ((this: unknown, value: T) => void) | undefined;

/**
 * An in-memory faye engine (the `engine.type` plug-in point of `faye.NodeAdapter`) that, besides
 * what faye's own memory engine does (clients, subscriptions, per-client queues, expiry), can
 * deliver to ONE client: Salesforce's replay extension sends a subscriber the retained events after
 * its replay id, which no other subscriber must see again. faye itself has no per-client publish.
 */
export class ReplayCapableEngine {
  private readonly clients = new Set<string>();
  private readonly subscriptions = new Map<string, Set<string>>();
  private readonly channels = new Map<string, Set<string>>();
  private readonly queues = new Map<string, BayeuxMessage[]>();
  private readonly expiry = new Map<string, NodeJS.Timeout>();

  constructor(private readonly host: FayeEngineHost) {}

  createClient(callback: Cb<string>, context?: unknown): void {
    let id = randomBytes(16).toString("hex");
    while (this.clients.has(id)) id = randomBytes(16).toString("hex");
    this.clients.add(id);
    this.ping(id);
    this.host.trigger("handshake", id);
    callback?.call(context, id);
  }

  clientExists(clientId: string, callback: Cb<boolean>, context?: unknown): void {
    callback?.call(context, this.clients.has(clientId));
  }

  destroyClient(clientId: string, callback?: Cb<void>, context?: unknown): void {
    if (!this.clients.has(clientId)) return;
    for (const channel of [...(this.subscriptions.get(clientId) ?? [])]) this.unsubscribe(clientId, channel);
    clearTimeout(this.expiry.get(clientId));
    this.expiry.delete(clientId);
    this.clients.delete(clientId);
    this.queues.delete(clientId);
    this.host.trigger("disconnect", clientId);
    this.host.trigger("close", clientId);
    callback?.call(context, undefined);
  }

  /** A client that does not reconnect within twice the long-poll timeout is forgotten (faye's rule). */
  ping(clientId: string): void {
    const timeout = this.host.timeout;
    if (typeof timeout !== "number") return;
    clearTimeout(this.expiry.get(clientId));
    const t = setTimeout(() => this.destroyClient(clientId), 2 * timeout * 1000);
    t.unref();
    this.expiry.set(clientId, t);
  }

  subscribe(clientId: string, channel: string, callback?: Cb<boolean>, context?: unknown): void {
    const subs = this.subscriptions.get(clientId) ?? new Set<string>();
    this.subscriptions.set(clientId, subs);
    const added = !subs.has(channel);
    subs.add(channel);
    const members = this.channels.get(channel) ?? new Set<string>();
    this.channels.set(channel, members);
    members.add(clientId);
    if (added) this.host.trigger("subscribe", clientId, channel);
    callback?.call(context, true);
  }

  unsubscribe(clientId: string, channel: string, callback?: Cb<boolean>, context?: unknown): void {
    const had = this.subscriptions.get(clientId)?.delete(channel) ?? false;
    if (this.subscriptions.get(clientId)?.size === 0) this.subscriptions.delete(clientId);
    this.channels.get(channel)?.delete(clientId);
    if (this.channels.get(channel)?.size === 0) this.channels.delete(channel);
    if (had) this.host.trigger("unsubscribe", clientId, channel);
    callback?.call(context, true);
  }

  /** Clients known right now (handshaken and not yet expired or disconnected). */
  connectedClients(): number {
    return this.clients.size;
  }

  isSubscribed(clientId: string, channel: string): boolean {
    return this.subscriptions.get(clientId)?.has(channel) ?? false;
  }

  /** `channels` is the message's channel expanded with its wildcards (faye passes it). */
  publish(message: BayeuxMessage, channels: string[]): void {
    const to = new Set<string>();
    for (const c of channels) for (const id of this.channels.get(c) ?? []) to.add(id);
    for (const id of to) this.enqueue(id, [message]);
    this.host.trigger("publish", message.clientId, message.channel, message.data);
  }

  /** Delivers `messages` to one client only (a replay). */
  deliverTo(clientId: string, messages: BayeuxMessage[]): void {
    if (this.clients.has(clientId) && messages.length) this.enqueue(clientId, messages);
  }

  emptyQueue(clientId: string): void {
    if (!this.host.hasConnection(clientId)) return;
    const q = this.queues.get(clientId);
    if (!q?.length) return;
    this.queues.delete(clientId);
    this.host.deliver(clientId, q);
  }

  disconnect(): void {
    for (const t of this.expiry.values()) clearTimeout(t);
    this.expiry.clear();
    this.clients.clear();
    this.subscriptions.clear();
    this.channels.clear();
    this.queues.clear();
  }

  private enqueue(clientId: string, messages: BayeuxMessage[]): void {
    const q = this.queues.get(clientId) ?? [];
    this.queues.set(clientId, q);
    // The connection deletes fields of what it delivers: each client gets its own copy.
    for (const m of messages) q.push(structuredClone(m));
    this.emptyQueue(clientId);
  }
}
