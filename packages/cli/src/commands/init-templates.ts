import type { CrmKind } from "../crm-modules.js";

/** Answers that fill a config template. */
export interface InitAnswers {
  crm: CrmKind;
  tenantId: string;
  clientId: string;
  /** Salesforce: https://login.salesforce.com or https://MyDomain.my.salesforce.com; Dynamics: https://org.crm.dynamics.com */
  crmUrl: string;
  crmClientId: string;
  /** Salesforce integration user. */
  username?: string;
}

const PARTNER_CENTER = (a: InitAnswers) => `# cosell config — docs/config.md describes every key.
# Secrets are never written here: use env:NAME (an environment variable) or file:PATH.

partnerCenter:
  # Entra ID tenant of your Partner Center account and the app registration cosell signs in through
  # (a public client: "Allow public client flows" on; docs/signin.md).
  tenantId: ${JSON.stringify(a.tenantId)}
  clientId: ${JSON.stringify(a.clientId)}
  # The Referrals API accepts only a signed-in user (App+User). Run \`cosell login\` once as the
  # service user and sign in as a Partner Center user with the Referral Admin role.
  auth:
    kind: user
    tokenCache: cosell-token-cache.json   # next to this file, readable only by this user
    # tokenCacheKey: env:COSELL_TOKEN_CACHE_KEY   # optional: encrypts the token cache
  # apiBaseUrl: https://api.partner.microsoft.com/v1.0   # the default
`;

const SALESFORCE = (a: InitAnswers) => `
crm:
  kind: salesforce
  auth:
    # JWT bearer flow (recommended): a connected app with a certificate, pre-authorized for the user.
    # Other kinds: clientCredentials (clientId, clientSecret, loginUrl), refreshToken (clientId, refreshToken).
    kind: jwt
    # The org's login URL: https://login.salesforce.com, https://test.salesforce.com or your My Domain.
    loginUrl: ${JSON.stringify(a.crmUrl)}
    # The connected app's consumer key.
    clientId: ${JSON.stringify(a.crmClientId)}
    # The integration user the connected app is pre-authorized for.
    username: ${JSON.stringify(a.username ?? "cosell-integration@example.com")}
    # The private key whose certificate is uploaded to the connected app.
    privateKey: file:./salesforce-jwt.key
  # Permission set that setup creates and assigns to the integration user.
  # permissionSet: Cosell_Sync
  # Page layouts (full names) that get the Co-sell section and the co-sell quick actions.
  # layouts: ["Opportunity-Opportunity Layout"]
  # Field API names, when the defaults clash with your org's (docs/config.md lists them all).
  # fields: { optIn: Cosell_Sync__c }
`;

const DYNAMICS = (a: InitAnswers) => `
crm:
  kind: dynamics
  # Your environment URL (Power Platform admin center → Environments → the environment's URL).
  environmentUrl: ${JSON.stringify(a.crmUrl)}
  # The app registration added to the environment as an application user.
  tenantId: ${JSON.stringify(a.tenantId)}
  clientId: ${JSON.stringify(a.crmClientId)}
  clientSecret: env:COSELL_DYNAMICS_SECRET
`;

const COMMON = `
sync:
  # Who wins when both sides changed the same field since the last sync:
  # crm-wins (default) | partner-center-wins | newest-wins | manual
  conflictPolicy: crm-wins
  # Per-field overrides, e.g. notes: newest-wins
  # fieldPolicies: { notes: newest-wins }
  # Per-field direction: both (default) | toCrm | toPartnerCenter | none
  # directions: { campaignId: toPartnerCenter }

state:
  # SQLite file with links, cursors, the write ledger and the audit log (relative to this file).
  path: cosell-state.sqlite

run:
  # cosell run: seconds between cycles.
  intervalSeconds: 300

log:
  level: info
`;

/** The commented YAML `cosell init` writes. */
export function configTemplate(a: InitAnswers): string {
  return PARTNER_CENTER(a) + (a.crm === "salesforce" ? SALESFORCE(a) : DYNAMICS(a)) + COMMON;
}
