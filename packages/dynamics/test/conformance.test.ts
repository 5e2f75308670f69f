import { runAdapterConformance } from "@cosell/core/testing";
import { type DynamicsSandbox, dynamicsFixture } from "./helpers.js";

// A fresh sandbox per test: the suite needs an empty Partner Center and an empty CRM each time, and
// the Partner Center emulator has no reset. Each fixture runs the adapter's own setup() on a bare
// environment first, so every test also proves setup.
runAdapterConformance({
  name: "dynamics (Dataverse sandbox, change tracking)",
  setup: () => dynamicsFixture(),
  teardown: (fx) => (fx as unknown as { sb: DynamicsSandbox }).sb.stop(),
});
