import { createMemoryAdapter, MemoryCrm, sampleDeal } from "@cosell/core/testing";
import { z } from "zod";
import { replaceCrmModule } from "../../src/crm-modules.js";
import { type AnySandbox, replaceDemoCrm } from "../../src/demo/crms.js";

/**
 * Plugs the in-memory CRM from `@cosell/core/testing` in as the "dynamics" adapter, for the CLI
 * tests, and as the demo's Dynamics definition (Partner Center runs on the real sandbox).
 * Returns the CRM the command tests act on and an undo.
 */
export function useFakeDynamics(now: () => Date = () => new Date()): {
  crm: MemoryCrm;
  /** Sandboxes the demo started, so a test can read their secrets. */
  sandboxes: AnySandbox[];
  restore(): void;
} {
  const crm = new MemoryCrm(now);
  // One adapter per CRM, as one org keeps its setup between commands.
  const adapters = new WeakMap<MemoryCrm, ReturnType<typeof createMemoryAdapter>>();
  const adapterFor = (m: MemoryCrm) => {
    const a = adapters.get(m) ?? createMemoryAdapter(m);
    adapters.set(m, a);
    return a;
  };
  const perSandbox = new WeakMap<object, MemoryCrm>();
  const sandboxes: AnySandbox[] = [];
  const undoModule = replaceCrmModule("dynamics", {
    title: "Dynamics 365",
    available: true,
    schema: z.looseObject({ kind: z.literal("dynamics"), environmentUrl: z.string() }),
    createAdapter: (config) => {
      const c = config as { memory?: MemoryCrm };
      return adapterFor(c.memory ?? crm);
    },
    sandboxConfig: (credentials) => ({ kind: "dynamics", memory: credentials as MemoryCrm }),
  });
  const undoDemo = replaceDemoCrm("dynamics", {
    systems: ["partnerCenter"],
    crmServers: [],
    credentials: (sb) => {
      sandboxes.push(sb);
      const m = new MemoryCrm(() => sb.clock.now());
      perSandbox.set(sb, m);
      return m;
    },
    openOpportunities: (sb) => {
      const m = perSandbox.get(sb)!;
      for (let i = 1; i <= 3; i++) m.createOpportunity(sampleDeal({ name: `Fabrikam expansion ${i}` }));
      return m.all().map((o) => o.crmId);
    },
    optIn: (sb, ids) => {
      const m = perSandbox.get(sb)!;
      for (const id of ids) m.setOptIn(id, true);
    },
  });
  return {
    crm,
    sandboxes,
    restore: () => {
      undoModule();
      undoDemo();
    },
  };
}
