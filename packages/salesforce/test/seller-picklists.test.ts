import type { Sandbox } from "@cosell/sandbox";
import { describe, expect, it } from "vitest";
import { customFieldSpecs } from "../src/custom-fields.js";
import { parseSalesforceConfig } from "../src/index.js";
import { GLOBAL_VALUE_SETS } from "../src/picklist-values.js";
import { declineRuleSpec } from "../src/validation-rule.js";
import { bareOrgPerTest, sandboxAdapter, sandboxConfig } from "./harness.js";

/**
 * Co-sell stage, sync status, direction and registration status are restricted picklists bound to
 * cosell's global value sets: created so on a bare org, and changed in place on an org an earlier
 * setup gave Text fields, keeping what cosell stored.
 */

let sb: Sandbox<"salesforce">;
// Each test starts from the bare org (no co-sell fields), with an empty request log.
bareOrgPerTest((started) => {
  sb = started;
});

const PICKLISTS = {
  Cosell_Stage__c: GLOBAL_VALUE_SETS.coSellStage,
  Cosell_Sync_Status__c: GLOBAL_VALUE_SETS.syncStatus,
  Cosell_Direction__c: GLOBAL_VALUE_SETS.direction,
  Cosell_Registration_Status__c: GLOBAL_VALUE_SETS.registrationStatus,
} as const;
type Picklist = keyof typeof PICKLISTS;
const NAMES = Object.keys(PICKLISTS) as Picklist[];

const fieldsOf = () => parseSalesforceConfig(sandboxConfig(sb)).fields;

/** The org's definition of an Opportunity custom field. */
const fieldDef = (name: string) =>
  sb.salesforce.exportState().customFields.Opportunity?.find((f) => f.name === name);

/** The org as the field-by-field setup before picklists left it: these four fields Text, the rule comparing text. */
function textEraOrg(): void {
  const f = fieldsOf();
  const components = customFieldSpecs(f).map((s) => {
    const name = s.fullName.split(".")[1] as Picklist;
    if (!NAMES.includes(name)) return s.metadata;
    const { valueSet: _, ...rest } = s.metadata;
    return { ...rest, type: "Text", length: 40 };
  });
  for (let i = 0; i < components.length; i += 10)
    for (const r of sb.salesforce.upsertMetadata("CustomField", components.slice(i, i + 10)))
      expect(r, r.fullName).toMatchObject({ success: true });
  // Its permission set, assigned to the integration user: cosell could read and write the fields.
  sb.salesforce.upsertMetadata("PermissionSet", [
    {
      fullName: "Cosell_Sync",
      label: "Cosell Sync",
      fieldPermissions: components.map((c) => ({ field: c.fullName, readable: true, editable: true })),
    },
  ]);
  sb.salesforce.assignPermissionSet("Cosell_Sync");
  const rule = declineRuleSpec(f, true);
  const [r] = sb.salesforce.upsertMetadata("ValidationRule", [
    {
      ...rule,
      errorConditionFormula: rule.errorConditionFormula.replace(
        "AND(",
        `AND( ${f.coSellStage} <> "declined",`,
      ),
    },
  ]);
  expect(r).toMatchObject({ success: true });
}

describe("cosell's status fields as restricted picklists", () => {
  it("a bare org gets the global value sets first, then the four fields bound to them", async () => {
    const adapter = sandboxAdapter(sb);
    const report = await adapter.setup();
    const valueSetLines = report.created.filter((l) => l.startsWith("Global value set"));
    expect(valueSetLines).toEqual(
      Object.values(PICKLISTS).map((s) => `Global value set ${s.fullName} "${s.masterLabel}"`),
    );
    // Before any field: a picklist naming a set that does not exist yet is refused.
    expect(report.created.findIndex((l) => l.startsWith("Field "))).toBeGreaterThan(
      report.created.indexOf(valueSetLines.at(-1)!),
    );
    for (const name of NAMES) {
      const def = fieldDef(name);
      expect(def, name).toMatchObject({
        type: "picklist",
        restrictedPicklist: true,
        valueSetName: PICKLISTS[name].fullName,
      });
      expect(
        (def!.picklist as { value: string }[]).map((p) => p.value),
        name,
      ).toEqual(PICKLISTS[name].values.map((v) => v.value));
    }
    const verify = await adapter.verifySetup();
    expect(verify.ok).toBe(true);
    for (const name of NAMES)
      expect(verify.checks.find((c) => c.name === `picklist Opportunity.${name}`)?.detail).toContain(
        "is a restricted picklist",
      );
  });

  it("an org with the earlier Text fields is upgraded in place, keeping its values and moving its solution lines into records; a second run changes nothing", async () => {
    textEraOrg();
    const id = sb.salesforce.insert("Opportunity", {
      Name: "From the text era",
      StageName: "Prospecting",
      CloseDate: "2025-06-30",
      Cosell_Stage__c: "received",
      Cosell_Sync_Status__c: "synced",
      Cosell_Direction__c: "inbound",
      Cosell_Registration_Status__c: "ReviewPending",
    });
    const odd = sb.salesforce.insert("Opportunity", {
      Name: "Hand-edited",
      StageName: "Prospecting",
      CloseDate: "2025-06-30",
      Cosell_Sync_Status__c: "legacy-status",
    });
    // The field-by-field setup kept solutions as text lines; this org has no solution objects yet.
    const withSolutions = sb.salesforce.insert("Opportunity", {
      Name: "Solutions as text",
      StageName: "Prospecting",
      CloseDate: "2025-06-30",
      Cosell_Sync__c: true,
      Cosell_Solutions__c: "sol-a | Contoso Insights | own\nsol-b | Azure OpenAI | microsoft",
    });
    expect(sb.salesforce.exportState().customObjects ?? []).toEqual([]);

    const adapter = sandboxAdapter(sb);
    const first = await adapter.setup();
    const upgraded = first.created.filter((l) => l.includes("→ restricted picklist"));
    expect(upgraded).toHaveLength(4);
    for (const name of NAMES)
      expect(upgraded.find((l) => l.includes(`Opportunity.${name})`))).toContain(
        `Text → restricted picklist of the global value set ${PICKLISTS[name].fullName}`,
      );
    // The admin is told which values were outside the list before the change.
    expect(upgraded.find((l) => l.includes("Cosell_Sync_Status__c"))).toContain(
      '1 record(s) held values outside the list, e.g. "legacy-status"',
    );
    expect(first.unchanged).toContain("Field Co-sell Sync (Opportunity.Cosell_Sync__c)");
    // The rule, narrowed for the change, is cosell's full rule again (ISPICKVAL on the stage).
    expect(first.created).toContain(
      "Validation rule Opportunity.Cosell_Decline_Needs_Reason: restored (it was another formula)",
    );

    for (const name of NAMES)
      expect(fieldDef(name)).toMatchObject({ type: "picklist", restrictedPicklist: true });
    expect(sb.salesforce.get("Opportunity", id)).toMatchObject({
      Cosell_Stage__c: "received",
      Cosell_Sync_Status__c: "synced",
      Cosell_Direction__c: "inbound",
      Cosell_Registration_Status__c: "ReviewPending",
    });
    // The sandbox takes the stricter reading of Salesforce's "can cause data loss": gone.
    expect(sb.salesforce.get("Opportunity", odd)?.Cosell_Sync_Status__c).toBeNull();
    // Same run: the solution objects are made and the text lines become records, the text emptied.
    expect(first.created).toContain(
      "Solutions of 1 opportunities moved from text into Cosell_Deal_Solution__c rows",
    );
    const rows = sb.salesforce.query(
      `SELECT Cosell_Solution__r.Cosell_Solution_Id__c, Cosell_Solution__r.Name, Cosell_Solution__r.Cosell_Kind__c FROM Cosell_Deal_Solution__c WHERE Cosell_Opportunity__c = '${withSolutions}' ORDER BY Cosell_Solution__r.Cosell_Solution_Id__c`,
    ).records;
    expect(rows.map((r) => r.Cosell_Solution__r)).toMatchObject([
      { Cosell_Solution_Id__c: "sol-a", Name: "Contoso Insights", Cosell_Kind__c: "own" },
      { Cosell_Solution_Id__c: "sol-b", Name: "Azure OpenAI", Cosell_Kind__c: "microsoft" },
    ]);
    expect(sb.salesforce.get("Opportunity", withSolutions)?.Cosell_Solutions__c ?? null).toBeNull();

    const second = await adapter.setup();
    expect(second.created).toEqual([]);
    expect((await adapter.verifySetup()).ok).toBe(true);
  });

  it("a value outside the list is refused with Salesforce's error", async () => {
    await sandboxAdapter(sb).setup();
    const id = sb.salesforce.insert("Opportunity", {
      Name: "Picky",
      StageName: "Prospecting",
      CloseDate: "2025-06-30",
      Cosell_Direction__c: "inbound",
    });
    expect(() => sb.salesforce.update("Opportunity", id, { Cosell_Direction__c: "sideways" })).toThrow(
      "bad value for restricted picklist field: sideways",
    );
    expect(sb.salesforce.get("Opportunity", id)?.Cosell_Direction__c).toBe("inbound");
  });

  it("doctor names a field changed back to text and says to run setup, which changes it back", async () => {
    const adapter = sandboxAdapter(sb);
    await adapter.setup();
    const sync = customFieldSpecs(fieldsOf()).find((s) => s.key === "syncStatus")!;
    const { valueSet: _, ...rest } = sync.metadata;
    expect(
      sb.salesforce.upsertMetadata("CustomField", [{ ...rest, type: "Text", length: 40 }])[0],
    ).toMatchObject({ success: true });

    const report = await adapter.verifySetup();
    expect(report.ok).toBe(false);
    const check = report.checks.find((c) => c.name === "picklist Opportunity.Cosell_Sync_Status__c");
    expect(check).toMatchObject({ ok: false });
    expect(check?.detail).toContain(
      "Opportunity.Cosell_Sync_Status__c is a string field, not a restricted picklist",
    );
    expect(check?.fix).toContain("cosell setup");
    // The other three are still fine.
    expect(report.checks.filter((c) => c.name.startsWith("picklist ") && !c.ok)).toHaveLength(1);

    const again = await adapter.setup();
    expect(again.created).toEqual([
      "Field Co-sell Sync Status (Opportunity.Cosell_Sync_Status__c): Text → restricted picklist of the global value set Cosell_Sync_Status",
    ]);
    expect((await adapter.verifySetup()).ok).toBe(true);
  });
});
