import type { Connection } from "jsforce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluate, FormulaError, parseFormula } from "../../src/salesforce/formula/formula.js";
import type { FieldDef } from "../../src/salesforce/schema/types.js";
import { clientCredentials, startOrg, type TestOrg, VERSION } from "./harness.js";

/** Fields of a made-up object, as describe would give them. */
const FIELDS: Record<string, Partial<FieldDef>> = {
  Answer__c: { type: "picklist" },
  Reason__c: { type: "picklist" },
  Details__c: { type: "string" },
  Stage__c: { type: "string" },
  Amount: { type: "currency" },
  IsPrivate: { type: "boolean" },
  Tags__c: { type: "multipicklist" },
};
const lookup = (n: string) => {
  const name = Object.keys(FIELDS).find((k) => k.toLowerCase() === n.toLowerCase());
  return name ? ({ name, ...FIELDS[name] } as FieldDef) : undefined;
};
const parse = (src: string) => parseFormula(src, lookup);
const run = (src: string, row: Record<string, unknown>) => evaluate(parse(src), row as never);

const DECLINE =
  'AND(ISPICKVAL(Answer__c, "decline"), Stage__c <> "declined", OR(ISBLANK(TEXT(Reason__c)), AND(ISPICKVAL(Reason__c, "other"), ISBLANK(Details__c))))';

describe("formula subset: parse and evaluate", () => {
  it("evaluates the decline rule's condition on blank, picked and 'other' values", () => {
    const row = { Answer__c: "decline", Reason__c: null, Details__c: null, Stage__c: null };
    expect(run(DECLINE, row)).toBe(true);
    expect(run(DECLINE, { ...row, Reason__c: "noCapacity" })).toBe(false);
    expect(run(DECLINE, { ...row, Reason__c: "other" })).toBe(true);
    expect(run(DECLINE, { ...row, Reason__c: "other", Details__c: "  x" })).toBe(false);
    expect(run(DECLINE, { ...row, Stage__c: "declined" })).toBe(false);
    expect(run(DECLINE, { ...row, Answer__c: "accept" })).toBe(false);
    // Function and field names are case-insensitive; a picklist value is not.
    expect(run('ispickval(answer__C, "Decline")', row)).toBe(false);
  });

  it("compares with =, ==, <>, != and literals of each type; a blank number compares as blank", () => {
    expect(run("Amount = 10", { Amount: 10 })).toBe(true);
    expect(run("Amount == 10.5", { Amount: 10.5 })).toBe(true);
    expect(run("Amount != 10", { Amount: 11 })).toBe(true);
    expect(run("Amount <> 10", { Amount: null })).toBeNull();
    expect(run("IsPrivate = TRUE", { IsPrivate: true })).toBe(true);
    expect(run("NOT(IsPrivate)", { IsPrivate: true })).toBe(false);
    expect(run("Details__c = 'it\\'s'", { Details__c: "it's" })).toBe(true);
    expect(run('Details__c = ""', { Details__c: null })).toBe(true);
    expect(run('TEXT(Amount) = "7"', { Amount: 7 })).toBe(true);
  });

  it("refuses what Salesforce refuses, and what the subset does not cover, with a message saying why", () => {
    const refused = (src: string, message: RegExp) => {
      expect(() => parse(src), src).toThrow(FormulaError);
      expect(() => parse(src), src).toThrow(message);
    };
    refused('ISPICKVAL(Nope__c, "x")', /Field Nope__c does not exist/);
    refused('Answer__c = "accept"', /picklist field/);
    refused("ISBLANK(Reason__c)", /picklist field/);
    refused('ISPICKVAL(Details__c, "x")', /ISPICKVAL/);
    refused("ISPICKVAL(Answer__c, Details__c)", /text literal/);
    refused('Amount = "10"', /Expected Number, received Text/);
    refused("AND(Details__c, TRUE)", /Expected Boolean, received Text/);
    refused("TEXT(Details__c)", /incompatible with expected data type \(true or false\)/);
    refused("NOT(TRUE, FALSE)", /Incorrect number of parameters/);
    refused("ISNEW()", /ISNEW is not supported/);
    refused("IsPrivate && TRUE", /sandbox org's formulas support/);
    refused("Amount > 3", /sandbox org's formulas support/);
    refused("ISBLANK(Tags__c)", /multipicklist/);
    refused('AND(TRUE, "x"', /Missing/);
    refused('Details__c = "open', /Missing/);
  });
});

let org: TestOrg;
let conn: Connection;
beforeAll(async () => {
  org = await startOrg();
  conn = await clientCredentials(org);
  org.server.control.upsertMetadata("CustomField", [
    {
      fullName: "Opportunity.Answer__c",
      label: "Answer",
      type: "Picklist",
      valueSet: {
        restricted: true,
        valueSetDefinition: { value: [{ fullName: "accept" }, { fullName: "decline" }] },
      },
    },
    { fullName: "Opportunity.Why__c", label: "Why", type: "Text", length: 80 },
    { fullName: "Opportunity.Ref__c", label: "Ref", type: "Text", length: 40, externalId: true },
  ]);
  org.server.control.upsertMetadata("PermissionSet", [
    {
      fullName: "Rule_Test",
      label: "Rule Test",
      fieldPermissions: ["Answer__c", "Why__c", "Ref__c"].map((f) => ({
        field: `Opportunity.${f}`,
        readable: true,
        editable: true,
      })),
    },
  ]);
  org.server.control.assignPermissionSet("Rule_Test");
});
afterAll(() => org.close());

const RULE = {
  fullName: "Opportunity.Decline_Needs_Why",
  active: true,
  description: "A decline says why.",
  errorConditionFormula: 'AND(ISPICKVAL(Answer__c, "decline"), ISBLANK(Why__c))',
  errorDisplayField: "Why__c",
  errorMessage: "Say why you decline.",
};
const opp = (extra: Record<string, unknown> = {}) => ({
  Name: "Rule deal",
  StageName: "Prospecting",
  CloseDate: "2025-09-30",
  ...extra,
});

/** A REST call with the connection's session, answered as parsed JSON with its status. */
async function rest(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${conn.instanceUrl}/services/data/v${VERSION}${path}`, {
    method,
    headers: { authorization: `Bearer ${conn.accessToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const REFUSED = [
  { message: "Say why you decline.", errorCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", fields: ["Why__c"] },
];
const REFUSED_ITEM = {
  success: false,
  errors: [
    { statusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", message: "Say why you decline.", fields: ["Why__c"] },
  ],
};

describe("ValidationRule through the Metadata API", () => {
  it("refuses a bad formula or a missing field in the SaveResult, and creates nothing", async () => {
    const bad = await conn.metadata.create("ValidationRule", {
      ...RULE,
      errorConditionFormula: 'ISPICKVAL(Nope__c, "x")',
    } as never);
    expect(bad).toMatchObject({
      success: false,
      fullName: RULE.fullName,
      errors: [
        {
          statusCode: "FIELD_INTEGRITY_EXCEPTION",
          fields: ["errorConditionFormula"],
          message: expect.stringContaining("Field Nope__c does not exist"),
        },
      ],
    });
    const unsupported = await conn.metadata.create("ValidationRule", {
      ...RULE,
      errorConditionFormula: "ISCHANGED(Why__c)",
    } as never);
    expect(unsupported).toMatchObject({
      success: false,
      errors: [{ message: expect.stringContaining("ISCHANGED is not supported") }],
    });
    const noMessage = await conn.metadata.create("ValidationRule", { ...RULE, errorMessage: "" } as never);
    expect(noMessage).toMatchObject({ success: false, errors: [{ statusCode: "REQUIRED_FIELD_MISSING" }] });
    // A missing component reads back without a fullName.
    expect((await conn.metadata.read("ValidationRule", RULE.fullName)).fullName).toBeFalsy();
  });

  it("creates, reads back and updates a rule; a duplicate create is refused", async () => {
    expect(await conn.metadata.create("ValidationRule", RULE as never)).toMatchObject({ success: true });
    expect(await conn.metadata.read("ValidationRule", RULE.fullName)).toMatchObject({
      ...RULE,
      active: true,
    });
    expect(await conn.metadata.create("ValidationRule", RULE as never)).toMatchObject({
      success: false,
      errors: [{ statusCode: "DUPLICATE_DEVELOPER_NAME" }],
    });
    expect(
      await conn.metadata.update("ValidationRule", { ...RULE, errorMessage: "Why?" } as never),
    ).toMatchObject({ success: true });
    expect(await conn.metadata.read("ValidationRule", RULE.fullName)).toMatchObject({ errorMessage: "Why?" });
    await conn.metadata.update("ValidationRule", RULE as never);
    const listed = await conn.metadata.list({ type: "ValidationRule" });
    expect((Array.isArray(listed) ? listed : [listed]).map((p) => p.fullName)).toContain(RULE.fullName);
  });
});

describe("an active rule on every write path", () => {
  it("REST create and update: 400 with Salesforce's error array; a valid write goes through", async () => {
    const created = await rest("POST", "/sobjects/Opportunity", opp({ Answer__c: "decline" }));
    expect(created).toEqual({ status: 400, json: REFUSED });
    const ok = await rest("POST", "/sobjects/Opportunity", opp({ Answer__c: "decline", Why__c: "Busy" }));
    expect(ok.status).toBe(201);
    const id = (ok.json as { id: string }).id;
    expect(await rest("PATCH", `/sobjects/Opportunity/${id}`, { Why__c: null })).toEqual({
      status: 400,
      json: REFUSED,
    });
    expect(org.server.control.get("Opportunity", id)!.Why__c).toBe("Busy");
    // A write that leaves the condition false is not refused, whatever it changes.
    expect(
      (await rest("PATCH", `/sobjects/Opportunity/${id}`, { Answer__c: "accept", Why__c: null })).status,
    ).toBe(204);
  });

  it("collections create, update and upsert: the record's SaveResult carries the error, others are saved", async () => {
    const created = await rest("POST", "/composite/sobjects", {
      allOrNone: false,
      records: [
        { attributes: { type: "Opportunity" }, ...opp({ Answer__c: "decline" }) },
        { attributes: { type: "Opportunity" }, ...opp({ Answer__c: "accept" }) },
      ],
    });
    expect(created.status).toBe(200);
    const [refused, saved] = created.json as { id?: string; success: boolean }[];
    expect(refused).toMatchObject(REFUSED_ITEM);
    expect(saved).toMatchObject({ success: true });

    const updated = await rest("PATCH", "/composite/sobjects", {
      allOrNone: false,
      records: [{ attributes: { type: "Opportunity" }, id: saved!.id, Answer__c: "decline" }],
    });
    expect(updated.json).toEqual([{ id: saved!.id, ...REFUSED_ITEM }]);

    const upserted = await rest("PATCH", "/composite/sobjects/Opportunity/Ref__c", {
      allOrNone: false,
      records: [{ attributes: { type: "Opportunity" }, Ref__c: "R-1", ...opp({ Answer__c: "decline" }) }],
    });
    expect((upserted.json as unknown[])[0]).toMatchObject(REFUSED_ITEM);

    // Composite subrequests go through the same endpoints.
    const composite = await rest("POST", "/composite", {
      compositeRequest: [
        {
          method: "POST",
          url: `/services/data/v${VERSION}/sobjects/Opportunity`,
          referenceId: "refused",
          body: opp({ Answer__c: "decline" }),
        },
      ],
    });
    expect((composite.json as { compositeResponse: unknown[] }).compositeResponse[0]).toMatchObject({
      httpStatusCode: 400,
      body: REFUSED,
    });
  });

  it("single upsert and control writes are refused too; an inactive rule is not enforced", async () => {
    expect(await rest("PATCH", "/sobjects/Opportunity/Ref__c/R-2", opp({ Answer__c: "decline" }))).toEqual({
      status: 400,
      json: REFUSED,
    });
    expect(() => org.server.control.insert("Opportunity", opp({ Answer__c: "decline" }))).toThrow(
      expect.objectContaining({ code: "FIELD_CUSTOM_VALIDATION_EXCEPTION", fields: ["Why__c"] }),
    );
    await conn.metadata.update("ValidationRule", { ...RULE, active: false } as never);
    expect((await rest("POST", "/sobjects/Opportunity", opp({ Answer__c: "decline" }))).status).toBe(201);
    await conn.metadata.update("ValidationRule", RULE as never);
  });

  it("a field a rule reads cannot be deleted; the rule survives a state export and import", async () => {
    const del = await conn.metadata.delete("CustomField", "Opportunity.Why__c");
    expect(del).toMatchObject({
      success: false,
      errors: [{ message: expect.stringContaining("Opportunity.Decline_Needs_Why") }],
    });
    const state = org.server.control.exportState();
    org.server.control.importState(state);
    expect(await rest("POST", "/sobjects/Opportunity", opp({ Answer__c: "decline" }))).toEqual({
      status: 400,
      json: REFUSED,
    });
  });
});
