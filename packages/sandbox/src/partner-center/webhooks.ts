import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  sign,
} from "node:crypto";
import type { SandboxClock } from "../kit/index.js";
import { invalidRequest, PartnerCenterError } from "./errors.js";

/**
 * Partner Center's webhooks for referrals, emulated: one registration per tenant (Partner Center keeps
 * one URL per event), events delivered after the response as signed POSTs, every delivery recorded.
 *
 * Wire format (what core's `createWebhookReceiver` verifies; do not change one without the other):
 * body `{"EventName","ResourceUri","ResourceName":"referral","AuditUri":null,"ResourceChangeUtcDate"}`,
 * headers `Authorization: Signature <base64 RSA-SHA256 of the raw body>`,
 * `x-ms-certificate-url: <origin>/webhooks/v1/certificate` (serves the public key as PEM) and
 * `x-ms-signature-algorithm: rsa-sha256`.
 */

/** Every referral event Partner Center can register for. */
export const WEBHOOK_EVENTS = [
  "referral-created",
  "referral-updated",
  "related-referral-created",
  "related-referral-updated",
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** Paths of the webhook API on the Partner Center origin. */
export const WEBHOOK_REGISTRATION_PATH = "/webhooks/v1/registration";
export const WEBHOOK_CERTIFICATE_PATH = "/webhooks/v1/certificate";

export interface WebhookRegistrationState {
  subscriberId: string;
  url: string;
  events: WebhookEventName[];
}

/** One attempt to deliver an event, as recorded for the control API. */
export interface WebhookDelivery {
  id: string;
  event: WebhookEventName;
  referralId: string;
  url: string;
  /** The exact body sent (what the signature covers). */
  body: string;
  headers: Record<string, string>;
  /** Sandbox time the event was raised. */
  raisedAt: string;
  /** HTTP status the receiver answered, when it answered. */
  status?: number;
  /** Why the delivery failed (network error, timeout, refused host). */
  error?: string;
  /** Whether the receiver answered 2xx. */
  ok: boolean;
}

export interface WebhookHubOptions {
  clock: SandboxClock;
  /** The Partner Center origin (ResourceUri and certificate URL); known once the server listens. */
  origin: () => string;
  /** PKCS#8 PEM of the signing key to reuse (from a snapshot); a new RSA key is generated otherwise. */
  signingKeyPem?: string;
  /**
   * Deliver to hosts other than loopback. Off by default: the sandbox must not reach the network,
   * so deliveries to other hosts are recorded as refused.
   */
  allowNonLoopback?: boolean;
  /** Per-delivery timeout. Default 10 s. */
  timeoutMs?: number;
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
  private readonly privateKey: KeyObject;
  private readonly publicPem: string;
  private readonly log: WebhookDelivery[] = [];
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(private readonly options: WebhookHubOptions) {
    this.privateKey = options.signingKeyPem
      ? createPrivateKey(options.signingKeyPem)
      : generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    this.publicPem = createPublicKey(this.privateKey).export({ type: "spki", format: "pem" }).toString();
  }

  /** The signing key's public half, PEM (what `GET /webhooks/v1/certificate` serves). */
  certificatePem(): string {
    return this.publicPem;
  }

  /** The signing key, PKCS#8 PEM (kept in snapshots so that receivers' cached keys stay valid). */
  signingKeyPem(): string {
    return this.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
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
   * of the event loop, so the API response that caused the event is written first; deliveries go out
   * one at a time, in order.
   */
  emit(event: WebhookEventName, referralId: string): void {
    const reg = this.registration;
    if (!reg?.events.includes(event)) return;
    const origin = this.options.origin();
    const body = JSON.stringify({
      EventName: event,
      ResourceUri: `${origin}/v1.0/engagements/referrals/${encodeURIComponent(referralId)}`,
      ResourceName: "referral",
      AuditUri: null,
      ResourceChangeUtcDate: this.options.clock.now().toISOString(),
    });
    const delivery: WebhookDelivery = {
      id: randomUUID(),
      event,
      referralId,
      url: reg.url,
      body,
      headers: {
        "content-type": "application/json; charset=utf-8",
        authorization: `Signature ${sign("sha256", Buffer.from(body), this.privateKey).toString("base64")}`,
        "x-ms-certificate-url": `${origin}${WEBHOOK_CERTIFICATE_PATH}`,
        "x-ms-signature-algorithm": "rsa-sha256",
      },
      raisedAt: this.options.clock.now().toISOString(),
      ok: false,
    };
    this.log.push(delivery);
    this.pending++;
    this.queue = this.queue
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => this.deliver(delivery))
      .finally(() => {
        this.pending--;
      });
  }

  private async deliver(d: WebhookDelivery): Promise<void> {
    const host = new URL(d.url).hostname;
    if (!this.options.allowNonLoopback && !LOOPBACK.has(host)) {
      d.error = `Not delivered: ${host} is not a loopback host, and the sandbox does not reach the network.`;
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
    } catch (e) {
      d.error = (e as Error).message;
    }
  }

  /** Every delivery so far (copies), oldest first. */
  deliveries(): WebhookDelivery[] {
    return this.log.map((d) => structuredClone(d));
  }

  /** Resolves once every queued delivery has been attempted. */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.queue;
  }
}
