import { MemoryStateStore } from "../../src/sync/store-memory.js";
import {
  createMemoryAdapter,
  ManualClock,
  MemoryCrm,
  MemoryPartnerCenter,
  runAdapterConformance,
} from "../../src/testing/index.js";

// The reference adapter must pass the suite every real adapter runs. Small pages and batches make
// the engine page and chunk even with a handful of records.
runAdapterConformance({
  name: "memory (reference)",
  async setup() {
    const clock = new ManualClock();
    const crm = new MemoryCrm(clock.now);
    const pc = new MemoryPartnerCenter({ now: clock.now, pageSize: 2 });
    return {
      adapter: createMemoryAdapter(crm, { pageSize: 2, batchSize: 2 }),
      crm,
      partnerCenter: pc,
      microsoft: pc,
      clock,
      store: new MemoryStateStore(),
    };
  },
});
