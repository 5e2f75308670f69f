import { createPublicKey, generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { type Referral, ReferralSchema } from "@cosell/core";
import { z } from "zod";
import { ControlError } from "../control/errors.js";
import { type ControlRoute, parseBody } from "../control/server.js";
import type { SystemDefinition } from "../control/system.js";
import { publicKeyThumbprintSha256 } from "../entra/index.js";
import type { ReferralOverrides } from "./samples.js";
import { createPartnerCenterServer, PARTNER_CENTER_RESOURCE } from "./server.js";
import { ReferralService } from "./service.js";
import {
  WEBHOOK_EVENTS,
  type WebhookDelivery,
  WebhookHub,
  type WebhookRegistrationState,
} from "./webhooks.js";

/** The `.default` scope of the Partner Center API. */
export const PARTNER_CENTER_SCOPE = `${PARTNER_CENTER_RESOURCE}/.default`;

/**
 * Test credentials of the sandbox's Partner Center app registration. Every key except `certificate`
 * / `clientSecret` is also a key of core's `PartnerCenterClientConfig`, so a client config is
 * `{ tenantId, clientId, clientSecret, authorityHost, scope, apiBaseUrl }` (or `certificate`
 * instead of the secret).
 */
export interface PartnerCenterCredentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The certificate credential: PKCS#8 PEM private key and its SHA-256 thumbprint (hex). */
  certificate: { privateKeyPem: string; thumbprintSha256: string };
  /** `{entra}/{tenantId}/oauth2/v2.0/token`. */
  tokenEndpoint: string;
  /** The sandbox's Entra ID origin (http on loopback). */
  authorityHost: string;
  scope: string;
  /** `{partnerCenter}/v1.0`. */
  apiBaseUrl: string;
}

/** In-process control of the emulated Partner Center: act as Microsoft, inspect state. */
export interface PartnerCenterControl {
  /** Origin of the emulated API (`http://127.0.0.1:PORT`). */
  readonly url: string;
  /**
   * A Microsoft seller sends the partner a referral: New/Received, 14 days to answer, with a
   * customer, contact, solution and Microsoft seller. `overrides` are deep-merged over that sample.
   */
  sendInboundReferral(overrides?: ReferralOverrides): Referral;
  /** Microsoft engages on the partner's co-sell invitation (substatus Engaged). */
  engage(id: string): Referral;
  /** Microsoft declines the partner's co-sell invitation (Closed/Declined, statusReason = reason). */
  decline(id: string, reason: string): Referral;
  /** A Microsoft seller edits the notes. */
  updateNotes(id: string, notes: string): Referral;
  /** Every referral, oldest first. */
  all(): Referral[];
  /** One referral, or `undefined`. */
  get(id: string): Referral | undefined;
  /** Expires what is due now (also done by every API call and every clock move). */
  expireDue(): Referral[];
  webhooks: {
    /** The tenant's registration, if any. */
    registration(): WebhookRegistrationState | undefined;
    /** Every delivery attempt, oldest first. */
    deliveries(): WebhookDelivery[];
    /** Resolves once every queued delivery has been attempted. */
    idle(): Promise<void>;
    /** The signing public key, PEM (as served at `/webhooks/v1/certificate`). */
    certificatePem(): string;
  };
}

/** What a snapshot keeps of Partner Center: its app registration, referrals and webhook setup. */
export interface PartnerCenterSnapshot {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  certificatePrivateKeyPem: string;
  webhookSigningKeyPem: string;
  webhook?: WebhookRegistrationState;
  /** Inbound referrals sent so far (keeps the sample customers rotating after a restore). */
  inboundSent: number;
  referrals: Referral[];
}

const PartnerCenterSnapshotSchema = z.object({
  tenantId: z.string(),
  clientId: z.string(),
  clientSecret: z.string(),
  certificatePrivateKeyPem: z.string(),
  webhookSigningKeyPem: z.string(),
  webhook: z
    .object({ subscriberId: z.string(), url: z.string(), events: z.array(z.enum(WEBHOOK_EVENTS)) })
    .optional(),
  inboundSent: z.number().int().min(0).default(0),
  referrals: z.array(ReferralSchema),
}) satisfies z.ZodType<PartnerCenterSnapshot, unknown>;

/** A secret shaped like Entra ID's (`xxx8Q~…`, 40 characters). */
function newClientSecret(): string {
  return `${randomBytes(3).toString("hex").slice(0, 3)}8Q~${randomBytes(30).toString("base64url").slice(0, 34)}`;
}

/**
 * Partner Center's control routes (mounted next to the core ones of `control/routes.ts`).
 *
 * | route | body | does |
 * |---|---|---|
 * | `GET /partner-center/referrals` | | `{ value: Referral[] }`, every referral |
 * | `GET /partner-center/referrals/{id}` | | one referral (404 `NOT_FOUND`) |
 * | `GET /partner-center/webhooks` | | `{ registration, deliveries }` |
 * | `POST /partner-center/expire` | | expires what is due now |
 * | `POST /microsoft/referrals` | fields to override (deep-merged) | a Microsoft seller sends an inbound referral |
 * | `POST /microsoft/referrals/{id}/engage` | | Microsoft engages on the partner's invitation |
 * | `POST /microsoft/referrals/{id}/decline` | `{ reason }` | Microsoft declines the partner's invitation |
 * | `POST /microsoft/referrals/{id}/notes` | `{ notes }` | a Microsoft seller edits the notes |
 *
 * Lifecycle refusals answer 409 with core's code (`ALREADY_ENGAGED`, `NOT_INVITED`, `DEAL_ARCHIVED`…).
 */
function controlRoutes(control: PartnerCenterControl): ControlRoute[] {
  const mustGet = (id: string) => {
    const r = control.get(id);
    if (!r) throw new ControlError(404, "NOT_FOUND", `Referral ${id} does not exist.`);
    return r;
  };
  return [
    {
      method: "GET",
      path: "/partner-center/referrals",
      summary: "every referral",
      handle: () => ({ value: control.all() }),
    },
    {
      method: "GET",
      path: "/partner-center/referrals/{id}",
      summary: "one referral",
      handle: ({ params }) => mustGet(params.id!),
    },
    {
      method: "GET",
      path: "/partner-center/webhooks",
      summary: "webhook registration and deliveries",
      handle: () => ({
        registration: control.webhooks.registration() ?? null,
        deliveries: control.webhooks.deliveries(),
      }),
    },
    {
      method: "POST",
      path: "/partner-center/expire",
      summary: "expire the referrals whose 14-day window has closed",
      handle: () => ({ expired: control.expireDue() }),
    },
    {
      method: "POST",
      path: "/microsoft/referrals",
      summary: "a Microsoft seller sends an inbound referral: body = fields to override",
      handle: ({ body }) => control.sendInboundReferral(parseBody(z.record(z.string(), z.unknown()), body)),
    },
    {
      method: "POST",
      path: "/microsoft/referrals/{id}/engage",
      summary: "Microsoft engages on the partner's invitation",
      handle: ({ params }) => control.engage(params.id!),
    },
    {
      method: "POST",
      path: "/microsoft/referrals/{id}/decline",
      summary: "Microsoft declines the partner's invitation: { reason }",
      handle: ({ params, body }) =>
        control.decline(params.id!, parseBody(z.object({ reason: z.string().min(1) }), body).reason),
    },
    {
      method: "POST",
      path: "/microsoft/referrals/{id}/notes",
      summary: "a Microsoft seller edits the notes: { notes }",
      handle: ({ params, body }) =>
        control.updateNotes(params.id!, parseBody(z.object({ notes: z.string() }), body).notes),
    },
  ];
}

/**
 * The Partner Center system of the sandbox: its app registration in Entra ID (random tenant, client,
 * secret and RSA certificate key unless restored), the referrals API with webhooks, and its control.
 */
export const partnerCenterSystem: SystemDefinition<
  PartnerCenterControl,
  PartnerCenterCredentials,
  PartnerCenterSnapshot
> = {
  serverName: "partner-center",
  portOffset: 2,
  parseSnapshot: (raw) => PartnerCenterSnapshotSchema.parse(raw),
  start(ctx, restored) {
    const keys = restored
      ? undefined
      : generateKeyPairSync("rsa", {
          modulusLength: 2048,
          privateKeyEncoding: { type: "pkcs8", format: "pem" },
          publicKeyEncoding: { type: "spki", format: "pem" },
        });
    const app = {
      tenantId: restored?.tenantId ?? randomUUID(),
      clientId: restored?.clientId ?? randomUUID(),
      clientSecret: restored?.clientSecret ?? newClientSecret(),
      privateKeyPem: restored?.certificatePrivateKeyPem ?? keys!.privateKey,
    };
    const thumbprintSha256 = publicKeyThumbprintSha256(app.privateKeyPem);
    ctx.entra.directory.register({
      tenantId: app.tenantId,
      clientId: app.clientId,
      displayName: "cosell sandbox: Partner Center",
      clientSecrets: [app.clientSecret],
      certificates: [{ thumbprintSha256, publicKeyPem: publicKeyPemOf(app.privateKeyPem) }],
      allowedResources: [PARTNER_CENTER_RESOURCE],
    });

    let origin = "";
    const service = new ReferralService({ clock: ctx.clock });
    const webhooks = new WebhookHub({
      clock: ctx.clock,
      origin: () => origin,
      signingKeyPem: restored?.webhookSigningKeyPem,
    });
    service.setEventSink((event, referral) => webhooks.emit(event, referral.id));
    if (restored) {
      service.restore(restored.referrals, restored.inboundSent);
      webhooks.restore(restored.webhook);
    }

    const control: PartnerCenterControl = {
      get url() {
        return origin;
      },
      sendInboundReferral: (overrides) => service.sendInboundReferral(overrides),
      engage: (id) => {
        service.expireDue();
        return service.engage(id);
      },
      decline: (id, reason) => {
        service.expireDue();
        return service.decline(id, reason);
      },
      updateNotes: (id, notes) => {
        service.expireDue();
        return service.updateNotes(id, notes);
      },
      all: () => {
        service.expireDue();
        return service.all();
      },
      get: (id) => {
        service.expireDue();
        return service.find(id);
      },
      expireDue: () => service.expireDue(),
      webhooks: {
        registration: () => webhooks.current(),
        deliveries: () => webhooks.deliveries(),
        idle: () => webhooks.idle(),
        certificatePem: () => webhooks.certificatePem(),
      },
    };

    return {
      server: createPartnerCenterServer({ service, webhooks, tokens: ctx.tokens }),
      attach(url) {
        origin = url;
      },
      control,
      credentials: () => ({
        tenantId: app.tenantId,
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        certificate: { privateKeyPem: app.privateKeyPem, thumbprintSha256 },
        tokenEndpoint: `${ctx.entra.url}/${app.tenantId}/oauth2/v2.0/token`,
        authorityHost: ctx.entra.url,
        scope: PARTNER_CENTER_SCOPE,
        apiBaseUrl: `${origin}/v1.0`,
      }),
      routes: controlRoutes(control),
      state: () => ({
        referrals: control.all(),
        webhook: webhooks.current() ?? null,
        deliveries: webhooks.deliveries().length,
      }),
      snapshot: () => ({
        tenantId: app.tenantId,
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        certificatePrivateKeyPem: app.privateKeyPem,
        webhookSigningKeyPem: webhooks.signingKeyPem(),
        webhook: webhooks.current(),
        inboundSent: service.inboundSent(),
        referrals: service.all(),
      }),
      secrets: () => [app.clientSecret, app.privateKeyPem, webhooks.signingKeyPem()],
      onClockChange: () => {
        service.expireDue();
      },
      drain: () => webhooks.idle(),
    };
  },
};

function publicKeyPemOf(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: "spki", format: "pem" }).toString();
}
