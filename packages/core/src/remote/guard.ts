import { RemoteApiError } from "../errors.js";
import { isLoopbackHost } from "../partner-center/tls.js";

/**
 * Guards shared by every HTTP client cosell runs (Partner Center, Dataverse, Graph, Salesforce):
 * follow-up URLs a server hands back stay on the configured origin, bodies are read with a size
 * cap, and attempts have a deadline. Bearer tokens and customer data must never reach another host.
 */

/** Largest response body read by default: 32 MiB (a 5,000-row Dataverse page is a few MB). */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** Longest one attempt of a remote call may take by default (connect, send, answer, body). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** Most pages one paged read follows by default before it is refused as a loop. */
export const DEFAULT_MAX_PAGES = 10_000;

/** True when `url` is https, or plain http to a loopback host (the sandbox). */
export function isSecureOrLoopback(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}

/**
 * `link` (an `@odata.nextLink`, a delta link, a `nextRecordsUrl`, a redirect's `Location`) as an
 * absolute URL, provided it stays on `origin`: same scheme, host and port, and https unless that
 * origin is loopback. A relative link is resolved against `origin`. Anything else is refused with
 * `REMOTE_LINK_REFUSED`: following it would send the bearer token to whoever wrote the link.
 */
export function pinToOrigin(link: string, origin: string | URL, what: string, service: string): string {
  const base = new URL(typeof origin === "string" ? origin : origin.href);
  let url: URL;
  try {
    url = new URL(link, base);
  } catch {
    throw linkRefused(link, base, what, service, "it is not a URL");
  }
  if (url.origin !== base.origin) throw linkRefused(link, base, what, service, `it leaves ${base.origin}`);
  if (!isSecureOrLoopback(url)) throw linkRefused(link, base, what, service, "it is not https");
  if (url.username || url.password) throw linkRefused(link, base, what, service, "it carries credentials");
  return url.href;
}

function linkRefused(link: string, base: URL, what: string, service: string, why: string): RemoteApiError {
  return new RemoteApiError(
    "REMOTE_LINK_REFUSED",
    `${service} sent a ${what} cosell will not follow: ${why}. Tokens and data are only sent to ${base.origin}; if the service really moved, update the configured URL.`,
    { retryable: false, details: { link: link.slice(0, 200), origin: base.origin } },
  );
}

/** The error for a 3xx answer: redirects are never followed (the body and token would go along). */
export function redirectRefused(status: number, location: string | null, where: string, service: string) {
  return new RemoteApiError(
    "REMOTE_REDIRECT_REFUSED",
    `${service} answered ${where} with a redirect (${status}${location ? ` to ${location.slice(0, 200)}` : ""}); cosell does not follow redirects, so neither the request body nor the token left for another address. Check the configured URL (it may need its final https:// form).`,
    { status, retryable: false, details: { location: location?.slice(0, 200) } },
  );
}

/** True for the statuses fetch would follow. */
export const isRedirectStatus = (status: number): boolean =>
  status === 301 || status === 302 || status === 303 || status === 307 || status === 308;

/**
 * Reads a response body as text, refusing more than `maxBytes` (`REMOTE_RESPONSE_TOO_LARGE`): a
 * hostile or broken server cannot make cosell buffer an unbounded answer. A `Content-Length` over
 * the cap is refused before any byte is read.
 */
export async function readTextCapped(
  res: Response,
  maxBytes: number,
  where: string,
  service: string,
): Promise<string> {
  const declared = Number(res.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(declared, maxBytes, where, service);
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(size, maxBytes, where, service);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function tooLarge(size: number, max: number, where: string, service: string): RemoteApiError {
  return new RemoteApiError(
    "REMOTE_RESPONSE_TOO_LARGE",
    `${service} answered ${where} with more than ${max} bytes (at least ${size}); cosell stopped reading. Raise maxResponseBytes in the config if the answer is legitimate, or lower the page size.`,
    { retryable: false, details: { bytes: size, maxBytes: max } },
  );
}

/** Refuses a page loop that runs past `maxPages` or hands back a link it already followed. */
export class PageGuard {
  private readonly seen = new Set<string>();
  constructor(
    private readonly what: string,
    private readonly service: string,
    private readonly maxPages = DEFAULT_MAX_PAGES,
  ) {}

  /** Call with each next-page link before following it. */
  next(link: string): void {
    if (this.seen.has(link))
      throw new RemoteApiError(
        "REMOTE_PAGE_LOOP",
        `${this.service} sent a next-page link for ${this.what} that was already followed; the read was stopped instead of looping. Report it if it repeats.`,
        { retryable: true, details: { link: link.slice(0, 200) } },
      );
    this.seen.add(link);
    if (this.seen.size > this.maxPages)
      throw new RemoteApiError(
        "REMOTE_PAGE_LOOP",
        `${this.service} sent more than ${this.maxPages} pages for ${this.what}; the read was stopped. Raise maxPages in the config if that is legitimate.`,
        { retryable: true, details: { pages: this.seen.size } },
      );
  }
}
