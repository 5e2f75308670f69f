import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPPORTUNITY_MAIN_FORM_ID, SEED_IDS } from "../../src/dataverse/index.js";
import { builtInTables } from "../../src/dataverse/schema/tables.js";
import { FormXmlError, validateFormXml } from "../../src/dataverse/views/form-xml.js";
import { type DataverseHarness, entityId, startDataverse } from "./harness.js";

/**
 * Forms (systemform) in the Dataverse emulator: the out-of-the-box Opportunity forms are seeded,
 * FormXml is validated on every write, `MSCRM.SolutionUniqueName` makes a form a component of the
 * solution, and PublishXml stamps `publishedon`.
 */

const opportunity = builtInTables().find((t) => t.logicalName === "opportunity")!;

const control = (id: string, field?: string, extra = "") =>
  `<control id="${id}" classid="{4273EDBD-AC1D-40D3-9FB2-095C621B552D}"${field ? ` datafieldname="${field}"` : ""}${extra} />`;
const tab = (cells: string[]) =>
  `<tab name="t" id="{11111111-1111-4111-8111-111111111111}"><columns><column width="100%"><sections><section name="s" id="{22222222-2222-4222-8222-222222222222}"><rows>${cells.map((x) => `<row><cell id="{33333333-3333-4333-8333-333333333333}">${x}</cell></row>`).join("")}</rows></section></sections></column></columns></tab>`;
const form = (cells: string[]) => `<form><tabs>${tab(cells)}</tabs></form>`;

describe("validateFormXml", () => {
  it("accepts a form and lists the columns its controls bind", () => {
    expect(validateFormXml(opportunity, form([control("name", "name"), control("notescontrol")]))).toEqual({
      boundColumns: ["name"],
      controlIds: ["name", "notescontrol"],
    });
  });

  it("refuses XML that is not well-formed, and a root other than <form>", () => {
    expect(() => validateFormXml(opportunity, "<form><tabs></form>")).toThrow(/not well-formed/);
    expect(() => validateFormXml(opportunity, "<grid />")).toThrow(/root element must be <form>/);
  });

  it("refuses a control bound to a column the table lacks, naming it", () => {
    expect(() => validateFormXml(opportunity, form([control("x", "nosuchcolumn")]))).toThrow(
      new FormXmlError("'opportunity' entity doesn't contain attribute with Name = 'nosuchcolumn'."),
    );
  });

  it("refuses two controls with one id (ids compare without case)", () => {
    expect(() =>
      validateFormXml(opportunity, form([control("name", "name"), control("NAME", "description")])),
    ).toThrow(/control id 'NAME' is used twice/);
  });

  it("refuses layout elements out of place and a disabled value that is not a Boolean", () => {
    expect(() =>
      validateFormXml(opportunity, `<form><tabs><section name="s"><rows /></section></tabs></form>`),
    ).toThrow(/<section> must be inside <sections>, not <tabs>/);
    expect(() =>
      validateFormXml(opportunity, `<form><tabs><tab name="t"><labels /></tab></tabs></form>`),
    ).toThrow(/tab 't' needs <columns>/);
    expect(() => validateFormXml(opportunity, form([control("name", "name", ' disabled="yes"')]))).toThrow(
      /must be true, false, 1 or 0/,
    );
    expect(
      validateFormXml(opportunity, form([control("name", "name", ' disabled="1"')])).boundColumns,
    ).toEqual(["name"]);
  });
});

let h: DataverseHarness;
const SOLUTION = "formsol";
let solutionId: string;

interface FormRow {
  formid: string;
  name: string;
  type: number;
  formxml: string;
  publishedon: string | null;
}

const readForm = async () =>
  (await h.getJson<FormRow>(`systemforms(${OPPORTUNITY_MAIN_FORM_ID})?$select=name,formxml,publishedon`))
    .body;

const formComponents = async () =>
  (
    await h.getJson<{ value: { objectid: string }[] }>(
      `solutioncomponents?$select=objectid&$filter=${encodeURIComponent(`_solutionid_value eq ${solutionId} and componenttype eq 60`)}`,
    )
  ).body.value.map((x) => x.objectid);

beforeAll(async () => {
  h = await startDataverse();
  const sol = await h.call("POST", "solutions", {
    body: {
      uniquename: SOLUTION,
      friendlyname: "Form solution",
      version: "1.0.0.0",
      "publisherid@odata.bind": `/publishers(${SEED_IDS.defaultPublisher})`,
    },
  });
  expect(sol.status).toBe(204);
  solutionId = entityId(sol);
});
afterAll(() => h.close());

describe("systemforms", () => {
  it("has the out-of-the-box main and quick create Opportunity forms; $filter on table and type finds the main one", async () => {
    const filter = encodeURIComponent("objecttypecode eq 'opportunity' and type eq 2");
    const { res, body } = await h.getJson<{ value: FormRow[] }>(
      `systemforms?$select=formid,name,type,formxml&$filter=${filter}`,
    );
    expect(res.status).toBe(200);
    expect(body.value.map((f) => [f.formid, f.name, f.type])).toEqual([
      [OPPORTUNITY_MAIN_FORM_ID, "Opportunity", 2],
    ]);
    // The seeded FormXml passes the emulator's own checks and binds the standard columns.
    const bound = validateFormXml(opportunity, body.value[0]!.formxml).boundColumns;
    expect(bound).toEqual(
      expect.arrayContaining(["name", "parentaccountid", "estimatedvalue", "description"]),
    );
    const all = await h.getJson<{ value: FormRow[] }>(
      `systemforms?$select=name,type&$filter=${encodeURIComponent("objecttypecode eq 'opportunity'")}`,
    );
    expect(all.body.value.map((f) => f.type).sort()).toEqual([2, 7]);
  });

  it("a PATCH of a bad FormXml is refused with the Web API's error and stores nothing", async () => {
    const before = await readForm();
    for (const [formxml, code, message] of [
      ["<form><tabs>", "0x80040203", /not well-formed/],
      [
        before.formxml.replace('datafieldname="description"', 'datafieldname="nosuch"'),
        "0x80041103",
        /'nosuch'/,
      ],
      [before.formxml.replace('control id="description"', 'control id="name"'), "0x80040203", /used twice/],
    ] as const) {
      const res = await h.call("PATCH", `systemforms(${OPPORTUNITY_MAIN_FORM_ID})`, {
        body: { formxml },
        headers: { "MSCRM.SolutionUniqueName": SOLUTION },
      });
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status).toBe(400);
      expect(body.error.code).toBe(code);
      expect(body.error.message).toMatch(message);
    }
    expect((await readForm()).formxml).toBe(before.formxml);
    // A refused write adds nothing to the solution.
    expect(await formComponents()).toEqual([]);
  });

  it("a form's table and type cannot be changed", async () => {
    const res = await h.call("PATCH", `systemforms(${OPPORTUNITY_MAIN_FORM_ID})`, {
      body: { objecttypecode: "account" },
    });
    expect(res.status).toBe(400);
  });

  it("a PATCH without the solution header stores the form and leaves the solution alone; with it, the form joins it once", async () => {
    const before = await readForm();
    const changed = before.formxml.replace(
      "</tabs>",
      `${tab([control("actualvalue", "actualvalue")])}</tabs>`,
    );
    expect(changed).not.toBe(before.formxml);
    expect(
      (await h.call("PATCH", `systemforms(${OPPORTUNITY_MAIN_FORM_ID})`, { body: { formxml: changed } }))
        .status,
    ).toBe(204);
    expect((await readForm()).formxml).toBe(changed);
    expect(await formComponents()).toEqual([]);
    for (let i = 0; i < 2; i++) {
      const res = await h.call("PATCH", `systemforms(${OPPORTUNITY_MAIN_FORM_ID})`, {
        body: { formxml: changed },
        headers: { "MSCRM.SolutionUniqueName": SOLUTION },
      });
      expect(res.status).toBe(204);
    }
    expect(await formComponents()).toEqual([OPPORTUNITY_MAIN_FORM_ID]);
  });

  it("publishedon moves only when the form's table is published", async () => {
    const before = (await readForm()).publishedon;
    expect(before).toEqual(expect.any(String));
    h.clock.advance(60_000);
    const publish = (entity: string) =>
      h.call("POST", "PublishXml", {
        body: {
          ParameterXml: `<importexportxml><entities><entity>${entity}</entity></entities></importexportxml>`,
        },
      });
    expect((await publish("account")).status).toBe(204);
    expect((await readForm()).publishedon).toBe(before);
    expect((await publish("opportunity")).status).toBe(204);
    const after = (await readForm()).publishedon;
    expect(Date.parse(String(after))).toBe(Math.floor(h.clock.now().getTime() / 1000) * 1000);
    // A write is not a publish.
    const current = (await readForm()).formxml;
    h.clock.advance(60_000);
    expect(
      (await h.call("PATCH", `systemforms(${OPPORTUNITY_MAIN_FORM_ID})`, { body: { formxml: current } }))
        .status,
    ).toBe(204);
    expect((await readForm()).publishedon).toBe(after);
  });

  it("AddSolutionComponent adds a form (ComponentType 60) to a solution", async () => {
    const made = await h.call("POST", "systemforms", {
      body: {
        name: "Second main form",
        objecttypecode: "opportunity",
        type: 2,
        formxml: form([control("name", "name")]),
      },
    });
    expect(made.status).toBe(204);
    const id = entityId(made);
    expect(await formComponents()).not.toContain(id);
    const res = await h.call("POST", "AddSolutionComponent", {
      body: {
        ComponentId: id,
        ComponentType: 60,
        SolutionUniqueName: SOLUTION,
        AddRequiredComponents: false,
      },
    });
    expect(res.status).toBe(204);
    expect(await formComponents()).toContain(id);
  });
});
