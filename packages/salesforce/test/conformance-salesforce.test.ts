import { MemoryStateStore } from "@cosell/core";
import { runAdapterConformance } from "@cosell/core/testing";
import { type Sandbox, startSandbox } from "@cosell/sandbox";
import { partnerCenterSide } from "@cosell/sandbox/conformance";
import { failingCreates, salesforceDriver, sandboxAdapter, sandboxConfig } from "./harness.js";

const sandboxes = new Map<object, Sandbox<"partnerCenter" | "salesforce">>();

// A fresh sandbox per test (fresh org and Partner Center); the org is set up before the test runs.
// The suite's campaign id ("7015g000000Camp1") is not a Salesforce Campaign id, so the campaign ID is
// mapped to a custom text field here; CampaignId itself is covered by the 500-opportunity test.
runAdapterConformance({
  name: "salesforce (sandbox, strict Partner Center queries)",
  async setup() {
    const sb = await startSandbox({ systems: ["partnerCenter", "salesforce"] });
    const extra = { fields: { campaign: "Cosell_Campaign_Id__c" } };
    const adapter = sandboxAdapter(sb, extra);
    await adapter.setup();
    const fx = {
      adapter: failingCreates(adapter, sb.salesforce),
      crm: salesforceDriver(sb, sandboxConfig(sb, extra)),
      // Strict mode: the sync must also work where Partner Center refuses undocumented filters.
      ...partnerCenterSide(sb, { strictQueries: true }),
      store: new MemoryStateStore(),
    };
    sandboxes.set(fx, sb);
    return fx;
  },
  async teardown(fx) {
    await sandboxes.get(fx)?.stop();
    sandboxes.delete(fx);
  },
});
