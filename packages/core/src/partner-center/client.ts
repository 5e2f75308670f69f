import { z } from "zod";
import type { HelpType, Person } from "../domain/deal.js";
import {
  editableFields,
  type LifecycleAction,
  type TransitionInput,
  transition,
} from "../domain/lifecycle.js";
import { type ActionNote, appendNote } from "../domain/notes.js";
import {
  ConfigError,
  ConflictError,
  CoSellError,
  RemoteApiError,
  ResponseValidationError,
  TransitionError,
} from "../errors.js";
import { DEFAULT_MAX_RESPONSE_BYTES } from "../remote/guard.js";
import { boundedMsalNetwork } from "../remote/msal-network.js";
import type { CreateReferralOptions, PartnerCenterPort } from "../sync/ports.js";
import {
  DEFAULT_AUTHORITY_HOST,
  PARTNER_CENTER_SCOPE,
  type TokenProvider,
  type TokenProviderDeps,
} from "./auth.js";
import { createPartnerCenterTokens, PartnerCenterAuthSchema } from "./auth-config.js";
import { configErrorFromZod } from "./config-error.js";
import { type InvitationRequest, invitationBody, isMicrosoftInvitation } from "./engagement.js";
import {
  type ApiCallStats,
  createPartnerCenterHttp,
  DEFAULT_RETRY_POLICY,
  type HttpDeps,
  type HttpResponse,
  type PartnerCenterHttp,
} from "./http.js";
import { referralPatch } from "./json-patch.js";
import {
  isClientSide,
  type ListOption,
  type ListPlan,
  listPlan,
  rawExternalIdIs,
  rawStamp,
  riskyOptions,
} from "./list-plan.js";
import { dealToReferral, referralToDeal } from "./mapping.js";
import { odataQuery } from "./odata.js";
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
import { isKnownStatusPair } from "./status.js";
import { requireSecureUrl } from "./tls.js";
import { WebhookReceiverConfigSchema } from "./webhook-receiver.js";
import {
  createWebhookRegistrationClient,
  DEFAULT_WEBHOOK_REGISTRATION_URL,
  PARTNER_CENTER_WEBHOOKS_SCOPE,
  type RegisterWebhookOptions,
  type WebhookRegistration,
  type WebhookRegistrationClient,
  type WebhookRegistrationResult,
} from "./webhook-registration.js";

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
    /** Directory (tenant) id of the partner's Entra ID tenant. */
    tenantId: z.string().min(1, "give the directory (tenant) id"),
    /** Application (client) id of the app registration. */
    clientId: z.string().min(1, "give the application (client) id"),
    /** Entra ID host; default the public cloud. */
    authorityHost: z.string().default(DEFAULT_AUTHORITY_HOST),
    /** Token endpoint override (a proxy, the sandbox); plain http only to loopback. */
    tokenEndpoint: z.string().optional(),
    /** The Partner Center API scope. */
    scope: z.string().min(1).default(PARTNER_CENTER_SCOPE),
    /**
     * How tokens are obtained: `{ kind: user }` (default; `cosell login` once) or
     * `{ kind: app, clientSecret | certificate }` (not accepted by Microsoft for referrals).
     */
    auth: PartnerCenterAuthSchema.prefault({ kind: "user" }),
    /** Moved to `auth` (kind: app); named here only to say so. */
    clientSecret: z.unknown().optional(),
    /** Moved to `auth` (kind: app); named here only to say so. */
    certificate: z.unknown().optional(),
    /** API root, e.g. the sandbox's `http://127.0.0.1:PORT/v1.0`. Plain http only to loopback. */
    apiBaseUrl: z.string().default(DEFAULT_PARTNER_CENTER_API_BASE_URL),
    /** Referrals per list page (`$top`), 1–100. */
    pageSize: z.number().int().min(1).max(PARTNER_CENTER_MAX_PAGE_SIZE).default(PARTNER_CENTER_MAX_PAGE_SIZE),
    /** One attempt is abandoned (and counted as a transient failure) after this long. */
    requestTimeoutMs: z.number().int().positive().default(60_000),
    /** Largest answer read (bytes); a larger one is refused with `REMOTE_RESPONSE_TOO_LARGE`. */
    maxResponseBytes: z.number().int().positive().default(DEFAULT_MAX_RESPONSE_BYTES),
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
    /** Webhook registration endpoint: Partner Center serves it on its own host. */
    webhookRegistrationUrl: z.string().default(DEFAULT_WEBHOOK_REGISTRATION_URL),
    /** Scope of the webhook API's token: its own audience, not the referrals API's. */
    webhookScope: z.string().min(1).default(PARTNER_CENTER_WEBHOOKS_SCOPE),
    /**
     * The public https URL of `cosell serve`'s receiver (`…/webhooks/partner-center`). When set,
     * `serve` registers it for referral-created and referral-updated.
     */
    webhookUrl: z.string().optional(),
    /** How `serve` verifies Partner Center's signed events (certificate locations, trust, limits). */
    webhookReceiver: WebhookReceiverConfigSchema.optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    for (const key of ["clientSecret", "certificate"] as const)
      if (o[key] !== undefined)
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `app credentials moved: Microsoft's Referrals API accepts only a signed-in user (App+User). Remove ${key}, keep auth: { kind: user } and run \`cosell login\`; or, knowing Microsoft refuses app-only tokens for referrals, write auth: { kind: app, ${key}: … }`,
        });
  });
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
  /** Tokens for the webhook API; by default `tokens.forScope(webhookScope)` or a provider from the config. */
  webhookTokens?: TokenProvider;
  /**
   * List options Partner Center is already known to refuse (see `list-plan.ts`), e.g. as persisted by
   * an earlier process: they are done client-side from the first call, without paying the 400 again.
   */
  unsupportedListOptions?: readonly ListOption[];
  /** Told once for each list option found unsupported, so that the caller can persist it. */
  onListOptionUnsupported?: (option: ListOption) => void;
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
  /** The referrals of one engagement (`engagementId eq …`, documented). */
  engagementId?: string;
  /** Referrals per page (`$top`), 1–100; default the config's `pageSize`. */
  pageSize?: number;
  /** Leave out this many of the first matching referrals (`$skip`, a documented list option). */
  skip?: number;
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
  /** The kind of help asked of Microsoft (`inviteContext.assistanceRequestCode`). */
  helpType?: HelpType;
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
   * externalReferenceId is returned instead (unless `firstAttempt` says none can exist), and after a
   * failure that may have landed (5xx, reset, timeout) the referral is looked up before any new attempt.
   */
  createReferral(body: NewReferral, options: CreateReferralOptions): Promise<Referral>;
  /**
   * Updates the referral to `referral` by PATCH: a JSON Patch of the paths that differ from `base`
   * (`replace`/`add` only), `If-Match: eTag`, `Prefer: return=representation` (PUT is obsolete).
   * Without `base` the current copy is read first. A stale eTag throws `ConflictError` whose
   * `current` is the server's copy.
   */
  updateReferral(id: string, referral: Referral, eTag: string, base?: Referral): Promise<Referral>;
  /**
   * Accepts an inbound referral (New/Pending, direction Incoming → Active/Accepted), setting the accept fields given.
   * `note` is added to the referral's notes, dated and signed (see {@link appendNote}).
   */
  accept(id: string, input?: AcceptInput, note?: ActionNote): Promise<Referral>;
  /** Declines an inbound referral (→ Closed/Declined, statusReason = reason), adding `note` to its notes. */
  decline(id: string, reason: string, note?: ActionNote): Promise<Referral>;
  /**
   * Closes an accepted referral as won (→ Closed/Won). A `note` is written first, as an edit of the
   * accepted referral: nothing documents whether the closing update itself may change the notes.
   */
  markWon(id: string, note?: ActionNote): Promise<Referral>;
  /** Closes an accepted referral as lost (→ Closed/Lost, statusReason = reason), adding `note` to its notes. */
  markLost(id: string, reason: string, note?: ActionNote): Promise<Referral>;
  /** Adds `note` to an accepted referral's notes, dated and signed; the notes already there stay. */
  addNote(id: string, note: ActionNote): Promise<Referral>;
  /**
   * Asks Microsoft to co-sell an accepted referral, as documented: the partner's referral becomes
   * Shared with the help notes (and the contact and consent when given), then a connected referral
   * targeting Microsoft is posted on its engagement. Returns that connected referral.
   */
  inviteMicrosoft(id: string, input: InviteMicrosoftInput): Promise<Referral>;
  /** The tenant's current webhook registration, or `undefined` when there is none. */
  getWebhookRegistration(): Promise<WebhookRegistration | undefined>;
  /** Registers `url` for `events`, refusing to take events away from another URL unless `replace`. */
  registerWebhook(options: RegisterWebhookOptions): Promise<WebhookRegistrationResult>;
  /** API calls made so far (retries, throttling waits and token requests included). */
  stats(): ApiCallStats;
  /** The list options found unsupported so far (done client-side; see `list-plan.ts`). */
  unsupportedListOptions(): ListOption[];
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
  requireSecureUrl(key("webhookRegistrationUrl"), parsed.data.webhookRegistrationUrl);
  return parsed.data;
}

/**
 * Builds the `$filter` for a list call, e.g. `updatedDateTime ge 2024-01-01T00:00:00Z and status eq 'New'`
 * (every clause server-side: what is sent before Partner Center has refused any of them).
 */
export function referralFilter(filter: ReferralListFilter): string {
  return listPlan(filter, new Set()).filter;
}

/** Creates the client. Throws `ConfigError` for bad settings (before any network call). */
export function createPartnerCenterClient(
  input: PartnerCenterClientConfigInput,
  deps: PartnerCenterClientDeps = {},
): PartnerCenterClient {
  const config = resolvePartnerCenterConfig(input);
  // Token requests get the same deadline, redirect refusal and size cap as the API calls.
  const msalSystem = deps.msalSystem ?? {
    networkClient: boundedMsalNetwork({
      timeoutMs: config.requestTimeoutMs,
      maxResponseBytes: config.maxResponseBytes,
    }),
  };
  const tokens = deps.tokens ?? createPartnerCenterTokens(config, { msalSystem });
  // The webhook API has its own audience: a second token, made only when a webhook call is made.
  let webhooks: WebhookRegistrationClient | undefined;
  const webhookClient = () =>
    (webhooks ??= createWebhookRegistrationClient(
      {
        registrationUrl: config.webhookRegistrationUrl,
        tokens:
          deps.webhookTokens ??
          tokens.forScope?.(config.webhookScope) ??
          createPartnerCenterTokens({ ...config, scope: config.webhookScope }, { msalSystem }),
        retry: config.retry,
        requestTimeoutMs: config.requestTimeoutMs,
      },
      deps,
    ));
  const http: PartnerCenterHttp = createPartnerCenterHttp(
    {
      tokens,
      retry: config.retry,
      requestTimeoutMs: config.requestTimeoutMs,
      maxResponseBytes: config.maxResponseBytes,
      urlKey: "partnerCenter.apiBaseUrl",
    },
    deps,
  );
  const now = deps.now ?? (() => new Date());
  const apiRoot = config.apiBaseUrl.replace(/\/+$/, "");
  const referralsUrl = `${apiRoot}/engagements/referrals`;
  const referralUrl = (id: string) => `${referralsUrl}/${encodeURIComponent(id)}`;

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

  /**
   * The next page's URL. Microsoft's own example link is `http://…/v1.0/referrals?$skiptoken=…` (plain
   * http, another path than the list's): a link on the API's host is followed, but always over the
   * configured scheme and port (https in production), so the bearer token never travels in clear. A
   * link to any other host is refused: the token goes with every request.
   */
  function nextPageUrl(next: string, current: string, seen: Set<string>): string {
    let url: URL | undefined;
    try {
      url = new URL(next, current);
    } catch {
      url = undefined;
    }
    const api = new URL(apiRoot);
    const defaultPort = url && (url.port === "" || url.port === (url.protocol === "http:" ? "80" : "443"));
    const why = !url
      ? "not a URL"
      : url.hostname !== api.hostname
        ? `not on ${api.hostname}`
        : url.protocol !== "http:" && url.protocol !== "https:"
          ? `not http(s)`
          : url.port !== api.port && !defaultPort
            ? `another port than ${api.origin}'s`
            : url.username || url.password
              ? "it carries credentials"
              : undefined;
    if (url && !why) {
      url.protocol = api.protocol;
      url.port = api.port;
    }
    if (!url || why || seen.has(url.href))
      throw new ResponseValidationError(
        "REMOTE_BAD_RESPONSE",
        `Partner Center sent a page link cosell will not follow: field "@odata.nextLink" is "${next.slice(0, 200)}" (${why ?? "a page already read"}).`,
        { details: { field: "@odata.nextLink", url: current, nextLink: next.slice(0, 200) } },
      );
    return url.href;
  }

  /** List options found unsupported (see list-plan.ts): done client-side from then on. */
  const unsupported = new Set<ListOption>(deps.unsupportedListOptions ?? []);

  function listUrl(plan: ListPlan, top: number): string {
    return (
      referralsUrl +
      odataQuery({ $filter: plan.filter, $orderby: plan.orderBy, $top: top, $skip: plan.serverSkip })
    );
  }

  /** One raw list page (referrals not yet validated one by one unless `schema` is the page schema). */
  async function listPage(
    url: string,
    envelope: boolean,
  ): Promise<{ page: ReferralPage | ReferralPageEnvelope; status: number }> {
    const res: HttpResponse<ReferralPage | ReferralPageEnvelope> = await http.send<
      ReferralPage | ReferralPageEnvelope
    >({
      method: "GET",
      url,
      schema: envelope ? ReferralPageEnvelopeSchema : ReferralPageSchema,
      what: "referral page",
    });
    if (!res.body)
      throw new ResponseValidationError(
        "REMOTE_BAD_RESPONSE",
        `Partner Center sent an empty referral page.`,
        {
          status: res.status,
          details: { field: "(body)", url },
        },
      );
    return { page: res.body, status: res.status };
  }

  /**
   * The first page of a listing. A 400 while an option Partner Center might refuse was sent is
   * retried once per such option, without it (done client-side instead); an option whose removal
   * made the call succeed is remembered. A 400 that persists without them is the caller's to see.
   */
  async function firstPage(
    filter: ReferralListFilter,
    top: number,
  ): Promise<{ plan: ListPlan; url: string; page: ReferralPage | ReferralPageEnvelope; status: number }> {
    const risky = riskyOptions(filter);
    const off = new Set(risky.filter((o) => unsupported.has(o)));
    const dropped: ListOption[] = [];
    for (;;) {
      const plan = listPlan(filter, off);
      const clientSide = isClientSide(plan);
      // A client-side match reads the whole listing: full pages, whatever size the caller asked for.
      const url = listUrl(
        plan,
        plan.externalReferenceId !== undefined ? Math.max(top, config.pageSize) : top,
      );
      try {
        const { page, status } = await listPage(url, clientSide || !!filter.onInvalid);
        for (const o of dropped) {
          unsupported.add(o);
          deps.onListOptionUnsupported?.(o);
        }
        return { plan, url, page, status };
      } catch (e) {
        const next = risky.find((o) => !off.has(o));
        if (!(e instanceof RemoteApiError && e.status === 400) || next === undefined) throw e;
        off.add(next);
        dropped.push(next);
      }
    }
  }

  /** Validates listed items one by one: through `onInvalid` when given, else the first bad one fails. */
  function validate(items: readonly unknown[], url: string, status: number, filter: ReferralListFilter) {
    if (filter.onInvalid) return validItems(items, url, status, filter.onInvalid);
    return items.map((item, i) => {
      const parsed = ReferralSchema.safeParse(item);
      if (parsed.success) return parsed.data;
      const first = parsed.error.issues[0];
      const field = ["value", String(i), ...(first?.path.map(String) ?? [])].join(".");
      throw new ResponseValidationError(
        "REMOTE_BAD_RESPONSE",
        `Partner Center answered GET ${new URL(url).pathname} with a referral page cosell cannot use: field "${field}" ${first?.message ?? "invalid"}. This is a Partner Center fault or an API change; report it if it persists.`,
        { status, retryable: false, details: { field, url } },
      );
    });
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
    const first = await firstPage(filter, top);
    const { plan } = first;
    let url: string | undefined = first.url;
    let current: { page: ReferralPage | ReferralPageEnvelope; status: number } | undefined = first;
    if (!isClientSide(plan)) {
      // Everything server-side: pages are yielded as they come.
      while (url && current) {
        seen.add(url);
        const value = filter.onInvalid
          ? validItems(current.page.value, url, current.status, filter.onInvalid)
          : (current.page.value as Referral[]);
        if (value.length) yield value;
        const next: string | null | undefined = current.page["@odata.nextLink"];
        url = next ? nextPageUrl(next, url, seen) : undefined;
        current = url ? await listPage(url, !!filter.onInvalid) : undefined;
      }
      return;
    }
    // Client-side work on raw items (before validation, so that a referral the filter leaves out is
    // never reported as unreadable, and $skip counts what the server's $skip would have counted).
    let toSkip = plan.skip ?? 0;
    const keep = (items: readonly unknown[]) => {
      const kept =
        plan.externalReferenceId === undefined
          ? [...items]
          : items.filter((item) => rawExternalIdIs(item, plan.externalReferenceId ?? ""));
      const skipped = kept.splice(0, Math.min(toSkip, kept.length));
      toSkip -= skipped.length;
      return kept;
    };
    if (plan.sinceMs === undefined) {
      while (url && current) {
        seen.add(url);
        const value = validate(keep(current.page.value), url, current.status, filter);
        if (value.length) yield value;
        const next: string | null | undefined = current.page["@odata.nextLink"];
        url = next ? nextPageUrl(next, url, seen) : undefined;
        current = url ? await listPage(url, true) : undefined;
      }
      return;
    }
    // Newest first until the first referral older than the cut-off, then back into ascending order.
    // (An unreadable stamp is kept: validation reports it.) A referral changed while this runs moves
    // ahead of the read and may be missed now; its new stamp is inside the next cycle's window.
    const sinceMs = plan.sinceMs;
    const newestFirst: unknown[] = [];
    let lastUrl = url;
    let lastStatus = first.status;
    while (url && current) {
      seen.add(url);
      lastUrl = url;
      lastStatus = current.status;
      let older = false;
      for (const item of current.page.value) {
        const ms = rawStamp(item);
        if (ms !== undefined && ms < sinceMs) older = true;
        else newestFirst.push(item);
      }
      const next: string | null | undefined = current.page["@odata.nextLink"];
      url = next && !older ? nextPageUrl(next, url, seen) : undefined;
      current = url ? await listPage(url, true) : undefined;
    }
    const ascending = keep(newestFirst.reverse());
    for (let i = 0; i < ascending.length; i += top) {
      const value = validate(ascending.slice(i, i + top), lastUrl, lastStatus, filter);
      if (value.length) yield value;
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
      if (parsed.success && !isKnownStatusPair(parsed.data.status, parsed.data.substatus)) {
        // Both values are valid on their own, but together they name no stage cosell knows: marked
        // with its own code so nobody mistakes it for a malformed answer, and nothing is guessed.
        const r = parsed.data;
        refused.push({
          id: r.id,
          error: new ResponseValidationError(
            "REFERRAL_STATUS_UNKNOWN",
            `Referral ${r.id} is ${r.status}/${r.substatus} (direction ${r.direction ?? "not given"}), a status/substatus pair cosell does not know how to read. It is skipped until Partner Center moves it to a known pair; report the pair so cosell can learn it. The other referrals sync.`,
            {
              status,
              retryable: false,
              details: { field: `value.${i}.substatus`, url, pair: `${r.status}/${r.substatus}` },
            },
          ),
        });
        return;
      }
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

  async function createReferral(body: NewReferral, options: CreateReferralOptions): Promise<Referral> {
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
    // The caller's write-ahead record proves this is the first attempt: the look-up would find nothing.
    const existing = options.firstAttempt ? undefined : await findByExternalReferenceId(crmId);
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

  async function updateReferral(
    id: string,
    referral: Referral,
    eTag: string,
    base?: Referral,
  ): Promise<Referral> {
    const url = referralUrl(id);
    // Only the changed paths go out: whatever cosell does not model stays as Partner Center has it.
    const from = base ?? (await getReferral(id));
    const ops = referralPatch(from, referral);
    if (!ops.length) return from;
    try {
      const res = await http.send<Referral>({
        method: "PATCH",
        url,
        headers: { "If-Match": eTag, Prefer: "return=representation" },
        body: ops,
        schema: ReferralSchema,
        what: "referral",
      });
      // Without the representation (a service that ignores Prefer answers 204), read it back.
      return res.status === 204 || !res.body ? await getReferral(id) : written(res, url);
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

  /** Read, check the lifecycle, map back, PATCH with the eTag read: how the API expresses every action. */
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
    return updateReferral(id, body, base.eTag, base);
  }

  /**
   * An edit of the notes alone, allowed while the referral is accepted (`EDITABLE_FIELDS`). With
   * `before`, the note is only written when that action would be allowed right after it.
   */
  async function addNote(id: string, note: ActionNote, before?: LifecycleAction): Promise<Referral> {
    const base = await getReferral(id);
    const at = now();
    const deal = referralToDeal(base, { now: at });
    const then = before && transition(deal, before, {}, at);
    if (then && !then.ok) {
      Object.assign(then.error.details, { referralId: id });
      throw then.error;
    }
    if (!editableFields(deal.stage).includes("notes"))
      throw new TransitionError(
        "NOTES_READ_ONLY",
        `Referral ${id} is ${deal.stage}; its notes can only be added to while it is accepted.`,
        { referralId: id, stage: deal.stage },
      );
    if (!base.eTag)
      throw new ResponseValidationError(
        "REMOTE_BAD_RESPONSE",
        `Partner Center sent referral ${id} without field "eTag"; it cannot be changed safely without one.`,
        { details: { field: "eTag", url: referralUrl(id) } },
      );
    const next = { ...deal, notes: appendNote(deal.notes, note, at), version: base.eTag };
    return updateReferral(id, dealToReferral(next, base), base.eTag, base);
  }

  async function listRelatedReferrals(engagementId: string): Promise<Referral[]> {
    const out: Referral[] = [];
    for await (const page of listReferrals({ engagementId })) out.push(...page);
    return out;
  }

  /**
   * Idempotent: a connected referral already inviting Microsoft on this engagement (a crash lost the
   * answer of an earlier POST) is returned instead of a second one. Invitations are rare, so the
   * look-up is always made.
   */
  async function createInvitation(main: Referral, request: InvitationRequest): Promise<Referral> {
    if (!main.engagementId)
      throw new ResponseValidationError(
        "REMOTE_BAD_RESPONSE",
        `Referral ${main.id} has no engagementId; Microsoft is invited on the deal's engagement, so it cannot be invited without one. Report this if it persists.`,
        { details: { field: "engagementId", referralId: main.id } },
      );
    const engagementId = main.engagementId;
    const find = async () => (await listRelatedReferrals(engagementId)).find(isMicrosoftInvitation);
    const existing = await find();
    if (existing) return existing;
    const res = await http.send<Referral>({
      method: "POST",
      url: referralsUrl,
      body: invitationBody(main, request),
      schema: ReferralSchema,
      what: "referral",
      // A POST whose answer was lost may have landed: look for it before any second attempt.
      recover: find,
    });
    return res.recovered && res.body ? res.body : written(res, referralsUrl);
  }

  return {
    config,
    listReferrals,
    listRelatedReferrals,
    createInvitation,
    getReferral,
    findByExternalReferenceId,
    createReferral,
    updateReferral,
    accept: (id, input = {}, note) => act(id, "accept", { accept: input, note }),
    decline: (id, reason, note) => act(id, "decline", { reason, note }),
    markWon: async (id, note) => {
      if (note?.text.trim()) await addNote(id, note, "win");
      return act(id, "win", {});
    },
    markLost: (id, reason, note) => act(id, "lose", { reason, note }),
    addNote: (id, note) => addNote(id, note),
    inviteMicrosoft: async (id, input) => {
      const main = await act(id, "inviteMicrosoft", {
        notes: input.notes,
        helpType: input.helpType,
        contact: input.contact,
        consentToShareContact: input.consentToShareContact,
      });
      return createInvitation(main, { notes: input.notes, helpType: input.helpType });
    },
    getWebhookRegistration: () => webhookClient().get(),
    registerWebhook: (options) => webhookClient().register(options),
    stats: () => http.stats(),
    unsupportedListOptions: () => [...unsupported],
  };
}
