import { MemoryStateStore } from "../../src/sync/store-memory.js";
import {
  type ConformanceFixture,
  createMemoryAdapter,
  ManualClock,
  type MemoryAdapterOptions,
  MemoryCrm,
  MemoryPartnerCenter,
  runAdapterConformance,
} from "../../src/testing/index.js";

function memoryFixture(
  adapter: MemoryAdapterOptions,
  pcPageSize?: number,
): () => Promise<ConformanceFixture> {
  return async () => {
    const clock = new ManualClock();
    const crm = new MemoryCrm(clock.now);
    const pc = new MemoryPartnerCenter({ now: clock.now, pageSize: pcPageSize });
    return {
      adapter: createMemoryAdapter(crm, adapter),
      crm,
      partnerCenter: pc,
      microsoft: pc,
      clock,
      store: new MemoryStateStore(),
    };
  };
}

// The reference adapter must pass the suite every real adapter runs: once with pages and batches of
// two (so the engine pages and chunks even with a handful of records), once with the defaults.
runAdapterConformance({
  name: "memory (pages and batches of 2)",
  setup: memoryFixture({ pageSize: 2, batchSize: 2 }, 2),
});
runAdapterConformance({ name: "memory (default sizes)", setup: memoryFixture({}) });
