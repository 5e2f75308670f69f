import { runAdapterConformance } from "@cosell/core/testing";
import { afterAll } from "vitest";
import { disposePristine, dynamicsFixture } from "./helpers.js";

// A fresh sandbox per test: the suite needs an empty Partner Center and an empty CRM each time, and
// the Partner Center emulator has no reset. Each one starts from a snapshot of a sandbox on which the
// adapter's own setup() ran, so starting takes milliseconds.
runAdapterConformance({
  name: "dynamics (Dataverse sandbox, change tracking, strict Partner Center queries)",
  // Strict mode: the sync must also work where Partner Center refuses undocumented filters.
  setup: () => dynamicsFixture({}, { strictQueries: true }),
  teardown: (fx) => (fx as Awaited<ReturnType<typeof dynamicsFixture>>).dispose(),
});

afterAll(disposePristine);
