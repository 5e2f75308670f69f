import { z } from "zod";
import { CoSellError, RemoteApiError } from "../errors.js";
import type { TokenProvider } from "./auth.js";
import { createPartnerCenterHttp, type HttpDeps, type PartnerCenterHttp, type RetryPolicy } from "./http.js";
import { requireSecureUrl } from "./tls.js";
import { REFERRAL_WEBHOOK_EVENTS, type WebhookEvent } from "./webhook-receiver.js";

/**
 * Partner Center's webhook registration ("Partner Center webhooks"): one registration per tenant at
 * `https://api.partnercenter.microsoft.com/webhooks/v1/registration` (POST to create, GET to read,
 * PUT to update; no DELETE is documented), called with a token for `https://api.partnercenter.microsoft.com`,
 * a different audience from the referrals API's. Partner Center keeps one URL per event.
 */

/** The production registration endpoint. */
export const DEFAULT_WEBHOOK_REGISTRATION_URL =
  "https://api.partnercenter.microsoft.com/webhooks/v1/registration";
/** The `.default` scope of the webhook API (its own audience, not the referrals API's). */
export const PARTNER_CENTER_WEBHOOKS_SCOPE = "https://api.partnercenter.microsoft.com/.default";

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
    `Partner Center already sends ${current.events.join(", ") || "events"} for this tenant to ${current.url}. It keeps one URL per event, so registering ${url} would silently cut that receiver off (often Microsoft's co-sell connector or another tool). Stop that receiver's registration in the tool that made it, or register with replace if that receiver is no longer used. Without webhooks cosell still picks up every change by polling.`,
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

/** The webhook registration API of one tenant. */
export interface WebhookRegistrationClient {
  /** The registration endpoint used. */
  readonly url: string;
  /** The tenant's current registration, or `undefined` when there is none. */
  get(): Promise<WebhookRegistration | undefined>;
  /** Registers `url` for `events`, refusing to take events away from another URL unless `replace`. */
  register(options: RegisterWebhookOptions): Promise<WebhookRegistrationResult>;
}

/** Settings of {@link createWebhookRegistrationClient}. */
export interface WebhookRegistrationClientOptions {
  /** Default {@link DEFAULT_WEBHOOK_REGISTRATION_URL}. */
  registrationUrl?: string;
  /** Tokens for the webhook API's audience ({@link PARTNER_CENTER_WEBHOOKS_SCOPE}), not the referrals one. */
  tokens: TokenProvider;
  retry?: Partial<RetryPolicy>;
  requestTimeoutMs?: number;
}

/** Creates the registration client (its own HTTP layer: its own token, same retries and typed errors). */
export function createWebhookRegistrationClient(
  options: WebhookRegistrationClientOptions,
  deps: HttpDeps = {},
): WebhookRegistrationClient {
  const url = requireSecureUrl(
    "webhookRegistrationUrl",
    options.registrationUrl ?? DEFAULT_WEBHOOK_REGISTRATION_URL,
  ).href;
  const http = createPartnerCenterHttp(
    {
      tokens: options.tokens,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      service: "Partner Center webhooks",
      urlKey: "partnerCenter.webhookRegistrationUrl",
    },
    deps,
  );
  return {
    url,
    get: () => getWebhookRegistration(http, url),
    register: (o) => registerWebhook(http, url, o),
  };
}
