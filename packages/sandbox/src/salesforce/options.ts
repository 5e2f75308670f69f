import { toId18 } from "./ids.js";
import type { StageDefinition } from "./schema/stages.js";
import { DEFAULT_STAGES } from "./schema/stages.js";

/** The connected app (or external client app) registered in the org, and its run-as user. */
export interface ConnectedAppConfig {
  /** Consumer key: `iss` of JWT assertions, `client_id` of the other grants. */
  clientId: string;
  clientSecret: string;
  /** Username of the integration user: JWT `sub`, and the client-credentials run-as user. */
  username: string;
  /**
   * PEM public key or X.509 certificate that JWT bearer assertions must be signed with (RS256).
   * When omitted, the server makes a key pair on first use; `control.jwtPrivateKeyPem()` hands out
   * its private half so a demo can sign assertions.
   */
  certificatePem?: string;
  /** Refresh token rotation: each refresh invalidates the old refresh token and returns a new one. */
  refreshTokenRotation?: boolean;
}

/** Options of the emulated org. Every field has a default. */
export interface SalesforceOrgOptions {
  /** 18-char org id (`00D…`). */
  orgId?: string;
  /** Lowest REST/SOAP API version served (older `vNN.N` paths answer 404), default `"31.0"`. */
  apiVersionFloor?: string;
  /** Records per query page (Salesforce: up to 2000). Small values exercise `nextRecordsUrl` in tests. */
  queryPageSize?: number;
  /** Daily API request allocation (rolling 24 h), default 100,000. */
  dailyApiLimit?: number;
  /** Multi-currency org: adds `CurrencyIsoCode` to Opportunity, Account, Contact and Campaign. */
  multiCurrency?: boolean;
  /** Active currencies; the first is the corporate currency. Default USD, EUR, GBP, JPY, AUD, CAD. */
  currencies?: string[];
  /** Load the demo data set (accounts, contacts, users, campaigns, opportunities). Default true. */
  seed?: boolean;
  /** The registered connected app. Defaults: see {@link DEFAULT_CONNECTED_APP}. */
  connectedApp?: Partial<ConnectedAppConfig>;
  /** Lifetime of access tokens in seconds (default 7200, Salesforce's default session timeout). */
  accessTokenTtlSeconds?: number;
  /** The org's opportunity stages (default: a new org's stages plus "Co-sell Review" and "Closed - Partner Declined"). */
  stages?: StageDefinition[];
  /** Open query cursors kept per user before the oldest is dropped (Salesforce: 10). */
  maxOpenCursorsPerUser?: number;
  /** Change Data Capture on the Streaming API (`/cometd/<version>`). */
  changeDataCapture?: {
    /**
     * Change event names selected in Setup, e.g. `OpportunityChangeEvent`. Default none, as in a new
     * org: an admin (or `cosell setup` through the Tooling API) selects Opportunity.
     */
    selectedEntities?: string[];
    /** How long events stay on the event bus for replay, in hours (Salesforce: 72). */
    retentionHours?: number;
    /** Seconds a CometD `/meta/connect` is held open without events (Salesforce: 110). */
    longPollSeconds?: number;
    /**
     * Entities that can be selected at once (Change Data Capture Developer Guide, "Change Data
     * Capture Allocations": 5 without the add-on, standard and custom objects together).
     */
    maxSelectedEntities?: number;
  };
}

/** Credentials the sandbox org is configured with unless told otherwise. Not secrets: a local fake. */
export const DEFAULT_CONNECTED_APP: Readonly<Omit<ConnectedAppConfig, "certificatePem">> = {
  clientId: "3MVG9cosell.sandbox.connected.app.consumer.key",
  clientSecret: "cosell-sandbox-consumer-secret",
  username: "integration@cosell.sandbox",
  refreshTokenRotation: false,
};

export const DEFAULT_ORG_ID = toId18("00D8d000004cSbx")!;

/** Options with every default filled in. */
export interface ResolvedOptions {
  orgId: string;
  apiVersionFloor: number;
  queryPageSize: number;
  dailyApiLimit: number;
  multiCurrency: boolean;
  currencies: string[];
  seed: boolean;
  connectedApp: ConnectedAppConfig;
  accessTokenTtlSeconds: number;
  stages: StageDefinition[];
  maxOpenCursorsPerUser: number;
  changeDataCapture: {
    selectedEntities: string[];
    retentionHours: number;
    longPollSeconds: number;
    maxSelectedEntities: number;
  };
}

/** Fills in every default (and normalises the org id to 18 chars). */
export function resolveOptions(o: SalesforceOrgOptions = {}): ResolvedOptions {
  return {
    orgId: (o.orgId && toId18(o.orgId)) || DEFAULT_ORG_ID,
    apiVersionFloor: Number(o.apiVersionFloor ?? "31.0"),
    queryPageSize: Math.max(1, Math.min(2000, o.queryPageSize ?? 2000)),
    dailyApiLimit: o.dailyApiLimit ?? 100_000,
    multiCurrency: o.multiCurrency ?? false,
    currencies: o.currencies ?? ["USD", "EUR", "GBP", "JPY", "AUD", "CAD"],
    seed: o.seed ?? true,
    connectedApp: { ...DEFAULT_CONNECTED_APP, ...o.connectedApp },
    accessTokenTtlSeconds: o.accessTokenTtlSeconds ?? 7200,
    stages: o.stages ?? [...DEFAULT_STAGES],
    maxOpenCursorsPerUser: o.maxOpenCursorsPerUser ?? 10,
    changeDataCapture: {
      selectedEntities: o.changeDataCapture?.selectedEntities ?? [],
      retentionHours: o.changeDataCapture?.retentionHours ?? 72,
      longPollSeconds: o.changeDataCapture?.longPollSeconds ?? 110,
      maxSelectedEntities: o.changeDataCapture?.maxSelectedEntities ?? 5,
    },
  };
}
