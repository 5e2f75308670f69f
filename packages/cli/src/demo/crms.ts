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
  /**
   * A seller ticks the co-sell sync flag on `count` open opportunities (straight in the CRM, around
   * the adapter). Returns their ids.
   */
  optIn(sandbox: AnySandbox, count: number): string[];
}

/** Whether the sandbox package can start a system (Salesforce joined later than the others). */
export function sandboxHas(systems: Record<string, unknown>, name: string): boolean {
  return name in systems;
}

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
  systems: ["partnerCenter", "salesforce" as SandboxSystemName],
  crmServers: ["salesforce"],
  credentials: (sb) => (sb.credentials as Record<string, unknown>).salesforce,
  optIn(sb, count) {
    const sf = (sb as unknown as Record<string, SalesforceLike>).salesforce!;
    const open = sf.all("Opportunity").filter((o) => o.IsClosed !== true);
    const field =
      pickField(Object.keys(open[0] ?? {}), [
        /^cosell_?sync(_?with_?partner_?center)?__c$/i,
        /sync.*__c$/i,
      ]) ?? "CoSell_Sync__c";
    const ids = open.slice(0, count).map((o) => String(o.Id));
    for (const id of ids) sf.update("Opportunity", id, { [field]: true });
    return ids;
  },
};

interface SalesforceLike {
  all(type: string): Record<string, unknown>[];
  update(type: string, id: string, fields: Record<string, unknown>): void;
}

/** Dynamics: the opt-in column is `<prefix>_syncwithpartnercenter` on opportunity. */
const dynamics: DemoCrm = {
  kind: "dynamics",
  systems: ["partnerCenter", "dataverse", "graph"],
  crmServers: ["dataverse"],
  credentials: (sb) => (sb.credentials as Record<string, unknown>).dataverse,
  optIn(sb, count) {
    const dv = (sb as unknown as Record<string, DataverseLike>).dataverse!;
    const open = dv.all("opportunity").filter((o) => o.statecode === 0 || o.statecode === undefined);
    const field =
      pickField(Object.keys(open[0] ?? {}), [
        /^cosell_syncwithpartnercenter$/,
        /_syncwithpartnercenter$/,
        /^cosell_.*sync/,
      ]) ?? "cosell_syncwithpartnercenter";
    const ids = open.slice(0, count).map((o) => String(o.opportunityid));
    for (const id of ids) dv.update("opportunity", id, { [field]: true });
    return ids;
  },
};

interface DataverseLike {
  all(entity: string): Record<string, unknown>[];
  update(entity: string, id: string, changes: Record<string, unknown>): unknown;
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
