import type { Connection } from "jsforce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCredentials, rejection, startOrg, type TestOrg, VERSION } from "./harness.js";

let org: TestOrg;
let conn: Connection;
let opp: string;

const LAYOUT = "Opportunity-Opportunity Layout";
const base = `/services/data/v${VERSION}/sobjects/Opportunity`;

/** An Update action setting Answer__c, with Reason__c on its form. */
const ACTION = {
  fullName: "Opportunity.Answer_No",
  label: "Answer no",
  type: "Update",
  optionsCreateFeedItem: false,
  fieldOverrides: [
    { field: "Answer__c", literalValue: "no" },
    { field: "Flag__c", formula: "true" },
  ],
  quickActionLayout: {
    layoutSectionStyle: "TwoColumnsLeftToRight",
    quickActionLayoutColumns: [{ quickActionLayoutItems: [{ field: "Reason__c", uiBehavior: "Edit" }] }],
  },
  successMessage: "Answered",
};

interface Section {
  heading: string;
  columns: number;
  layoutRows: {
    layoutItems: {
      label: string;
      editableForUpdate: boolean;
      placeholder: boolean;
      layoutComponents: { type: string; value: string }[];
    }[];
  }[];
}
interface Described {
  layouts: {
    id: string;
    detailLayoutSections: Section[];
    quickActionList: { quickActionListItems: { label: string; quickActionName: string; type: string }[] };
  }[];
  recordTypeMappings: { recordTypeId: string; layoutId: string }[];
}

beforeAll(async () => {
  org = await startOrg();
  conn = await clientCredentials(org);
  const ctl = org.server.control;
  ctl.upsertMetadata("CustomField", [
    {
      fullName: "Opportunity.Answer__c",
      label: "Answer",
      type: "Picklist",
      valueSet: {
        restricted: true,
        valueSetDefinition: {
          value: [
            { fullName: "yes", label: "Yes" },
            { fullName: "no", label: "No" },
          ],
        },
      },
    },
    { fullName: "Opportunity.Reason__c", label: "Reason", type: "Text", length: 80 },
    { fullName: "Opportunity.Flag__c", label: "Flag", type: "Checkbox", defaultValue: "false" },
    { fullName: "Opportunity.Status__c", label: "Status", type: "Text", length: 40 },
  ]);
  ctl.upsertMetadata("PermissionSet", [
    {
      fullName: "Page_Test",
      label: "Page Test",
      fieldPermissions: [
        ...["Answer__c", "Reason__c", "Flag__c"].map((f) => ({
          field: `Opportunity.${f}`,
          readable: true,
          editable: true,
        })),
        { field: "Opportunity.Status__c", readable: true, editable: false },
      ],
    },
  ]);
  ctl.assignPermissionSet("Page_Test");
  ctl.upsertMetadata("ValidationRule", [
    {
      fullName: "Opportunity.No_Needs_Reason",
      active: true,
      errorConditionFormula: 'AND(ISPICKVAL(Answer__c, "no"), ISBLANK(Reason__c))',
      errorDisplayField: "Reason__c",
      errorMessage: "Say why.",
    },
  ]);
  const acc = ctl.insert("Account", { Name: "Contoso" });
  opp = ctl.insert("Opportunity", {
    Name: "Page A",
    StageName: "Prospecting",
    CloseDate: "2025-09-30",
    AccountId: acc,
  });
});
afterAll(() => org.close());

describe("QuickAction through the Metadata API", () => {
  it("creates, reads and updates an Update action", async () => {
    expect(await conn.metadata.create("QuickAction", ACTION as never)).toMatchObject({ success: true });
    const read = (await conn.metadata.read("QuickAction", ACTION.fullName)) as unknown as Record<
      string,
      unknown
    >;
    expect(read).toMatchObject({ fullName: ACTION.fullName, label: "Answer no", type: "Update" });
    expect(await conn.metadata.update("QuickAction", { ...ACTION, label: "Say no" } as never)).toMatchObject({
      success: true,
    });
    expect(
      ((await conn.metadata.read("QuickAction", ACTION.fullName)) as unknown as { label: string }).label,
    ).toBe("Say no");
    expect(await conn.metadata.update("QuickAction", ACTION as never)).toMatchObject({ success: true });
    const listed = await conn.metadata.list([{ type: "QuickAction" }]);
    expect((Array.isArray(listed) ? listed : [listed]).map((p) => p.fullName)).toContain(ACTION.fullName);
  });

  it("refuses an unknown field, a read-only field override and an unknown type", async () => {
    const unknownField = await conn.metadata.create("QuickAction", {
      ...ACTION,
      fullName: "Opportunity.Bad_One",
      quickActionLayout: { quickActionLayoutColumns: [{ quickActionLayoutItems: [{ field: "Nope__c" }] }] },
    } as never);
    expect(unknownField).toMatchObject({ success: false });
    expect(JSON.stringify(unknownField)).toContain("Opportunity.Nope__c");
    const readOnly = await conn.metadata.create("QuickAction", {
      ...ACTION,
      fullName: "Opportunity.Bad_Two",
      fieldOverrides: [{ field: "IsWon", formula: "true" }],
    } as never);
    expect(readOnly).toMatchObject({ success: false });
    expect(JSON.stringify(readOnly)).toContain("read-only");
    const fault = await rejection(
      conn.metadata.create("QuickAction", {
        ...ACTION,
        fullName: "Opportunity.Bad_Three",
        type: "Nonsense",
      } as never),
    );
    expect(fault.message).toContain("QuickActionType");
    for (const n of ["Bad_One", "Bad_Two", "Bad_Three"])
      expect((await conn.metadata.read("QuickAction", `Opportunity.${n}`)).fullName).toBeFalsy();
  });
});

describe("Layout through the Metadata API", () => {
  it("a new org has the standard Opportunity layout with its standard fields", async () => {
    const read = (await conn.metadata.read("Layout", LAYOUT)) as unknown as {
      fullName: string;
      layoutSections: { label: string }[];
    };
    expect(read.fullName).toBe(LAYOUT);
    expect(read.layoutSections.map((s) => s.label)).toEqual([
      "Opportunity Information",
      "Description Information",
    ]);
    expect(JSON.stringify(read)).toContain('"StageName"');
  });

  it("an update replaces the layout; unknown fields, duplicates and unknown actions are refused", async () => {
    const read = (await conn.metadata.read("Layout", LAYOUT)) as unknown as Record<string, unknown> & {
      layoutSections: unknown[];
    };
    const section = (label: string, items: unknown[]) => ({
      customLabel: true,
      detailHeading: true,
      editHeading: true,
      label,
      layoutColumns: [
        { layoutItems: items },
        { layoutItems: [{ behavior: "Readonly", field: "Status__c" }] },
      ],
      style: "TwoColumnsTopToBottom",
    });
    const bad = await conn.metadata.update("Layout", {
      ...read,
      layoutSections: [...read.layoutSections, section("X", [{ behavior: "Edit", field: "Nope__c" }])],
    } as never);
    expect(bad).toMatchObject({ success: false });
    expect(JSON.stringify(bad)).toContain("Opportunity.Nope__c");
    const twice = await conn.metadata.update("Layout", {
      ...read,
      layoutSections: [...read.layoutSections, section("X", [{ behavior: "Edit", field: "StageName" }])],
    } as never);
    expect(twice).toMatchObject({ success: false });
    expect(JSON.stringify(twice)).toContain("more than once");
    const noAction = await conn.metadata.update("Layout", {
      ...read,
      quickActionList: { quickActionListItems: [{ quickActionName: "Opportunity.Not_There" }] },
    } as never);
    expect(noAction).toMatchObject({ success: false });
    expect(JSON.stringify(noAction)).toContain("Opportunity.Not_There");

    const good = await conn.metadata.update("Layout", {
      ...read,
      layoutSections: [
        ...read.layoutSections,
        section("Answers", [
          { behavior: "Edit", field: "Answer__c" },
          { behavior: "Edit", field: "Reason__c" },
          { behavior: "Readonly", field: "Flag__c" },
        ]),
      ],
      quickActionList: {
        quickActionListItems: [{ quickActionName: "NewTask" }, { quickActionName: ACTION.fullName }],
      },
    } as never);
    expect(good).toMatchObject({ success: true });
    const after = (await conn.metadata.read("Layout", LAYOUT)) as unknown as {
      layoutSections: { label: string }[];
    };
    expect(after.layoutSections.map((s) => s.label)).toEqual([
      "Opportunity Information",
      "Description Information",
      "Answers",
    ]);
  });
});

describe("describeLayout", () => {
  it("shows the sections with their fields as the caller may edit them, and the layout's actions", async () => {
    const d = await conn.request<Described>(`${base}/describe/layouts/`);
    expect(d.layouts).toHaveLength(1);
    const section = d.layouts[0]!.detailLayoutSections.find((s) => s.heading === "Answers")!;
    expect(section.columns).toBe(2);
    const items = section.layoutRows.flatMap((r) => r.layoutItems).filter((i) => !i.placeholder);
    const byField = Object.fromEntries(items.map((i) => [i.layoutComponents[0]!.value, i]));
    expect(byField.Answer__c).toMatchObject({ label: "Answer", editableForUpdate: true });
    expect(byField.Answer__c!.layoutComponents[0]!.type).toBe("Field");
    // Readonly on the layout, and read-only by the permission set.
    expect(byField.Flag__c).toMatchObject({ editableForUpdate: false });
    expect(byField.Status__c).toMatchObject({ label: "Status", editableForUpdate: false });
    // Two columns: the first row holds Answer and Status side by side.
    expect(section.layoutRows[0]!.layoutItems.map((i) => i.layoutComponents[0]?.value)).toEqual([
      "Answer__c",
      "Status__c",
    ]);
    expect(d.layouts[0]!.quickActionList.quickActionListItems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ quickActionName: ACTION.fullName, label: "Answer no" }),
      ]),
    );
    const byRecordType = await conn.request<Described["layouts"][number]>(
      `${base}/describe/layouts/${d.recordTypeMappings[0]!.recordTypeId}`,
    );
    expect(byRecordType.id).toBe(d.layouts[0]!.id);
    const missing = await rejection(conn.request(`${base}/describe/layouts/012000000000001AAA`));
    expect(missing.errorCode).toBe("NOT_FOUND");
  });
});

describe("quick action invocation", () => {
  const invoke = (action: string, record: Record<string, unknown>, contextId = opp) =>
    conn.requestPost<{ success: boolean; id: string; successMessage: string }>(
      `${base}/quickActions/${action}`,
      {
        contextId,
        record,
      },
    );

  it("writes the predefined values and the submitted fields through validation rules", async () => {
    const refused = await rejection(invoke(ACTION.fullName, {}));
    expect(refused.errorCode).toBe("FIELD_CUSTOM_VALIDATION_EXCEPTION");
    expect(refused.message).toContain("Say why.");
    expect(org.server.control.get("Opportunity", opp)!.Answer__c ?? null).toBeNull();

    const done = await invoke("Answer_No", { Reason__c: "Too small" });
    expect(done).toMatchObject({ success: true, id: opp, successMessage: "Answered" });
    expect(org.server.control.get("Opportunity", opp)).toMatchObject({
      Answer__c: "no",
      Flag__c: true,
      Reason__c: "Too small",
    });
  });

  it("refuses a field the action does not show, an unknown record and an unknown action", async () => {
    expect((await rejection(invoke(ACTION.fullName, { Status__c: "x" }))).errorCode).toBe("INVALID_FIELD");
    expect((await rejection(invoke(ACTION.fullName, {}, "006000000000000AAA"))).errorCode).toBe(
      "INVALID_CROSS_REFERENCE_KEY",
    );
    expect((await rejection(invoke("Opportunity.Nothing", {}))).errorCode).toBe("NOT_FOUND");
  });

  it("a field an action uses cannot be deleted; a deleted field leaves the layouts", async () => {
    const used = await conn.metadata.delete("CustomField", "Opportunity.Flag__c");
    expect(used).toMatchObject({ success: false });
    expect(JSON.stringify(used)).toContain("Quick Action Opportunity.Answer_No");
    expect(await conn.metadata.delete("CustomField", "Opportunity.Status__c")).toMatchObject({
      success: true,
    });
    expect(JSON.stringify(await conn.metadata.read("Layout", LAYOUT))).not.toContain("Status__c");
    const d = await conn.request<Described>(`${base}/describe/layouts/`);
    const section = d.layouts[0]!.detailLayoutSections.find((s) => s.heading === "Answers")!;
    expect(JSON.stringify(section)).not.toContain("Status__c");
  });

  it("the state export keeps actions and layouts", async () => {
    const ctl = org.server.control;
    const state = ctl.exportState();
    ctl.importState(state);
    expect((await conn.metadata.read("QuickAction", ACTION.fullName)).fullName).toBe(ACTION.fullName);
    const d = await conn.request<Described>(`${base}/describe/layouts/`);
    expect(d.layouts[0]!.detailLayoutSections.map((s) => s.heading)).toContain("Answers");
  });
});
