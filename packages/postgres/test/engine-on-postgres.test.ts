import {
  type ConformanceFixture,
  createMemoryAdapter,
  ManualClock,
  MemoryCrm,
  MemoryPartnerCenter,
  runAdapterConformance,
} from "@cosell/core/testing";
import { PostgresStateStore } from "../src/index.js";
import { databaseUrl, dropSchema, uniqueSchema } from "./database.js";

// The whole sync-engine contract (creates, inbound referrals, conflicts, crash and resume…) run
// with the reference CRM and a PostgreSQL state store: the engine needs no change to run on it.
// A restart after a simulated crash reopens the store on the same schema, as a new worker would.
const opened = new Map<ConformanceFixture, { schema: string; stores: PostgresStateStore[] }>();

runAdapterConformance({
  name: "memory CRM on the PostgreSQL state store",
  setup: async () => {
    const schema = uniqueSchema("engine");
    const stores: PostgresStateStore[] = [];
    const open = () => {
      const s = PostgresStateStore.open({ url: databaseUrl(), schema });
      stores.push(s);
      return s;
    };
    const clock = new ManualClock();
    const crm = new MemoryCrm(clock.now);
    const pc = new MemoryPartnerCenter({ now: clock.now, pageSize: 2 });
    const fx: ConformanceFixture = {
      adapter: createMemoryAdapter(crm, { pageSize: 2, batchSize: 2 }),
      crm,
      partnerCenter: pc,
      microsoft: pc,
      clock,
      store: open(),
      restart: () => {
        for (const s of stores) s.close();
        return open();
      },
    };
    opened.set(fx, { schema, stores });
    return fx;
  },
  teardown: async (fx) => {
    const o = opened.get(fx);
    if (!o) return;
    for (const s of o.stores) s.close();
    await dropSchema(o.schema);
    opened.delete(fx);
  },
});
