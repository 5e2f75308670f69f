import type { Sandbox, SandboxSystemName } from "@cosell/sandbox";
import type { CrmKind } from "../crm-modules.js";

/** A started sandbox, whichever systems it runs. */
export type AnySandbox = Sandbox<SandboxSystemName>;

/** What the demo needs to know about one CRM's sandbox: which systems, and how a seller opts in. */
export interface DemoCrm {
  kind: CrmKind;
  /** Systems to start besides Entra ID. */
  systems: SandboxSystemName[];
  /** Request-log server names that count as "calls to the CRM". */
  crmServers: string[];
  /** The CRM's sandbox credentials (what `xSandboxConfig()` takes). */
  credentials(sandbox: AnySandbox): unknown;
  /** Extra options for the adapter's `xSandboxConfig(credentials, options)` (e.g. the Graph URL). */
  sandboxOptions?(sandbox: AnySandbox): Record<string, unknown>;
  /** Ids of the open opportunities in the sandbox CRM (candidates for opting in). */
  openOpportunities(sandbox: AnySandbox): string[];
  /**
   * A seller ticks the co-sell sync flag on these opportunities and adds a solution (straight in the
   * CRM, around the adapter).
   */
  optIn(sandbox: AnySandbox, ids: readonly string[]): void;
  /** A seller's edit of an opportunity through the sandbox's control API, for the printed examples. */
  sellerEdit(crmId: string): { method: "PUT"; path: string; body: Record<string, unknown> };
}

/** Whether the sandbox package can start a system (Salesforce joined later than the others). */
export function sandboxHas(systems: Record<string, unknown>, name: string): boolean {
  return name in systems;
}

/** The solution a seller adds when opting a deal in (co-sell deals need at least one). */
export const DEMO_SOLUTION = {
  id: "sol-field-service",
  name: "Field Service Accelerator",
  kind: "own",
} as const;

const pickField = (keys: Iterable<string>, patterns: RegExp[]): string | undefined => {
  const all = [...keys];
  for (const p of patterns) {
    const k = all.find((x) => p.test(x));
    if (k) return k;
  }
  return undefined;
};

/** Salesforce: the opt-in checkbox is the adapter's custom field on Opportunity. */
const salesforce: DemoCrm = {
  kind: "salesforce",
  sellerEdit: (id) => ({
    method: "PUT",
    path: `/salesforce/sobjects/Opportunity/${id}`,
    body: { Amount: 42000 },
  }),
  systems: ["partnerCenter", "salesforce" as SandboxSystemName],
  crmServers: ["salesforce"],
  credentials: (sb) => (sb.credentials as Record<string, unknown>).salesforce,
  openOpportunities(sb) {
    const sf = (sb as unknown as Record<string, SalesforceLike>).salesforce!;
    return sf
      .all("Opportunity")
      .filter((o) => o.IsClosed !== true)
      .map((o) => String(o.Id));
  },
  optIn(sb, ids) {
    const sf = (sb as unknown as Record<string, SalesforceLike>).salesforce!;
    const open = sf.all("Opportunity").filter((o) => o.IsClosed !== true);
    // The adapter's default names (SalesforceFieldNamesSchema, the solution objects setup made).
    const field = pickField(Object.keys(open[0] ?? {}), [/^cosell_sync__c$/i]) ?? "Cosell_Sync__c";
    // A seller picks the demo solution from the catalog: a deal-solution row pointing at its entry.
    const entry =
      sf.all("Cosell_Solution__c").find((r) => r.Cosell_Solution_Id__c === DEMO_SOLUTION.id)?.Id ??
      sf.insert("Cosell_Solution__c", {
        Name: DEMO_SOLUTION.name,
        Cosell_Solution_Id__c: DEMO_SOLUTION.id,
        Cosell_Kind__c: DEMO_SOLUTION.kind,
        Cosell_Active__c: true,
      });
    for (const id of ids) {
      sf.insert("Cosell_Deal_Solution__c", { Cosell_Opportunity__c: id, Cosell_Solution__c: entry });
      sf.update("Opportunity", id, { [field]: true });
    }
  },
};

interface SalesforceLike {
  all(type: string): Record<string, unknown>[];
  insert(type: string, fields: Record<string, unknown>): string;
  update(type: string, id: string, fields: Record<string, unknown>): void;
}

/** Dynamics: the opt-in column is `<prefix>_syncwithpartnercenter` on opportunity. */
const dynamics: DemoCrm = {
  kind: "dynamics",
  sellerEdit: (id) => ({
    method: "PUT",
    path: `/dataverse/tables/opportunity/${id}`,
    body: { estimatedvalue: 42000 },
  }),
  systems: ["partnerCenter", "dataverse", "graph"],
  crmServers: ["dataverse"],
  credentials: (sb) => (sb.credentials as Record<string, unknown>).dataverse,
  sandboxOptions: (sb) => ({ graphUrl: (sb.urls as Record<string, string>).graph }),
  openOpportunities(sb) {
    const dv = (sb as unknown as Record<string, DataverseLike>).dataverse!;
    return dv
      .all("opportunity")
      .filter((o) => o.statecode === 0 || o.statecode === undefined)
      .map((o) => String(o.opportunityid));
  },
  optIn(sb, ids) {
    const dv = (sb as unknown as Record<string, DataverseLike>).dataverse!;
    const open = dv.all("opportunity").filter((o) => o.statecode === 0 || o.statecode === undefined);
    const field =
      pickField(Object.keys(open[0] ?? {}), [
        /^cosell_syncwithpartnercenter$/,
        /_syncwithpartnercenter$/,
        /^cosell_.*sync/,
      ]) ?? "cosell_syncwithpartnercenter";
    // A seller relates the demo solution from the catalog (the `<prefix>_solution` table setup made).
    const prefix = field.slice(0, field.indexOf("_"));
    const catalog = `${prefix}_solutions`;
    const solutionId = `${prefix}_solutionid`;
    const existing = dv.all(catalog).find((r) => r[`${prefix}_partnercenterid`] === DEMO_SOLUTION.id);
    // Kind is a choice: the publisher's option value prefix × 10000 + its offset (own 0, Microsoft 1, third-party 2).
    const publisher = dv.all("publishers").find((p) => p.customizationprefix === prefix);
    const kind =
      Number(publisher?.customizationoptionvalueprefix ?? 18342) * 10000 +
      ["own", "microsoft", "thirdParty"].indexOf(DEMO_SOLUTION.kind);
    const row =
      existing ??
      dv.insert(catalog, {
        [`${prefix}_name`]: DEMO_SOLUTION.name,
        [`${prefix}_partnercenterid`]: DEMO_SOLUTION.id,
        [`${prefix}_kind`]: kind,
        [`${prefix}_active`]: true,
      });
    for (const id of ids) {
      dv.associate("opportunity", id, `${prefix}_opportunity_solution`, String(row[solutionId]));
      dv.update("opportunity", id, { [field]: true });
    }
  },
};

interface DataverseLike {
  all(entity: string): Record<string, unknown>[];
  insert(entity: string, body: Record<string, unknown>): Record<string, unknown>;
  update(entity: string, id: string, changes: Record<string, unknown>): unknown;
  associate(entity: string, id: string, nav: string, otherId: string): void;
}

/** The CRMs the demo runs, in order. */
export const DEMO_CRMS: Record<CrmKind, DemoCrm> = { salesforce, dynamics };

/** Replaces a CRM's demo definition (tests run the demo over an in-memory CRM); returns the undo. */
export function replaceDemoCrm(kind: CrmKind, replacement: Partial<DemoCrm>): () => void {
  const original = DEMO_CRMS[kind];
  DEMO_CRMS[kind] = { ...original, ...replacement, kind };
  return () => {
    DEMO_CRMS[kind] = original;
  };
}
