import type { Connection } from "jsforce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCredentials, rejection, startOrg, type TestOrg } from "./salesforce/harness.js";

/**
 * Global value sets through the Metadata API, picklist fields bound to one, the Text → Picklist type
 * change, and DML on restricted picklists, as a client of the sandbox org sees them.
 */

let org: TestOrg;
let conn: Connection;

const STAGES = {
  fullName: "Deal_Stage",
  masterLabel: "Deal Stage",
  description: "Stages of a deal.",
  sorted: false,
  customValue: [
    { fullName: "received", label: "Received", default: false },
    { fullName: "won", label: "Won", default: false },
  ],
};
const BOUND = {
  fullName: "Opportunity.Deal_Stage__c",
  label: "Deal Stage",
  type: "Picklist",
  valueSet: { restricted: true, valueSetName: "Deal_Stage" },
};
const FIELDS = ["Deal_Stage__c", "Old_Stage__c", "Note__c"];

beforeAll(async () => {
  org = await startOrg();
  conn = await clientCredentials(org);
  org.server.control.upsertMetadata("CustomField", [
    { fullName: "Opportunity.Old_Stage__c", label: "Old Stage", type: "Text", length: 40 },
    { fullName: "Opportunity.Note__c", label: "Note", type: "Text", length: 40 },
  ]);
});
afterAll(() => org.close());

const opp = (extra: Record<string, unknown> = {}) => ({
  Name: "Picklist deal",
  StageName: "Prospecting",
  CloseDate: "2025-09-30",
  ...extra,
});
/** Read/edit on the test's fields for the integration user (new fields are invisible until granted). */
function grant(): void {
  org.server.control.upsertMetadata("PermissionSet", [
    {
      fullName: "Value_Sets_Test",
      label: "Value Sets Test",
      fieldPermissions: FIELDS.map((f) => ({ field: `Opportunity.${f}`, readable: true, editable: true })),
    },
  ]);
  org.server.control.assignPermissionSet("Value_Sets_Test");
}
type MetadataType = Parameters<Connection["metadata"]["read"]>[0];

/** Metadata API calls through jsforce, with the components untyped (jsforce types each metadata type). */
const md = {
  create: (type: MetadataType, c: unknown) => conn.metadata.create(type, c as never) as Promise<unknown>,
  update: (type: MetadataType, c: unknown) => conn.metadata.update(type, c as never) as Promise<unknown>,
  read: (type: MetadataType, name: string) => conn.metadata.read(type, name) as Promise<unknown>,
  delete: (type: MetadataType, name: string) => conn.metadata.delete(type, name) as Promise<unknown>,
};

describe("GlobalValueSet through the Metadata API", () => {
  it("creates, reads back and lists a set; refuses one without a label, without values or with a value twice", async () => {
    expect(await md.create("GlobalValueSet", STAGES)).toMatchObject({
      success: true,
      fullName: "Deal_Stage",
    });
    expect(await md.read("GlobalValueSet", "Deal_Stage")).toMatchObject({
      fullName: "Deal_Stage",
      masterLabel: "Deal Stage",
      sorted: false,
      customValue: [
        { fullName: "received", label: "Received", default: false },
        { fullName: "won", label: "Won", default: false },
      ],
    });
    const listed = await conn.metadata.list([{ type: "GlobalValueSet" }]);
    expect([listed].flat().map((p) => p.fileName)).toContain("globalValueSets/Deal_Stage.globalValueSet");

    expect(await md.create("GlobalValueSet", STAGES)).toMatchObject({
      success: false,
      errors: [expect.objectContaining({ statusCode: "DUPLICATE_DEVELOPER_NAME" })],
    });
    const { masterLabel: _, ...unlabelled } = STAGES;
    expect(await md.create("GlobalValueSet", { ...unlabelled, fullName: "No_Label" })).toMatchObject({
      success: false,
      errors: [
        expect.objectContaining({
          statusCode: "REQUIRED_FIELD_MISSING",
          message: "Required field is missing: masterLabel",
        }),
      ],
    });
    expect(
      await md.create("GlobalValueSet", { ...STAGES, fullName: "Empty", customValue: [] }),
    ).toMatchObject({
      success: false,
      errors: [expect.objectContaining({ message: expect.stringContaining("at least one value") })],
    });
    expect(
      await md.create("GlobalValueSet", {
        ...STAGES,
        fullName: "Twice",
        customValue: [{ fullName: "won" }, { fullName: "WON" }],
      }),
    ).toMatchObject({ success: false, errors: [expect.objectContaining({ statusCode: "DUPLICATE_VALUE" })] });
    // A missing set reads back without a fullName.
    expect(await md.read("GlobalValueSet", "Twice")).not.toHaveProperty("fullName", "Twice");
  });

  it("a picklist bound to a set takes its values, is restricted, and follows the set's updates", async () => {
    expect(
      await md.create("CustomField", {
        ...BOUND,
        fullName: "Opportunity.Nowhere__c",
        valueSet: { valueSetName: "Nope" },
      }),
    ).toMatchObject({
      success: false,
      errors: [
        expect.objectContaining({ message: expect.stringContaining("no global value set named Nope") }),
      ],
    });

    expect(await md.create("CustomField", BOUND)).toMatchObject({ success: true });
    grant();
    expect(await md.read("CustomField", BOUND.fullName)).toMatchObject({
      type: "Picklist",
      valueSet: { restricted: true, valueSetName: "Deal_Stage" },
    });
    const field = (await conn.sobject("Opportunity").describe()).fields.find(
      (f) => f.name === "Deal_Stage__c",
    );
    expect(field).toMatchObject({ type: "picklist", restrictedPicklist: true });
    expect(field?.picklistValues?.map((p) => [p.value, p.label])).toEqual([
      ["received", "Received"],
      ["won", "Won"],
    ]);

    const refused = await rejection(conn.sobject("Opportunity").create(opp({ Deal_Stage__c: "lost" })));
    expect(refused.errorCode).toBe("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    expect(refused.message).toBe("Deal Stage: bad value for restricted picklist field: lost");

    expect(
      await md.update("GlobalValueSet", {
        ...STAGES,
        customValue: [...STAGES.customValue, { fullName: "lost", label: "Lost", default: false }],
      }),
    ).toMatchObject({ success: true });
    const made = await conn.sobject("Opportunity").create(opp({ Deal_Stage__c: "lost" }));
    expect(made).toMatchObject({ success: true });

    // A set still used by a field cannot go.
    expect(await md.delete("GlobalValueSet", "Deal_Stage")).toMatchObject({
      success: false,
      errors: [
        expect.objectContaining({
          statusCode: "FIELD_INTEGRITY_EXCEPTION",
          message: expect.stringContaining("Opportunity.Deal_Stage__c"),
        }),
      ],
    });
  });

  it("changes a Text field to a picklist in place: listed values kept, others cleared; refused under a formula comparing it as text", async () => {
    const listed = org.server.control.insert("Opportunity", opp({ Old_Stage__c: "WON" }));
    const unlisted = org.server.control.insert("Opportunity", opp({ Old_Stage__c: "half-won" }));
    const rule = {
      fullName: "Opportunity.Old_Stage_Needs_Note",
      active: true,
      errorConditionFormula: 'AND(Old_Stage__c = "won", ISBLANK(Note__c))',
      errorMessage: "Say how it was won.",
    };
    expect(await md.create("ValidationRule", rule)).toMatchObject({ success: true });
    const toPicklist = {
      fullName: "Opportunity.Old_Stage__c",
      label: "Old Stage",
      type: "Picklist",
      valueSet: { valueSetName: "Deal_Stage" },
    };
    expect(await md.update("CustomField", toPicklist)).toMatchObject({
      success: false,
      errors: [
        expect.objectContaining({
          statusCode: "FIELD_INTEGRITY_EXCEPTION",
          message: expect.stringContaining("referenced by Validation Rule Opportunity.Old_Stage_Needs_Note"),
        }),
      ],
    });
    expect(org.server.control.get("Opportunity", listed)?.Old_Stage__c).toBe("WON");

    // With the rule written for a picklist first, the change goes through.
    expect(
      await md.update("ValidationRule", {
        ...rule,
        errorConditionFormula: 'AND(ISPICKVAL(Old_Stage__c, "won"), ISBLANK(Note__c))',
      }),
    ).toMatchObject({ success: false });
    expect(await md.delete("ValidationRule", rule.fullName)).toMatchObject({ success: true });
    expect(await md.update("CustomField", toPicklist)).toMatchObject({ success: true });
    expect(org.server.control.get("Opportunity", listed)?.Old_Stage__c).toBe("won");
    expect(org.server.control.get("Opportunity", unlisted)?.Old_Stage__c).toBeNull();
    expect(
      await md.create("ValidationRule", {
        ...rule,
        errorConditionFormula: 'AND(ISPICKVAL(Old_Stage__c, "won"), ISBLANK(Note__c))',
      }),
    ).toMatchObject({ success: true });
    // A picklist used as text in a formula is refused, as Salesforce does.
    expect(
      await md.create("ValidationRule", {
        ...rule,
        fullName: "Opportunity.Text_Compare",
        errorConditionFormula: 'Old_Stage__c = "won"',
      }),
    ).toMatchObject({
      success: false,
      errors: [expect.objectContaining({ message: expect.stringContaining("picklist field") })],
    });
    // Back to text is refused while the ISPICKVAL rule reads it.
    expect(
      await md.update("CustomField", {
        fullName: "Opportunity.Old_Stage__c",
        label: "Old Stage",
        type: "Text",
        length: 40,
      }),
    ).toMatchObject({
      success: false,
      errors: [expect.objectContaining({ message: expect.stringContaining("Cannot change the type") })],
    });
  });

  it("keeps the sets and the bound fields across a state export and import", () => {
    const saved = org.server.control.exportState();
    expect(saved.globalValueSets?.map((s) => s.fullName)).toContain("Deal_Stage");
    org.server.control.importState(saved);
    expect(
      org.server.control.upsertMetadata("CustomField", [
        { ...BOUND, fullName: "Opportunity.Second_Stage__c", label: "Second Stage" },
      ])[0],
    ).toMatchObject({ success: true });
  });
});
