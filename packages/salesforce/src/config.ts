import { ConfigError, StageSchema } from "@cosell/core";
import { z } from "zod";

/** Salesforce's production and sandbox login hosts (JWT audiences). */
export const PRODUCTION_LOGIN_URL = "https://login.salesforce.com";
export const SANDBOX_LOGIN_URL = "https://test.salesforce.com";

const LOOPBACK = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

/**
 * A login or instance URL: https (login.salesforce.com, test.salesforce.com, a My Domain such as
 * https://acme.my.salesforce.com), or plain http on loopback for the sandbox. No path, no trailing slash.
 */
const orgUrl = z
  .string()
  .trim()
  .transform((s) => s.replace(/\/+$/, ""))
  .refine((s) => LOOPBACK.test(s) || /^https:\/\/[A-Za-z0-9.-]+(:\d+)?$/.test(s), {
    message:
      "must be an https origin such as https://login.salesforce.com, https://test.salesforce.com or your My Domain (https://acme.my.salesforce.com); plain http is only allowed on 127.0.0.1/localhost",
  })
  .refine((s) => !s.includes(".lightning.force.com"), {
    message:
      "is a Lightning UI host (*.lightning.force.com); use the My Domain URL (*.my.salesforce.com) instead",
  });

const PEM = /-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----[\s\S]+-----END (RSA |ENCRYPTED )?PRIVATE KEY-----/;

/** JWT bearer flow: the recommended production setup (no secret at rest, no refresh token to rotate). */
const JwtAuthSchema = z
  .object({
    kind: z.literal("jwt"),
    /** Consumer key of the connected app (the assertion's `iss`). */
    clientId: z.string().min(1),
    /** The integration user's username (the assertion's `sub`); the user must be pre-authorised on the app. */
    username: z.string().min(1),
    /** PKCS#8 (or PKCS#1) PEM private key whose certificate is uploaded to the connected app. */
    privateKey: z.string().regex(PEM, {
      message: "must be a PEM private key (-----BEGIN PRIVATE KEY----- …); the CLI resolves env:/file: refs",
    }),
    loginUrl: orgUrl.default(PRODUCTION_LOGIN_URL),
    /** JWT `aud`; default https://test.salesforce.com for sandbox orgs, https://login.salesforce.com otherwise. */
    audience: z.string().optional(),
  })
  .strict();

/** OAuth client credentials flow (needs a run-as user on the connected app and the My Domain login URL). */
const ClientCredentialsAuthSchema = z
  .object({
    kind: z.literal("clientCredentials"),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    loginUrl: orgUrl,
  })
  .strict();

/** Refresh token flow (from an earlier web-server login); a rotated token is handed to `onRefreshToken`. */
const RefreshTokenAuthSchema = z
  .object({
    kind: z.literal("refreshToken"),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1).optional(),
    refreshToken: z.string().min(1),
    loginUrl: orgUrl.default(PRODUCTION_LOGIN_URL),
  })
  .strict();

/** How the adapter authenticates. */
export const SalesforceAuthSchema = z.discriminatedUnion("kind", [
  JwtAuthSchema,
  ClientCredentialsAuthSchema,
  RefreshTokenAuthSchema,
]);
export type SalesforceAuth = z.infer<typeof SalesforceAuthSchema>;

const apiName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]*$/, { message: "must be a field API name such as Cosell_Sync__c" });
const customName = apiName.refine((s) => s.endsWith("__c"), {
  message: "must be a custom field API name ending in __c",
});

/**
 * API names of the fields the adapter reads and writes on Opportunity. The custom ones are created by
 * `setup()`; rename them when they clash with fields your org already has.
 */
export const SalesforceFieldNamesSchema = z
  .object({
    /** Checkbox: the seller opts the opportunity into co-sell sync. */
    optIn: customName.default("Cosell_Sync__c"),
    /** Text(80), external ID, unique: the Partner Center referral id (upsert key for inbound creates). */
    referralId: customName.default("Cosell_Referral_Id__c"),
    /** URL: link to the referral in Partner Center. */
    referralLink: customName.default("Cosell_Referral_Link__c"),
    /** Text(40): the referral's co-sell stage (received, accepted, declined, expired, won, lost). */
    coSellStage: customName.default("Cosell_Stage__c"),
    /** Checkbox: "Would you like Microsoft's help?". */
    helpRequested: customName.default("Cosell_Microsoft_Help__c"),
    /** Long text: what help is needed from Microsoft. */
    helpNotes: customName.default("Cosell_Help_Notes__c"),
    /** Text(40): synced, pending, deferred, conflict, error, paused. */
    syncStatus: customName.default("Cosell_Sync_Status__c"),
    /** Date/time of the last successful sync. */
    lastSyncedAt: customName.default("Cosell_Last_Synced__c"),
    /** Long text: why the last sync failed (empty when it did not). */
    lastError: customName.default("Cosell_Last_Sync_Error__c"),
    /**
     * Checkbox: the customer agreed that their contact details may be shared with others (Partner
     * Center's `consentToToShareInfoWithOthers`). Whether the deal is shared with Microsoft's sellers
     * at all is the opt-in and Microsoft's help, not this.
     */
    consent: customName.default("Cosell_Contact_Consent__c"),
    /** Checkbox: the customer agreed to be contacted (Partner Center's `consentToContact`). */
    consentToContact: customName.default("Cosell_Consent_To_Contact__c"),
    /** Checkbox: Partner Center's own favorite flag (its Favorites tab), synced both ways. */
    favorite: customName.default("Cosell_Favorite__c"),
    /** Restricted picklist Qualify/Develop/Propose/Close: Partner Center's sales stage of the deal. */
    salesStage: customName.default("Cosell_Sales_Stage__c"),
    /** Restricted picklist of Microsoft's `assistanceRequestCode` values: the kind of help asked for. */
    helpType: customName.default("Cosell_Help_Type__c"),
    /** Date/time, set by cosell: answer an inbound referral before this or it expires. */
    respondBy: customName.default("Cosell_Respond_By__c"),
    /** Text(80), set by cosell: Microsoft's opportunity id (`trackingInfo.microsoftMsxId`). */
    microsoftOpportunityId: customName.default("Cosell_Microsoft_Opportunity_Id__c"),
    /** Restricted picklist, set by cosell: Microsoft's answer to the invitation (pending, accepted, declined, expired). */
    microsoftAnswer: customName.default("Cosell_Microsoft_Answer__c"),
    /** Text(80), set by cosell: Partner Center's registration status (e.g. None, ReviewPending). */
    registrationStatus: customName.default("Cosell_Registration_Status__c"),
    /** Long text, set by cosell: Partner Center's registrations after a win, one per line. */
    registrations: customName.default("Cosell_Registrations__c"),
    /** Text(255), set by cosell: who sent an inbound referral (the sending organization). */
    sentBy: customName.default("Cosell_Sent_By__c"),
    /**
     * Text(255): the details of why the deal was declined or lost (with `closeReasonCode`, the reason
     * Partner Center receives; alone, the reason as earlier versions wrote it).
     */
    closeReason: customName.default("Cosell_Close_Reason__c"),
    /** Restricted picklist accept/decline: the seller's answer to a referral Microsoft sent. */
    response: customName.default("Cosell_Response__c"),
    /** Restricted picklist of listed reasons (core's CloseReasonSchema) for a decline or a loss. */
    closeReasonCode: customName.default("Cosell_Close_Reason_Code__c"),
    /** Long text: the deal's solutions, one per line as `id | name | kind`. */
    solutions: customName.default("Cosell_Solutions__c"),
    /** Text(20): `inbound` on opportunities created from a Microsoft referral. */
    direction: customName.default("Cosell_Direction__c"),
    /**
     * The campaign ID. Default `CampaignId` (a lookup to Campaign: only Salesforce campaign ids can be
     * stored); a custom `…__c` name makes setup create a Text(80) field that holds any campaign ID.
     */
    campaign: apiName.default("CampaignId"),
    /** Optional Account field with the customer's DUNS number (e.g. `DunsNumber` or `DUNS__c`). */
    accountDuns: apiName.optional(),
  })
  .strict();
export type SalesforceFieldNames = z.infer<typeof SalesforceFieldNamesSchema>;

/** Stage mapping overrides on top of the org's OpportunityStage IsClosed/IsWon. */
export const SalesforceStageMapSchema = z
  .object({
    /** StageName → canonical stage, e.g. `{ "Co-sell Review": "received" }`. */
    toDeal: z.record(z.string(), StageSchema).default({}),
    /** Canonical stage → StageName written when the stage comes from Partner Center. */
    toCrm: z.partialRecord(StageSchema, z.string().min(1)).default({}),
  })
  .strict();

/** The page layout a new org shows opportunities with. */
export const DEFAULT_LAYOUT = "Opportunity-Opportunity Layout";

/** The `crm` section of the cosell config for Salesforce. */
export const SalesforceConfigSchema = z
  .object({
    kind: z.literal("salesforce"),
    auth: SalesforceAuthSchema,
    /** Instance URL to call; default: the `instance_url` of the token response. */
    instanceUrl: orgUrl.optional(),
    /** REST/SOAP API version (jsforce's own default, 50.0, is too old for upsert collections). */
    apiVersion: z
      .string()
      .regex(/^\d{2}\.0$/, { message: 'must look like "62.0"' })
      .default("62.0"),
    /** A call to Salesforce (jsforce's retries of it included) is abandoned after this long (ms). */
    requestTimeoutMs: z.number().int().positive().default(60_000),
    /** Largest answer read from Salesforce (bytes); more is refused with `REMOTE_RESPONSE_TOO_LARGE`. */
    maxResponseBytes: z
      .number()
      .int()
      .positive()
      .default(32 * 1024 * 1024),
    /**
     * Opportunities per write batch. Their accounts, contacts and contact roles go with them; the
     * client sends collection requests of at most 200 records whatever this is. At most 200.
     */
    batchSize: z
      .number("set crm.batchSize to a whole number from 1 to 200 (default 200)")
      .int("set crm.batchSize to a whole number from 1 to 200 (default 200)")
      .min(1, "set crm.batchSize to at least 1 (default 200)")
      .max(
        200,
        "a Salesforce collection request holds at most 200 records: set crm.batchSize to 200 or less (default 200)",
      )
      .default(200),
    /** Records per change query page (200–2000; a hint for the org). */
    pageSize: z.number().int().min(1).max(2000).default(2000),
    /** Currency of amounts in an org without multi-currency. */
    defaultCurrency: z
      .string()
      .regex(/^[A-Z]{3}$/, { message: "must be an ISO 4217 code such as USD" })
      .default("USD"),
    /** Also list the opportunity owner in the deal's team (besides OpportunityTeamMember rows). */
    teamIncludesOwner: z.boolean().default(false),
    /**
     * Also poll OpportunityTeamMember, OpportunityContactRole and Account for changes (three more
     * queries per cycle): their edits do not move the opportunity's SystemModstamp.
     */
    watchRelated: z.boolean().default(true),
    /**
     * How `cosell serve` learns of opportunity edits between reconciliation polls: `cdc` subscribes
     * to Change Data Capture (`/data/OpportunityChangeEvent` over the Streaming API; `cosell setup`
     * selects Opportunity), `poll` waits for the next poll. `cosell sync`/`run` always poll.
     */
    changeFeed: z.enum(["cdc", "poll"]).default("cdc"),
    /** Send later team edits (OpportunityTeamMember changes) to Partner Center, not only with a new referral. */
    syncTeamUpdates: z.boolean().default(false),
    /**
     * Name of the permission set setup creates and assigns to the integration user. Not
     * `Cosell_Seller`: that is the sellers' own, with read-only status fields (cosell could not write
     * its status through it).
     */
    permissionSet: apiName
      .refine((s) => s.toLowerCase() !== "cosell_seller", {
        message:
          "Cosell_Seller is the sellers' permission set (setup creates it next to the integration user's); choose another name, e.g. the default Cosell_Sync.",
      })
      .default("Cosell_Sync"),
    /**
     * Full names of the Opportunity page layouts setup adds the "Co-sell" section and the co-sell
     * actions to (Setup → Object Manager → Opportunity → Page Layouts: `Opportunity-` and the
     * layout's name). Default: the standard layout of a new org.
     */
    layouts: z
      .array(
        z
          .string()
          .trim()
          .regex(/^Opportunity-\S/, {
            message:
              'must be an Opportunity page layout\'s full name: "Opportunity-" followed by the layout\'s name, such as "Opportunity-Opportunity Layout"',
          }),
        'set crm.layouts to a list of Opportunity page layout full names, such as ["Opportunity-Opportunity Layout"]',
      )
      .min(1, 'name at least one page layout in crm.layouts, such as "Opportunity-Opportunity Layout"')
      .refine((xs) => new Set(xs.map((x) => x.toLowerCase())).size === xs.length, {
        message: "names a page layout twice",
      })
      .default([DEFAULT_LAYOUT]),
    fields: SalesforceFieldNamesSchema.default(SalesforceFieldNamesSchema.parse({})),
    stages: SalesforceStageMapSchema.default({ toDeal: {}, toCrm: {} }),
  })
  .strict();

/** The parsed Salesforce config (defaults filled in). */
export type SalesforceConfig = z.infer<typeof SalesforceConfigSchema>;
/** The Salesforce config as written in the config file (defaults optional). */
export type SalesforceConfigInput = z.input<typeof SalesforceConfigSchema>;

/** Parses the config, or throws a {@link ConfigError} naming the offending key (never echoing secrets). */
export function parseSalesforceConfig(raw: unknown, keyPrefix = "crm"): SalesforceConfig {
  const r = SalesforceConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({
    path: [keyPrefix, ...i.path.map(String)].join("."),
    message: i.message,
  }));
  const first = issues[0]!;
  throw new ConfigError("CONFIG_SALESFORCE_INVALID", `${first.path}: ${first.message}.`, {
    key: first.path,
    issues,
  });
}

/** What `salesforceSandboxConfig` needs of the sandbox's Salesforce credentials. */
export interface SalesforceSandboxCredentials {
  loginUrl: string;
  instanceUrl: string;
  clientId: string;
  clientSecret: string;
  username: string;
  jwtPrivateKeyPem: string;
  apiVersion: string;
}

/**
 * A config for the sandbox org (`startSandbox().credentials.salesforce`): JWT bearer by default, or
 * client credentials. Used by `cosell demo` and the adapter's tests.
 */
export function salesforceSandboxConfig(
  credentials: SalesforceSandboxCredentials,
  options: { auth?: "jwt" | "clientCredentials" } & Partial<
    Omit<SalesforceConfigInput, "kind" | "auth">
  > = {},
): SalesforceConfigInput {
  const { auth = "jwt", ...rest } = options;
  return {
    kind: "salesforce",
    auth:
      auth === "jwt"
        ? {
            kind: "jwt",
            clientId: credentials.clientId,
            username: credentials.username,
            privateKey: credentials.jwtPrivateKeyPem,
            loginUrl: credentials.loginUrl,
          }
        : {
            kind: "clientCredentials",
            clientId: credentials.clientId,
            clientSecret: credentials.clientSecret,
            loginUrl: credentials.loginUrl,
          },
    apiVersion: credentials.apiVersion,
    ...rest,
  };
}
