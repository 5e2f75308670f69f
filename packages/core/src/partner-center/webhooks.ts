import { createPublicKey, type KeyObject, verify, X509Certificate } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { CoSellError, errorMessage, RemoteApiError } from "../errors.js";
import type { PartnerCenterHttp } from "./http.js";
import { isLoopbackHost, requireSecureUrl } from "./tls.js";

/**
 * Partner Center change notifications for referrals.
 *
 * Webhook events are **hints**: delivery is best-effort (Partner Center gives up after 10 attempts,
 * events are lost while the receiver is down), so the periodic poll ordered by `updatedDateTime` still
 * reconciles everything. An event only makes cosell look at one referral sooner (market.md §5.6).
 */

/** The referral events Partner Center sends (partner-center-webhook-events). */
export const REFERRAL_WEBHOOK_EVENTS = [
  "referral-created",
  "referral-updated",
  "related-referral-created",
  "related-referral-updated",
] as const;
/** One of {@link REFERRAL_WEBHOOK_EVENTS}. */
export const WebhookEventSchema = z.enum(REFERRAL_WEBHOOK_EVENTS);
export type WebhookEvent = z.infer<typeof WebhookEventSchema>;

/** What cosell registers by default: its own referrals being created or changed. */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEvent[] = ["referral-created", "referral-updated"];

/** The registration body and answer of `{origin}/webhooks/v1/registration` [doc: partner-center-webhooks]. */
export const WebhookRegistrationBodySchema = z
  .object({
    SubscriberId: z.string().nullish(),
    WebhookUrl: z.string().nullish(),
    WebhookEvents: z.array(z.string()).nullish(),
  })
  .loose();
type WebhookRegistrationBody = z.infer<typeof WebhookRegistrationBodySchema>;

/** The tenant's registration: one URL receives every event listed. */
export interface WebhookRegistration {
  url: string;
  events: string[];
  subscriberId?: string;
}

/** What to register: cosell's receiver URL and the events it wants. */
export interface RegisterWebhookOptions {
  /** The public https URL of cosell's receiver. */
  url: string;
  /** Default {@link DEFAULT_WEBHOOK_EVENTS}. */
  events?: readonly WebhookEvent[];
  /**
   * Take the registration over from another URL. Partner Center keeps one URL per event, so this
   * stops delivery to that other receiver (Microsoft's co-sell connector, another tool): only set it
   * when that receiver is no longer used.
   */
  replace?: boolean;
}

/** The outcome of {@link registerWebhook}. */
export interface WebhookRegistrationResult {
  /** What was done: nothing needed, a first registration, events added to ours, or another URL replaced. */
  action: "unchanged" | "created" | "updated" | "replaced";
  registration: WebhookRegistration;
  /** The registration before a replace. */
  previous?: WebhookRegistration;
}

function toRegistration(body: WebhookRegistrationBody | undefined): WebhookRegistration | undefined {
  if (!body?.WebhookUrl) return undefined;
  return {
    url: body.WebhookUrl,
    events: body.WebhookEvents ?? [],
    ...(body.SubscriberId ? { subscriberId: body.SubscriberId } : {}),
  };
}

function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return a === b;
  }
}

function alreadyRegistered(current: WebhookRegistration, url: string): CoSellError {
  return new CoSellError(
    "WEBHOOK_ALREADY_REGISTERED",
    `Partner Center already sends ${current.events.join(", ") || "events"} for this tenant to ${current.url}. It keeps one URL per event, so registering ${url} would silently cut that receiver off (often Microsoft's co-sell connector or another tool). Remove that registration first, or register with replace if that receiver is no longer used. Without webhooks cosell still picks up every change by polling.`,
    { registeredUrl: current.url, registeredEvents: current.events, requestedUrl: url },
  );
}

/** The tenant's current webhook registration, or `undefined` (404 or no URL). */
export async function getWebhookRegistration(
  http: PartnerCenterHttp,
  endpoint: string,
): Promise<WebhookRegistration | undefined> {
  try {
    const res = await http.send({
      method: "GET",
      url: endpoint,
      schema: WebhookRegistrationBodySchema,
      what: "webhook registration",
    });
    return toRegistration(res.body);
  } catch (e) {
    if (e instanceof RemoteApiError && e.status === 404) return undefined;
    throw e;
  }
}

/**
 * Registers cosell's receiver. Reads the current registration first and never silently replaces
 * another URL: that throws `WEBHOOK_ALREADY_REGISTERED` naming it, unless `replace` is set (a 409 from
 * the POST means the same). Registering the same URL again only adds missing events.
 */
export async function registerWebhook(
  http: PartnerCenterHttp,
  endpoint: string,
  options: RegisterWebhookOptions,
): Promise<WebhookRegistrationResult> {
  const url = requireSecureUrl("webhook url", options.url).href;
  const events = [...new Set(options.events ?? DEFAULT_WEBHOOK_EVENTS)];
  if (!events.length)
    throw new CoSellError(
      "WEBHOOK_NO_EVENTS",
      `Name at least one event to register (${REFERRAL_WEBHOOK_EVENTS.join(", ")}).`,
    );
  const current = await getWebhookRegistration(http, endpoint);

  const write = async (method: "POST" | "PUT", body: { WebhookUrl: string; WebhookEvents: string[] }) => {
    const res = await http.send({
      method,
      url: endpoint,
      body,
      schema: WebhookRegistrationBodySchema,
      what: "webhook registration",
      // A POST whose answer was lost may have landed: it did if the registration now is ours.
      recover: async () => {
        const now = await getWebhookRegistration(http, endpoint);
        return now && sameUrl(now.url, url) && body.WebhookEvents.every((e) => now.events.includes(e))
          ? { WebhookUrl: now.url, WebhookEvents: now.events, SubscriberId: now.subscriberId }
          : undefined;
      },
    });
    return toRegistration(res.body) ?? { url, events: body.WebhookEvents };
  };

  if (!current) {
    try {
      return {
        action: "created",
        registration: await write("POST", { WebhookUrl: url, WebhookEvents: events }),
      };
    } catch (e) {
      if (!(e instanceof RemoteApiError && e.status === 409)) throw e;
      const other = await getWebhookRegistration(http, endpoint);
      if (other && sameUrl(other.url, url)) return registerWebhook(http, endpoint, options);
      throw alreadyRegistered(other ?? { url: "another URL", events: [] }, url);
    }
  }
  if (sameUrl(current.url, url)) {
    const missing = events.filter((e) => !current.events.includes(e));
    if (!missing.length) return { action: "unchanged", registration: current };
    return {
      action: "updated",
      registration: await write("PUT", { WebhookUrl: url, WebhookEvents: [...current.events, ...missing] }),
    };
  }
  if (!options.replace) throw alreadyRegistered(current, url);
  return {
    action: "replaced",
    registration: await write("PUT", { WebhookUrl: url, WebhookEvents: events }),
    previous: current,
  };
}

/** Deletes the registration when it points at `url` (someone else's is left alone). */
export async function unregisterWebhook(
  http: PartnerCenterHttp,
  endpoint: string,
  options: { url: string },
): Promise<boolean> {
  const current = await getWebhookRegistration(http, endpoint);
  if (!current || !sameUrl(current.url, options.url)) return false;
  await http.send({ method: "DELETE", url: endpoint });
  return true;
}

// ── Receiving events ────────────────────────────────────────────────────────────────────────────

/** The host that serves Partner Center's signing certificate by default. */
export const DEFAULT_TRUSTED_CERTIFICATE_HOSTS: readonly string[] = ["api.partnercenter.microsoft.com"];

/** A verified event, reduced to what the sync needs: which referral to look at, and since when. */
export interface WebhookHint {
  referralId: string;
  event: WebhookEvent;
  /** `ResourceChangeUtcDate`. */
  changedAt: Date;
  /** `ResourceUri` as sent. */
  resourceUri: string;
}

/** An event was refused; `httpStatus` is what the receiver answers Partner Center. */
export class WebhookVerificationError extends CoSellError {
  readonly httpStatus: number;
  constructor(code: string, message: string, httpStatus: number, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.httpStatus = httpStatus;
  }
}

/** Settings of {@link createWebhookReceiver}. */
export interface WebhookReceiverOptions {
  /**
   * Hosts the signing certificate may be fetched from (`host` or `host:port`), over https. Default
   * {@link DEFAULT_TRUSTED_CERTIFICATE_HOSTS}. A loopback host (the sandbox) may use plain http, and
   * only when it is listed here.
   */
  trustedCertificateHosts?: readonly string[];
  /** Events accepted; default every referral event. */
  events?: readonly WebhookEvent[];
  /** Fetches the certificate; defaults to the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /** How long a fetched certificate is reused. Default 24 h. */
  certificateCacheMs?: number;
  /** Clock for certificate validity and cache age. */
  now?: () => Date;
}

/** Request headers as `node:http` gives them, or a fetch `Headers`. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** Checks Partner Center's signature on an event and turns it into a {@link WebhookHint}. */
export interface WebhookReceiver {
  /**
   * Verifies `rawBody` (the exact bytes received) against `Authorization: Signature …` with the key
   * from `x-ms-certificate-url`, then reads the event. Throws {@link WebhookVerificationError}.
   */
  verify(rawBody: Buffer, headers: WebhookHeaders): Promise<WebhookHint>;
}

const EventBodySchema = z
  .object({
    EventName: z.string(),
    ResourceUri: z.string(),
    ResourceName: z.string().nullish(),
    AuditUri: z.string().nullish(),
    ResourceChangeUtcDate: z.string(),
  })
  .loose();

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : headers[key];
  return Array.isArray(v) ? v[0] : v;
}

/** The RSA public key in a PEM/DER certificate or a PEM public key. */
function rsaKeyFrom(bytes: Buffer, now: Date, url: string): KeyObject {
  const text = bytes.toString("utf8");
  let key: KeyObject;
  try {
    if (text.includes("-----BEGIN CERTIFICATE-----") || !text.includes("-----BEGIN")) {
      const cert = new X509Certificate(text.includes("-----BEGIN") ? text : bytes);
      if (now < new Date(cert.validFrom) || now > new Date(cert.validTo))
        throw new WebhookVerificationError(
          "WEBHOOK_CERTIFICATE_EXPIRED",
          `The signing certificate at ${url} is not valid now (valid ${cert.validFrom} – ${cert.validTo}).`,
          401,
          { certificateUrl: url },
        );
      key = cert.publicKey;
    } else key = createPublicKey(text);
  } catch (e) {
    if (e instanceof WebhookVerificationError) throw e;
    throw new WebhookVerificationError(
      "WEBHOOK_CERTIFICATE_UNREADABLE",
      `${url} did not serve a readable certificate or public key (${errorMessage(e)}).`,
      401,
      { certificateUrl: url },
    );
  }
  if (key.asymmetricKeyType !== "rsa")
    throw new WebhookVerificationError(
      "WEBHOOK_CERTIFICATE_UNREADABLE",
      `${url} served a ${key.asymmetricKeyType} key; rsa-sha256 signatures need an RSA key.`,
      401,
      { certificateUrl: url },
    );
  return key;
}

/** The referral id at the end of `…/referrals/{id}` (both `/v1.0/engagements/referrals/` and `/engagements/v1/referrals/`). */
function referralIdOf(resourceUri: string): string | undefined {
  let path: string;
  try {
    path = new URL(resourceUri).pathname;
  } catch {
    return undefined;
  }
  const m = /\/referrals\/([^/]+)\/?$/.exec(path);
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

/**
 * Creates a receiver that verifies Partner Center's signed events. The certificate is fetched only
 * from a trusted host (no redirects followed) and cached. Hints only: act on them by re-reading the
 * referral through the API; the periodic poll still reconciles everything.
 */
export function createWebhookReceiver(options: WebhookReceiverOptions = {}): WebhookReceiver {
  const trusted = (options.trustedCertificateHosts ?? DEFAULT_TRUSTED_CERTIFICATE_HOSTS).map((h) =>
    h.toLowerCase(),
  );
  const accepted = new Set<string>(options.events ?? REFERRAL_WEBHOOK_EVENTS);
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const cacheMs = options.certificateCacheMs ?? 24 * 60 * 60 * 1000;
  const now = options.now ?? (() => new Date());
  const cache = new Map<string, { key: Promise<KeyObject>; at: number }>();

  function certificateUrl(raw: string | undefined): URL {
    let url: URL;
    try {
      url = new URL(raw ?? "");
    } catch {
      throw new WebhookVerificationError(
        "WEBHOOK_SIGNATURE_MISSING",
        "The event has no usable x-ms-certificate-url header.",
        401,
      );
    }
    const host = url.hostname.toLowerCase();
    const isTrusted = trusted.includes(host) || trusted.includes(url.host.toLowerCase());
    const schemeOk = url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(host));
    if (!isTrusted || !schemeOk)
      throw new WebhookVerificationError(
        "WEBHOOK_UNTRUSTED_CERTIFICATE",
        `The event's signing certificate is at ${url.origin}, which is not a trusted ${url.protocol === "https:" ? "host" : "https host"} (${trusted.join(", ")}). The event was ignored.`,
        401,
        { certificateUrl: url.href },
      );
    return url;
  }

  async function fetchKey(url: URL): Promise<KeyObject> {
    let res: Response;
    try {
      res = await doFetch(url.href, { redirect: "error", signal: AbortSignal.timeout(10_000) });
    } catch (e) {
      throw new WebhookVerificationError(
        "WEBHOOK_CERTIFICATE_UNAVAILABLE",
        `The signing certificate could not be fetched from ${url.href} (${errorMessage(e)}); Partner Center will deliver the event again.`,
        503,
        { certificateUrl: url.href },
      );
    }
    if (!res.ok)
      throw new WebhookVerificationError(
        "WEBHOOK_CERTIFICATE_UNAVAILABLE",
        `${url.href} answered ${res.status} instead of the signing certificate.`,
        503,
        { certificateUrl: url.href, status: res.status },
      );
    return rsaKeyFrom(Buffer.from(await res.arrayBuffer()), now(), url.href);
  }

  function keyFor(url: URL): Promise<KeyObject> {
    const t = now().getTime();
    const hit = cache.get(url.href);
    if (hit && t - hit.at < cacheMs) return hit.key;
    const key = fetchKey(url);
    cache.set(url.href, { key, at: t });
    key.catch(() => cache.delete(url.href)); // failures are not cached
    return key;
  }

  return {
    async verify(rawBody, headers) {
      const auth = header(headers, "authorization");
      const signature = /^Signature\s+(\S+)\s*$/i.exec(auth ?? "")?.[1] ?? header(headers, "x-ms-signature");
      if (!signature)
        throw new WebhookVerificationError(
          "WEBHOOK_SIGNATURE_MISSING",
          "The event carries no signature (Authorization: Signature …); it was ignored.",
          401,
        );
      const algorithm = header(headers, "x-ms-signature-algorithm") ?? "";
      if (algorithm.toLowerCase() !== "rsa-sha256")
        throw new WebhookVerificationError(
          "WEBHOOK_UNSUPPORTED_ALGORITHM",
          `The event is signed with "${algorithm || "no algorithm"}"; only rsa-sha256 is accepted.`,
          401,
        );
      const url = certificateUrl(header(headers, "x-ms-certificate-url"));
      const key = await keyFor(url);
      const ok = verify("sha256", rawBody, key, Buffer.from(signature, "base64"));
      if (!ok)
        throw new WebhookVerificationError(
          "WEBHOOK_BAD_SIGNATURE",
          "The event's signature does not match its body; it was ignored.",
          401,
          { certificateUrl: url.href },
        );

      let json: unknown;
      try {
        json = JSON.parse(rawBody.toString("utf8"));
      } catch {
        throw new WebhookVerificationError("WEBHOOK_BAD_BODY", "The event body is not JSON.", 400);
      }
      const parsed = EventBodySchema.safeParse(json);
      if (!parsed.success) {
        const field = parsed.error.issues[0]?.path.map(String).join(".") || "(body)";
        throw new WebhookVerificationError(
          "WEBHOOK_BAD_BODY",
          `The event's field "${field}" is missing or invalid.`,
          400,
          {
            field,
          },
        );
      }
      const event = parsed.data;
      if (!accepted.has(event.EventName))
        throw new WebhookVerificationError(
          "WEBHOOK_UNKNOWN_EVENT",
          `Event "${event.EventName}" is not one cosell handles (${[...accepted].join(", ")}).`,
          400,
          { event: event.EventName },
        );
      const referralId = referralIdOf(event.ResourceUri);
      const changedAt = new Date(event.ResourceChangeUtcDate);
      if (!referralId || Number.isNaN(changedAt.getTime()))
        throw new WebhookVerificationError(
          "WEBHOOK_BAD_BODY",
          `The event's ${referralId ? `field "ResourceChangeUtcDate" ("${event.ResourceChangeUtcDate}") is not a date` : `field "ResourceUri" ("${event.ResourceUri}") names no referral`}.`,
          400,
          { field: referralId ? "ResourceChangeUtcDate" : "ResourceUri" },
        );
      return {
        referralId,
        event: event.EventName as WebhookEvent,
        changedAt,
        resourceUri: event.ResourceUri,
      };
    },
  };
}

/** Settings of {@link createWebhookRequestHandler}. */
export interface WebhookHandlerOptions {
  receiver: WebhookReceiver;
  /** Called with each verified hint. Its failures go to `onError`; Partner Center still gets 200. */
  onHint: (hint: WebhookHint) => void | Promise<void>;
  /** Refused events and `onHint` failures (for logging). */
  onError?: (error: Error) => void;
  /** Larger bodies are refused with 413. Default 64 KiB (events are a few hundred bytes). */
  maxBodyBytes?: number;
}

function reply(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  res.writeHead(status, {
    ...(payload ? { "content-type": "application/json; charset=utf-8" } : {}),
    ...headers,
  });
  res.end(payload);
}

/**
 * A `node:http` request handler (mount it on the receiver's path) that verifies each event and passes
 * the hint to `onHint`. Answers 200 once verified, 401/400 for refused events, 503 when the signing
 * certificate cannot be fetched (Partner Center retries), 405/413 for wrong methods and oversized bodies.
 * Hints only: the periodic poll still reconciles every referral.
 */
export function createWebhookRequestHandler(
  options: WebhookHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = options.maxBodyBytes ?? 64 * 1024;
  const report = (e: unknown) => options.onError?.(e instanceof Error ? e : new Error(errorMessage(e)));
  return (req, res) => {
    if (req.method !== "POST") {
      reply(
        res,
        405,
        { error: { code: "METHOD_NOT_ALLOWED", message: "Events are POSTed." } },
        { allow: "POST" },
      );
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (c: Buffer) => {
      if (refused) return;
      size += c.length;
      if (size > limit) {
        refused = true;
        reply(res, 413, {
          error: { code: "WEBHOOK_TOO_LARGE", message: `Events are at most ${limit} bytes.` },
        });
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (refused) return;
      options.receiver.verify(Buffer.concat(chunks), req.headers).then(
        (hint) => {
          reply(res, 200);
          Promise.resolve()
            .then(() => options.onHint(hint))
            .catch(report);
        },
        (e: unknown) => {
          const status = e instanceof WebhookVerificationError ? e.httpStatus : 500;
          const code = e instanceof CoSellError ? e.code : "WEBHOOK_FAILED";
          reply(res, status, { error: { code, message: errorMessage(e) } });
          report(e);
        },
      );
    });
    req.on("error", report);
  };
}
