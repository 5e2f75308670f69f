import { describe, it } from "vitest";
import { CRM_CASES } from "./crm-records.cases.js";
import { runCrmCase } from "./crm-records.run.js";

/** Malformed CRM opportunities: each is marked with its named code and the run goes on. */
describe("bad input: CRM records", () => {
  it.each(CRM_CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    await runCrmCase(c);
  });
});
