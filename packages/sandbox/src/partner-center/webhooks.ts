import { randomUUID, sign } from "node:crypto";
import type { SandboxClock } from "../kit/index.js";
import { invalidRequest, PartnerCenterError } from "./errors.js";
import { createWebhookSigningChain, type WebhookSigningChain } from "./webhook-ca.js";

/**
 * Partner Center's webhooks for referrals, emulated: one registration per tenant (Partner Center keeps
 * one URL per event), events delivered after the response as signed POSTs, every delivery recorded.
 *
 * Wire format ("Partner Center webhooks"; what core's `WebhookReceiver` verifies):
 * body `{"EventName","ResourceUri","ResourceName","AuditUri":null,"ResourceChangeUtcDate"}`,
 * headers `Authorization: Signature <base64 RSA-SHA256 of the raw body>`,
 * `x-ms-certificate-url: <webhook origin>/cert/pcnotifications-dispatch.microsoft.com.cer` (the
 * signing certificate and its intermediate, PEM) and `x-ms-signature-algorithm: rsa-sha256`. The
 * signing certificate's subject is `O=Microsoft Corporation`; it chains to a test root made at start
 * (see webhook-ca.ts) that a receiver trusts only through its configuration.
 *
 * Delivery: a failed attempt (no answer, or not 2xx) is retried; Partner Center tries 10 times in
 * all before it gives up ("Partner Center webhooks"). Its retry intervals are not documented; the
 * emulator waits `retryDelayMs`, doubling, in real time.
 */

/** Every event the emulated tenant can register for: the referral events and the documented test event. */
export const WEBHOOK_EVENTS = [
  "referral-created",
  "referral-updated",
  "related-referral-created",
  "related-referral-updated",
  "test-created",
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** Paths of the webhook API on its own origin (production: `https://api.partnercenter.microsoft.com`). */
export const WEBHOOK_REGISTRATION_PATH = "/webhooks/v1/registration";
/** Where the signing certificate is served (production: a blob-storage host, `/cert/…`). */
export const WEBHOOK_CERTIFICATE_PATH = "/cert/pcnotifications-dispatch.microsoft.com.cer";
/** Attempts per event, the first included ("Partner Center webhooks": 10). */
export const WEBHOOK_DELIVERY_ATTEMPTS = 10;

export interface WebhookRegistrationState {
  subscriberId: string;
  url: string;
  events: WebhookEventName[];
}

/** One event's delivery (all its attempts), as recorded for the control API. */
export interface WebhookDelivery {
  id: string;
  event: WebhookEventName;
  /** The referral, or the validation event's correlation id for `test-created`. */
  referralId: string;
  url: string;
  /** The exact body sent (what the signature covers). */
  body: string;
  headers: Record<string, string>;
  /** Sandbox time the event was raised. */
  raisedAt: string;
  /** HTTP status the receiver answered last, when it answered. */
  status?: number;
  /** Why the last attempt failed (network error, timeout, refused host). */
  error?: string;
  /** Whether the receiver answered 2xx. */
  ok: boolean;
  /** Every attempt: status or error, and when (real time). */
  attempts: { at: string; status?: number; error?: string }[];
}

export interface WebhookHubOptions {
  clock: SandboxClock;
  /** The referrals API origin (ResourceUri); known once the server listens. */
  origin: () => string;
  /** The webhook API origin (certificate URL, validation events); known once its server listens. */
  webhookOrigin: () => string;
  /** The signing chain to reuse (from a snapshot); a new one is made on first use otherwise. */
  chain?: WebhookSigningChain;
  /**
   * Deliver to hosts other than loopback. Off by default: the sandbox must not reach the network,
   * so deliveries to other hosts are recorded as refused.
   */
  allowNonLoopback?: boolean;
  /** Per-attempt timeout. Default 10 s. */
  timeoutMs?: number;
  /** Wait before the first retry, doubled for each next one. Default 200 ms. */
  retryDelayMs?: number;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

function parseRegistrationBody(body: unknown): { url: string; events: WebhookEventName[] } {
  const b = (body ?? {}) as { WebhookUrl?: unknown; WebhookEvents?: unknown };
  if (typeof b.WebhookUrl !== "string" || !b.WebhookUrl)
    throw invalidRequest('Field "WebhookUrl" is required: the absolute URL that receives the events.', {
      fields: ["WebhookUrl"],
    });
  let url: URL;
  try {
    url = new URL(b.WebhookUrl);
  } catch {
    throw invalidRequest(`Field "WebhookUrl" must be an absolute URL (got "${b.WebhookUrl}").`, {
      fields: ["WebhookUrl"],
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw invalidRequest(`Field "WebhookUrl" must be an http(s) URL (got "${b.WebhookUrl}").`, {
      fields: ["WebhookUrl"],
    });
  if (!Array.isArray(b.WebhookEvents) || b.WebhookEvents.length === 0)
    throw invalidRequest(`Field "WebhookEvents" must list at least one of ${WEBHOOK_EVENTS.join(", ")}.`, {
      fields: ["WebhookEvents"],
    });
  const unknown = b.WebhookEvents.filter((e) => !(WEBHOOK_EVENTS as readonly unknown[]).includes(e));
  if (unknown.length)
    throw invalidRequest(
      `Field "WebhookEvents" has unknown events ${unknown.map((e) => JSON.stringify(e)).join(", ")}; use ${WEBHOOK_EVENTS.join(", ")}.`,
      { fields: ["WebhookEvents"] },
    );
  return { url: url.href, events: [...new Set(b.WebhookEvents as WebhookEventName[])] };
}

/** Registration, signing and delivery of Partner Center's webhook events. */
export class WebhookHub {
  private registration: WebhookRegistrationState | undefined;
  private chain: Promise<WebhookSigningChain> | undefined;
  private made: WebhookSigningChain | undefined;
  private readonly log: WebhookDelivery[] = [];
  private queue: Promise<void> = Promise.resolve();
  private pending = new Set<Promise<void>>();
  /** Scheduled retries: cancelled by {@link shutdown}. */
  private retries = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  constructor(private readonly options: WebhookHubOptions) {
    if (options.chain) {
      this.made = options.chain;
      this.chain = Promise.resolve(options.chain);
    }
  }

  /**
   * The signing chain, made on first use (three RSA keys take a moment: sandboxes that never send
   * an event never pay for them).
   */
  signingChain(): Promise<WebhookSigningChain> {
    this.chain ??= createWebhookSigningChain(this.options.clock.now()).then((c) => {
      this.made = c;
      return c;
    });
    return this.chain;
  }

  /** What the certificate URL serves: the signing certificate, then its intermediate (PEM). */
  async certificateDocument(): Promise<string> {
    const c = await this.signingChain();
    return c.leaf.certPem + c.intermediate.certPem;
  }

  /** The test root a receiver must trust (core's `trustedRootCertificates`). */
  async trustedRootPem(): Promise<string> {
    return (await this.signingChain()).root.certPem;
  }

  /** The chain, if made (kept in snapshots so that receivers configured with its root keep working). */
  madeChain(): WebhookSigningChain | undefined {
    return this.made;
  }

  /** The wire form of the registration: `{ SubscriberId, WebhookUrl, WebhookEvents }`. */
  static toWire(r: WebhookRegistrationState): Record<string, unknown> {
    return { SubscriberId: r.subscriberId, WebhookUrl: r.url, WebhookEvents: [...r.events] };
  }

  current(): WebhookRegistrationState | undefined {
    return this.registration && structuredClone(this.registration);
  }

  /** POST: refuses (409) when any requested event already has a URL. */
  create(body: unknown): WebhookRegistrationState {
    const wanted = parseRegistrationBody(body);
    if (this.registration) {
      const taken =
        wanted.events.find((e) => this.registration?.events.includes(e)) ?? this.registration.events[0];
      throw new PartnerCenterError(
        409,
        "conflict",
        `A webhook is already registered for ${taken} at ${this.registration.url}; PUT to replace it.`,
        { target: "webhook", reason: "WEBHOOK_ALREADY_REGISTERED" },
      );
    }
    this.registration = { subscriberId: randomUUID(), ...wanted };
    return structuredClone(this.registration);
  }

  /** PUT: replaces the registration (or creates it). */
  replace(body: unknown): WebhookRegistrationState {
    const wanted = parseRegistrationBody(body);
    this.registration = { subscriberId: this.registration?.subscriberId ?? randomUUID(), ...wanted };
    return structuredClone(this.registration);
  }

  /** DELETE: returns whether there was a registration. */
  remove(): boolean {
    const had = !!this.registration;
    this.registration = undefined;
    return had;
  }

  /** Restores a registration from a snapshot. */
  restore(r: WebhookRegistrationState | undefined): void {
    this.registration = r && structuredClone(r);
  }

  /**
   * Queues `event` for `referralId` if a URL is registered for it. Delivery starts on a later turn
   * of the event loop, so the API response that caused the event is written first; first attempts
   * go out one at a time, in order; retries follow on their own.
   */
  emit(event: WebhookEventName, referralId: string): WebhookDelivery | undefined {
    const reg = this.registration;
    if (!reg?.events.includes(event)) return undefined;
    const resourceUri =
      event === "test-created"
        ? `${this.options.webhookOrigin()}${WEBHOOK_REGISTRATION_PATH}/validationEvents/${encodeURIComponent(referralId)}`
        : `${this.options.origin()}/v1.0/engagements/referrals/${encodeURIComponent(referralId)}`;
    const body = JSON.stringify({
      EventName: event,
      ResourceUri: resourceUri,
      ResourceName: event === "test-created" ? "test" : "referral",
      AuditUri: null,
      ResourceChangeUtcDate: this.options.clock.now().toISOString(),
    });
    const delivery: WebhookDelivery = {
      id: randomUUID(),
      event,
      referralId,
      url: reg.url,
      body,
      headers: {},
      raisedAt: this.options.clock.now().toISOString(),
      ok: false,
      attempts: [],
    };
    this.log.push(delivery);
    const first = this.queue
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => this.sign(delivery))
      .then(() => this.deliver(delivery, 1));
    this.queue = first.then(
      () => undefined,
      () => undefined,
    );
    this.track(first);
    return delivery;
  }

  private track(p: Promise<void>): void {
    const settled = p.catch(() => undefined);
    this.pending.add(settled);
    void settled.finally(() => this.pending.delete(settled));
  }

  private async sign(d: WebhookDelivery): Promise<void> {
    const chain = await this.signingChain();
    d.headers = {
      "content-type": "application/json; charset=utf-8",
      authorization: `Signature ${sign("sha256", Buffer.from(d.body), chain.leaf.keyPem).toString("base64")}`,
      "x-ms-certificate-url": `${this.options.webhookOrigin()}${WEBHOOK_CERTIFICATE_PATH}`,
      "x-ms-signature-algorithm": "rsa-sha256",
    };
  }

  private async deliver(d: WebhookDelivery, attempt: number): Promise<void> {
    const host = new URL(d.url).hostname;
    if (!this.options.allowNonLoopback && !LOOPBACK.has(host)) {
      d.error = `Not delivered: ${host} is not a loopback host, and the sandbox does not reach the network.`;
      d.attempts.push({ at: new Date().toISOString(), error: d.error });
      return;
    }
    try {
      const res = await fetch(d.url, {
        method: "POST",
        headers: d.headers,
        body: d.body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      d.status = res.status;
      d.ok = res.ok;
      delete d.error;
      d.attempts.push({ at: new Date().toISOString(), status: res.status });
    } catch (e) {
      d.error = (e as Error).message;
      d.attempts.push({ at: new Date().toISOString(), error: d.error });
    }
    if (d.ok || attempt >= WEBHOOK_DELIVERY_ATTEMPTS || this.closed) return;
    const wait = (this.options.retryDelayMs ?? 200) * 2 ** (attempt - 1);
    this.track(
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.retries.delete(timer);
          resolve(true);
        }, wait);
        this.retries.set(timer, () => resolve(false));
      }).then((due) => (due ? this.deliver(d, attempt + 1) : undefined)),
    );
  }

  /**
   * `POST /webhooks/v1/registration/validationEvents`: sends a `test-created` event, which needs a
   * registration for it ("Partner Center webhooks"). Returns the correlation id to look it up by.
   */
  sendValidationEvent(): { correlationId: string } {
    if (!this.registration?.events.includes("test-created"))
      throw invalidRequest('Register for the "test-created" event before sending a validation event.', {
        fields: ["WebhookEvents"],
      });
    const correlationId = randomUUID();
    this.emit("test-created", correlationId);
    return { correlationId };
  }

  /** `GET /webhooks/v1/registration/validationEvents/{correlationId}`: the test event's attempts. */
  validationEvent(correlationId: string): Record<string, unknown> | undefined {
    const d = this.log.find((x) => x.event === "test-created" && x.referralId === correlationId);
    if (!d) return undefined;
    const done =
      d.ok || d.attempts.length >= WEBHOOK_DELIVERY_ATTEMPTS || d.error?.startsWith("Not delivered");
    return {
      correlationId,
      // "completed" is the documented value; "pending" while attempts remain is this emulator's reading.
      status: done ? "completed" : "pending",
      callbackUrl: d.url,
      results: d.attempts.map((a) => ({
        responseCode:
          a.status === undefined ? "" : a.status >= 200 && a.status < 300 ? "OK" : String(a.status),
        responseMessage: a.error ?? "",
        systemError: a.status === undefined,
        dateTimeUtc: a.at,
      })),
    };
  }

  /** Every delivery so far (copies), oldest first. */
  deliveries(): WebhookDelivery[] {
    return this.log.map((d) => structuredClone(d));
  }

  /** Stops scheduling retries (the sandbox is stopping) and waits for attempts in flight. */
  async shutdown(): Promise<void> {
    this.closed = true;
    for (const [timer, cancel] of this.retries) {
      clearTimeout(timer);
      cancel();
    }
    this.retries.clear();
    await this.idle();
  }

  /** Resolves once every queued delivery has succeeded or used up its attempts. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
