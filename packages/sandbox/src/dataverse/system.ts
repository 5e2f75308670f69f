import { createPublicKey, generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { z } from "zod";
import { ControlError, guardedControl } from "../control/errors.js";
import { type ControlRoute, parseBody } from "../control/server.js";
import type { SystemDefinition } from "../control/system.js";
import { publicKeyThumbprintSha256 } from "../entra/index.js";
import { SANDBOX_GRAPH_RESOURCE } from "../graph/server.js";
import type { DataverseControl, DataverseState } from "./control.js";
import { DataverseError } from "./errors.js";
import { createDataverseServer, SANDBOX_DATAVERSE_RESOURCE } from "./server.js";

/**
 * Test credentials of the sandbox's Dynamics 365 app registration (one app for Dataverse and Graph,
 * as the adapter uses). It exists in Dataverse as the application user `# cosell` with System
 * Administrator; apps without an application user are refused (403), as in a real environment.
 */
export interface DataverseCredentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The certificate credential: PKCS#8 PEM private key and its SHA-256 thumbprint (hex). */
  certificate: { privateKeyPem: string; thumbprintSha256: string };
  /** `{entra}/{tenantId}/oauth2/v2.0/token`. */
  tokenEndpoint: string;
  /** The sandbox's Entra ID origin (http on loopback). */
  authorityHost: string;
  /** Token audience: `https://cosell-sandbox.crm.dynamics.com`. */
  resource: string;
  /** `${resource}/.default`. */
  scope: string;
  /** Where clients send requests: the emulator's origin (`http://127.0.0.1:PORT`). */
  environmentUrl: string;
  /** `{environmentUrl}/api/data/v9.2`. */
  apiBaseUrl: string;
  /** `https://graph.microsoft.com/.default`, for Entra user look-ups with the same app. */
  graphScope: string;
}

/** What a snapshot keeps of Dataverse: the app registration and the whole environment. */
export interface DataverseSnapshot {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  certificatePrivateKeyPem: string;
  state: DataverseState;
}

const DataverseSnapshotSchema = z.object({
  tenantId: z.string(),
  clientId: z.string(),
  clientSecret: z.string(),
  certificatePrivateKeyPem: z.string(),
  state: z.object({ format: z.literal("cosell-sandbox-dataverse/1") }).loose(),
});

/** Runs a control action, turning Dataverse refusals into control-API errors with the same code. */
function guarded<T>(fn: () => T): T {
  return guardedControl(fn, (e) =>
    e instanceof DataverseError ? new ControlError(e.status, e.code, e.message) : undefined,
  );
}

const record = z.record(z.string(), z.unknown());
const closeBody = z
  .object({
    status: z.number().int().optional(),
    actualRevenue: z.number().optional(),
    actualEnd: z.string().optional(),
    subject: z.string().optional(),
    description: z.string().optional(),
  })
  .default({});

/**
 * Dataverse's control routes. `{entity}` is an entity set or logical name (`opportunities`, `account`).
 *
 * | route | body | does |
 * |---|---|---|
 * | `GET /dataverse/tables/{entity}` | | `{ value }`, every row as the Web API returns it |
 * | `GET /dataverse/tables/{entity}/{id}` | | one row (404) |
 * | `POST /dataverse/tables/{entity}` | Web API body | a user creates a row |
 * | `PUT /dataverse/tables/{entity}/{id}` | Web API body | a user edits a row |
 * | `DELETE /dataverse/tables/{entity}/{id}` | | a user deletes a row |
 * | `POST /dataverse/opportunities/{id}/win` `…/lose` | `{ status?, actualRevenue?, actualEnd?, subject?, description? }` | a user closes it |
 * | `POST /dataverse/opportunities/{id}/reopen` | `{ statuscode? }` | a user reopens it |
 * | `POST /dataverse/seed-opportunities` | `{ count, seed? }` | bulk rows for load tests |
 * | `POST /dataverse/change-tracking` | `{ entity, enabled }` | turns change tracking on/off |
 * | `POST /dataverse/throttle` | `{ limit, windowSeconds }` or `{}` | per-client request limit (`{}` = off) |
 * | `POST /dataverse/keys/activate` | | builds pending alternate-key indexes now |
 * | `POST /dataverse/cosell-setup` | | installs the assumed cosell columns and key |
 * | `PUT /dataverse/users/{id}/roles` | `{ roles }` | replaces a user's security roles |
 */
function controlRoutes(control: DataverseControl): ControlRoute[] {
  return [
    {
      method: "GET",
      path: "/dataverse/tables/{entity}",
      summary: "every row of a table",
      handle: ({ params }) => guarded(() => ({ value: control.all(params.entity!) })),
    },
    {
      method: "GET",
      path: "/dataverse/tables/{entity}/{id}",
      summary: "one row",
      handle: ({ params }) =>
        guarded(() => {
          const row = control.get(params.entity!, params.id!);
          if (!row) throw new ControlError(404, "NOT_FOUND", `No ${params.entity} row ${params.id}.`);
          return row;
        }),
    },
    {
      method: "POST",
      path: "/dataverse/tables/{entity}",
      summary: "a user creates a row: Web API body",
      handle: ({ params, body }) => guarded(() => control.insert(params.entity!, parseBody(record, body))),
    },
    {
      method: "PUT",
      path: "/dataverse/tables/{entity}/{id}",
      summary: "a user edits a row: Web API body",
      handle: ({ params, body }) =>
        guarded(() => control.update(params.entity!, params.id!, parseBody(record, body))),
    },
    {
      method: "DELETE",
      path: "/dataverse/tables/{entity}/{id}",
      summary: "a user deletes a row",
      handle: ({ params }) => guarded(() => control.delete(params.entity!, params.id!)),
    },
    {
      method: "POST",
      path: "/dataverse/opportunities/{id}/win",
      summary: "a user wins the opportunity",
      handle: ({ params, body }) => guarded(() => control.win(params.id!, parseBody(closeBody, body))),
    },
    {
      method: "POST",
      path: "/dataverse/opportunities/{id}/lose",
      summary: "a user loses the opportunity",
      handle: ({ params, body }) => guarded(() => control.lose(params.id!, parseBody(closeBody, body))),
    },
    {
      method: "POST",
      path: "/dataverse/opportunities/{id}/reopen",
      summary: "a user reopens the opportunity: { statuscode? }",
      handle: ({ params, body }) =>
        guarded(() =>
          control.reopen(
            params.id!,
            parseBody(z.object({ statuscode: z.union([z.literal(1), z.literal(2)]).optional() }), body)
              .statuscode,
          ),
        ),
    },
    {
      method: "POST",
      path: "/dataverse/seed-opportunities",
      summary: "bulk opportunities for load tests: { count, seed? }",
      handle: ({ body }) =>
        guarded(() => {
          const b = parseBody(
            z.object({ count: z.number().int().min(1).max(1_000_000), seed: z.number().int().optional() }),
            body,
          );
          return { count: control.seedOpportunities(b.count, { seed: b.seed }).length };
        }),
    },
    {
      method: "POST",
      path: "/dataverse/change-tracking",
      summary: "turn change tracking on/off: { entity, enabled }",
      handle: ({ body }) =>
        guarded(() => {
          const b = parseBody(z.object({ entity: z.string(), enabled: z.boolean() }), body);
          control.setChangeTracking(b.entity, b.enabled);
        }),
    },
    {
      method: "POST",
      path: "/dataverse/throttle",
      summary: "per-client request limit: { limit, windowSeconds }, or {} for none",
      handle: ({ body }) =>
        guarded(() => {
          const b = parseBody(
            z.object({ limit: z.number().int().min(1), windowSeconds: z.number().positive() }).partial(),
            body,
          );
          control.setThrottle(
            b.limit !== undefined && b.windowSeconds !== undefined
              ? { limit: b.limit, windowSeconds: b.windowSeconds }
              : null,
          );
        }),
    },
    {
      method: "POST",
      path: "/dataverse/keys/activate",
      summary: "build pending alternate-key indexes now",
      handle: () => guarded(() => control.activateKeys()),
    },
    {
      method: "POST",
      path: "/dataverse/cosell-setup",
      summary: "install the assumed cosell columns and referral-id key",
      handle: () => guarded(() => control.installCosellSetup()),
    },
    {
      method: "PUT",
      path: "/dataverse/users/{id}/roles",
      summary: "replace a user's security roles: { roles }",
      handle: ({ params, body }) =>
        guarded(() =>
          control.setUserRoles(params.id!, parseBody(z.object({ roles: z.array(z.string()) }), body).roles),
        ),
    },
  ];
}

function newClientSecret(): string {
  return `${randomBytes(3).toString("hex").slice(0, 3)}8Q~${randomBytes(30).toString("base64url").slice(0, 34)}`;
}

/**
 * The Dataverse system of the sandbox (for `SYSTEMS` in sandbox.ts): an app registration allowed to
 * get Dataverse and Graph tokens, its application user, the seeded environment, and its control.
 * Port offset 4 (`basePort + 4`).
 */
export const dataverseSystem: SystemDefinition<DataverseControl, DataverseCredentials, DataverseSnapshot> = {
  serverName: "dataverse",
  portOffset: 4,
  parseSnapshot: (raw) => DataverseSnapshotSchema.parse(raw) as unknown as DataverseSnapshot,
  start(ctx, restored) {
    const privateKeyPem =
      restored?.certificatePrivateKeyPem ??
      generateKeyPairSync("rsa", {
        modulusLength: 2048,
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
        publicKeyEncoding: { type: "spki", format: "pem" },
      }).privateKey;
    const app = {
      tenantId: restored?.tenantId ?? randomUUID(),
      clientId: restored?.clientId ?? randomUUID(),
      clientSecret: restored?.clientSecret ?? newClientSecret(),
    };
    const thumbprintSha256 = publicKeyThumbprintSha256(privateKeyPem);
    ctx.entra.directory.register({
      tenantId: app.tenantId,
      clientId: app.clientId,
      displayName: "cosell sandbox: Dynamics 365",
      clientSecrets: [app.clientSecret],
      certificates: [
        {
          thumbprintSha256,
          publicKeyPem: createPublicKey(privateKeyPem).export({ type: "spki", format: "pem" }).toString(),
        },
      ],
      allowedResources: [SANDBOX_DATAVERSE_RESOURCE, SANDBOX_GRAPH_RESOURCE],
    });
    const server = createDataverseServer(
      { clock: ctx.clock, tokens: ctx.tokens },
      {
        tenantId: app.tenantId,
        unknownClients: "reject",
        applicationUsers: [{ clientId: app.clientId, name: "cosell", roles: ["System Administrator"] }],
      },
    );
    if (restored) server.control.importState(restored.state);
    let origin = "";
    return {
      server,
      attach(url) {
        origin = url;
      },
      control: server.control,
      credentials: () => ({
        ...app,
        certificate: { privateKeyPem, thumbprintSha256 },
        tokenEndpoint: `${ctx.entra.url}/${app.tenantId}/oauth2/v2.0/token`,
        authorityHost: ctx.entra.url,
        resource: SANDBOX_DATAVERSE_RESOURCE,
        scope: `${SANDBOX_DATAVERSE_RESOURCE}/.default`,
        environmentUrl: origin,
        apiBaseUrl: `${origin}/api/data/v9.2`,
        graphScope: `${SANDBOX_GRAPH_RESOURCE}/.default`,
      }),
      routes: controlRoutes(server.control),
      state: () => ({
        opportunities: server.control.count("opportunities"),
        accounts: server.control.count("accounts"),
        contacts: server.control.count("contacts"),
      }),
      snapshot: () => ({
        ...app,
        certificatePrivateKeyPem: privateKeyPem,
        state: server.control.exportState(),
      }),
      secrets: () => [app.clientSecret, privateKeyPem],
    };
  },
};
