/**
 * The CRMs the bench measures. Each target knows which sandbox systems it needs, how to build its
 * adapter from the sandbox credentials, how to seed opted-in opportunities in bulk and how a seller
 * edits one. Everything adapter-specific lives here, so plugging an adapter in is a few lines.
 */

/** Loads an adapter package; `{ ok: false, reason }` when it is not built (yet). */
async function load(pkg, factory, configFn) {
  let mod;
  try {
    mod = await import(pkg);
  } catch (e) {
    return { ok: false, reason: `${pkg} does not load (${e.code ?? e.message})` };
  }
  if (typeof mod[factory] !== "function" || typeof mod[configFn] !== "function")
    return { ok: false, reason: `${pkg} has no ${factory}/${configFn} yet` };
  return { ok: true, mod };
}

/** Field values that opt a record into co-sell sync, from the adapter's own field map when it has one. */
function optInFields(mod, fallback) {
  const named = mod.SYNC_FLAG_FIELD ?? mod.OPT_IN_FIELD ?? mod.fieldNames?.syncFlag;
  return typeof named === "string" ? { [named]: true } : fallback;
}

/** The two CRMs, by the key `--only` takes. */
export const TARGETS = {
  salesforce: {
    key: "salesforce",
    name: "Salesforce",
    systems: ["partnerCenter", "salesforce"],
    /** Request-log server name of the CRM side. */
    crmServer: "salesforce",
    load: () => load("@cosell/salesforce", "createSalesforceAdapter", "salesforceSandboxConfig"),
    adapter: (mod, sb) => mod.createSalesforceAdapter(mod.salesforceSandboxConfig(sb.credentials.salesforce)),
    seed(mod, sb, n) {
      const fields = optInFields(mod, { CoSell_Sync__c: true });
      return sb.salesforce.seedOpportunities(n, { seed: 7, fields: () => fields });
    },
    /** A seller changes the amount: the change every sync must carry to the referral. */
    editValue(_mod, sb, crmId, amount) {
      sb.salesforce.update("Opportunity", crmId, { Amount: amount });
    },
  },
  dynamics: {
    key: "dynamics",
    name: "Dynamics 365",
    systems: ["partnerCenter", "dataverse", "graph"],
    crmServer: "dataverse",
    load: () => load("@cosell/dynamics", "createDynamicsAdapter", "dynamicsSandboxConfig"),
    adapter: (mod, sb) => mod.createDynamicsAdapter(mod.dynamicsSandboxConfig(sb.credentials.dataverse)),
    seed(mod, sb, n) {
      const fields = optInFields(mod, { cosell_syncwithpartnercenter: true });
      return sb.dataverse.seedOpportunities(n, { seed: 7, extra: () => fields });
    },
    editValue(_mod, sb, crmId, amount) {
      sb.dataverse.update("opportunities", crmId, { estimatedvalue: amount });
    },
  },
};
