import {
  CertificateCredentialSchema,
  ConfigError,
  requireOneCredential,
  requireSecureUrl,
} from "@cosell/core";
import { z } from "zod";
import { DEFAULT_OPTION_VALUE_PREFIX } from "./columns.js";

/** Entra ID's public cloud, where a real Dynamics 365 tenant signs in. */
const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com";

/**
 * How co-sell stages map onto the opportunity's status reasons. Defaults are Dynamics 365 Sales'
 * out-of-the-box values (dynamics.md §2.1); environments with custom status reasons override them.
 */
export const DynamicsStageMapSchema = z
  .object({
    /** `statuscode` for WinOpportunity (Won = 3). */
    won: z.number().int().default(3),
    /** `statuscode` for LoseOpportunity when the deal was lost (Canceled = 4; Out-Sold = 5). */
    lost: z.number().int().default(4),
    /** `statuscode` for LoseOpportunity when the referral was declined. */
    declined: z.number().int().default(4),
    /** `statuscode` for LoseOpportunity when the referral expired unanswered. */
    expired: z.number().int().default(4),
    /** `statuscode` used to reopen (In Progress = 1; On Hold = 2). */
    reopen: z.number().int().default(1),
    /** `salesstage` given to opportunities created from inbound referrals (Qualify = 0). */
    inboundSalesStage: z.number().int().min(0).default(0),
  })
  .strict();

/**
 * The `crm` section of the cosell config for Dynamics 365 (`kind: "dynamics"`). Secrets are resolved
 * (`env:`/`file:`) by the CLI before they reach this schema.
 */
export const DynamicsConfigSchema = z
  .object({
    kind: z.literal("dynamics").default("dynamics"),
    /** Directory (tenant) id of the Entra ID tenant that holds the app registration. */
    tenantId: z.string().min(1, "give the directory (tenant) id"),
    /** Application (client) id of the app registration (it must exist as an application user in Dataverse). */
    clientId: z.string().min(1, "give the application (client) id"),
    /** Client secret; give this or `certificate`. */
    clientSecret: z.string().min(1).optional(),
    /** Certificate credential (preferred): PEM private key and SHA-256 thumbprint. */
    certificate: CertificateCredentialSchema.optional(),
    /** The environment, e.g. `https://contoso.crm.dynamics.com` (https required except loopback). */
    environmentUrl: z.string().min(1, "give the environment URL, e.g. https://contoso.crm.dynamics.com"),
    /** Entra ID host; default `https://login.microsoftonline.com` (the sandbox gives its own). */
    authorityHost: z.string().default(DEFAULT_AUTHORITY_HOST),
    /** Token endpoint override (the sandbox, a proxy); plain http only to loopback. */
    tokenEndpoint: z.string().optional(),
    /** Token audience; default the environment's origin (`https://contoso.crm.dynamics.com`). */
    resource: z.string().optional(),
    /** Microsoft Graph base URL (`https://graph.microsoft.com/v1.0`); used to complete team members. */
    graphBaseUrl: z.string().default("https://graph.microsoft.com/v1.0"),
    /** Graph scope; default `https://graph.microsoft.com/.default` (app permission User.Read.All). */
    graphScope: z.string().default("https://graph.microsoft.com/.default"),
    /** Look owners up in Entra ID when Dataverse lacks their email or phone. */
    resolveTeamFromGraph: z.boolean().default(true),
    /** Customization prefix of the publisher the custom columns belong to. */
    publisherPrefix: z
      .string()
      .regex(/^[a-z][a-z0-9]{1,7}$/, "use 2–8 lower-case letters or digits, starting with a letter")
      .default("cosell"),
    /** Picklist option value prefix of that publisher (10000–99999), used when setup creates it. */
    optionValuePrefix: z.number().int().min(10000).max(99999).default(DEFAULT_OPTION_VALUE_PREFIX),
    /** Unmanaged solution that setup puts the columns in. */
    solutionUniqueName: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .default("cosell"),
    /**
     * Name of the main Opportunity form that setup adds the "Co-sell" tab to (the out-of-the-box
     * main form is "Opportunity").
     */
    form: z
      .string()
      .trim()
      .min(1, "give the name of a main Opportunity form, e.g. Opportunity")
      .default("Opportunity"),
    /**
     * Opportunities written per apply step. Their requests (up to five per record: account, contact,
     * reopen, fields, close) go out in `$batch` requests of at most 1,000 operations each, split by
     * operation count; so at most 1000 (a record is at least one operation).
     */
    batchSize: z
      .number("set crm.batchSize to a whole number from 1 to 1000 (default 200)")
      .int("set crm.batchSize to a whole number from 1 to 1000 (default 200)")
      .min(1, "set crm.batchSize to at least 1 (default 200)")
      .max(
        1000,
        "a Dataverse $batch holds at most 1,000 operations and each record needs at least one: set crm.batchSize to 1000 or less (default 200)",
      )
      .default(200),
    /** Rows per page (`odata.maxpagesize`, at most 5000). */
    pageSize: z.number().int().min(1).max(5000).default(500),
    /** Extra country names (as typed in `address1_country`) → ISO 3166 alpha-2 codes, e.g. `{ "Holland": "NL" }`. */
    countryNames: z
      .record(z.string(), z.string().regex(/^[A-Z]{2}$/, "use an ISO 3166 alpha-2 code, e.g. NL"))
      .default({}),
    /** Stage ⇄ status reason overrides. */
    stageMap: DynamicsStageMapSchema.default(DynamicsStageMapSchema.parse({})),
    /**
     * Change detection: `auto` uses change tracking when the opportunity table has it and falls back to
     * `modifiedon` polling otherwise; `on` requires it; `off` always polls.
     */
    changeTracking: z.enum(["auto", "on", "off"]).default("auto"),
    /** Retries of a throttled (429) or failed (5xx, network) request before giving up. */
    maxRetries: z.number().int().min(0).max(20).default(6),
    /** Longest wait honoured from a Retry-After header (ms); longer waits fail the call as throttled. */
    maxRetryAfterMs: z.number().int().min(0).default(300_000),
    /**
     * Public https URL of `cosell serve`'s Dataverse receiver (`…/webhooks/dataverse`, port 443).
     * When set, setup registers a webhook so opportunity changes sync at once.
     */
    webhookUrl: z.string().min(1).optional(),
    /** Shared secret Dataverse sends in a header with every call (a reference; at least 16 characters). */
    webhookSecret: z.string().min(16, "use at least 16 random characters").optional(),
    /** One attempt of a Dataverse, Graph or token request is abandoned after this long (ms). */
    requestTimeoutMs: z.number().int().positive().default(60_000),
    /**
     * How long `cosell setup` waits for Dataverse to build the referral id alternate key's index
     * (EntityKeyIndexStatus Active) before stopping with what to do (ms).
     */
    keyIndexTimeoutMs: z
      .number()
      .int()
      .min(0, "set crm.keyIndexTimeoutMs to 0 or more milliseconds (default 900000)")
      .default(900_000),
    /** A call gives up once its attempts and waits together took this long (ms). */
    maxRetryTimeMs: z.number().int().positive().default(360_000),
    /** Largest answer read from Dataverse or Graph (bytes); more is refused with `REMOTE_RESPONSE_TOO_LARGE`. */
    maxResponseBytes: z
      .number()
      .int()
      .positive()
      .default(32 * 1024 * 1024),
    /** Most pages one paged read follows before it is refused as a loop (`REMOTE_PAGE_LOOP`). */
    maxPages: z.number().int().positive().default(10_000),
  })
  .strict()
  // The same rule as Partner Center's app registration: exactly one credential.
  .superRefine(requireOneCredential)
  .superRefine((v, ctx) => {
    if (v.webhookUrl && !v.webhookSecret)
      ctx.addIssue({
        code: "custom",
        path: ["webhookSecret"],
        message: "crm.webhookUrl needs crm.webhookSecret (a reference such as env:DATAVERSE_WEBHOOK_SECRET)",
      });
  });

/** The Dynamics config after validation, defaults applied. */
export type DynamicsConfig = z.infer<typeof DynamicsConfigSchema>;
/** The Dynamics config as written (defaults optional). */
export type DynamicsConfigInput = z.input<typeof DynamicsConfigSchema>;

const SECRET_KEY = /secret|privatekey|password/i;

/**
 * Validates the config; a bad value is a {@link ConfigError} whose message names the key (`crm.…`),
 * shows the value unless it is a secret, and says what to do.
 */
export function parseDynamicsConfig(raw: DynamicsConfigInput, keyPrefix = "crm"): DynamicsConfig {
  const r = DynamicsConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map(String);
    const key = [keyPrefix, ...path].join(".");
    let value: unknown = raw;
    for (const p of path)
      value = value && typeof value === "object" ? (value as Record<string, unknown>)[p] : undefined;
    const shown =
      value === undefined
        ? "missing"
        : path.some((p) => SECRET_KEY.test(p))
          ? "(hidden)"
          : JSON.stringify(value);
    throw new ConfigError("CONFIG_INVALID", `${key}: ${shown} — ${issue.message}.`, {
      key,
      issues: r.error.issues.map((i) => ({
        key: [keyPrefix, ...i.path.map(String)].join("."),
        message: i.message,
      })),
    });
  }
  const c = r.data;
  requireSecureUrl(`${keyPrefix}.environmentUrl`, c.environmentUrl);
  requireSecureUrl(`${keyPrefix}.authorityHost`, c.authorityHost);
  if (c.tokenEndpoint) requireSecureUrl(`${keyPrefix}.tokenEndpoint`, c.tokenEndpoint);
  requireSecureUrl(`${keyPrefix}.graphBaseUrl`, c.graphBaseUrl);
  return c;
}

/** The sandbox's Dynamics credentials (`sandbox.credentials.dataverse`), as far as this needs them. */
export interface DynamicsSandboxCredentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  tokenEndpoint: string;
  authorityHost: string;
  resource: string;
  environmentUrl: string;
  graphScope?: string;
}

/**
 * A config for the local sandbox (`startSandbox()`): its app registration, Entra ID and environment.
 * `graphBaseUrl` is the sandbox's Graph origin + `/v1.0` (pass `sandbox.urls.graph`).
 */
export function dynamicsSandboxConfig(
  credentials: DynamicsSandboxCredentials,
  options: { graphUrl?: string } & Partial<DynamicsConfigInput> = {},
): DynamicsConfigInput {
  const { graphUrl, ...rest } = options;
  return {
    kind: "dynamics",
    tenantId: credentials.tenantId,
    clientId: credentials.clientId,
    clientSecret: credentials.clientSecret,
    environmentUrl: credentials.environmentUrl,
    authorityHost: credentials.authorityHost,
    tokenEndpoint: credentials.tokenEndpoint,
    resource: credentials.resource,
    ...(graphUrl ? { graphBaseUrl: `${graphUrl.replace(/\/$/, "")}/v1.0` } : { resolveTeamFromGraph: false }),
    ...(credentials.graphScope ? { graphScope: credentials.graphScope } : {}),
    ...rest,
  };
}
