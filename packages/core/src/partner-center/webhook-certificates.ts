import { type KeyObject, X509Certificate } from "node:crypto";
import { rootCertificates } from "node:tls";
import { CoSellError, errorMessage } from "../errors.js";
import { isLoopbackHost } from "./tls.js";

/**
 * Where Partner Center's webhook signing certificate may come from, and what makes it trusted.
 *
 * Microsoft's "Partner Center webhooks" page: download the certificate named by `x-ms-certificate-url`,
 * verify its chain, verify its Organization, then the RSA signature over the body. Its example event
 * names `https://3psostorageacct.blob.core.windows.net/cert/pcnotifications-dispatch.microsoft.com.cer`
 * (a blob-storage host, not the API host).
 */

/** Certificate URL prefixes accepted by default: the location in Microsoft's documented example. */
export const DEFAULT_WEBHOOK_CERTIFICATE_URL_PREFIXES: readonly string[] = [
  "https://3psostorageacct.blob.core.windows.net/cert/",
];

/** The Organization (O) Partner Center's signing certificate carries. */
export const MICROSOFT_CORPORATION = "Microsoft Corporation";

/** A refused event: the HTTP status to answer and why (codes are in docs/troubleshooting.md). */
export class WebhookVerificationError extends CoSellError {
  readonly httpStatus: number;
  constructor(code: string, message: string, httpStatus: number, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.httpStatus = httpStatus;
  }
}

const untrusted = (message: string, details: Record<string, unknown> = {}) =>
  new WebhookVerificationError("WEBHOOK_UNTRUSTED_CERTIFICATE", message, 401, details);

/** Longest certificate URL considered. */
const MAX_CERTIFICATE_URL_LENGTH = 2048;

/**
 * Checks `raw` (the `x-ms-certificate-url` header) before anything is fetched: an absolute https URL
 * (plain http only to loopback, for the sandbox) without credentials, query or fragment, under one of
 * `prefixes` (same scheme, host, port and path prefix), with no encoded `/`, `\` or `.` that could
 * walk out of that path. Throws `WEBHOOK_UNTRUSTED_CERTIFICATE` (401).
 */
export function checkCertificateUrl(raw: string, prefixes: readonly string[]): URL {
  if (raw.length > MAX_CERTIFICATE_URL_LENGTH)
    throw untrusted(
      `The event's x-ms-certificate-url is longer than ${MAX_CERTIFICATE_URL_LENGTH} characters.`,
    );
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw untrusted("The event's x-ms-certificate-url is not an absolute URL.");
  }
  const where = { certificateUrl: url.href };
  const secure = url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
  if (!secure)
    throw untrusted(`The signing certificate must come over https, not from ${url.origin}.`, where);
  if (url.username || url.password || url.search || url.hash || /%(2f|5c|2e)/i.test(raw))
    throw untrusted(
      "The event's x-ms-certificate-url carries credentials, a query, a fragment or an encoded path separator.",
      where,
    );
  const allowed = prefixes.some((p) => {
    const prefix = new URL(p);
    return (
      prefix.protocol === url.protocol &&
      prefix.host.toLowerCase() === url.host.toLowerCase() &&
      url.pathname.startsWith(prefix.pathname)
    );
  });
  if (!allowed)
    throw untrusted(
      `The event's signing certificate is at ${url.href}, which is not under an allowed location (${prefixes.join(", ")}). Add its location to partnerCenter.webhookReceiver.certificateUrlPrefixes only if Microsoft documents it.`,
      where,
    );
  return url;
}

/** Every certificate in a PEM bundle, or the one DER certificate. */
export function parseCertificates(bytes: Buffer | string): X509Certificate[] {
  const text = typeof bytes === "string" ? bytes : bytes.toString("latin1");
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (pems) return pems.map((p) => new X509Certificate(p));
  if (typeof bytes === "string") throw new Error("no PEM certificate found");
  return [new X509Certificate(bytes)];
}

/** The values of attribute `name` (e.g. `O`) in a distinguished name as node prints it (one per line). */
export function dnValues(dn: string, name: string): string[] {
  return dn
    .split("\n")
    .map((line) => /^([A-Za-z.0-9]+)=(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => !!m && m[1] === name)
    .map((m) => m[2] ?? "");
}

/** What makes a signing certificate trusted. */
export interface CertificateTrust {
  /** Trust anchors; the chain must end in one of them. */
  roots: readonly X509Certificate[];
  /** Intermediates to build the chain with, besides those served with the certificate. */
  intermediates: readonly X509Certificate[];
  /** Required Organization of the signing certificate. */
  organization: string;
}

const MAX_CHAIN_LENGTH = 6;

function validNow(cert: X509Certificate, now: Date): boolean {
  return now >= new Date(cert.validFrom) && now <= new Date(cert.validTo);
}

/** Whether `parent` issued `child`: names match and `parent`'s key verifies `child`'s signature. */
function issued(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

/**
 * Validates the signing certificate `leaf`: valid now, its Organization is `trust.organization`, an RSA
 * key, and a chain of CA certificates (from `served` and the configured intermediates), each valid now
 * and each signature checked, ending in one of the trusted roots. Returns the leaf's public key.
 *
 * Organization: Microsoft's steps say "verify the Organization of the certificate" and its sample
 * looks for `O=Microsoft Corporation` in the *issuer*; the subject of Partner Center's certificate is
 * expected to carry it as well. The subject's O is required when the subject has one; a subject
 * without O falls back to the issuer's (both readings tolerated, as the page does not settle it).
 */
export function validateSigningCertificate(
  leaf: X509Certificate,
  served: readonly X509Certificate[],
  trust: CertificateTrust,
  now: Date,
  url: string,
): KeyObject {
  const where = { certificateUrl: url, subject: leaf.subject.replace(/\n/g, ", ") };
  if (!validNow(leaf, now))
    throw new WebhookVerificationError(
      "WEBHOOK_CERTIFICATE_EXPIRED",
      `The signing certificate at ${url} is not valid now (valid ${leaf.validFrom} – ${leaf.validTo}).`,
      401,
      where,
    );
  const subjectO = dnValues(leaf.subject, "O");
  const orgs = subjectO.length ? subjectO : dnValues(leaf.issuer, "O");
  if (!orgs.includes(trust.organization))
    throw untrusted(
      `The signing certificate at ${url} belongs to ${orgs.length ? `"${orgs.join(", ")}"` : "no organization"}, not ${trust.organization}.`,
      where,
    );
  if (leaf.publicKey.asymmetricKeyType !== "rsa")
    throw untrusted(
      `The signing certificate at ${url} has a ${leaf.publicKey.asymmetricKeyType} key; rsa-sha256 needs RSA.`,
      where,
    );

  const pool = [...served, ...trust.intermediates].filter((c) => c.ca);
  let current = leaf;
  for (let depth = 0; depth < MAX_CHAIN_LENGTH; depth++) {
    const root = trust.roots.find((r) => issued(current, r));
    if (root) {
      if (!validNow(root, now))
        throw untrusted(`The trusted root "${root.subject.replace(/\n/g, ", ")}" has expired.`, where);
      return leaf.publicKey;
    }
    const parent = pool.find((c) => c !== current && issued(current, c));
    if (!parent) break;
    if (!validNow(parent, now))
      throw untrusted(
        `The intermediate certificate "${parent.subject.replace(/\n/g, ", ")}" in the chain of ${url} is not valid now.`,
        where,
      );
    current = parent;
  }
  throw untrusted(
    `The signing certificate at ${url} does not chain to a trusted root (last certificate: "${current.subject.replace(/\n/g, ", ")}", issued by "${current.issuer.replace(/\n/g, ", ")}"). Add the issuing CA to partnerCenter.webhookReceiver.intermediateCertificates, or its root to partnerCenter.webhookReceiver.trustedRootCertificates, only if it is Microsoft's.`,
    where,
  );
}

let systemRoots: X509Certificate[] | undefined;

/** Node's bundled public root certificates (the Mozilla CA store), parsed once. */
export function systemRootCertificates(): X509Certificate[] {
  systemRoots ??= rootCertificates.flatMap((pem) => {
    try {
      return [new X509Certificate(pem)];
    } catch {
      return [];
    }
  });
  return systemRoots;
}

/** Limits of the signing-certificate cache. */
export interface CertificateCacheLimits {
  /** Certificate URLs kept. */
  maxEntries: number;
  /** Bytes of certificate documents kept, all entries together. */
  maxBytes: number;
  /** How long a validated certificate is reused (never past its expiry). */
  ttlMs: number;
}

interface CacheEntry {
  key: KeyObject;
  bytes: number;
  until: number;
}

/**
 * The validated keys of recently used certificate URLs, bounded by entries and bytes (least recently
 * used out first), so that a stream of events naming many URLs cannot grow memory. Failures are not
 * kept; concurrent look-ups of one URL share one fetch.
 */
export class CertificateCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<KeyObject>>();
  private bytes = 0;

  constructor(private readonly limits: CertificateCacheLimits) {}

  /** Entries and bytes held (for tests and diagnostics). */
  size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  async get(
    url: string,
    nowMs: number,
    load: () => Promise<{ key: KeyObject; bytes: number; validToMs: number }>,
  ): Promise<KeyObject> {
    const hit = this.entries.get(url);
    if (hit && hit.until > nowMs) {
      this.entries.delete(url); // re-insert: most recently used last
      this.entries.set(url, hit);
      return hit.key;
    }
    if (hit) this.drop(url);
    const pending = this.inflight.get(url);
    if (pending) return pending;
    const p = load().then((loaded) => {
      this.put(url, {
        key: loaded.key,
        bytes: loaded.bytes,
        until: Math.min(nowMs + this.limits.ttlMs, loaded.validToMs),
      });
      return loaded.key;
    });
    this.inflight.set(url, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(url);
    }
  }

  private put(url: string, entry: CacheEntry): void {
    if (entry.bytes > this.limits.maxBytes || this.limits.maxEntries < 1) return;
    this.drop(url);
    while (
      this.entries.size >= this.limits.maxEntries ||
      (this.entries.size > 0 && this.bytes + entry.bytes > this.limits.maxBytes)
    ) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.drop(oldest);
    }
    this.entries.set(url, entry);
    this.bytes += entry.bytes;
  }

  private drop(url: string): void {
    const e = this.entries.get(url);
    if (!e) return;
    this.entries.delete(url);
    this.bytes -= e.bytes;
  }
}

/**
 * Downloads a certificate document: no redirects, a deadline, at most `maxBytes` read (the download
 * is abandoned past that). Network failures and non-2xx answers are `WEBHOOK_CERTIFICATE_UNAVAILABLE`
 * (503: Partner Center delivers the event again); an oversized or unreadable document is
 * `WEBHOOK_CERTIFICATE_UNREADABLE` (401).
 */
export async function downloadCertificate(
  url: URL,
  doFetch: typeof globalThis.fetch,
  maxBytes: number,
  timeoutMs: number,
): Promise<{ certificates: X509Certificate[]; bytes: number }> {
  const unavailable = (why: string, extra: Record<string, unknown> = {}) =>
    new WebhookVerificationError(
      "WEBHOOK_CERTIFICATE_UNAVAILABLE",
      `The signing certificate could not be fetched from ${url.href} (${why}); Partner Center will deliver the event again.`,
      503,
      { certificateUrl: url.href, ...extra },
    );
  let res: Response;
  try {
    res = await doFetch(url.href, { redirect: "error", signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw unavailable(errorMessage(e));
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw unavailable(`HTTP ${res.status}`, { status: res.status });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  try {
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new WebhookVerificationError(
          "WEBHOOK_CERTIFICATE_UNREADABLE",
          `${url.href} served more than ${maxBytes} bytes; a signing certificate is a few KB.`,
          401,
          { certificateUrl: url.href },
        );
      }
      chunks.push(Buffer.from(value));
    }
  } catch (e) {
    if (e instanceof WebhookVerificationError) throw e;
    throw unavailable(errorMessage(e));
  }
  const body = Buffer.concat(chunks);
  try {
    const certificates = parseCertificates(body);
    if (!certificates.length) throw new Error("no certificate");
    return { certificates, bytes: body.length };
  } catch (e) {
    throw new WebhookVerificationError(
      "WEBHOOK_CERTIFICATE_UNREADABLE",
      `${url.href} did not serve a readable X.509 certificate (${errorMessage(e)}).`,
      401,
      { certificateUrl: url.href },
    );
  }
}
