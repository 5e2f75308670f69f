import { MemoryCrm, type OpportunityView, sampleDeal } from "@cosell/core/testing";
import { columnsFor, createDynamicsAdapter, dynamicsSandboxConfig } from "@cosell/dynamics";
import { createSalesforceAdapter, salesforceSandboxConfig } from "@cosell/salesforce";
import { type Sandbox, SEED_IDS } from "@cosell/sandbox";
import { SYNC_STATES } from "../../packages/dynamics/src/columns.js";
import { relateSolutions } from "../../packages/dynamics/test/solution-driver.js";
import { salesforceDriver } from "../../packages/salesforce/test/harness.js";
import { startChaosCrm } from "./crm-server.js";
import type { WorkerSettings } from "./worker-process.js";

/**
 * The CRM side of the chaos run, as the test drives it: sellers create and edit opportunities, the
 * verdict reads them back in the shape the oracle compares. Three backends: the in-memory reference
 * CRM served over HTTP (crm-server.ts), the sandbox's Dataverse with the real `@cosell/dynamics`
 * adapter in the worker, and the sandbox's Salesforce org with the real `@cosell/salesforce` adapter.
 */
export interface ChaosCrm {
  /** What the worker needs to reach this CRM (worker.mjs also knows `salesforce`). */
  worker: WorkerSettings["crm"] | { kind: "salesforce"; config: Record<string, unknown> };
  /** A seller creates an opportunity (opted in or not); returns its id. */
  create(name: string, amount: number, optedIn: boolean): string;
  rename(id: string, name: string): void;
  setValue(id: string, amount: number): void;
  /** Every opportunity as the oracle compares it. */
  views(): OpportunityView[];
  /** Faults injected into this CRM's traffic, by kind (when it has its own injector). */
  faultsInjected(): Record<string, number> | undefined;
  stopFaults(): void;
  close(): Promise<void>;
}

/** Fault rates of the run (per request). */
export type Rates = { throttle: number; retryAfterSeconds: number; serverError: number; reset: number };

/** The in-memory reference CRM over loopback HTTP, with its own seeded fault injector. */
export async function memoryChaosCrm(seed: number, rates: Rates): Promise<ChaosCrm> {
  const crm = new MemoryCrm();
  const server = await startChaosCrm(crm, { seed, rates });
  return {
    worker: { kind: "http", url: server.url },
    create: (name, amount, optedIn) =>
      crm.createOpportunity(sampleDeal({ name, value: { amount, currency: "USD" } }), { optedIn }),
    rename: (id, name) => crm.update(id, { name }),
    setValue: (id, amount) => crm.update(id, { value: { amount, currency: "USD" } }),
    views: () => crm.all(),
    faultsInjected: () => ({ ...server.faults.injected }),
    stopFaults: () => server.faults.setRates({}, "salesforce"),
    close: () => server.close(),
  };
}

type DataverseSandbox = Sandbox<"partnerCenter" | "dataverse" | "graph">;
const c = columnsFor("cosell");
/** The option-value prefix of the sandbox's cosell choices (`installCosellSetup`). */
const OPTION_PREFIX = 18342;

/**
 * The sandbox's Dataverse, set up by the adapter, driven as sellers would through its control API. Faults
 * come from the sandbox's shared injector (set on the `dataverse` server by the caller).
 */
export async function dataverseChaosCrm(sb: DataverseSandbox): Promise<ChaosCrm> {
  const dv = sb.dataverse;
  const config = dynamicsSandboxConfig(sb.credentials.dataverse, { graphUrl: sb.urls.graph });
  // What `cosell setup` does: the adapter creates its columns and key; Dataverse then builds the key.
  const admin = createDynamicsAdapter(config);
  await admin.setup();
  await admin.close();
  dv.activateKeys();
  const accounts = dv.all("accounts");
  const sellers = dv
    .all("systemusers")
    .filter((u) => u.internalemailaddress && !u.applicationid && u.address1_telephone1);
  let n = 0;
  return {
    worker: { kind: "dynamics", config },
    create(name, amount, optedIn) {
      const account = accounts[n % accounts.length]!;
      const owner = sellers[n++ % sellers.length]!;
      const row = dv.insert(
        "opportunities",
        {
          name,
          estimatedvalue: amount,
          "transactioncurrencyid@odata.bind": `/transactioncurrencies(${SEED_IDS.usd})`,
          estimatedclosedate: "2026-12-31",
          description: `Notes of ${name}`,
          "parentaccountid@odata.bind": `/accounts(${account.accountid})`,
          "customerid_account@odata.bind": `/accounts(${account.accountid})`,
          "parentcontactid@odata.bind": `/contacts(${account._primarycontactid_value})`,
          "ownerid@odata.bind": `/systemusers(${owner.systemuserid})`,
          [c.syncFlag]: optedIn,
          [c.consent]: true,
        },
        { asUserId: String(owner.systemuserid) },
      );
      relateSolutions(dv, String(row.opportunityid), [
        { id: "sol-1", name: "Contoso Field Service", kind: "own" },
      ]);
      return String(row.opportunityid);
    },
    rename: (id, name) => {
      dv.update("opportunities", id, { name });
    },
    setValue: (id, amount) => {
      dv.update("opportunities", id, { estimatedvalue: amount });
    },
    views: () =>
      dv.all("opportunities").map((row) => {
        const state =
          typeof row[c.syncStatus] === "number"
            ? SYNC_STATES[(row[c.syncStatus] as number) - OPTION_PREFIX * 10000]
            : undefined;
        const referralId =
          typeof row[c.referralId] === "string" && row[c.referralId] ? String(row[c.referralId]) : undefined;
        return {
          crmId: String(row.opportunityid),
          optedIn: row[c.syncFlag] === true,
          ...(referralId ? { referralId } : {}),
          ...(state
            ? { status: { state, lastError: (row[c.lastSyncError] as string | null) ?? null, referralId } }
            : {}),
          deal: {
            name: String(row.name ?? ""),
            value:
              typeof row.estimatedvalue === "number"
                ? { amount: row.estimatedvalue, currency: "USD" }
                : undefined,
            notes: typeof row.description === "string" && row.description ? row.description : undefined,
          },
        } as OpportunityView;
      }),
    faultsInjected: () => undefined,
    stopFaults: () => sb.faults.setRates({}, "dataverse"),
    close: async () => undefined,
  };
}

type SalesforceSandbox = Sandbox<"partnerCenter" | "salesforce">;

/**
 * The sandbox's Salesforce org, set up by the adapter (its custom fields), driven as sellers would
 * through its control API by the Salesforce package's own test driver, and read back through the
 * adapter's mapping. Faults come from the sandbox's shared injector (set on the `salesforce` server
 * by the caller).
 */
export async function salesforceChaosCrm(sb: SalesforceSandbox): Promise<ChaosCrm> {
  const config = salesforceSandboxConfig(sb.credentials.salesforce);
  // What `cosell setup` does: the adapter creates its custom fields on Opportunity.
  const admin = createSalesforceAdapter(config, { now: () => sb.clock.now() });
  await admin.setup();
  await admin.close();
  const seller = salesforceDriver(sb, config);
  return {
    worker: { kind: "salesforce", config: { ...config } },
    create: (name, amount, optedIn) =>
      seller.createOpportunity(sampleDeal({ name, value: { amount, currency: "USD" } }), {
        optedIn,
      }) as string,
    rename: (id, name) => {
      seller.update(id, { name });
    },
    setValue: (id, amount) => {
      seller.update(id, { value: { amount, currency: "USD" } });
    },
    views: () => seller.all() as OpportunityView[],
    faultsInjected: () => undefined,
    stopFaults: () => sb.faults.setRates({}, "salesforce"),
    close: async () => undefined,
  };
}
