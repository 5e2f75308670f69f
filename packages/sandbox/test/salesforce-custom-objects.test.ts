import type { Connection } from "jsforce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCredentials, rejection, startOrg, type TestOrg } from "./salesforce/harness.js";

/**
 * Custom objects in the sandbox org: CustomObject through the Metadata API, Lookup and MasterDetail
 * fields, object permissions, external-id upsert, parent and child relationship queries, and what a
 * delete does to related rows — as strict as Salesforce.
 */

let org: TestOrg;
let conn: Connection;
beforeAll(async () => {
  org = await startOrg();
  conn = await clientCredentials(org);
});
afterAll(() => org.close());

type Md = Record<string, unknown>;
const save = async (op: "create" | "update", type: string, md: Md[]) =>
  [
    await (conn.metadata as unknown as Record<string, (t: string, m: Md[]) => Promise<unknown>>)[op]!.call(
      conn.metadata,
      type,
      md,
    ),
  ].flat() as { success: boolean; errors?: { statusCode: string; message: string }[] }[];

/** The status code of a refused component (jsforce gives `errors` as a list). */
const codeOf = (r: { errors?: unknown } | undefined) =>
  ([r?.errors].flat()[0] as { statusCode?: string } | undefined)?.statusCode;

const object = (fullName: string, sharingModel: string): Md => ({
  fullName,
  label: fullName.replace("__c", ""),
  pluralLabel: `${fullName.replace("__c", "")}s`,
  nameField: { label: "Name", type: "Text" },
  deploymentStatus: "Deployed",
  sharingModel,
});

describe("custom objects", () => {
  it("an AutoNumber name needs a number placeholder; records are numbered and the name is read-only", async () => {
    const numbered = (displayFormat?: string): Md => ({
      ...object("Ticket__c", "ReadWrite"),
      nameField: { label: "Ticket Number", type: "AutoNumber", ...(displayFormat ? { displayFormat } : {}) },
    });
    const [bad] = await save("create", "CustomObject", [numbered("T-")]);
    expect(codeOf(bad)).toBe("FIELD_INTEGRITY_EXCEPTION");
    const [ok] = await save("create", "CustomObject", [numbered("T-{0000}")]);
    expect(ok).toMatchObject({ success: true });
    const read = (await conn.metadata.read("CustomObject", "Ticket__c")) as unknown as Md;
    expect(read.nameField).toMatchObject({ type: "AutoNumber", displayFormat: "T-{0000}" });
    const first = org.server.control.insert("Ticket__c", {});
    const second = org.server.control.insert("Ticket__c", {});
    expect([first, second].map((id) => org.server.control.get("Ticket__c", id)?.Name)).toEqual([
      "T-0000",
      "T-0001",
    ]);
    expect(() => org.server.control.insert("Ticket__c", { Name: "mine" })).toThrow(
      /Unable to create\/update fields: Name/,
    );
  });

  it("CustomObject: required members, then an object with Salesforce's standard fields", async () => {
    const { sharingModel: _, ...unshared } = object("Catalog__c", "ReadWrite");
    const [missing] = await save("create", "CustomObject", [unshared]);
    expect(codeOf(missing)).toBe("REQUIRED_FIELD_MISSING");
    const [ok] = await save("create", "CustomObject", [
      object("Catalog__c", "ReadWrite"),
      object("Line__c", "ControlledByParent"),
    ]);
    expect(ok).toMatchObject({ success: true });
    const read = (await conn.metadata.read("CustomObject", "Catalog__c")) as unknown as Md;
    expect(read).toMatchObject({
      fullName: "Catalog__c",
      sharingModel: "ReadWrite",
      nameField: { type: "Text" },
    });
    const [dup] = await save("create", "CustomObject", [object("Catalog__c", "ReadWrite")]);
    expect(codeOf(dup)).toBe("DUPLICATE_DEVELOPER_NAME");
  });

  it("relationship fields: a master-detail needs ControlledByParent, a lookup an existing target", async () => {
    const [toMissing] = await save("create", "CustomField", [
      {
        fullName: "Line__c.Item__c",
        label: "Item",
        type: "Lookup",
        referenceTo: "Nope__c",
        relationshipName: "Lines",
      },
    ]);
    expect(codeOf(toMissing)).toBe("FIELD_INTEGRITY_EXCEPTION");
    const [onShared] = await save("create", "CustomField", [
      {
        fullName: "Catalog__c.Deal__c",
        label: "Deal",
        type: "MasterDetail",
        referenceTo: "Opportunity",
        relationshipName: "Catalogs",
      },
    ]);
    expect(codeOf(onShared)).toBe("FIELD_INTEGRITY_EXCEPTION");
    const fields = await save("create", "CustomField", [
      {
        fullName: "Catalog__c.Code__c",
        label: "Code",
        type: "Text",
        length: 40,
        externalId: true,
        unique: true,
      },
      {
        fullName: "Line__c.Deal__c",
        label: "Deal",
        type: "MasterDetail",
        referenceTo: "Opportunity",
        relationshipName: "Lines",
      },
      {
        fullName: "Line__c.Item__c",
        label: "Item",
        type: "Lookup",
        referenceTo: "Catalog__c",
        relationshipName: "Lines",
        required: true,
        deleteConstraint: "Restrict",
      },
    ]);
    expect(fields.map((r) => r.success)).toEqual([true, true, true]);
  });

  it("permission sets: object permission dependencies, no field grants on required fields", async () => {
    const ps = (objectPermissions: Md[], fieldPermissions: Md[] = []): Md => ({
      fullName: "Lines_Access",
      label: "Lines access",
      objectPermissions,
      fieldPermissions,
    });
    const all = { allowCreate: true, allowDelete: true, allowEdit: true, allowRead: true };
    const [noEdit] = await save("create", "PermissionSet", [
      ps([{ object: "Line__c", ...all, allowEdit: false }]),
    ]);
    expect(codeOf(noEdit)).toBe("FIELD_INTEGRITY_EXCEPTION");
    const [required] = await save("create", "PermissionSet", [
      ps([{ object: "Line__c", ...all }], [{ field: "Line__c.Deal__c", readable: true, editable: true }]),
    ]);
    expect([required?.errors].flat()[0]?.message).toMatch(/required field/);

    // Until a permission set grants the objects, the integration user cannot reach them.
    const hidden = await rejection(conn.sobject("Catalog__c").create({ Name: "x" }));
    expect(hidden.errorCode).toBe("INSUFFICIENT_ACCESS_OR_READONLY");
    const [granted] = await save("create", "PermissionSet", [
      ps(
        [
          { object: "Line__c", ...all },
          { object: "Catalog__c", ...all },
        ],
        [{ field: "Catalog__c.Code__c", readable: true, editable: true }],
      ),
    ]);
    expect(granted).toMatchObject({ success: true });
    org.server.control.assignPermissionSet("Lines_Access");
  });

  it("upsert by external id, parent and child relationship queries, and what deletes do", async () => {
    const up = await conn.sobject("Catalog__c").upsert({ Code__c: "A-1", Name: "Alpha" }, "Code__c");
    expect(up).toMatchObject({ success: true, created: true });
    const again = await conn.sobject("Catalog__c").upsert({ Code__c: "a-1", Name: "Alpha 2" }, "Code__c");
    expect(again).toMatchObject({ success: true, created: false });
    const itemId = (up as { id: string }).id;
    const deal = (await conn
      .sobject("Opportunity")
      .create({ Name: "D", StageName: "Prospecting", CloseDate: "2025-05-01" })) as { id: string };
    const line = (await conn.sobject("Line__c").create({ Name: "L", Deal__c: deal.id, Item__c: itemId })) as {
      id: string;
    };
    expect(line.id.startsWith("a0")).toBe(true);

    const rows = await conn.query<Md>(
      `SELECT Id, (SELECT Name, Item__r.Code__c, Item__r.Name FROM Lines__r) FROM Opportunity WHERE Id = '${deal.id}'`,
    );
    expect((rows.records[0]!.Lines__r as { records: Md[] }).records).toMatchObject([
      { Name: "L", Item__r: { Code__c: "A-1", Name: "Alpha 2" } },
    ]);

    // A lookup to a record that never existed, to a deleted one, and a delete of a record a Restrict
    // lookup still points at.
    const missing = await rejection(
      conn.sobject("Line__c").create({ Name: "M", Deal__c: deal.id, Item__c: `${itemId.slice(0, 14)}Z` }),
    );
    expect(missing.errorCode).toBe("INVALID_CROSS_REFERENCE_KEY");
    const gone = (await conn.sobject("Catalog__c").create({ Name: "Gone", Code__c: "G" })) as { id: string };
    await conn.sobject("Catalog__c").destroy(gone.id);
    const dangling = await rejection(
      conn
        .sobject("Line__c")
        .create({ Name: "X", Deal__c: deal.id, Item__c: gone.id })
        .then((r) => {
          if (!(r as { success: boolean }).success) throw Object.assign(new Error("refused"), { data: r });
        }),
    );
    expect(JSON.stringify(dangling.data ?? dangling.message)).toMatch(/ENTITY_IS_DELETED/);
    const restricted = await rejection(
      conn
        .sobject("Catalog__c")
        .destroy(itemId)
        .then((r) => {
          if (!(r as { success: boolean }).success) throw Object.assign(new Error("refused"), { data: r });
        }),
    );
    expect(JSON.stringify(restricted.data ?? restricted.message)).toMatch(/DELETE_FAILED/);

    // The state keeps the objects, and a master-detail row goes with its master.
    const state = org.server.control.exportState();
    org.server.control.importState(JSON.parse(JSON.stringify(state)));
    expect((await conn.query(`SELECT Id FROM Line__c WHERE Deal__c = '${deal.id}'`)).records).toHaveLength(1);
    await conn.sobject("Opportunity").destroy(deal.id);
    expect((await conn.query(`SELECT Id FROM Line__c WHERE Deal__c = '${deal.id}'`)).records).toHaveLength(0);
  });
});
