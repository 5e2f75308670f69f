import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { z } from "zod";
import { ControlError, guardedControl } from "../control/errors.js";
import { type ControlRoute, parseBody } from "../control/server.js";
import type { SystemDefinition } from "../control/system.js";
import type { SalesforceControl } from "./control.js";
import { RecordError } from "./errors.js";
import { DEFAULT_CONNECTED_APP, type SalesforceOrgOptions } from "./options.js";
import { createSalesforceServer } from "./server.js";
import { type SalesforceState, SalesforceStateError, STATE_FORMAT } from "./state.js";

/** API version the sandbox hands out with its credentials (jsforce's default 50.0 is too old). */
export const SANDBOX_SALESFORCE_API_VERSION = "62.0";

/**
 * Test credentials of the sandbox org's connected app. The org accepts JWT bearer assertions signed
 * with `jwtPrivateKeyPem` (audience `loginUrl`, https://login.salesforce.com or
 * https://test.salesforce.com), client credentials (run as `username`) and refresh tokens issued by
 * the control API.
 */
export interface SalesforceCredentials {
  /** Token host: the emulator's origin (`http://127.0.0.1:PORT`), as a My Domain login URL would be. */
  loginUrl: string;
  /** Where REST and SOAP calls go (same origin; the token response says so too). */
  instanceUrl: string;
  /** Consumer key of the connected app. */
  clientId: string;
  /** Consumer secret of the connected app. */
  clientSecret: string;
  /** The integration user: JWT `sub` and the client-credentials run-as user. */
  username: string;
  /** PKCS#8 PEM private key whose certificate is registered on the connected app (JWT bearer). */
  jwtPrivateKeyPem: string;
  /** 18-character org id. */
  orgId: string;
  /** API version to pass to jsforce. */
  apiVersion: string;
}

/** What a snapshot keeps of Salesforce: the JWT signing key and the whole org. */
export interface SalesforceSnapshot {
  jwtPrivateKeyPem: string;
  state: SalesforceState;
}

const SalesforceSnapshotSchema = z.object({
  jwtPrivateKeyPem: z.string(),
  state: z.object({ format: z.literal(STATE_FORMAT) }).loose(),
});

/** Runs a control action, turning org refusals into control-API errors with the same code. */
function guarded<T>(fn: () => T): T {
  return guardedControl(fn, (e) =>
    e instanceof RecordError
      ? new ControlError(400, e.statusCode, e.message)
      : e instanceof SalesforceStateError
        ? new ControlError(400, e.code, e.message)
        : undefined,
  );
}

const record = z.record(z.string(), z.unknown());

/** `?as=<username or user id>`: the write is that user's (a seller's save), not the integration user's. */
const writeAs = (query: URLSearchParams) => {
  const as = query.get("as");
  return as ? { as } : {};
};

/**
 * Salesforce's control routes. `{type}` is an sObject API name (`Opportunity`, `Account`…); writes act
 * as an admin user (validated, stamped with the sandbox clock, not counted against the API allocation).
 *
 * | route | body | does |
 * |---|---|---|
 * | `GET /salesforce/sobjects/{type}` | | `{ records }`, every live row |
 * | `GET /salesforce/sobjects/{type}/{id}` | | one row (404) |
 * | `POST /salesforce/sobjects/{type}[?as=user]` | fields | a user creates a record: `{ id }` |
 * | `PUT /salesforce/sobjects/{type}/{id}[?as=user]` | fields | a user edits a record |
 * | `DELETE /salesforce/sobjects/{type}/{id}[?as=user]` | | a user deletes a record |
 *
 * Without `as` a write is stamped as the integration user: under `cosell serve` with Change Data
 * Capture its event is taken for cosell's own echo. Pass a seller's username to act as a seller.
 * | `POST /salesforce/query` | `{ soql, includeDeleted? }` | runs SOQL in system mode |
 * | `POST /salesforce/seed-opportunities` | `{ count, seed? }` | bulk opportunities for load tests |
 * | `POST /salesforce/fail-next` | `{ statusCode, message, type?, id?, externalId? }` | next matching write fails |
 * | `POST /salesforce/expire-sessions` | | every access token expires: `{ expired }` |
 * | `POST /salesforce/refresh-tokens` | `{ username? }` | issues a refresh token: `{ refreshToken }` |
 * | `POST /salesforce/api-usage` | `{ used }` | sets the requests used in the last 24 h |
 */
function controlRoutes(control: SalesforceControl): ControlRoute[] {
  return [
    {
      method: "GET",
      path: "/salesforce/sobjects/{type}",
      summary: "every live row of an sObject",
      handle: ({ params }) => guarded(() => ({ records: control.all(params.type!) })),
    },
    {
      method: "GET",
      path: "/salesforce/sobjects/{type}/{id}",
      summary: "one row",
      handle: ({ params }) =>
        guarded(() => {
          const row = control.get(params.type!, params.id!);
          if (!row) throw new ControlError(404, "NOT_FOUND", `No ${params.type} record ${params.id}.`);
          return row;
        }),
    },
    {
      method: "POST",
      path: "/salesforce/sobjects/{type}",
      summary: "a user creates a record: fields",
      handle: ({ params, body, query }) =>
        guarded(() => ({ id: control.insert(params.type!, parseBody(record, body), writeAs(query)) })),
    },
    {
      method: "PUT",
      path: "/salesforce/sobjects/{type}/{id}",
      summary: "a user edits a record: fields",
      handle: ({ params, body, query }) =>
        guarded(() => control.update(params.type!, params.id!, parseBody(record, body), writeAs(query))),
    },
    {
      method: "DELETE",
      path: "/salesforce/sobjects/{type}/{id}",
      summary: "a user deletes a record",
      handle: ({ params, query }) => guarded(() => control.delete(params.type!, params.id!, writeAs(query))),
    },
    {
      method: "POST",
      path: "/salesforce/query",
      summary: "SOQL in system mode: { soql, includeDeleted? }",
      handle: ({ body }) =>
        guarded(() => {
          const b = parseBody(
            z.object({ soql: z.string().min(1), includeDeleted: z.boolean().optional() }),
            body,
          );
          return control.query(b.soql, { includeDeleted: b.includeDeleted });
        }),
    },
    {
      method: "POST",
      path: "/salesforce/seed-opportunities",
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
      path: "/salesforce/fail-next",
      summary: "the next matching write fails: { statusCode, message, type?, id?, externalId? }",
      handle: ({ body }) =>
        guarded(() => {
          const b = parseBody(
            z.object({
              statusCode: z.string().min(1),
              message: z.string().min(1),
              type: z.string().optional(),
              id: z.string().optional(),
              externalId: z.string().optional(),
              fields: z.array(z.string()).optional(),
            }),
            body,
          );
          control.failNext(b);
        }),
    },
    {
      method: "POST",
      path: "/salesforce/expire-sessions",
      summary: "every access token of the org expires",
      handle: () => guarded(() => ({ expired: control.expireSessions() })),
    },
    {
      method: "POST",
      path: "/salesforce/refresh-tokens",
      summary: "issue a refresh token: { username? }",
      handle: ({ body }) =>
        guarded(() => {
          const b = parseBody(z.object({ username: z.string().optional() }), body);
          return { refreshToken: control.issueRefreshToken(b.username) };
        }),
    },
    {
      method: "POST",
      path: "/salesforce/api-usage",
      summary: "set the API requests used in the last 24 h: { used }",
      handle: ({ body }) =>
        guarded(() => {
          control.setApiUsage(parseBody(z.object({ used: z.number().int().min(0) }), body).used);
          return control.apiUsage();
        }),
    },
  ];
}

/** Org options of the sandbox's Salesforce (the demo data set, default stages, one currency). */
function orgOptions(certificatePem: string): SalesforceOrgOptions {
  return { connectedApp: { ...DEFAULT_CONNECTED_APP, certificatePem } };
}

/**
 * The Salesforce system of the sandbox (for `SYSTEMS` in sandbox.ts): an org with the demo data set,
 * a connected app whose JWT certificate matches the private key in the credentials, and its control.
 * Port offset 3 (`basePort + 3`).
 */
export const salesforceSystem: SystemDefinition<
  SalesforceControl,
  SalesforceCredentials,
  SalesforceSnapshot
> = {
  serverName: "salesforce",
  portOffset: 3,
  parseSnapshot: (raw) => SalesforceSnapshotSchema.parse(raw) as unknown as SalesforceSnapshot,
  start(ctx, restored) {
    const jwtPrivateKeyPem =
      restored?.jwtPrivateKeyPem ??
      generateKeyPairSync("rsa", {
        modulusLength: 2048,
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
        publicKeyEncoding: { type: "spki", format: "pem" },
      }).privateKey;
    const certificatePem = createPublicKey(jwtPrivateKeyPem)
      .export({ type: "spki", format: "pem" })
      .toString();
    const server = createSalesforceServer(
      { clock: ctx.clock, tokens: ctx.tokens },
      orgOptions(certificatePem),
    );
    if (restored) server.control.importState(restored.state);
    const control = server.control;
    let origin = "";
    return {
      server,
      attach(url) {
        origin = url;
      },
      control,
      credentials: () => ({
        loginUrl: origin,
        instanceUrl: origin,
        clientId: control.connectedApp.clientId,
        clientSecret: control.connectedApp.clientSecret,
        username: control.connectedApp.username,
        jwtPrivateKeyPem,
        orgId: control.orgId,
        apiVersion: SANDBOX_SALESFORCE_API_VERSION,
      }),
      routes: controlRoutes(control),
      state: () => ({
        opportunities: control.all("Opportunity").length,
        accounts: control.all("Account").length,
        contacts: control.all("Contact").length,
        apiUsage: control.apiUsage(),
      }),
      snapshot: () => ({ jwtPrivateKeyPem, state: control.exportState() }),
      secrets: () => [control.connectedApp.clientSecret, jwtPrivateKeyPem],
    };
  },
};

export type { SalesforceControl } from "./control.js";
// The org itself, for tests that need options startSandbox does not expose (refresh token rotation…).
export { createSalesforceServer, type SalesforceOrgOptions } from "./index.js";
