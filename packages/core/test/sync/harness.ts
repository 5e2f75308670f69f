import type { EngineDeps, StateStore, SyncRules } from "../../src/index.js";
import { MemoryStateStore } from "../../src/sync/store-memory.js";
import {
  createMemoryAdapter,
  ManualClock,
  type MemoryAdapter,
  type MemoryAdapterOptions,
  MemoryCrm,
  MemoryPartnerCenter,
} from "../../src/testing/index.js";

/** The in-memory world an engine test drives: a CRM, Partner Center, a clock and a store. */
export interface World {
  clock: ManualClock;
  crm: MemoryCrm;
  adapter: MemoryAdapter;
  pc: MemoryPartnerCenter;
  store: StateStore;
  deps(extra?: Partial<EngineDeps>): EngineDeps;
}

export function world(
  options: {
    adapter?: MemoryAdapterOptions;
    pcPageSize?: number;
    rules?: Partial<SyncRules>;
    store?: StateStore;
  } = {},
): World {
  const clock = new ManualClock();
  const crm = new MemoryCrm(clock.now);
  const adapter = createMemoryAdapter(crm, options.adapter);
  const pc = new MemoryPartnerCenter({ now: clock.now, pageSize: options.pcPageSize });
  const w: World = {
    clock,
    crm,
    adapter,
    pc,
    store: options.store ?? new MemoryStateStore(),
    deps: (extra = {}) => ({
      adapter: w.adapter,
      partnerCenter: w.pc,
      store: w.store,
      now: clock.now,
      ...(options.rules ? { rules: options.rules } : {}),
      ...extra,
    }),
  };
  return w;
}

/** Everything a store holds that a test can read back, to prove a dry run left it alone. */
export function storeSnapshot(store: StateStore): unknown {
  return structuredClone({
    links: store.listLinks(),
    cursors: { crm: store.getCursor("crm"), partnerCenter: store.getCursor("partnerCenter") },
    outbox: store.listOutbox(),
    parked: store.listParked(),
    errors: store.listRecordErrors(),
    audit: store.listAudit(10_000),
    cycles: store.listCycles(10_000),
    ledger: store
      .listLinks()
      .flatMap((l) =>
        (["notes", "value", "stage", "closeDate"] as const).flatMap((f) => [
          l.crmId ? store.listLedger("crm", l.crmId, f) : [],
          l.referralId ? store.listLedger("partnerCenter", l.referralId, f) : [],
        ]),
      ),
  });
}
