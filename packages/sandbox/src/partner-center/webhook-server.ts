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
import {
  WEBHOOK_CERTIFICATE_PATH,
  WEBHOOK_EVENTS,
  WEBHOOK_REGISTRATION_PATH,
  WebhookHub,
} from "./webhooks.js";

/**
 * The audience of webhook API tokens (scope `https://api.partnercenter.microsoft.com/.default`): not
 * the referrals API's `https://api.partner.microsoft.com` ("Partner Center webhooks").
 */
export const PARTNER_CENTER_WEBHOOKS_RESOURCE = "https://api.partnercenter.microsoft.com";

const VALIDATION_EVENT = /^\/webhooks\/v1\/registration\/validationEvents\/([^/]+)$/;

export interface WebhookServerOptions {
  webhooks: WebhookHub;
  tokens: TokenRegistry;
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

const noRegistration = () =>
  errorResponse(404, "itemNotFound", "No webhook is registered for this tenant.", { target: "webhook" });

/**
 * The emulated Partner Center webhook API, on its own origin as in production
 * (`api.partnercenter.microsoft.com`): `GET/POST/PUT /webhooks/v1/registration`,
 * `GET …/registration/events`, `POST …/registration/validationEvents`,
 * `GET …/registration/validationEvents/{correlationId}`, each needing a token for
 * {@link PARTNER_CENTER_WEBHOOKS_RESOURCE} (a referrals token is refused with 401). No DELETE: none is
 * documented. The signing certificate is served without a token at `/cert/…`, as the blob-storage
 * host of Microsoft's example does.
 */
export function createWebhookServer(options: WebhookServerOptions): EmulatedServer {
  const { webhooks, tokens } = options;

  function registration(req: SandboxRequest): SandboxResponse {
    req.endpoint = `${req.method} ${WEBHOOK_REGISTRATION_PATH}`;
    switch (req.method) {
      case "GET": {
        const current = webhooks.current();
        return current ? json(200, WebhookHub.toWire(current)) : noRegistration();
      }
      case "POST":
        return json(200, WebhookHub.toWire(webhooks.create(body(req))));
      case "PUT":
        return json(200, WebhookHub.toWire(webhooks.replace(body(req))));
      default:
        return methodNotAllowed(req, ["GET", "POST", "PUT"]);
    }
  }

  async function route(req: SandboxRequest): Promise<SandboxResponse> {
    const path = req.url.pathname.replace(/\/+$/, "") || "/";
    if (path === WEBHOOK_CERTIFICATE_PATH) {
      req.endpoint = `${req.method} ${WEBHOOK_CERTIFICATE_PATH}`;
      if (req.method !== "GET") return methodNotAllowed(req, ["GET"]);
      return {
        status: 200,
        headers: { "content-type": "application/x-pem-file" },
        body: await webhooks.certificateDocument(),
      };
    }
    const auth = req.headers.authorization;
    const header = Array.isArray(auth) ? auth[0] : auth;
    if (!tokens.verifyBearer(header, PARTNER_CENTER_WEBHOOKS_RESOURCE))
      return errorResponse(
        401,
        "unauthenticated",
        header
          ? `The access token is invalid or expired, or was not issued for ${PARTNER_CENTER_WEBHOOKS_RESOURCE} (a token for the referrals API is not accepted here). Get a token for scope ${PARTNER_CENTER_WEBHOOKS_RESOURCE}/.default and retry.`
          : `The request has no bearer token. Send Authorization: Bearer <token for scope ${PARTNER_CENTER_WEBHOOKS_RESOURCE}/.default>.`,
        { headers: { "www-authenticate": 'Bearer error="invalid_token"' } },
      );
    if (path === WEBHOOK_REGISTRATION_PATH) return registration(req);
    if (path === `${WEBHOOK_REGISTRATION_PATH}/events`) {
      req.endpoint = `${req.method} ${WEBHOOK_REGISTRATION_PATH}/events`;
      if (req.method !== "GET") return methodNotAllowed(req, ["GET"]);
      return json(200, [...WEBHOOK_EVENTS]);
    }
    if (path === `${WEBHOOK_REGISTRATION_PATH}/validationEvents`) {
      req.endpoint = `${req.method} ${WEBHOOK_REGISTRATION_PATH}/validationEvents`;
      if (req.method !== "POST") return methodNotAllowed(req, ["POST"]);
      return json(200, webhooks.sendValidationEvent());
    }
    const m = VALIDATION_EVENT.exec(path);
    if (m?.[1]) {
      req.endpoint = `${req.method} ${WEBHOOK_REGISTRATION_PATH}/validationEvents/{correlationId}`;
      if (req.method !== "GET") return methodNotAllowed(req, ["GET"]);
      const found = webhooks.validationEvent(decodeURIComponent(m[1]));
      return found
        ? json(200, found)
        : errorResponse(404, "itemNotFound", `There is no validation event ${decodeURIComponent(m[1])}.`, {
            target: "validationEvent",
          });
    }
    return errorResponse(404, "itemNotFound", `There is no resource at ${req.method} ${path}.`, {
      target: "request",
    });
  }

  return {
    name: "partner-center-webhooks",
    async handle(req) {
      try {
        return await route(req);
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
          `Too many requests. Retry after ${Math.ceil(fault.retryAfterSeconds)} seconds.`,
          {
            target: "request",
          },
        );
      return errorResponse(
        fault.status,
        "serviceNotAvailable",
        "The service is temporarily unavailable. Retry later.",
        {
          target: "request",
        },
      );
    },
  };
}
