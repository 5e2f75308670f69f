import { z } from "zod";
import type { Person } from "../domain/deal.js";
import { type LifecycleAction, type TransitionInput, transition } from "../domain/lifecycle.js";
import {
  ConfigError,
  ConflictError,
  CoSellError,
  RemoteApiError,
  ResponseValidationError,
} from "../errors.js";
import type { PartnerCenterPort } from "../sync/ports.js";
import {
  createTokenProvider,
  requireOneCredential,
  type TokenProvider,
  type TokenProviderDeps,
  tokenProviderShape,
} from "./auth.js";
import { configErrorFromZod } from "./config-error.js";
import {
  type ApiCallStats,
  createPartnerCenterHttp,
  DEFAULT_RETRY_POLICY,
  type HttpDeps,
  type HttpResponse,
  type PartnerCenterHttp,
} from "./http.js";
import { dealToReferral, referralToDeal } from "./mapping.js";
import { odataAnd, odataDateTime, odataQuery, odataString } from "./odata.js";
import {
  type NewReferral,
  type Referral,
  type ReferralPage,
  type ReferralPageEnvelope,
  ReferralPageEnvelopeSchema,
  ReferralPageSchema,
  ReferralSchema,
  type ReferralStatus,
  type ReferralSubstatus,
} from "./referral.js";
import { requireSecureUrl } from "./tls.js";
import {
  getWebhookRegistration,
  type RegisterWebhookOptions,
  registerWebhook,
  unregisterWebhook,
  type WebhookRegistration,
  type WebhookRegistrationResult,
} from "./webhooks.js";

/** The production API root; the referrals live under `{apiBaseUrl}/engagements/referrals`. */
export const DEFAULT_PARTNER_CENTER_API_BASE_URL = "https://api.partner.microsoft.com/v1.0";

/** Partner Center's cap on `$top`. */
export const PARTNER_CENTER_MAX_PAGE_SIZE = 100;

/**
 * Settings of {@link createPartnerCenterClient}. Everything but the tenant, the app and its credential
 * has a default. Unknown keys are refused so that a typo does not silently fall back to a default.
 */
export const PartnerCenterClientConfigSchema = z
  .object({
    ...tokenProviderShape,
    /** API root, e.g. the sandbox's `http://127.0.0.1:PORT/v1.0`. Plain http only to loopback. */
    apiBaseUrl: z.string().default(DEFAULT_PARTNER_CENTER_API_BASE_URL),
    /** Referrals per list page (`$top`), 1–100. */
    pageSize: z.number().int().min(1).max(PARTNER_CENTER_MAX_PAGE_SIZE).default(PARTNER_CENTER_MAX_PAGE_SIZE),
    /** One attempt is abandoned (and counted as a transient failure) after this long. */
    requestTimeoutMs: z.number().int().positive().default(60_000),
    /** Retries of throttled (429) and transiently failed (5xx, reset, timeout) calls. */
    retry: z
      .object({
        maxAttempts: z.number().int().min(1).max(20).default(DEFAULT_RETRY_POLICY.maxAttempts),
        maxRetryTimeMs: z.number().int().min(0).default(DEFAULT_RETRY_POLICY.maxRetryTimeMs),
        baseDelayMs: z.number().int().min(0).default(DEFAULT_RETRY_POLICY.baseDelayMs),
        maxDelayMs: z.number().int().min(0).default(DEFAULT_RETRY_POLICY.maxDelayMs),
      })
      .strict()
      .prefault({}),
    /**
     * Webhook registration endpoint; default `{origin of apiBaseUrl}/webhooks/v1/registration`.
     * (Production Partner Center serves it on `https://api.partnercenter.microsoft.com`.)
     */
    webhookRegistrationUrl: z.string().optional(),
  })
  .strict()
  .superRefine(requireOneCredential);
/** Validated settings, defaults applied. */
export type PartnerCenterClientConfig = z.infer<typeof PartnerCenterClientConfigSchema>;
/** Settings as written in a config file (defaults optional). */
export type PartnerCenterClientConfigInput = z.input<typeof PartnerCenterClientConfigSchema>;

/** Runtime dependencies; tests inject `fetch`, `sleep` and `now`, production passes nothing. */
export interface PartnerCenterClientDeps extends HttpDeps, TokenProviderDeps {
  /** The clock the lifecycle guards use (response windows); defaults to the system clock. */
  now?: () => Date;
  /** A token provider to share; by default the client creates its own from the config. */
  tokens?: TokenProvider;
}

/** Which referrals {@link PartnerCenterClient.listReferrals} returns. Every field narrows the list. */
export interface ReferralListFilter {
  /** Only referrals changed at or after this instant (`updatedDateTime ge …`). */
  updatedSince?: Date;
  status?: ReferralStatus;
  substatus?: ReferralSubstatus;
  /** inbound = `direction eq 'Incoming'`, outbound = `direction eq 'Outgoing'`. */
  direction?: "inbound" | "outbound";
  /** The CRM id stored on the referral. */
  externalReferenceId?: string;
  /** Referrals per page (`$top`), 1–100; default the config's `pageSize`. */
  pageSize?: number;
  /**
   * Called for a listed referral that fails validation but has a readable id; it is then left out of
   * its page instead of failing the whole list. Without it (or when the id itself is unreadable) the
   * page fails with a `ResponseValidationError` naming the field.
   */
  onInvalid?: (invalid: { id: string; error: ResponseValidationError }) => void;
}

/** Fields the partner may fill in while accepting (see `ACCEPT_FIELDS` in the lifecycle). */
export type AcceptInput = NonNullable<TransitionInput["accept"]>;

/** What inviting Microsoft carries: what help is needed, and the customer contact and consent if not on the deal yet. */
export interface InviteMicrosoftInput {
  notes: string;
  contact?: Person;
  consentToShareContact?: boolean;
}

/**
 * The Partner Center Referrals API client. Reads are retried on throttling and transient failures;
 * writes use `If-Match` and are never blindly repeated. Lifecycle actions are checked against core's
 * transition table before anything is sent.
 */
export interface PartnerCenterClient extends PartnerCenterPort {
  /** The validated settings (secrets included: do not log). */
  readonly config: PartnerCenterClientConfig;
  /** Referrals matching `filter`, oldest change first (`$orderby=updatedDateTime asc`), one page at a time. */
  listReferrals(filter?: ReferralListFilter): AsyncIterable<Referral[]>;
  /** Throws `NotFoundError` when there is no such referral. */
  getReferral(id: string): Promise<Referral>;
  /** The referral carrying `crmId` as its externalReferenceId (the oldest if several), or `undefined`. */
  findByExternalReferenceId(crmId: string): Promise<Referral | undefined>;
  /**
   * Creates the referral for CRM record `crmId`, idempotently: an existing referral with that
   * externalReferenceId is returned instead, and after a failure that may have landed (5xx, reset,
   * timeout) the referral is looked up before any new attempt.
   */
  createReferral(body: NewReferral, options: { crmId: string }): Promise<Referral>;
  /**
   * Replaces the referral (PUT, `If-Match: eTag`). A stale eTag throws `ConflictError` whose `current`
   * is the server's copy.
   */
  updateReferral(id: string, referral: Referral, eTag: string): Promise<Referral>;
  /** Accepts an inbound referral (New/Received → Active/Accepted), setting the accept fields given. */
  accept(id: string, input?: AcceptInput): Promise<Referral>;
  /** Declines an inbound referral (→ Closed/Declined, statusReason = reason). */
  decline(id: string, reason: string, notes?: string): Promise<Referral>;
  /** Closes an accepted referral as won (→ Closed/Won). */
  markWon(id: string): Promise<Referral>;
  /** Closes an accepted referral as lost (→ Closed/Lost, statusReason = reason). */
  markLost(id: string, reason: string): Promise<Referral>;
  /** Asks Microsoft to co-sell an accepted referral (type Shared, inviteContext notes, contact and consent). */
  inviteMicrosoft(id: string, input: InviteMicrosoftInput): Promise<Referral>;
  /** The tenant's current webhook registration, or `undefined` when there is none. */
  getWebhookRegistration(): Promise<WebhookRegistration | undefined>;
  /** Registers `url` for `events`, refusing to take events away from another URL unless `replace`. */
  registerWebhook(options: RegisterWebhookOptions): Promise<WebhookRegistrationResult>;
  /** Removes the registration if it points at `url`; returns whether it did. */
  unregisterWebhook(options: { url: string }): Promise<boolean>;
  /** API calls made so far (retries, throttling waits and token requests included). */
  stats(): ApiCallStats;
}

/** Validates client settings; a bad value is a `ConfigError` naming the key (secrets never shown). */
export function resolvePartnerCenterConfig(
  input: PartnerCenterClientConfigInput,
  keyPrefix = "",
): PartnerCenterClientConfig {
  const parsed = PartnerCenterClientConfigSchema.safeParse(input);
  if (!parsed.success) throw configErrorFromZod(parsed.error, input, keyPrefix);
  const key = (k: string) => [keyPrefix, k].filter(Boolean).join(".");
  requireSecureUrl(key("apiBaseUrl"), parsed.data.apiBaseUrl);
  requireSecureUrl(key("authorityHost"), parsed.data.authorityHost);
  if (parsed.data.tokenEndpoint) requireSecureUrl(key("tokenEndpoint"), parsed.data.tokenEndpoint);
  if (parsed.data.webhookRegistrationUrl)
    requireSecureUrl(key("webhookRegistrationUrl"), parsed.data.webhookRegistrationUrl);
  return parsed.data;
}

/** Builds the `$filter` for a list call, e.g. `updatedDateTime ge 2024-01-01T00:00:00Z and status eq 'New'`. */
export function referralFilter(filter: ReferralListFilter): string {
  return odataAnd([
    filter.updatedSince ? `updatedDateTime ge ${odataDateTime(filter.updatedSince)}` : undefined,
    filter.status ? `status eq ${odataString(filter.status)}` : undefined,
    filter.substatus ? `substatus eq ${odataString(filter.substatus)}` : undefined,
    filter.direction
      ? `direction eq ${odataString(filter.direction === "inbound" ? "Incoming" : "Outgoing")}`
      : undefined,
    filter.externalReferenceId !== undefined
      ? `externalReferenceId eq ${odataString(filter.externalReferenceId)}`
      : undefined,
  ]);
}

/** Creates the client. Throws `ConfigError` for bad settings (before any network call). */
export function createPartnerCenterClient(
  input: PartnerCenterClientConfigInput,
  deps: PartnerCenterClientDeps = {},
): PartnerCenterClient {
  const config = resolvePartnerCenterConfig(input);
  const tokens =
    deps.tokens ??
    createTokenProvider(
      {
        tenantId: config.tenantId,
        clientId: config.clientId,
        clientSecret: config.clientSecret,
        certificate: config.certificate,
        authorityHost: config.authorityHost,
        tokenEndpoint: config.tokenEndpoint,
        scope: config.scope,
      },
      { msalSystem: deps.msalSystem },
    );
  const http: PartnerCenterHttp = createPartnerCenterHttp(
    { tokens, retry: config.retry, requestTimeoutMs: config.requestTimeoutMs },
    deps,
  );
  const now = deps.now ?? (() => new Date());
  const apiRoot = config.apiBaseUrl.replace(/\/+$/, "");
  const apiOrigin = new URL(apiRoot).origin;
  const referralsUrl = `${apiRoot}/engagements/referrals`;
  const referralUrl = (id: string) => `${referralsUrl}/${encodeURIComponent(id)}`;
  const webhookUrl = config.webhookRegistrationUrl ?? `${apiOrigin}/webhooks/v1/registration`;

  /** A write's answer must be a referral with an eTag: the next write needs it. */
  function written(res: HttpResponse<Referral>, url: string): Referral {
    const r = res.body;
    if (!r?.eTag)
      throw new ResponseValidationError(
        "REMOTE_BAD_RESPONSE",
        `Partner Center answered a write to ${new URL(url).pathname} without field "eTag"; cosell cannot write the referral again safely without it. Report this if it persists.`,
        { status: res.status, details: { field: "eTag", url } },
      );
    return r;
  }

  function nextPageUrl(next: string, current: string, seen: Set<string>): string {
    let url: URL;
    try {
      url = new URL(next, current);
    } catch {
      url = new URL("invalid:");
    }
    // The bearer token goes with every request: never follow a link off the API's own origin.
    if (url.origin !== apiOrigin || seen.has(url.href))
      throw new ResponseValidationError(
        "REMOTE_BAD_RESPONSE",
        `Partner Center sent a page link cosell will not follow: field "@odata.nextLink" is "${next}" (${url.origin !== apiOrigin ? `not on ${apiOrigin}` : "a page already read"}).`,
        { details: { field: "@odata.nextLink", url: current, nextLink: next } },
      );
    return url.href;
  }

  async function* listReferrals(filter: ReferralListFilter = {}): AsyncGenerator<Referral[]> {
    const top = filter.pageSize ?? config.pageSize;
    if (!Number.isInteger(top) || top < 1 || top > PARTNER_CENTER_MAX_PAGE_SIZE)
      throw new ConfigError(
        "CONFIG_INVALID",
        `pageSize: ${top} — use a whole number from 1 to ${PARTNER_CENTER_MAX_PAGE_SIZE}.`,
        {
          key: "pageSize",
          value: top,
        },
      );
    const seen = new Set<string>();
    let url: string | undefined =
      referralsUrl +
      odataQuery({ $filter: referralFilter(filter), $orderby: "updatedDateTime asc", $top: top });
    while (url) {
      seen.add(url);
      // With onInvalid the referrals are validated one by one (validItems), not as a page.
      const res: HttpResponse<ReferralPage | ReferralPageEnvelope> = await http.send<
        ReferralPage | ReferralPageEnvelope
      >({
        method: "GET",
        url,
        schema: filter.onInvalid ? ReferralPageEnvelopeSchema : ReferralPageSchema,
        what: "referral page",
      });
      const page = res.body;
      if (!page)
        throw new ResponseValidationError(
          "REMOTE_BAD_RESPONSE",
          `Partner Center sent an empty referral page.`,
          {
            status: res.status,
            details: { field: "(body)", url },
          },
        );
      const value = filter.onInvalid
        ? validItems(page.value, url, res.status, filter.onInvalid)
        : (page.value as Referral[]);
      if (value.length) yield value;
      const next: string | null | undefined = page["@odata.nextLink"];
      url = next ? nextPageUrl(next, url, seen) : undefined;
    }
  }

  /**
   * The page's referrals that validate; the others are reported through `onInvalid`. A referral whose
   * id cannot be read cannot be marked, so it fails the page as a whole.
   */
  function validItems(
    items: readonly unknown[],
    url: string,
    status: number,
    onInvalid: NonNullable<ReferralListFilter["onInvalid"]>,
  ): Referral[] {
    const out: Referral[] = [];
    const refused: { id: string; error: ResponseValidationError }[] = [];
    items.forEach((item, i) => {
      const parsed = ReferralSchema.safeParse(item);
      if (parsed.success) {
        out.push(parsed.data);
        return;
      }
      const first = parsed.error.issues[0];
      const field = ["value", String(i), ...(first?.path.map(String) ?? [])].join(".");
      const error = new ResponseValidationError(
        "REMOTE_BAD_RESPONSE",
        `Partner Center listed a referral cosell cannot use: field "${field}" — ${first?.message ?? "invalid"}. This is a Partner Center fault or an API change; the referral is skipped until it is readable, the others sync.`,
        { status, retryable: false, details: { field, url } },
      );
      const id = (item as { id?: unknown } | null)?.id;
      if (typeof id !== "string" || id === "") throw error;
      refused.push({ id, error });
    });
    for (const r of refused) onInvalid(r);
    return out;
  }

  async function getReferral(id: string): Promise<Referral> {
    const url = referralUrl(id);
    const res = await http.send({ method: "GET", url, schema: ReferralSchema, what: "referral" });
    if (!res.body)
      throw new ResponseValidationError(
        "REMOTE_BAD_RESPONSE",
        `Partner Center sent no body for GET ${url}.`,
        {
          status: res.status,
          details: { field: "(body)", url },
        },
      );
    return res.body;
  }

  async function findByExternalReferenceId(crmId: string): Promise<Referral | undefined> {
    const matches: Referral[] = [];
    for await (const page of listReferrals({ externalReferenceId: crmId, pageSize: 10 }))
      matches.push(...page.filter((r) => r.externalReferenceId === crmId));
    // Duplicates should not exist; if another tool made some, the oldest is the one CRM links point to.
    matches.sort((a, b) => Date.parse(a.createdDateTime) - Date.parse(b.createdDateTime));
    return matches[0];
  }

  async function createReferral(body: NewReferral, options: { crmId: string }): Promise<Referral> {
    const crmId = options.crmId?.trim();
    if (!crmId)
      throw new CoSellError(
        "CREATE_CRM_ID_REQUIRED",
        "A referral is created for one CRM record: pass its id as crmId (it is stored as externalReferenceId and makes the create idempotent).",
      );
    if (body.externalReferenceId && body.externalReferenceId !== crmId)
      throw new CoSellError(
        "CREATE_CRM_ID_MISMATCH",
        `The referral body carries externalReferenceId "${body.externalReferenceId}" but crmId is "${crmId}"; they must be the same CRM record.`,
        { crmId, externalReferenceId: body.externalReferenceId },
      );
    const existing = await findByExternalReferenceId(crmId);
    if (existing) return existing;
    try {
      const res = await http.send<Referral>({
        method: "POST",
        url: referralsUrl,
        body: { ...body, externalReferenceId: crmId },
        schema: ReferralSchema,
        what: "referral",
        recover: () => findByExternalReferenceId(crmId),
      });
      return res.recovered && res.body ? res.body : written(res, referralsUrl);
    } catch (e) {
      // A 409 means Partner Center already has it (e.g. another run created it meanwhile).
      if (e instanceof RemoteApiError && e.status === 409) {
        const found = await findByExternalReferenceId(crmId);
        if (found) return found;
      }
      throw e;
    }
  }

  async function updateReferral(id: string, referral: Referral, eTag: string): Promise<Referral> {
    const url = referralUrl(id);
    try {
      const res = await http.send<Referral>({
        method: "PUT",
        url,
        headers: { "If-Match": eTag },
        body: referral,
        schema: ReferralSchema,
        what: "referral",
      });
      return res.status === 204 ? await getReferral(id) : written(res, url);
    } catch (e) {
      if (e instanceof ConflictError && e.current === undefined) {
        const current = await getReferral(id);
        throw new ConflictError(
          `Referral ${id} changed in Partner Center since it was read (eTag ${eTag} is stale; current ${current.eTag ?? "unknown"}). Re-read it, re-apply the change and try again.`,
          current,
          {
            status: 412,
            details: { ...e.details, referralId: id, sentETag: eTag, currentETag: current.eTag },
          },
        );
      }
      throw e;
    }
  }

  /** Read, check the lifecycle, map back, PUT with the eTag read: how the API expresses every action. */
  async function act(id: string, action: LifecycleAction, input: TransitionInput): Promise<Referral> {
    const base = await getReferral(id);
    const at = now();
    const result = transition(referralToDeal(base, { now: at }), action, input, at);
    if (!result.ok) {
      Object.assign(result.error.details, { referralId: id });
      throw result.error;
    }
    if (!base.eTag)
      throw new ResponseValidationError(
        "REMOTE_BAD_RESPONSE",
        `Partner Center sent referral ${id} without field "eTag"; it cannot be changed safely without one.`,
        { details: { field: "eTag", url: referralUrl(id) } },
      );
    const body = dealToReferral({ ...result.deal, version: base.eTag }, base);
    return updateReferral(id, body, base.eTag);
  }

  return {
    config,
    listReferrals,
    getReferral,
    findByExternalReferenceId,
    createReferral,
    updateReferral,
    accept: (id, input = {}) => act(id, "accept", { accept: input }),
    decline: (id, reason, notes) => act(id, "decline", { reason, notes }),
    markWon: (id) => act(id, "win", {}),
    markLost: (id, reason) => act(id, "lose", { reason }),
    inviteMicrosoft: (id, input) =>
      act(id, "inviteMicrosoft", {
        notes: input.notes,
        contact: input.contact,
        consentToShareContact: input.consentToShareContact,
      }),
    getWebhookRegistration: () => getWebhookRegistration(http, webhookUrl),
    registerWebhook: (options) => registerWebhook(http, webhookUrl, options),
    unregisterWebhook: (options) => unregisterWebhook(http, webhookUrl, options),
    stats: () => http.stats(),
  };
}
