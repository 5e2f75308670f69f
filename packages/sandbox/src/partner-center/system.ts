import { createPublicKey, generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createUserTokenProvider, type Referral, ReferralSchema } from "@cosell/core";
import { z } from "zod";
import { ControlError } from "../control/errors.js";
import { type ControlRoute, parseBody } from "../control/server.js";
import type { SystemDefinition } from "../control/system.js";
import { publicKeyThumbprintSha256 } from "../entra/index.js";
import type { ReferralOverrides } from "./samples.js";
import { createPartnerCenterServer, PARTNER_CENTER_RESOURCE } from "./server.js";
import { ReferralService } from "./service.js";
import type { WebhookSigningChain } from "./webhook-ca.js";
import { createWebhookServer, PARTNER_CENTER_WEBHOOKS_RESOURCE } from "./webhook-server.js";
import {
  WEBHOOK_CERTIFICATE_PATH,
  WEBHOOK_EVENTS,
  WEBHOOK_REGISTRATION_PATH,
  type WebhookDelivery,
  WebhookHub,
  type WebhookRegistrationState,
} from "./webhooks.js";

/** The `.default` scope of the Partner Center API. */
export const PARTNER_CENTER_SCOPE = `${PARTNER_CENTER_RESOURCE}/.default`;
/** The `.default` scope of the Partner Center webhook API (its own audience). */
export const PARTNER_CENTER_WEBHOOKS_SCOPE = `${PARTNER_CENTER_WEBHOOKS_RESOURCE}/.default`;
/** Port of the webhook API (its own origin) relative to the sandbox's base port. */
const WEBHOOKS_PORT_OFFSET = 6;

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
  /** `{webhook API origin}/webhooks/v1/registration` (its own origin, as in production). */
  webhookRegistrationUrl: string;
  /** Scope of webhook API tokens: `https://api.partnercenter.microsoft.com/.default`. */
  webhookScope: string;
  /** The Partner Center user cosell signs in as (Referral Admin), already signed in at start. */
  user: { username: string; roles: string[] };
  /**
   * A token cache file (msal's format, 0600) holding that user's sign-in, made at start by the same
   * device-code login `cosell login` runs (approved by the sandbox itself). Removed when the sandbox stops.
   */
  tokenCachePath: string;
}

/** The sync user every sandbox tenant has. */
export const SANDBOX_SYNC_USERNAME = "cosell-sync@partner.sandbox.example";

/** In-process control of the emulated Partner Center: act as Microsoft, inspect state. */
export interface PartnerCenterControl {
  /** Origin of the emulated API (`http://127.0.0.1:PORT`). */
  readonly url: string;
  /**
   * A Microsoft seller sends the partner a referral: New/Pending (direction Incoming), 14 days to answer, with a
   * customer, contact, solution and Microsoft seller. `overrides` are deep-merged over that sample.
   */
  sendInboundReferral(overrides?: ReferralOverrides): Referral;
  /** Microsoft engages on the partner's co-sell invitation (substatus Engaged). */
  engage(id: string): Referral;
  /** Microsoft declines the partner's co-sell invitation (Closed/Declined, statusReason = reason). */
  decline(id: string, reason: string): Referral;
  /** A Microsoft seller edits the notes. */
  updateNotes(id: string, notes: string): Referral;
  /**
   * Partner Center or a Microsoft seller sets fields the partner's API may not (deep-merged):
   * `trackingInfo.microsoftMsxId`, `registrationStatus`, `registrations`, `salesStage` (numeric
   * values included), `favorite` set in Partner Center's UI… No lifecycle move; an archived referral
   * only takes the registration fields and the star (409 `DEAL_ARCHIVED` otherwise).
   */
  setFields(id: string, changes: Record<string, unknown>): Referral;
  /** Every referral, oldest first. */
  all(): Referral[];
  /** One referral, or `undefined`. */
  get(id: string): Referral | undefined;
  /** Expires what is due now (also done by every API call and every clock move). */
  expireDue(): Referral[];
  /**
   * Lets the referral routes take app-only tokens (off by default: Microsoft documents App+User access
   * only). For tests of `auth.kind: app`.
   */
  allowAppOnlyTokens(allowed: boolean): void;
  /**
   * Strict mode (off by default): list filters on properties Microsoft's documented examples never
   * filter on (`updatedDateTime`, `externalReferenceId`, …) answer 400, and next links take the
   * documented example's path (`/v1.0/referrals?$skiptoken=…`). `$top`, `$skip` and `$orderby` on
   * createdDateTime/updatedDateTime stay allowed (documented). For testing the client's fallbacks.
   */
  strictQueries(strict: boolean): void;
  webhooks: {
    /** Origin of the emulated webhook API (`http://127.0.0.1:PORT`, another port than `url`). */
    readonly url: string;
    /** The URL prefix the signing certificate is served under (core's `certificateUrlPrefixes`). */
    readonly certificateUrlPrefix: string;
    /** The test root the signing chain ends in (core's `trustedRootCertificates`). */
    trustedRootPem(): Promise<string>;
    /** The tenant's registration, if any. */
    registration(): WebhookRegistrationState | undefined;
    /** Removes the registration (a test reset: the API itself has no DELETE). */
    clearRegistration(): void;
    /** Every delivery attempt, oldest first. */
    deliveries(): WebhookDelivery[];
    /** Resolves once every queued delivery has been attempted. */
    idle(): Promise<void>;
    /** What the certificate URL serves: the signing certificate and its intermediate, PEM. */
    certificatePem(): Promise<string>;
  };
}

/** What a snapshot keeps of Partner Center: its app registration, referrals and webhook setup. */
export interface PartnerCenterSnapshot {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  certificatePrivateKeyPem: string;
  /** The webhook signing chain, once made. */
  webhookSigningChain?: WebhookSigningChain;
  webhook?: WebhookRegistrationState;
  /** The sync user's object id (kept so a restored sandbox issues tokens for the same user). */
  userObjectId?: string;
  /** Refresh tokens issued by Entra ID for this app, still valid. */
  refreshTokens?: {
    token: string;
    tenantId: string;
    clientId: string;
    username: string;
    expiresAt: string;
    revoked: boolean;
  }[];
  /** Inbound referrals sent so far (keeps the sample customers rotating after a restore). */
  inboundSent: number;
  referrals: Referral[];
}

const PartnerCenterSnapshotSchema = z.object({
  tenantId: z.string(),
  clientId: z.string(),
  clientSecret: z.string(),
  certificatePrivateKeyPem: z.string(),
  webhookSigningChain: z
    .object({
      root: z.object({ certPem: z.string(), keyPem: z.string() }),
      intermediate: z.object({ certPem: z.string(), keyPem: z.string() }),
      leaf: z.object({ certPem: z.string(), keyPem: z.string() }),
    })
    .optional(),
  webhook: z
    .object({ subscriberId: z.string(), url: z.string(), events: z.array(z.enum(WEBHOOK_EVENTS)) })
    .optional(),
  userObjectId: z.string().optional(),
  refreshTokens: z
    .array(
      z.object({
        token: z.string(),
        tenantId: z.string(),
        clientId: z.string(),
        username: z.string(),
        expiresAt: z.string(),
        revoked: z.boolean(),
      }),
    )
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
 * | `POST /microsoft/referrals/{id}/fields` | fields to set (deep-merged) | Partner Center / Microsoft sets fields (msxId, registration, salesStage…) |
 * | `POST /partner-center/app-only` | `{ allowed }` | let the referral routes take app-only tokens (default: 403) |
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
      path: "/partner-center/app-only",
      summary: "let the referral routes take app-only tokens: { allowed }",
      handle: ({ body }) => {
        const { allowed } = parseBody(z.object({ allowed: z.boolean() }), body);
        control.allowAppOnlyTokens(allowed);
        return { appOnlyAllowed: allowed };
      },
    },
    {
      method: "POST",
      path: "/partner-center/strict-queries",
      summary: "refuse undocumented list filters, documented next-link shape: { strict }",
      handle: ({ body }) => {
        const { strict } = parseBody(z.object({ strict: z.boolean() }), body);
        control.strictQueries(strict);
        return { strictQueries: strict };
      },
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
      path: "/microsoft/referrals/{id}/fields",
      summary:
        "Partner Center or a Microsoft seller sets fields the partner cannot: body = fields (deep-merged)",
      handle: ({ params, body }) =>
        control.setFields(params.id!, parseBody(z.record(z.string(), z.unknown()), body)),
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
      allowedResources: [PARTNER_CENTER_RESOURCE, PARTNER_CENTER_WEBHOOKS_RESOURCE],
      // cosell signs a user in with the device-code flow, a public client flow.
      allowPublicClientFlows: true,
    });
    const signIns = ctx.entra.signIns;
    const user = signIns.addUser({
      tenantId: app.tenantId,
      username: SANDBOX_SYNC_USERNAME,
      displayName: "cosell sync",
      roles: ["Referral Admin"],
      ...(restored?.userObjectId ? { objectId: restored.userObjectId } : {}),
    });
    if (restored?.refreshTokens)
      signIns.restore({
        refreshTokens: restored.refreshTokens.map((r) => ({ ...r, expiresAt: new Date(r.expiresAt) })),
      });
    let appOnlyAllowed = false;
    let strictQueries = false;
    let cacheDir: string | undefined;
    let tokenCachePath = "";

    let origin = "";
    let webhookOrigin = "";
    const service = new ReferralService({ clock: ctx.clock });
    const webhooks = new WebhookHub({
      clock: ctx.clock,
      origin: () => origin,
      webhookOrigin: () => webhookOrigin,
      chain: restored?.webhookSigningChain,
    });
    // The chain is made on first use; a snapshot taken after that keeps it.
    const chainNow = () => webhooks.madeChain();
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
      setFields: (id, changes) => {
        service.expireDue();
        return service.setFields(id, changes);
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
      allowAppOnlyTokens: (allowed) => {
        appOnlyAllowed = allowed;
      },
      strictQueries: (strict) => {
        strictQueries = strict;
      },
      webhooks: {
        get url() {
          return webhookOrigin;
        },
        get certificateUrlPrefix() {
          return `${webhookOrigin}${WEBHOOK_CERTIFICATE_PATH.slice(0, WEBHOOK_CERTIFICATE_PATH.lastIndexOf("/") + 1)}`;
        },
        trustedRootPem: () => webhooks.trustedRootPem(),
        registration: () => webhooks.current(),
        clearRegistration: () => {
          webhooks.remove();
        },
        deliveries: () => webhooks.deliveries(),
        idle: () => webhooks.idle(),
        certificatePem: () => webhooks.certificateDocument(),
      },
    };

    return {
      server: createPartnerCenterServer({
        service,
        tokens: ctx.tokens,
        appOnlyAllowed: () => appOnlyAllowed,
        strictQueries: () => strictQueries,
      }),
      attach(url) {
        origin = url;
      },
      extraServers: [
        {
          server: createWebhookServer({ webhooks, tokens: ctx.tokens }),
          portOffset: WEBHOOKS_PORT_OFFSET,
          attach(url) {
            webhookOrigin = url;
          },
        },
      ],
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
        webhookRegistrationUrl: `${webhookOrigin}${WEBHOOK_REGISTRATION_PATH}`,
        webhookScope: PARTNER_CENTER_WEBHOOKS_SCOPE,
        user: { username: user.username, roles: [...user.roles] },
        tokenCachePath,
      }),
      async ready() {
        // The sign-in `cosell login` does, approved by the sandbox itself: clients built from the
        // credentials start signed in, as after a real login.
        cacheDir = await mkdtemp(join(tmpdir(), "cosell-sandbox-"));
        tokenCachePath = join(cacheDir, "partner-center-token-cache.json");
        await createUserTokenProvider({
          tenantId: app.tenantId,
          clientId: app.clientId,
          authorityHost: ctx.entra.url,
          scope: PARTNER_CENTER_SCOPE,
          tokenCache: tokenCachePath,
        }).login({ onCode: (p) => signIns.approve(p.userCode, user.username) });
      },
      async dispose() {
        if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
      },
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
        webhookSigningChain: chainNow(),
        webhook: webhooks.current(),
        userObjectId: user.objectId,
        refreshTokens: signIns
          .snapshot()
          .refreshTokens.filter((r) => r.clientId === app.clientId)
          .map((r) => ({ ...r, expiresAt: r.expiresAt.toISOString() })),
        inboundSent: service.inboundSent(),
        referrals: service.all(),
      }),
      secrets: () => {
        const chain = chainNow();
        return [
          app.clientSecret,
          app.privateKeyPem,
          ...(chain ? [chain.root.keyPem, chain.intermediate.keyPem, chain.leaf.keyPem] : []),
        ];
      },
      onClockChange: () => {
        service.expireDue();
      },
      drain: () => webhooks.shutdown(),
    };
  },
};

function publicKeyPemOf(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: "spki", format: "pem" }).toString();
}
