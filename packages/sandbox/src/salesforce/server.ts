import type {
  EmulatedServer,
  Fault,
  SandboxClock,
  SandboxRequest,
  SandboxResponse,
  TokenRegistry,
} from "../kit/index.js";
import { ApiUsage } from "./api-usage.js";
import { ChangeEventBus } from "./cdc/change-events.js";
import { createCometdEndpoint } from "./cdc/cometd.js";
import type { SalesforceContext } from "./context.js";
import { createControl, type SalesforceControl } from "./control.js";
import { notFound, SalesforceApiError, sfErrorResponse, sfJson } from "./errors.js";
import { OAuthService } from "./oauth.js";
import { resolveOptions, type SalesforceOrgOptions } from "./options.js";
import { CursorStore } from "./rest/cursors.js";
import { handleRestRequest, versionsBody } from "./rest/router.js";
import { SchemaRegistry } from "./schema/registry.js";
import { createIntegrationUser, seedDemoData } from "./seed.js";
import { handleMetadataSoap } from "./soap/metadata-api.js";
import { MetadataService } from "./soap/metadata-service.js";
import { Dml } from "./store/dml.js";
import { Org } from "./store/org.js";

/** The emulated Salesforce org: an {@link EmulatedServer} for `listen()` plus in-process control. */
export interface SalesforceServer extends EmulatedServer {
  readonly control: SalesforceControl;
}

/** Shared sandbox services the org needs: the clock (timestamps, token expiry) and the token registry. */
export interface SalesforceServerContext {
  clock: SandboxClock;
  tokens: TokenRegistry;
}

function createStages(org: Org): void {
  const now = org.now();
  for (const [i, s] of org.schema.stages.entries())
    org.store.put(
      "OpportunityStage",
      Object.freeze({
        Id: org.ids.next("01J"),
        MasterLabel: s.label ?? s.apiName,
        ApiName: s.apiName,
        IsActive: s.isActive ?? true,
        SortOrder: i + 1,
        IsClosed: s.isClosed,
        IsWon: s.isWon,
        ForecastCategory: org.schema.forecastCategory(s.forecastCategoryName),
        ForecastCategoryName: s.forecastCategoryName,
        DefaultProbability: s.defaultProbability,
        Description: s.description ?? null,
        CreatedDate: now,
        CreatedById: org.integrationUserId,
        LastModifiedDate: now,
        LastModifiedById: org.integrationUserId,
        SystemModstamp: now,
      }),
    );
}

/** `GET /id/<orgId>/<userId>`: the identity URL the token response points at. */
function identity(
  ctx: SalesforceContext,
  req: SandboxRequest,
  orgId: string,
  userId: string,
): SandboxResponse {
  req.endpoint = "GET /id/{org}/{user}";
  const bearer = req.headers.authorization ?? `Bearer ${req.url.searchParams.get("oauth_token") ?? ""}`;
  const token = ctx.tokens.verifyBearer(bearer, "salesforce");
  if (!token) return { status: 403, headers: { "content-type": "text/plain" }, body: "Bad_OAuth_Token" };
  const user = ctx.org.store.get("User", userId);
  if (orgId !== ctx.org.orgId || !user) return sfErrorResponse(notFound());
  const base = req.origin;
  const v = "{version}";
  return sfJson(200, {
    id: `${base}/id/${orgId}/${userId}`,
    asserted_user: token.subject === userId,
    user_id: userId,
    organization_id: orgId,
    username: user.Username,
    nick_name: String(user.Username ?? "").split("@")[0],
    display_name: user.Name,
    email: user.Email,
    email_verified: true,
    first_name: user.FirstName,
    last_name: user.LastName,
    timezone: user.TimeZoneSidKey,
    mobile_phone: user.MobilePhone ?? null,
    active: user.IsActive !== false,
    user_type: "STANDARD",
    language: user.LanguageLocaleKey,
    locale: user.LocaleSidKey,
    utcOffset: 0,
    last_modified_date: user.LastModifiedDate,
    urls: {
      enterprise: `${base}/services/Soap/c/${v}/${orgId.slice(0, 15)}`,
      metadata: `${base}/services/Soap/m/${v}/${orgId.slice(0, 15)}`,
      partner: `${base}/services/Soap/u/${v}/${orgId.slice(0, 15)}`,
      rest: `${base}/services/data/v${v}/`,
      sobjects: `${base}/services/data/v${v}/sobjects/`,
      query: `${base}/services/data/v${v}/query/`,
      limits: `${base}/services/data/v${v}/limits/`,
    },
  });
}

/**
 * A fake Salesforce org served by the sandbox kit: OAuth token endpoint (JWT bearer, client
 * credentials, refresh token), REST API (query/queryAll with paging, sObject CRUD, collections,
 * external-id upserts, composite, describe, getUpdated/getDeleted, limits) and the Metadata API
 * (CustomField, PermissionSet). Behaviour follows salesforce.md §2–§7, §10.
 */
export function createSalesforceServer(
  ctx: SalesforceServerContext,
  options?: SalesforceOrgOptions,
): SalesforceServer {
  const resolved = resolveOptions(options);
  const schema = new SchemaRegistry({
    multiCurrency: resolved.multiCurrency,
    currencies: resolved.currencies,
    stages: resolved.stages,
  });
  const org = new Org(resolved.orgId, schema, ctx.clock);
  const dml = new Dml(org);
  const usage = new ApiUsage(ctx.clock, resolved.dailyApiLimit);
  const changeEvents = new ChangeEventBus({
    clock: ctx.clock,
    selectedEntities: resolved.changeDataCapture.selectedEntities,
    retentionMs: resolved.changeDataCapture.retentionHours * 3600 * 1000,
  });
  const context: SalesforceContext = {
    org,
    dml,
    options: resolved,
    tokens: ctx.tokens,
    clock: ctx.clock,
    usage,
    cursors: new CursorStore(resolved.maxOpenCursorsPerUser, () => ctx.clock.now().getTime()),
    oauth: new OAuthService({ org, options: resolved, tokens: ctx.tokens, clock: ctx.clock }),
    metadata: new MetadataService(org, dml),
    changeEvents,
  };
  createIntegrationUser(org, dml, resolved.connectedApp.username);
  createStages(org);
  if (resolved.seed) seedDemoData(org, dml);
  // From here on every committed write of a selected entity is a change event (the org's own
  // set-up above is not: it happened before anyone could subscribe).
  org.store.onCommit = (changes) => changeEvents.capture(changes);
  const cometd = createCometdEndpoint({
    bus: changeEvents,
    tokens: ctx.tokens,
    longPollSeconds: resolved.changeDataCapture.longPollSeconds,
  });

  async function handle(req: SandboxRequest): Promise<SandboxResponse> {
    const path = req.url.pathname;
    if (path === "/services/oauth2/token") return context.oauth.token(req, req.origin);
    if (path === "/services/oauth2/revoke") return context.oauth.revoke(req);
    const id = /^\/id\/([^/]+)\/([^/]+)\/?$/.exec(path);
    if (id) return identity(context, req, id[1]!, id[2]!);
    if (/^\/services\/data\/?$/.test(path)) {
      req.endpoint = "GET /services/data";
      return sfJson(200, versionsBody(resolved.apiVersionFloor));
    }
    const rest = /^\/services\/data\/v(\d+\.\d+)(?:\/(.*))?$/.exec(path);
    if (rest) return handleRestRequest(context, req, rest[1]!, rest[2] ?? "");
    const soap = /^\/services\/Soap\/m\/(\d+\.\d+)(?:\/.*)?$/.exec(path);
    if (soap) return handleMetadataSoap(context, req, soap[1]!);
    req.endpoint = `${req.method} (unknown path)`;
    return sfErrorResponse(notFound());
  }

  return {
    name: "salesforce",
    control: createControl(context),
    handle,
    raw(req, res) {
      if (!cometd.handles(new URL(req.url ?? "/", "http://x").pathname)) return false;
      cometd.serve(req, res);
      return true;
    },
    close: () => cometd.close(),
    faultResponse(
      fault: Extract<Fault, { kind: "throttle" | "serverError" }>,
      req?: SandboxRequest,
    ): SandboxResponse {
      // The OAuth endpoints answer in OAuth's shape, not the REST error array.
      if (req?.url.pathname.startsWith("/services/oauth2/"))
        return {
          status: fault.kind === "throttle" ? 429 : fault.status,
          headers: { "content-type": "application/json;charset=UTF-8" },
          body: { error: "unknown_error", error_description: "retry your request" },
        };
      if (fault.kind === "throttle")
        return sfErrorResponse(
          new SalesforceApiError(429, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
        );
      if (fault.status === 500)
        return sfErrorResponse(
          new SalesforceApiError(
            500,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1873256541-12345 (-1204937621)",
          ),
        );
      return sfErrorResponse(
        new SalesforceApiError(fault.status, "SERVER_UNAVAILABLE", "Server temporarily unavailable"),
      );
    },
  };
}
