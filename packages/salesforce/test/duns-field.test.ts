import type { CoSellError } from "@cosell/core";
import type { Sandbox } from "@cosell/sandbox";
import { describe, expect, it } from "vitest";
import { bareOrgPerTest, sandboxAdapter } from "./harness.js";

/**
 * `crm.fields.accountDuns` names an Account field of the admin's. The integration user cannot see a
 * custom field until it is granted, so setup grants it in Cosell_Sync; a configured field the org
 * lacks stops setup before anything is saved, and doctor names it with the fix.
 */

let sb: Sandbox<"salesforce">;
bareOrgPerTest((started) => {
  sb = started;
});

const DUNS = { fields: { accountDuns: "DUNS__c" } };
const makeField = () =>
  expect(
    sb.salesforce.upsertMetadata("CustomField", [
      { fullName: "Account.DUNS__c", label: "DUNS", type: "Text", length: 9 },
    ])[0],
  ).toMatchObject({ success: true });
const dunsCheck = async (adapter = sandboxAdapter(sb, DUNS)) =>
  (await adapter.verifySetup()).checks.find((c) => c.name === "account DUNS field");

describe("the configured Account DUNS field", () => {
  it("missing from the org: setup stops before saving anything, naming the key and the fix; doctor says the same", async () => {
    const adapter = sandboxAdapter(sb, DUNS);
    const failure = (await adapter.setup().then(
      () => undefined,
      (e: unknown) => e,
    )) as CoSellError | undefined;
    expect(failure?.code).toBe("SALESFORCE_DUNS_FIELD_NOT_FOUND");
    expect(failure?.message).toContain("crm.fields.accountDuns names Account.DUNS__c");
    expect(failure?.message).toContain("cosell setup");
    expect(sb.salesforce.exportState().customFields.Opportunity ?? []).toEqual([]);

    const check = await dunsCheck(adapter);
    expect(check).toMatchObject({ ok: false, detail: "Account.DUNS__c does not exist." });
    expect(check?.fix).toContain("remove crm.fields.accountDuns");
  });

  it("present: setup grants it to the integration user, so the customer's DUNS number is read; a second run changes nothing", async () => {
    makeField();
    const adapter = sandboxAdapter(sb, DUNS);
    // Before setup, the field is the admin's and invisible to the integration user.
    const hidden = await dunsCheck(adapter);
    expect(hidden).toMatchObject({ ok: false });
    expect(hidden?.detail).toContain("not visible to the integration user");

    const report = await adapter.setup();
    expect(report.created).toContain("Permission set Cosell_Sync (34 field grants)");
    expect(await dunsCheck()).toMatchObject({ ok: true });
    expect((await sandboxAdapter(sb, DUNS).setup()).created).toEqual([]);

    const account = sb.salesforce.insert("Account", { Name: "Contoso", DUNS__c: "123456789" });
    const crmId = sb.salesforce.insert("Opportunity", {
      Name: "With DUNS",
      StageName: "Prospecting",
      CloseDate: "2027-01-31",
      AccountId: account,
      Cosell_Sync__c: true,
    });
    const [record] = await sandboxAdapter(sb, DUNS).read([crmId]);
    expect(record!.deal.customer.duns).toBe("123456789");
  });

  it("an org set up before the key was configured gets the grant on the next run, keeping every earlier grant", async () => {
    await sandboxAdapter(sb).setup();
    makeField();
    const adapter = sandboxAdapter(sb, DUNS);
    expect(await dunsCheck(adapter)).toMatchObject({ ok: false });
    const report = await adapter.setup();
    expect(report.created).toEqual(["Permission set Cosell_Sync: read/edit granted on 1 more fields"]);
    expect(await dunsCheck()).toMatchObject({ ok: true });
    expect((await sandboxAdapter(sb, DUNS).verifySetup()).ok).toBe(true);
  });

  it("not configured: no check, no grant", async () => {
    const adapter = sandboxAdapter(sb);
    await adapter.setup();
    expect(await dunsCheck(adapter)).toBeUndefined();
  });
});
