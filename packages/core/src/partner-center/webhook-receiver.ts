import { type KeyObject, verify, type X509Certificate } from "node:crypto";
import { z } from "zod";
import { ConfigError, errorMessage } from "../errors.js";
import { configErrorFromZod } from "./config-error.js";
import {
  CertificateCache,
  checkCertificateUrl,
  DEFAULT_WEBHOOK_CERTIFICATE_URL_PREFIXES,
  downloadCertificate,
  MICROSOFT_CORPORATION,
  parseCertificates,
  systemRootCertificates,
  validateSigningCertificate,
  WebhookVerificationError,
} from "./webhook-certificates.js";

/**
 * Partner Center change notifications for referrals: verification of one delivered event.
 *
 * Webhook events are **hints**: delivery is best-effort (Partner Center gives up after 10 attempts,
 * events are lost while the receiver is down), so the periodic poll ordered by `updatedDateTime` still
 * reconciles everything. An event only makes cosell look at one referral sooner.
 */

/** The referral events Partner Center sends ("Partner Center webhook events"). */
export const REFERRAL_WEBHOOK_EVENTS = [
  "referral-created",
  "referral-updated",
  "related-referral-created",
  "related-referral-updated",
] as const;
/** One of {@link REFERRAL_WEBHOOK_EVENTS}. */
export const WebhookEventSchema = z.enum(REFERRAL_WEBHOOK_EVENTS);
export type WebhookEvent = z.infer<typeof WebhookEventSchema>;

/** A verified event, reduced to what the sync needs: which referral to look at, and since when. */
export interface WebhookHint {
  referralId: string;
  event: WebhookEvent;
  /** `ResourceChangeUtcDate`. */
  changedAt: Date;
  /** `ResourceUri` as sent. */
  resourceUri: string;
}

/** Why an event was not acted on (codes in docs/troubleshooting.md). Never contains secrets. */
export interface WebhookRefusal {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * What the receiver answers for one delivery: `status` is the HTTP status to send Partner Center.
 * Act only when `event` is present. A refused event carries `reason` (log it); a replayed event is
 * answered 200 (so that a redelivery after a lost answer stops) but carries a reason and no event.
 */
export type WebhookOutcome =
  | { status: 200; event: WebhookHint; reason?: undefined }
  | { status: number; event?: undefined; reason: WebhookRefusal };

/** Request headers as `node:http` gives them, or a fetch `Headers`. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** The receiver's settings (config `partnerCenter.webhookReceiver`); every key has a default. */
export const WebhookReceiverConfigSchema = z
  .object({
    /**
     * Where the signing certificate may be downloaded from: URL prefixes (scheme, host, port and a
     * path prefix). Plain http only to loopback (the sandbox).
     */
    certificateUrlPrefixes: z
      .array(z.string().min(1))
      .min(1, "give at least one certificate location")
      .default([...DEFAULT_WEBHOOK_CERTIFICATE_URL_PREFIXES]),
    /**
     * PEM bundle of the roots the certificate chain must end in. Default: the public roots bundled
     * with Node.js (Microsoft's certificates chain to public roots).
     */
    trustedRootCertificates: z.string().min(1).optional(),
    /** PEM bundle of intermediate CAs to build the chain with when the certificate URL serves only the leaf. */
    intermediateCertificates: z.string().min(1).optional(),
    /** The Organization (O) the signing certificate must belong to. */
    certificateOrganization: z.string().min(1).default(MICROSOFT_CORPORATION),
    /** Larger events are refused (413) before they are read. */
    maxBodyBytes: z.number().int().min(256).max(1_048_576).default(65_536),
    /** Events whose `ResourceChangeUtcDate` is older than this are refused as stale. */
    maxEventAgeSeconds: z.number().int().min(60).default(86_400),
    /** How far in the future `ResourceChangeUtcDate` may be (clock skew). */
    maxClockSkewSeconds: z.number().int().min(0).default(300),
    /** Signatures of accepted events remembered to refuse replays (oldest forgotten first). */
    replayCacheSize: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Signing certificates kept, by URL. */
    certificateCacheEntries: z.number().int().min(1).max(1000).default(16),
    /** Bytes of certificate documents kept, all together. */
    certificateCacheBytes: z.number().int().min(4096).default(262_144),
    /** How long a validated certificate is reused (never past its expiry). */
    certificateCacheSeconds: z.number().int().min(0).default(86_400),
    /** Largest certificate document downloaded. */
    maxCertificateBytes: z.number().int().min(1024).max(1_048_576).default(65_536),
    /** Deadline of one certificate download. */
    certificateTimeoutMs: z.number().int().min(100).max(60_000).default(10_000),
    /** Events acted on; default every referral event. */
    events: z
      .array(WebhookEventSchema)
      .min(1)
      .default([...REFERRAL_WEBHOOK_EVENTS]),
  })
  .strict();
/** Receiver settings as written (defaults optional). */
export type WebhookReceiverConfigInput = z.input<typeof WebhookReceiverConfigSchema>;
/** Receiver settings after validation. */
export type WebhookReceiverConfig = z.output<typeof WebhookReceiverConfigSchema>;

/** Runtime hooks; tests inject them, production passes nothing. */
export interface WebhookReceiverDeps {
  /** Downloads the certificate; defaults to the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Clock for the event window and certificate validity. */
  now?: () => Date;
}

/** Validates receiver settings; a bad value is a `ConfigError` naming the key. */
export function resolveWebhookReceiverConfig(
  input: WebhookReceiverConfigInput = {},
  keyPrefix = "partnerCenter.webhookReceiver",
): WebhookReceiverConfig {
  const parsed = WebhookReceiverConfigSchema.safeParse(input);
  if (!parsed.success) throw configErrorFromZod(parsed.error, input, keyPrefix);
  const c = parsed.data;
  const bad = (key: string, message: string) =>
    new ConfigError("CONFIG_INVALID", `${keyPrefix}.${key}: ${message}.`, { key: `${keyPrefix}.${key}` });
  c.certificateUrlPrefixes.forEach((p, i) => {
    let u: URL;
    try {
      u = new URL(p);
    } catch {
      throw bad(`certificateUrlPrefixes.${i}`, `"${p}" is not an absolute URL; give e.g. https://host/path/`);
    }
    if (
      u.protocol !== "https:" &&
      !(u.protocol === "http:" && /^(127\.0\.0\.1|localhost|\[::1\])$/i.test(u.hostname))
    )
      throw bad(
        `certificateUrlPrefixes.${i}`,
        `"${p}" must be https:// (http only to 127.0.0.1/localhost/[::1])`,
      );
  });
  for (const key of ["trustedRootCertificates", "intermediateCertificates"] as const) {
    const pem = c[key];
    if (pem === undefined) continue;
    try {
      if (!parseCertificates(pem).length) throw new Error("empty");
    } catch (e) {
      throw bad(
        key,
        `not a PEM bundle of certificates (${errorMessage(e)}); give -----BEGIN CERTIFICATE----- blocks`,
      );
    }
  }
  return c;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : headers[key];
  return Array.isArray(v) ? v[0] : v;
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

/** Base64 of an RSA signature: up to 8192-bit keys. */
const SIGNATURE = /^[A-Za-z0-9+/]{16,1400}={0,2}$/;
/** Control characters (CR, LF, NUL…) have no place in a URI. */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * The referral id at the end of `…/referrals/{id}` (both `/v1.0/engagements/referrals/` and
 * `/engagements/v1/referrals/`). A malformed URI, a bad `%`-escape or a control character is a
 * `WEBHOOK_BAD_BODY` (400), never an exception.
 */
export function referralIdFromResourceUri(resourceUri: string): string {
  const bad = (why: string) =>
    new WebhookVerificationError("WEBHOOK_BAD_BODY", `The event's field "ResourceUri" ${why}.`, 400, {
      field: "ResourceUri",
    });
  if (hasControl(resourceUri)) throw bad("contains control characters (CR, LF…)");
  if (resourceUri.length > 2048) throw bad("is longer than 2048 characters");
  let path: string;
  try {
    path = new URL(resourceUri).pathname;
  } catch {
    throw bad("is not an absolute URI");
  }
  const m = /\/referrals\/([^/]+)\/?$/.exec(path);
  if (!m?.[1]) throw bad("names no referral (…/referrals/{id})");
  let id: string;
  try {
    id = decodeURIComponent(m[1]);
  } catch {
    throw bad("has a malformed %-escape");
  }
  if (!id.trim() || id.length > 200 || hasControl(id) || /[/\\]/.test(id))
    throw bad("has an unusable referral id");
  return id;
}

const refusal = (e: unknown): WebhookOutcome => {
  if (e instanceof WebhookVerificationError)
    return {
      status: e.httpStatus,
      reason: {
        code: e.code,
        message: e.message,
        ...(Object.keys(e.details).length ? { details: e.details } : {}),
      },
    };
  return { status: 500, reason: { code: "WEBHOOK_FAILED", message: errorMessage(e) } };
};

/**
 * Verifies Partner Center's signed webhook events. Give it the request's headers and the exact bytes
 * of its body; it answers {@link WebhookOutcome} (never throws):
 *
 * 1. before any download: a signature (`Authorization: Signature <base64>`, or `x-ms-signature`),
 *    `x-ms-signature-algorithm: rsa-sha256`, an `x-ms-certificate-url` under an allowed location, the
 *    body size, a readable event of a handled kind for a well-formed `ResourceUri`, its
 *    `ResourceChangeUtcDate` inside the window, and a signature not seen before;
 * 2. then the signing certificate (bounded cache): its chain up to a trusted root and its Organization;
 * 3. then RSA-SHA256 of the body with its key.
 *
 * 401: signature, certificate or chain refused; 400: malformed, unknown or stale event; 413: too large;
 * 503: the certificate could not be downloaded (Partner Center delivers again); 200 + reason: replay.
 */
export class WebhookReceiver {
  readonly config: WebhookReceiverConfig;
  private readonly doFetch: typeof globalThis.fetch;
  private readonly now: () => Date;
  private readonly certificates: CertificateCache;
  private readonly roots: X509Certificate[];
  private readonly intermediates: X509Certificate[];
  /** Accepted signatures → when they may be forgotten (insertion order = age). */
  private readonly seen = new Map<string, number>();

  constructor(config: WebhookReceiverConfigInput = {}, deps: WebhookReceiverDeps = {}) {
    this.config = resolveWebhookReceiverConfig(config);
    this.doFetch = deps.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.now = deps.now ?? (() => new Date());
    this.certificates = new CertificateCache({
      maxEntries: this.config.certificateCacheEntries,
      maxBytes: this.config.certificateCacheBytes,
      ttlMs: this.config.certificateCacheSeconds * 1000,
    });
    this.roots = this.config.trustedRootCertificates
      ? parseCertificates(this.config.trustedRootCertificates)
      : systemRootCertificates();
    this.intermediates = this.config.intermediateCertificates
      ? parseCertificates(this.config.intermediateCertificates)
      : [];
  }

  /** Certificate cache use (entries, bytes). */
  cacheSize(): { entries: number; bytes: number } {
    return this.certificates.size();
  }

  /**
   * The header checks, for a server to run before it reads the body: the signature headers, the
   * certificate location and the announced `content-length`. `undefined` when they pass.
   */
  precheck(headers: WebhookHeaders): WebhookOutcome | undefined {
    try {
      this.checkHeaders(headers);
      return undefined;
    } catch (e) {
      return refusal(e);
    }
  }

  /** Verifies one delivery; see the class comment. */
  async receive(headers: WebhookHeaders, rawBody: Buffer): Promise<WebhookOutcome> {
    try {
      const { signature, certificateUrl } = this.checkHeaders(headers);
      if (rawBody.length > this.config.maxBodyBytes) throw this.tooLarge();
      const hint = this.readEvent(rawBody);
      this.forgetOld();
      if (this.seen.has(signature))
        return {
          status: 200,
          reason: {
            code: "WEBHOOK_REPLAYED",
            message: `This event (${hint.event} for referral ${hint.referralId}) was already received; the copy was ignored.`,
            details: { referralId: hint.referralId, event: hint.event },
          },
        };
      const key = await this.keyFor(certificateUrl);
      if (!verify("sha256", rawBody, key, Buffer.from(signature, "base64")))
        throw new WebhookVerificationError(
          "WEBHOOK_BAD_SIGNATURE",
          "The event's signature does not match its body and the signing certificate; it was ignored.",
          401,
          { certificateUrl: certificateUrl.href },
        );
      this.remember(signature, hint.changedAt);
      return { status: 200, event: hint };
    } catch (e) {
      return refusal(e);
    }
  }

  private tooLarge(): WebhookVerificationError {
    return new WebhookVerificationError(
      "WEBHOOK_TOO_LARGE",
      `Events are at most ${this.config.maxBodyBytes} bytes (partnerCenter.webhookReceiver.maxBodyBytes).`,
      413,
    );
  }

  private checkHeaders(headers: WebhookHeaders): { signature: string; certificateUrl: URL } {
    const length = header(headers, "content-length");
    if (length !== undefined && /^\d+$/.test(length) && Number(length) > this.config.maxBodyBytes)
      throw this.tooLarge();
    const auth = header(headers, "authorization");
    // Default: `Authorization: Signature <base64>`; with SignatureTokenToMsSignatureHeader set on the
    // registration, `x-ms-signature: Signature <base64>` (Microsoft's sample splits on the space).
    const raw = auth ?? header(headers, "x-ms-signature");
    const signature = /^Signature\s+(\S+)\s*$/i.exec(raw ?? "")?.[1];
    if (!signature || !SIGNATURE.test(signature))
      throw new WebhookVerificationError(
        "WEBHOOK_SIGNATURE_MISSING",
        "The event carries no usable signature (Authorization: Signature <base64>); it was ignored.",
        401,
      );
    const algorithm = header(headers, "x-ms-signature-algorithm") ?? "";
    if (algorithm.trim().toLowerCase() !== "rsa-sha256")
      throw new WebhookVerificationError(
        "WEBHOOK_UNSUPPORTED_ALGORITHM",
        `The event is signed with "${algorithm.slice(0, 40) || "no algorithm"}"; only rsa-sha256 is accepted.`,
        401,
      );
    const url = header(headers, "x-ms-certificate-url");
    if (!url)
      throw new WebhookVerificationError(
        "WEBHOOK_SIGNATURE_MISSING",
        "The event has no x-ms-certificate-url header; it was ignored.",
        401,
      );
    return { signature, certificateUrl: checkCertificateUrl(url, this.config.certificateUrlPrefixes) };
  }

  private readEvent(rawBody: Buffer): WebhookHint {
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
        { field },
      );
    }
    const event = parsed.data;
    if (!(this.config.events as readonly string[]).includes(event.EventName))
      throw new WebhookVerificationError(
        "WEBHOOK_UNKNOWN_EVENT",
        `Event "${event.EventName.slice(0, 80)}" is not one cosell handles (${this.config.events.join(", ")}).`,
        400,
        { event: event.EventName.slice(0, 80) },
      );
    const referralId = referralIdFromResourceUri(event.ResourceUri);
    const changedAt = new Date(event.ResourceChangeUtcDate);
    if (Number.isNaN(changedAt.getTime()))
      throw new WebhookVerificationError(
        "WEBHOOK_BAD_BODY",
        `The event's field "ResourceChangeUtcDate" is not a date.`,
        400,
        { field: "ResourceChangeUtcDate" },
      );
    const now = this.now().getTime();
    const age = now - changedAt.getTime();
    if (age > this.config.maxEventAgeSeconds * 1000 || -age > this.config.maxClockSkewSeconds * 1000)
      throw new WebhookVerificationError(
        "WEBHOOK_STALE_EVENT",
        `The event's ResourceChangeUtcDate ${changedAt.toISOString()} is outside the accepted window (${this.config.maxEventAgeSeconds} s old to ${this.config.maxClockSkewSeconds} s ahead); it was ignored. The periodic poll still picks the change up.`,
        400,
        { changedAt: changedAt.toISOString(), referralId },
      );
    return { referralId, event: event.EventName as WebhookEvent, changedAt, resourceUri: event.ResourceUri };
  }

  private keyFor(url: URL): Promise<KeyObject> {
    const now = this.now();
    return this.certificates.get(url.href, now.getTime(), async () => {
      const { certificates, bytes } = await downloadCertificate(
        url,
        this.doFetch,
        this.config.maxCertificateBytes,
        this.config.certificateTimeoutMs,
      );
      const [leaf, ...rest] = certificates;
      if (!leaf) throw new Error("no certificate"); // parseCertificates never returns []
      const key = validateSigningCertificate(
        leaf,
        rest,
        {
          roots: this.roots,
          intermediates: this.intermediates,
          organization: this.config.certificateOrganization,
        },
        now,
        url.href,
      );
      return { key, bytes, validToMs: new Date(leaf.validTo).getTime() };
    });
  }

  /** Replays are refused while the event is inside the window; the set never exceeds its size. */
  private remember(signature: string, changedAt: Date): void {
    const until =
      changedAt.getTime() + (this.config.maxEventAgeSeconds + this.config.maxClockSkewSeconds) * 1000;
    while (this.seen.size >= this.config.replayCacheSize) {
      const oldest = this.seen.keys().next().value;
      if (oldest === undefined) break;
      this.seen.delete(oldest);
    }
    this.seen.set(signature, until);
  }

  private forgetOld(): void {
    const now = this.now().getTime();
    for (const [sig, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(sig);
    }
  }
}

/** Creates a {@link WebhookReceiver}. */
export function createWebhookReceiver(
  config: WebhookReceiverConfigInput = {},
  deps: WebhookReceiverDeps = {},
): WebhookReceiver {
  return new WebhookReceiver(config, deps);
}
