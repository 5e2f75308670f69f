import type { Referral } from "@cosell/core";
import {
  BadJson,
  type EmulatedServer,
  type Fault,
  type IssuedToken,
  json,
  type SandboxRequest,
  type SandboxResponse,
  type TokenRegistry,
} from "../kit/index.js";
import { errorResponse, PartnerCenterError } from "./errors.js";
import { parseListQuery } from "./query.js";
import type { ReferralService } from "./service.js";

/** The audience of Partner Center access tokens (scope `https://api.partner.microsoft.com/.default`). */
export const PARTNER_CENTER_RESOURCE = "https://api.partner.microsoft.com";

/** Where the referrals live on the emulated origin. */
export const REFERRALS_PATH = "/v1.0/engagements/referrals";

/**
 * Where Microsoft's documented `@odata.nextLink` example points (`http://…/v1.0/referrals?$skiptoken=…`),
 * not the list's own path. Served as the list (GET only), and used for next links in strict mode.
 */
export const DOCUMENTED_NEXT_LINK_PATH = "/v1.0/referrals";

const REFERRAL_PATH = /^\/v1\.0\/engagements\/referrals\/([^/]+)\/?$/;

export interface PartnerCenterServerOptions {
  service: ReferralService;
  tokens: TokenRegistry;
  /**
   * Whether the referral routes take app-only tokens. Microsoft documents App+User access only
   * ("currently supports only user access"), so by default they answer 403; tests of `auth.kind: app`
   * turn this on.
   */
  appOnlyAllowed?: () => boolean;
  /**
   * Strict mode: list filters on properties no documented example uses are refused with 400 (see
   * `DOCUMENTED_FILTER_FIELDS`), and next links take the documented example's shape (another path).
   */
  strictQueries?: () => boolean;
}

/** Roles that may call the Referrals API at all, and those that may also write. */
const READ_ROLES = ["Referral Admin", "Referral User", "Global Admin"];
const WRITE_ROLES = ["Referral Admin", "Global Admin"];

/**
 * The Referrals API's access rule ("Referrals API authentication"): a user token whose user holds
 * Referral Admin, Referral User or Global Admin; Referral User only reads. App-only tokens are refused
 * unless `appOnlyAllowed`. (Referral User's further limit, "only referrals whose team includes them",
 * is not emulated: cosell's sync account must be a Referral Admin anyway.)
 */
function referralAccessRefusal(
  req: SandboxRequest,
  token: IssuedToken,
  appOnlyAllowed: boolean,
): SandboxResponse | undefined {
  if (!token.subject)
    return appOnlyAllowed
      ? undefined
      : errorResponse(
          403,
          "accessDenied",
          "The Referrals API supports only user access (App+User); app-only tokens are not accepted. Sign in as a Partner Center user with the Referral Admin role and use that user's token.",
          { target: "authorization" },
        );
  const roles = token.roles ?? [];
  if (!roles.some((r) => READ_ROLES.includes(r)))
    return errorResponse(
      403,
      "accessDenied",
      `User ${token.subject} has no Referrals role. Assign Referral Admin (or Referral User for read-only access) to the user in Partner Center.`,
      { target: "authorization" },
    );
  if (req.method !== "GET" && !roles.some((r) => WRITE_ROLES.includes(r)))
    return errorResponse(
      403,
      "accessDenied",
      `User ${token.subject} is a Referral User, which only reads referrals. Creating and updating them needs the Referral Admin role.`,
      { target: "authorization" },
    );
  return undefined;
}

/** The referral as served: with `links` to itself and its engagement's referrals. */
function present(r: Referral, origin: string): Referral {
  const base = `${origin}${REFERRALS_PATH}`;
  return {
    ...r,
    links: {
      relatedReferrals: {
        uri: `${base}?$filter=engagementId eq '${r.engagementId ?? ""}'`,
        method: "GET",
      },
      self: { uri: `${base}/${r.id}`, method: "GET" },
    },
  };
}

function header(req: SandboxRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function body(req: SandboxRequest): unknown {
  if (req.body.length === 0) return undefined;
  try {
    return req.json();
  } catch (e) {
    if (e instanceof BadJson)
      throw new PartnerCenterError(
        400,
        "invalidRequest",
        `The request body is not valid JSON (${e.message}).`,
        {
          reason: "VALIDATION_FAILED",
        },
      );
    throw e;
  }
}

const methodNotAllowed = (req: SandboxRequest, allowed: string[]) =>
  errorResponse(
    405,
    "invalidRequest",
    `${req.method} is not supported on ${req.url.pathname}; use ${allowed.join(", ")}.`,
    {
      headers: { allow: allowed.join(", ") },
    },
  );

/**
 * The emulated Partner Center Referrals API (`/v1.0/engagements/referrals`) over the shared kit:
 * every call needs a bearer token issued by the sandbox's Entra ID for {@link PARTNER_CENTER_RESOURCE}.
 * (The webhook API is on its own origin: webhook-server.ts.) Injected faults answer in Partner Center's error shape; an injected
 * 412 also changes the targeted referral's eTag, as if someone else had just written it.
 */
export function createPartnerCenterServer(options: PartnerCenterServerOptions): EmulatedServer {
  const { service, tokens } = options;

  function referrals(req: SandboxRequest): SandboxResponse {
    req.endpoint = `${req.method} ${REFERRALS_PATH}`;
    const strict = options.strictQueries?.() ?? false;
    if (req.method === "GET") {
      const page = service.list(parseListQuery(req.url.searchParams, { strict }));
      const nextPath = strict ? DOCUMENTED_NEXT_LINK_PATH : REFERRALS_PATH;
      return json(200, {
        "@odata.context": `${req.origin}/v1.0/$metadata#Referrals`,
        "@odata.count": page.count,
        value: page.items.map((r) => present(r, req.origin)),
        ...(page.skipToken
          ? { "@odata.nextLink": `${req.origin}${nextPath}?$skiptoken=${page.skipToken}` }
          : {}),
      });
    }
    if (req.method === "POST") {
      const created = service.create(body(req));
      return json(201, present(created, req.origin), {
        location: `${req.origin}${REFERRALS_PATH}/${created.id}`,
      });
    }
    return methodNotAllowed(req, ["GET", "POST"]);
  }

  function referral(req: SandboxRequest, id: string): SandboxResponse {
    req.endpoint = `${req.method} ${REFERRALS_PATH}/{id}`;
    const ifMatch = header(req, "if-match");
    switch (req.method) {
      case "GET":
        return json(200, present(service.get(id), req.origin));
      case "PATCH": {
        const updated = service.patch(id, body(req), ifMatch);
        // As documented: the referral comes back only when asked for; otherwise 204 No Content.
        const prefer = header(req, "prefer") ?? "";
        return /(^|[;,\s])return=representation($|[;,\s])/i.test(prefer)
          ? json(200, present(updated, req.origin))
          : { status: 204, headers: { etag: updated.eTag ?? "" } };
      }
      case "PUT":
        return errorResponse(
          405,
          "invalidRequest",
          `PUT on a referral is obsolete; send PATCH with a JSON Patch array of replace/add operations (and If-Match with the eTag).`,
          { headers: { allow: "GET, PATCH" } },
        );
      default:
        return methodNotAllowed(req, ["GET", "PATCH"]);
    }
  }

  function route(req: SandboxRequest): SandboxResponse {
    const path = req.url.pathname.replace(/\/+$/, "") || "/";
    const auth = header(req, "authorization");
    const token = tokens.verifyBearer(auth, PARTNER_CENTER_RESOURCE);
    if (!token)
      return errorResponse(
        401,
        "unauthenticated",
        auth
          ? `The access token is invalid or expired, or was not issued for ${PARTNER_CENTER_RESOURCE}. Get a new token for scope ${PARTNER_CENTER_RESOURCE}/.default and retry.`
          : `The request has no bearer token. Send Authorization: Bearer <token for scope ${PARTNER_CENTER_RESOURCE}/.default>.`,
        { headers: { "www-authenticate": 'Bearer error="invalid_token"' } },
      );
    // Referrals past their window expire before anything reads or writes them.
    service.expireDue();
    const m = REFERRAL_PATH.exec(path);
    if (path === REFERRALS_PATH || path === DOCUMENTED_NEXT_LINK_PATH || m?.[1]) {
      const refused = referralAccessRefusal(req, token, options.appOnlyAllowed?.() ?? false);
      if (refused) return refused;
    }
    if (path === REFERRALS_PATH) return referrals(req);
    if (path === DOCUMENTED_NEXT_LINK_PATH)
      return req.method === "GET" ? referrals(req) : methodNotAllowed(req, ["GET"]);
    if (m?.[1]) return referral(req, decodeURIComponent(m[1]));
    return errorResponse(404, "itemNotFound", `There is no resource at ${req.method} ${path}.`, {
      target: "request",
    });
  }

  return {
    name: "partner-center",
    handle(req) {
      try {
        return route(req);
      } catch (e) {
        if (e instanceof PartnerCenterError) return e.toResponse();
        throw e;
      }
    },
    faultResponse(fault: Extract<Fault, { kind: "throttle" | "serverError" }>): SandboxResponse {
      if (fault.kind === "throttle")
        return errorResponse(
          429,
          "serviceNotAvailable",
          `Too many requests: the service is throttling this tenant. Retry after ${Math.ceil(fault.retryAfterSeconds)} seconds.`,
          { target: "request" },
        );
      return errorResponse(
        fault.status,
        fault.status === 503 ? "serviceNotAvailable" : "generalException",
        fault.status === 503
          ? "The service is temporarily unavailable. Retry later."
          : "An unexpected error occurred while processing the request. Retry later.",
        { target: "request" },
      );
    },
    preconditionFailedResponse(req: SandboxRequest): SandboxResponse {
      const id = REFERRAL_PATH.exec(req.url.pathname)?.[1];
      if (id) service.touchBySomeoneElse(decodeURIComponent(id));
      return errorResponse(
        412,
        "preconditionFailed",
        `The resource was changed since it was read${id ? ` (referral ${decodeURIComponent(id)} has a new eTag)` : ""}. Read it again and retry with the new eTag.`,
      );
    },
  };
}
