import { seedCrmDirectoryUsers } from "../graph/directory.js";
import type { SandboxClock } from "../kit/clock.js";
import type { Fault } from "../kit/faults.js";
import type { EmulatedServer, SandboxRequest, SandboxResponse } from "../kit/http.js";
import type { TokenRegistry } from "../kit/tokens.js";
import { type ApplicationUserSpec, ensureApplicationUser, findApplicationUser } from "./application-users.js";
import { createControl, type DataverseControl } from "./control.js";
import { installCosellSetup } from "./cosell-setup.js";
import type { Caller, Env, KeyActivation } from "./env.js";
import { DataverseError, dvErrors } from "./errors.js";
import { activatePendingKeys } from "./records/alternate-keys.js";
import type { PathSegment } from "./routes/resource-path.js";
import { errorResponse, odataJson } from "./routes/respond.js";
import { dispatch, segmentsOf } from "./routes/router.js";
import { Schema } from "./schema/schema.js";
import { SEED_IDS, seedOrganization, seedSampleData, systemUserIdFor } from "./seed.js";
import { DataStore } from "./store/store.js";
import { SlidingWindowThrottle, type ThrottleLimits } from "./throttle.js";
import { type DataverseWebhookOptions, DataverseWebhooks } from "./webhooks.js";

/** The emulated environment's URL: token audience, and scope `${SANDBOX_DATAVERSE_RESOURCE}/.default`. */
export const SANDBOX_DATAVERSE_RESOURCE = "https://cosell-sandbox.crm.dynamics.com";

/** The Entra tenant named in `WWW-Authenticate` challenges unless `tenantId` is given. */
export const SANDBOX_TENANT_ID = "5f1c8d4e-2b7a-4c39-9e61-0d3a8b7c6f21";

/** Dataverse's default service protection limit. */
export const DATAVERSE_DEFAULT_THROTTLE: ThrottleLimits = { limit: 6000, windowSeconds: 300 };

/** Options of {@link createDataverseServer}; every one has a realistic default. */
export interface DataverseOptions {
  /** Seed the sample users, accounts, contacts, campaigns and opportunities (default true). */
  seed?: boolean;
  /** Per-client request limit; `false` turns it off. Default 6000 requests per 300 s. */
  throttle?: ThrottleLimits | false;
  /** Change tracking per table (logical or entity set name); opportunity, account, contact are on by default. */
  changeTracking?: Record<string, boolean>;
  /** Delta token lifetime in days on the sandbox clock (default 7). */
  changeTrackingExpiryDays?: number;
  /**
   * When new alternate keys turn Active: on the next request (default), only via
   * `control.activateKeys()`, or after a time on the sandbox clock (`{ pendingMs, buildMs }`:
   * Pending, then InProgress, then Active or Failed).
   */
  keyActivation?: KeyActivation;
  /**
   * A PATCH that reopens a Won/Lost opportunity (statecode 0) and changes other columns in the same
   * request: `refuse` (default; the strict reading of "closed opportunities are read-only until
   * reopened") or `allow`. A state-only PATCH reopens either way.
   */
  reopenWithFields?: "refuse" | "allow";
  /** Application users to create up front. */
  applicationUsers?: ApplicationUserSpec[];
  /**
   * A token from an app without an application user: `provision` (default) creates one with
   * `provisionedRoles`; `reject` answers 403 as Dataverse does.
   */
  unknownClients?: "provision" | "reject";
  /** Roles given to auto-provisioned application users (default `["System Administrator"]`). */
  provisionedRoles?: string[];
  /** Pre-install the assumed cosell columns and referral-id key (default false). */
  cosellSetup?: boolean;
  /** Tenant id in the `WWW-Authenticate` challenge. */
  tenantId?: string;
  /** Largest page size (default 5000). */
  maxPageSize?: number;
  /** Webhook delivery retries and timeout. */
  webhooks?: DataverseWebhookOptions;
}

/** The Dataverse emulator: an {@link EmulatedServer} plus in-process {@link DataverseControl}. */
export interface DataverseServer extends EmulatedServer {
  readonly name: "dataverse";
  /** {@link SANDBOX_DATAVERSE_RESOURCE}. */
  readonly resource: string;
  readonly control: DataverseControl;
}

function headerMap(headers: SandboxRequest["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(",") : v;
  return out;
}

/** `PATCH /opportunities({key})/…` — ids and key values folded so the request log groups by route. */
function endpointName(method: string, segments: PathSegment[] | undefined, path: string): string {
  if (!segments) return `${method} ${path}`;
  const parts = segments.map((s) => {
    if (!s.key) return s.name;
    if (s.key.kind === "id") return `${s.name}({id})`;
    if (s.key.kind === "empty") return `${s.name}()`;
    return `${s.name}({key})`;
  });
  return `${method} /${parts.join("/")}`;
}

/**
 * Creates the Dataverse Web API emulator (dynamics.md §1–§5, §9): serve it with
 * `listen(server, shared)` from the sandbox kit.
 */
export function createDataverseServer(
  ctx: { clock: SandboxClock; tokens: TokenRegistry },
  options: DataverseOptions = {},
): DataverseServer {
  const env: Env = {
    schema: new Schema(),
    store: new DataStore(),
    clock: ctx.clock,
    org: {
      organizationId: SEED_IDS.organization,
      businessUnitId: SEED_IDS.businessUnit,
      baseCurrencyId: SEED_IDS.usd,
      changeTrackingExpiryDays: options.changeTrackingExpiryDays ?? 7,
      maxPageSize: options.maxPageSize ?? 5000,
    },
    requestCounter: 0,
    keyActivation: options.keyActivation ?? "nextRequest",
    reopenWithFields: options.reopenWithFields ?? "refuse",
  };
  seedOrganization(env);
  if (options.seed !== false) seedSampleData(env);
  for (const [name, enabled] of Object.entries(options.changeTracking ?? {})) {
    const t = env.schema.resolve(name);
    if (!t) throw new Error(`createDataverseServer: unknown table '${name}' in changeTracking`);
    t.changeTrackingEnabled = enabled;
  }
  for (const spec of options.applicationUsers ?? []) ensureApplicationUser(env, spec);
  if (options.cosellSetup) installCosellSetup(env);

  const throttle = new SlidingWindowThrottle(
    ctx.clock,
    options.throttle === false ? undefined : (options.throttle ?? DATAVERSE_DEFAULT_THROTTLE),
  );
  const firstSeller = seedCrmDirectoryUsers()[0];
  const defaultUserId =
    options.seed !== false && firstSeller ? systemUserIdFor(firstSeller.id) : SEED_IDS.systemUser;
  // Observed from here on: seeding is not an event (no step exists before it anyway).
  const webhooks = new DataverseWebhooks(env, options.webhooks);
  env.store.observe((change) => webhooks.onChange(change));
  const control = createControl(env, throttle, defaultUserId, webhooks);
  const authorizationUri = `https://login.microsoftonline.com/${options.tenantId ?? SANDBOX_TENANT_ID}/oauth2/authorize`;

  function resolveCaller(clientId: string, subject: string | undefined): Caller {
    if (subject) {
      for (const u of env.store.all("systemuser"))
        if (
          typeof u.azureactivedirectoryobjectid === "string" &&
          u.azureactivedirectoryobjectid === subject.toLowerCase()
        )
          return { userId: String(u.systemuserid), clientId };
    }
    const app = findApplicationUser(env, clientId);
    if (app) return { userId: app, clientId };
    if (options.unknownClients === "reject") throw dvErrors.notAMember(clientId);
    const id = ensureApplicationUser(env, {
      clientId,
      roles: options.provisionedRoles ?? ["System Administrator"],
    });
    return { userId: id, clientId };
  }

  function handle(req: SandboxRequest): SandboxResponse {
    env.requestCounter += 1;
    // Timed index builds follow the clock: a status read sees the state of this moment.
    if (typeof env.keyActivation === "object") activatePendingKeys(env);
    try {
      return serve(req);
    } finally {
      // Index builds are asynchronous in Dataverse: a key created by request N is still Pending for
      // request N+1 and Active (or Failed) from request N+2 on.
      activatePendingKeys(env);
    }
  }

  function serve(req: SandboxRequest): SandboxResponse {
    let segments: PathSegment[] | undefined;
    try {
      segments = segmentsOf(req.url);
    } catch (e) {
      if (e instanceof DataverseError) return errorResponse(e);
      throw e;
    }
    req.endpoint = endpointName(req.method, segments, req.url.pathname);
    try {
      if (!segments)
        throw dvErrors.segmentNotFound(req.url.pathname.split("/").filter(Boolean).pop() ?? req.url.pathname);
      const authorization = req.headers.authorization;
      const token = ctx.tokens.verifyBearer(authorization, SANDBOX_DATAVERSE_RESOURCE);
      if (!token)
        throw dvErrors.unauthorized(authorizationUri, SANDBOX_DATAVERSE_RESOURCE, Boolean(authorization));
      const caller = resolveCaller(token.clientId, token.subject);
      const decision = throttle.hit(token.clientId);
      const limits = throttle.current() ?? DATAVERSE_DEFAULT_THROTTLE;
      if (!decision.allowed)
        throw dvErrors.throttled(limits.limit, limits.windowSeconds, decision.retryAfterSeconds);
      const response = dispatch(env, {
        method: req.method,
        url: req.url,
        headers: headerMap(req.headers),
        body: req.text(),
        caller,
        base: `${req.origin}/api/data/v9.2/`,
      });
      if (Number.isFinite(decision.remaining))
        response.headers = {
          ...response.headers,
          "x-ms-ratelimit-burst-remaining-xrm-requests": String(decision.remaining),
        };
      return response;
    } catch (e) {
      if (e instanceof DataverseError) return errorResponse(e);
      throw e;
    }
  }

  return {
    name: "dataverse",
    resource: SANDBOX_DATAVERSE_RESOURCE,
    control,
    handle,
    faultResponse(fault: Extract<Fault, { kind: "throttle" | "serverError" }>): SandboxResponse {
      if (fault.kind === "throttle") {
        const limits = throttle.current() ?? DATAVERSE_DEFAULT_THROTTLE;
        const e = dvErrors.throttled(limits.limit, limits.windowSeconds, Math.ceil(fault.retryAfterSeconds));
        // The kit adds Retry-After itself.
        return odataJson(429, e.body());
      }
      return errorResponse(dvErrors.unexpected(fault.status));
    },
    preconditionFailedResponse(): SandboxResponse {
      return errorResponse(dvErrors.concurrency());
    },
  };
}
