import type { CoSellDeal } from "../domain/deal.js";
import type { CrmAdapter } from "../sync/adapter.js";
import { fieldMembers } from "../sync/compare.js";
import {
  type AdapterDescription,
  type CallStats,
  type ChangePage,
  type CrmRecord,
  type CrmWrite,
  type CrmWriteResult,
  type SetupReport,
  SYNC_FIELDS,
  type SyncField,
  type VerifyReport,
} from "../sync/types.js";
import type { MemoryCrm, MemoryOpportunity } from "./memory-crm.js";

/** Options of {@link createMemoryAdapter}. */
export interface MemoryAdapterOptions {
  /** Records per change page (default 50). Small values exercise the engine's paging. */
  pageSize?: number;
  /** Largest write batch, reported as `capabilities.batchSize` and used to chunk `apply` (default 200). */
  batchSize?: number;
}

/** The in-memory adapter: a {@link CrmAdapter} with a call counter you can inspect. */
export interface MemoryAdapter extends CrmAdapter {
  /** Whether `setup()` ran (what `verifySetup` checks). */
  readonly isSetUp: boolean;
}

const STATUS_FIELDS = [
  "Sync status",
  "Last sync time",
  "Last sync error",
  "Referral id",
  "Referral link",
  "Co-sell stage",
];

/**
 * A {@link CrmAdapter} over a {@link MemoryCrm}: the reference implementation of the adapter contract.
 *
 * - `changes(cursor)`: the cursor is the CRM's change sequence. A call takes a snapshot of the records
 *   changed after it (as a query locator would), so writes made while the engine works through the
 *   pages come back in the next cycle, like in a real CRM. Sequence numbers never commit late, so
 *   `overlapMs` is not needed.
 * - `apply`: creates are upserts on the referral id; updates write only `fields`; status goes into the
 *   record's status fields, never into the name. Failures injected with `crm.failNextWrite` come back
 *   per record.
 * - Every canonical field flows both ways (`fieldDirections`), so the engine's own rules decide.
 */
export function createMemoryAdapter(crm: MemoryCrm, options: MemoryAdapterOptions = {}): MemoryAdapter {
  const pageSize = Math.max(1, options.pageSize ?? 50);
  const batchSize = Math.max(1, options.batchSize ?? 200);
  const calls: CallStats = { total: 0, reads: 0, writes: 0 };
  const count = (kind: "reads" | "writes") => {
    calls.total++;
    calls[kind]++;
  };
  let setUp = false;

  const describe = async (): Promise<AdapterDescription> => ({
    kind: "memory",
    instance: "memory://crm",
    capabilities: {
      batchSize,
      changeFeed: "poll",
      reportsDeletes: true,
      // The memory CRM holds every canonical field; Partner Center's own ones are narrowed to "toCrm"
      // by the engine (PARTNER_CENTER_OWNED_FIELDS), as for any adapter.
      fieldDirections: Object.fromEntries(SYNC_FIELDS.map((f) => [f, "both"])) as Record<SyncField, "both">,
    },
  });

  async function* changes(cursor: string | undefined): AsyncIterable<ChangePage> {
    const after = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isInteger(after) || after < 0)
      throw new Error(`Memory adapter: the cursor "${cursor}" is not a change sequence number.`);
    count("reads");
    const snapshot = crm.changedAfter(after).filter(inFeed);
    for (let i = 0; i < snapshot.length; i += pageSize) {
      if (i > 0) count("reads");
      const page = snapshot.slice(i, i + pageSize);
      yield { records: page.map(toRecord), cursor: String(page.at(-1)!.seq) };
    }
  }

  async function read(crmIds: readonly string[]): Promise<CrmRecord[]> {
    const out: CrmRecord[] = [];
    for (let i = 0; i < crmIds.length; i += batchSize) {
      count("reads");
      for (const id of crmIds.slice(i, i + batchSize)) {
        const r = crm.record(id);
        if (r && !r.deleted) out.push(toRecord(r));
      }
    }
    return out;
  }

  async function apply(writes: readonly CrmWrite[]): Promise<CrmWriteResult[]> {
    const results: CrmWriteResult[] = [];
    for (let i = 0; i < writes.length; i += batchSize) {
      count("writes");
      for (const w of writes.slice(i, i + batchSize)) results.push(applyOne(crm, w));
    }
    return results;
  }

  return {
    describe,
    changes,
    read,
    apply,
    async setup(): Promise<SetupReport> {
      count("writes");
      const report = setUp
        ? { created: [], unchanged: [...STATUS_FIELDS, "Co-sell sync flag"] }
        : { created: [...STATUS_FIELDS, "Co-sell sync flag"], unchanged: [] };
      setUp = true;
      return report;
    },
    async verifySetup(): Promise<VerifyReport> {
      count("reads");
      return {
        ok: setUp,
        checks: [
          {
            name: "status fields",
            ok: setUp,
            detail: setUp
              ? `${STATUS_FIELDS.length} status fields and the sync flag exist.`
              : "The status fields and the sync flag do not exist yet.",
            ...(setUp ? {} : { fix: "Run `cosell setup` to create them." }),
          },
          { name: "change feed", ok: true, detail: "The change sequence is readable." },
        ],
      };
    },
    stats: () => ({ ...calls }),
    get isSetUp() {
      return setUp;
    },
  };
}

/** What the change feed reports: opted-in records, records carrying a referral, and their deletes. */
function inFeed(r: MemoryOpportunity): boolean {
  return r.optedIn || r.referralId !== undefined;
}

function toRecord(r: MemoryOpportunity): CrmRecord {
  return {
    crmId: r.crmId,
    optedIn: r.optedIn,
    ...(r.referralId !== undefined ? { referralId: r.referralId } : {}),
    deal: { ...r.deal, crmId: r.crmId },
    modifiedAt: r.modifiedAt,
    version: String(r.version),
    ...(r.deleted ? { deleted: true } : {}),
  };
}

/** Writes `fields` of `source` into `target` (the stage carries its close reason). */
function copyFields(target: CoSellDeal, source: CoSellDeal, fields: readonly SyncField[]): void {
  for (const f of fields) {
    if (f === "crmId") continue; // the record's own id is not a writable value
    if (f === "stage") {
      target.stage = source.stage;
      target.closeReason = source.closeReason;
    } else Object.assign(target, structuredClone(fieldMembers(source, f)));
  }
}

function applyOne(crm: MemoryCrm, w: CrmWrite): CrmWriteResult {
  const failure = crm.takeFailure(w.op === "create" ? "create" : w.crmId);
  if (failure)
    return {
      ok: false,
      ...(w.op === "create" ? {} : { crmId: w.crmId }),
      error: { code: failure.code, message: failure.message, retryable: false },
    };
  if (w.op === "create") {
    const existing = crm.findByReferralId(w.referralId);
    if (!existing) return { ok: true, crmId: crm.insertFromSync(w), created: true };
    crm.patchFromSync(
      existing.crmId,
      (r) => {
        copyFields(r.deal, w.deal, SYNC_FIELDS);
        r.status = structuredClone(w.status);
      },
      true,
    );
    return { ok: true, crmId: existing.crmId, created: false };
  }
  const ok = crm.patchFromSync(
    w.crmId,
    (r) => {
      if (w.op === "update") copyFields(r.deal, w.deal, w.fields);
      if (w.status) {
        r.status = structuredClone(w.status);
        if (w.status.referralId) r.referralId = w.status.referralId;
      }
    },
    w.op === "update",
  );
  return ok
    ? { ok: true, crmId: w.crmId }
    : {
        ok: false,
        crmId: w.crmId,
        error: {
          code: "NOT_FOUND",
          message: `Opportunity ${w.crmId} does not exist (deleted?).`,
          retryable: false,
        },
      };
}
