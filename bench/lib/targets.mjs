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
  } catch (err) {
    const e = /** @type {{ code?: string, message?: string }} */ (err);
    return { ok: false, reason: `${pkg} does not load (${e.code ?? e.message})` };
  }
  if (typeof mod[factory] !== "function" || typeof mod[configFn] !== "function")
    return { ok: false, reason: `${pkg} has no ${factory}/${configFn} yet` };
  return { ok: true, mod };
}

/** The solution every seeded deal carries (Partner Center requires one to share a deal). */
const BENCH_SOLUTION = { id: "sol-bench", name: "Bench Accelerator", kind: "own" };

/** The two CRMs, by the key `--only` takes. */
export const TARGETS = {
  salesforce: {
    key: "salesforce",
    name: "Salesforce",
    systems: ["partnerCenter", "salesforce"],
    /** Request-log server name of the CRM side. */
    crmServer: "salesforce",
    load: () => load("@cosell/salesforce", "createSalesforceAdapter", "salesforceSandboxConfig"),
    /**
     * JWT bearer auth (salesforceSandboxConfig's default); the owner counts as the deal team, so a seeded
     * opportunity is shareable without OpportunityTeamMember rows.
     */
    adapter: (mod, sb, now) =>
      mod.createSalesforceAdapter(
        mod.salesforceSandboxConfig(sb.credentials.salesforce, { teamIncludesOwner: true }),
        now ? { now } : {},
      ),
    /** Opted in, with what Partner Center requires (a solution; a reason when lost); the rest as seeded. */
    seed(mod, sb, n) {
      const { fields } = mod.parseSalesforceConfig(mod.salesforceSandboxConfig(sb.credentials.salesforce));
      const values = {
        [fields.optIn]: true,
        // Lost deals need a reason in Partner Center; the sandbox seeds none.
        [fields.closeReason]: "Customer chose another vendor",
      };
      // Owners who can be shared as team members (Partner Center needs each one's phone and email).
      const ownerIds = sb.salesforce
        .all("User")
        .filter((u) => u.IsActive !== false && u.Phone && u.Email)
        .map((u) => u.Id);
      const ids = sb.salesforce.seedOpportunities(n, { seed: 7, ownerIds, fields: () => values });
      // The solution a seller picks from the catalog: one deal-solution row per opportunity.
      const entry = sb.salesforce.insert("Cosell_Solution__c", {
        Name: BENCH_SOLUTION.name,
        Cosell_Solution_Id__c: BENCH_SOLUTION.id,
        Cosell_Kind__c: BENCH_SOLUTION.kind,
        Cosell_Active__c: true,
      });
      for (const id of ids)
        sb.salesforce.insert("Cosell_Deal_Solution__c", {
          Cosell_Opportunity__c: id,
          Cosell_Solution__c: entry,
        });
      return ids;
    },
    /**
     * A seller changes the amount: the change every sync must carry to the referral. Made as a seller
     * (not the integration user), as in the org: the change event of an integration-user write is
     * cosell's own echo, which the Change Data Capture subscription skips.
     */
    editValue(_mod, sb, crmId, amount) {
      const integration = sb.salesforce.integrationUser.id;
      const seller = sb.salesforce.all("User").find((u) => u.Id !== integration && u.IsActive !== false);
      sb.salesforce.update("Opportunity", crmId, { Amount: amount }, seller ? { as: String(seller.Id) } : {});
    },
  },
  dynamics: {
    key: "dynamics",
    name: "Dynamics 365",
    systems: ["partnerCenter", "dataverse", "graph"],
    crmServer: "dataverse",
    load: () => load("@cosell/dynamics", "createDynamicsAdapter", "dynamicsSandboxConfig"),
    /** Client secret through the sandbox's Entra ID; deal teams resolved through Graph, as in production. */
    adapter: (mod, sb, now) =>
      mod.createDynamicsAdapter(
        mod.dynamicsSandboxConfig(sb.credentials.dataverse, { graphUrl: sb.urls.graph }),
        now ? { now } : {},
      ),
    /** Opted in, with what Partner Center requires (a solution; a reason when lost); the rest as seeded. */
    seed(mod, sb, n) {
      const { publisherPrefix, optionValuePrefix } = mod.parseDynamicsConfig(
        mod.dynamicsSandboxConfig(sb.credentials.dataverse),
      );
      const c = mod.columnsFor(publisherPrefix);
      const values = {
        [c.syncFlag]: true,
        // Lost deals need a reason in Partner Center; the sandbox seeds none.
        [c.closeReason]: "Customer chose another vendor",
      };
      const ids = sb.dataverse.seedOpportunities(n, { seed: 7, extra: () => values });
      // The solution a seller relates from the catalog (kind: a choice, option prefix × 10000 + 0 for own).
      const t = mod.solutionTableNames(publisherPrefix);
      const entry = sb.dataverse.insert(t.solutionSet, {
        [t.name]: BENCH_SOLUTION.name,
        [t.partnerCenterId]: BENCH_SOLUTION.id,
        [t.kind]: optionValuePrefix * 10000,
        [t.active]: true,
      });
      for (const id of ids)
        sb.dataverse.associate("opportunity", id, t.opportunitySolution, String(entry[t.solutionId]));
      return ids;
    },
    editValue(_mod, sb, crmId, amount) {
      sb.dataverse.update("opportunities", crmId, { estimatedvalue: amount });
    },
  },
};
