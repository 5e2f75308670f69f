import type { Referral } from "@cosell/core";
import {
  BadJson,
  type EmulatedServer,
  type Fault,
  json,
  type SandboxRequest,
  type SandboxResponse,
  type TokenRegistry,
} from "../kit/index.js";
import { errorResponse, PartnerCenterError } from "./errors.js";
import { parseListQuery } from "./query.js";
import type { ReferralService } from "./service.js";
import { WEBHOOK_CERTIFICATE_PATH, WEBHOOK_REGISTRATION_PATH, WebhookHub } from "./webhooks.js";

/** The audience of Partner Center access tokens (scope `https://api.partner.microsoft.com/.default`). */
export const PARTNER_CENTER_RESOURCE = "https://api.partner.microsoft.com";

/** Where the referrals live on the emulated origin. */
export const REFERRALS_PATH = "/v1.0/engagements/referrals";

const REFERRAL_PATH = /^\/v1\.0\/engagements\/referrals\/([^/]+)\/?$/;

export interface PartnerCenterServerOptions {
  service: ReferralService;
  webhooks: WebhookHub;
  tokens: TokenRegistry;
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
 * The emulated Partner Center Referrals API (`/v1.0/engagements/referrals`) and its webhook
 * registration (`/webhooks/v1/registration`, `/webhooks/v1/certificate`), over the shared kit: every
 * call but the certificate needs a bearer token issued by the sandbox's Entra ID for
 * {@link PARTNER_CENTER_RESOURCE}. Injected faults answer in Partner Center's error shape; an injected
 * 412 also changes the targeted referral's eTag, as if someone else had just written it.
 */
export function createPartnerCenterServer(options: PartnerCenterServerOptions): EmulatedServer {
  const { service, webhooks, tokens } = options;

  function referrals(req: SandboxRequest): SandboxResponse {
    req.endpoint = `${req.method} ${REFERRALS_PATH}`;
    if (req.method === "GET") {
      const page = service.list(parseListQuery(req.url.searchParams));
      return json(200, {
        "@odata.context": `${req.origin}/v1.0/$metadata#Referrals`,
        "@odata.count": page.count,
        value: page.items.map((r) => present(r, req.origin)),
        ...(page.skipToken
          ? { "@odata.nextLink": `${req.origin}${REFERRALS_PATH}?$skiptoken=${page.skipToken}` }
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
      case "PUT":
        return json(200, present(service.replace(id, body(req), ifMatch), req.origin));
      case "PATCH":
        return json(200, present(service.patch(id, body(req), ifMatch), req.origin));
      default:
        return methodNotAllowed(req, ["GET", "PUT", "PATCH"]);
    }
  }

  function registration(req: SandboxRequest): SandboxResponse {
    req.endpoint = `${req.method} ${WEBHOOK_REGISTRATION_PATH}`;
    switch (req.method) {
      case "GET": {
        const current = webhooks.current();
        return current
          ? json(200, WebhookHub.toWire(current))
          : errorResponse(404, "itemNotFound", "No webhook is registered for this tenant.", {
              target: "webhook",
            });
      }
      case "POST":
        return json(200, WebhookHub.toWire(webhooks.create(body(req))));
      case "PUT":
        return json(200, WebhookHub.toWire(webhooks.replace(body(req))));
      case "DELETE":
        return webhooks.remove()
          ? { status: 204 }
          : errorResponse(404, "itemNotFound", "No webhook is registered for this tenant.", {
              target: "webhook",
            });
      default:
        return methodNotAllowed(req, ["GET", "POST", "PUT", "DELETE"]);
    }
  }

  function route(req: SandboxRequest): SandboxResponse {
    const path = req.url.pathname.replace(/\/+$/, "") || "/";
    if (path === WEBHOOK_CERTIFICATE_PATH) {
      req.endpoint = `${req.method} ${WEBHOOK_CERTIFICATE_PATH}`;
      if (req.method !== "GET") return methodNotAllowed(req, ["GET"]);
      return {
        status: 200,
        headers: { "content-type": "application/x-pem-file" },
        body: webhooks.certificatePem(),
      };
    }
    const auth = header(req, "authorization");
    if (!tokens.verifyBearer(auth, PARTNER_CENTER_RESOURCE))
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
    if (path === REFERRALS_PATH) return referrals(req);
    const m = REFERRAL_PATH.exec(path);
    if (m?.[1]) return referral(req, decodeURIComponent(m[1]));
    if (path === WEBHOOK_REGISTRATION_PATH) return registration(req);
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
