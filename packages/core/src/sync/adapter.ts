import type { SolutionCatalog } from "../domain/solution-catalog.js";
import type {
  AdapterDescription,
  CallStats,
  ChangePage,
  CrmRecord,
  CrmWrite,
  CrmWriteResult,
  SetupReport,
  SetupValidation,
  VerifyReport,
} from "./types.js";

/**
 * The contract every CRM connector implements. The engine in `@cosell/core` knows nothing of
 * Salesforce or Dynamics: it reads changes and writes canonical deals through this interface only.
 * `runAdapterConformance` (from `@cosell/core/testing`) is the executable specification: every
 * adapter's tests call it against that adapter's sandbox.
 */
export interface CrmAdapter {
  /** What the adapter talks to and what it can do: batch size, change feed kind, delete reporting. */
  describe(): Promise<AdapterDescription>;

  /**
   * Opportunities changed since `cursor` (all opportunities when `cursor` is undefined), as pages.
   * Must include records that are opted in, records that carry a referral id, and deleted records that
   * were linked (with `deleted: true`) when the CRM can report deletes; a deleted record may carry its
   * id alone (a blank deal): the engine takes its deal from the link. Re-reads `overlapMs` before the
   * cursor so rows committed late are not missed; the engine de-duplicates. The engine commits a page's
   * `cursor` only after that page's writes are applied.
   */
  changes(cursor: string | undefined, options: { overlapMs: number }): AsyncIterable<ChangePage>;

  /**
   * Current state of these records (missing ids are omitted). An id that {@link checkCrmId} refuses
   * is never sent to the CRM: it cannot name a record, so it is omitted too.
   */
  read(crmIds: readonly string[]): Promise<CrmRecord[]>;

  /**
   * Why `id` cannot be the id of one of this CRM's opportunities (a Salesforce id of another object,
   * free text where a Dataverse GUID belongs), or `undefined` when it can. The engine asks before it
   * reads an id that came from outside the CRM (a referral's `externalReferenceId`, which anyone with
   * Partner Center access can set) and marks the referral instead of reading. Optional: an adapter
   * without it accepts every id.
   */
  checkCrmId?(id: string): string | undefined;

  /**
   * Applies writes and returns exactly one result per write, in order. One failing record must not fail
   * the others: per-record errors come back as `{ ok: false }`. Creates are upserts on the referral id
   * (so a retried create never duplicates). Writes are sent in batches of at most
   * `capabilities.batchSize`; status fields (sync status, last sync time, last error, referral id and
   * link, co-sell stage) go into the adapter's own custom fields — never into the opportunity name.
   */
  apply(writes: readonly CrmWrite[]): Promise<CrmWriteResult[]>;

  /** Creates the custom fields, keys and permissions the adapter needs. Idempotent. */
  setup(): Promise<SetupReport>;

  /** Checks setup, permissions and change feed without changing anything; each failure says how to fix it. */
  verifySetup(): Promise<VerifyReport>;

  /**
   * Optional: has the CRM validate everything `setup` would put there, saving nothing (Salesforce: a
   * check-only Metadata API deploy). `onProgress` gets a line per status the CRM reports.
   */
  validateSetup?(onProgress?: (line: string) => void): Promise<SetupValidation>;

  /** API calls made by this adapter instance so far. */
  stats(): CallStats;

  /**
   * The CRM's co-sell solution catalog (records sellers pick from), when the adapter keeps one.
   * `runSolutionCatalogConformance` (from `@cosell/core/testing`) specifies it.
   */
  readonly solutionCatalog?: SolutionCatalog;
}
