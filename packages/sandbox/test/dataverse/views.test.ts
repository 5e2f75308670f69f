import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED_IDS } from "../../src/dataverse/index.js";
import { type DataverseHarness, entityId, type Rows, startDataverse } from "./harness.js";

/**
 * Saved views (savedquery) in the Dataverse emulator: FetchXml and LayoutXml are validated on every
 * write, `MSCRM.SolutionUniqueName` makes a view a component of the solution, and
 * `GET opportunities?savedQuery=` runs a view's FetchXml.
 */

let h: DataverseHarness;
const SOLUTION = "viewsol";
let solutionId: string;
/** The three test rows, by name. */
const ids = new Map<string, string>();
const NAMES = ["View test A", "View test B", "View test C"];

const fetchXml = (inner: string, entity = "opportunity") =>
  `<fetch version="1.0" mapping="logical"><entity name="${entity}">${inner}</entity></fetch>`;
const layoutXml = (cells: string[], object = 3) =>
  `<grid name="resultset" object="${object}" jump="name" select="1" icon="1" preview="1"><row name="result" id="opportunityid">${cells.map((c) => `<cell name="${c}" width="150" />`).join("")}</row></grid>`;
const testRows = `<filter type="and"><condition attribute="name" operator="in">${NAMES.map((n) => `<value>${n}</value>`).join("")}</condition></filter>`;

const view = (over: Record<string, unknown> = {}) => ({
  name: "Test view",
  returnedtypecode: "opportunity",
  querytype: 0,
  fetchxml: fetchXml(
    `<attribute name="name" /><attribute name="estimatedvalue" /><attribute name="parentaccountid" /><order attribute="estimatedvalue" descending="true" />${testRows}`,
  ),
  layoutxml: layoutXml(["name", "estimatedvalue", "parentaccountid"]),
  description: "A view for the tests.",
  ...over,
});

async function createView(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return h.call("POST", "savedqueries", { body, headers });
}

async function expectRefused(res: Response, code: string, message: RegExp) {
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(res.status, JSON.stringify(body)).toBe(400);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(message);
}

async function run(id: string, extra = "") {
  const res = await h.call("GET", `opportunities?savedQuery=${id}${extra}`);
  return { res, body: (await res.json()) as Rows };
}

beforeAll(async () => {
  h = await startDataverse();
  const sol = await h.call("POST", "solutions", {
    body: {
      uniquename: SOLUTION,
      friendlyname: "View solution",
      version: "1.0.0.0",
      "publisherid@odata.bind": `/publishers(${SEED_IDS.defaultPublisher})`,
    },
  });
  expect(sol.status).toBe(204);
  solutionId = entityId(sol);
  const account = h.server.control.all("accounts")[0]!;
  const values = [500, 900, null];
  NAMES.forEach((name, i) => {
    const row = h.server.control.insert("opportunities", {
      name,
      ...(values[i] === null ? {} : { estimatedvalue: values[i] }),
      "parentaccountid@odata.bind": `/accounts(${account.accountid})`,
    });
    ids.set(name, String(row.opportunityid));
  });
});
afterAll(() => h.close());

describe("savedqueries: FetchXml and LayoutXml are validated", () => {
  it("refuses XML that is not well-formed", async () => {
    await expectRefused(
      await createView(
        view({ fetchxml: '<fetch><entity name="opportunity"><attribute name="name"></entity></fetch>' }),
      ),
      "0x80040203",
      /not well-formed/,
    );
    await expectRefused(
      await createView(view({ layoutxml: '<grid name="resultset"><row id=opportunityid></row></grid>' })),
      "0x80040203",
      /not well-formed/,
    );
  });

  it("refuses a table that does not exist, or one other than returnedtypecode", async () => {
    await expectRefused(
      await createView(view({ fetchxml: fetchXml('<attribute name="name" />', "nosuchtable") })),
      "0x80040203",
      /'nosuchtable' does not exist/,
    );
    await expectRefused(
      await createView(view({ fetchxml: fetchXml('<attribute name="name" />', "account") })),
      "0x80040203",
      /queries 'account'/,
    );
  });

  it("refuses an attribute, condition or order column the table lacks, naming it", async () => {
    for (const inner of [
      '<attribute name="nosuchcolumn" />',
      '<attribute name="name" /><filter><condition attribute="nosuchcolumn" operator="eq" value="1" /></filter>',
      '<attribute name="name" /><order attribute="nosuchcolumn" descending="false" />',
    ])
      await expectRefused(
        await createView(view({ fetchxml: fetchXml(inner) })),
        "0x80041103",
        /'opportunity' entity doesn't contain attribute with Name = 'nosuchcolumn'/,
      );
  });

  it("refuses an operator outside the supported subset and a value of the wrong type", async () => {
    await expectRefused(
      await createView(
        view({
          fetchxml: fetchXml(
            '<attribute name="name" /><filter><condition attribute="name" operator="equals" value="x" /></filter>',
          ),
        }),
      ),
      "0x80040203",
      /operator 'equals' is not supported/,
    );
    await expectRefused(
      await createView(
        view({
          fetchxml: fetchXml(
            '<attribute name="name" /><filter><condition attribute="statecode" operator="eq" value="open" /></filter>',
          ),
        }),
      ),
      "0x80040203",
      /'open' of a condition on 'statecode'/,
    );
  });

  it("refuses a LayoutXml cell the table lacks, or a grid of another table", async () => {
    await expectRefused(
      await createView(view({ layoutxml: layoutXml(["name", "nosuchcolumn"]) })),
      "0x80041103",
      /Name = 'nosuchcolumn'/,
    );
    await expectRefused(
      await createView(view({ layoutxml: layoutXml(["name"], 1) })),
      "0x80040203",
      /object '1' is not the object type code of 'opportunity' \(3\)/,
    );
  });

  it("a refused PATCH leaves the stored view as it was", async () => {
    const res = await createView(view({ name: "Patch target" }));
    expect(res.status).toBe(204);
    const id = entityId(res);
    await expectRefused(
      await h.call("PATCH", `savedqueries(${id})`, {
        body: { fetchxml: fetchXml('<attribute name="nope" />') },
      }),
      "0x80041103",
      /Name = 'nope'/,
    );
    expect(h.server.control.get("savedqueries", id)?.fetchxml).toBe(view().fetchxml);
    await expectRefused(
      await h.call("PATCH", `savedqueries(${id})`, { body: { returnedtypecode: "account" } }),
      "0x80040203",
      /returnedtypecode of a view cannot be changed/,
    );
    const ok = await h.call("PATCH", `savedqueries(${id})`, { body: { description: "Changed." } });
    expect(ok.status).toBe(204);
    expect(h.server.control.get("savedqueries", id)?.description).toBe("Changed.");
  });
});

describe("savedqueries: solution components", () => {
  const components = async () =>
    (
      await h.getJson<Rows>(
        `solutioncomponents?$select=objectid,componenttype&$filter=${encodeURIComponent(`_solutionid_value eq ${solutionId} and componenttype eq 26`)}`,
      )
    ).body.value.map((r) => r.objectid);

  it("MSCRM.SolutionUniqueName makes the view a component of the solution; without it, it is not", async () => {
    const inSolution = entityId(
      await createView(view({ name: "In solution" }), { "MSCRM.SolutionUniqueName": SOLUTION }),
    );
    const outside = entityId(await createView(view({ name: "Outside" })));
    expect(await components()).toContain(inSolution);
    expect(await components()).not.toContain(outside);
    // AddSolutionComponent adds the other one; a second add changes nothing.
    for (let i = 0; i < 2; i++) {
      const add = await h.call("POST", "AddSolutionComponent", {
        body: {
          ComponentId: outside,
          ComponentType: 26,
          SolutionUniqueName: SOLUTION,
          AddRequiredComponents: false,
        },
      });
      expect(add.status).toBe(204);
    }
    expect((await components()).filter((x) => x === outside)).toHaveLength(1);
    // Deleting a view takes it out of the solution.
    expect((await h.call("DELETE", `savedqueries(${inSolution})`)).status).toBe(204);
    expect(await components()).not.toContain(inSolution);
  });

  it("refuses an unknown solution and direct writes of solution components", async () => {
    const res = await createView(view({ name: "Nowhere" }), { "MSCRM.SolutionUniqueName": "nosuchsolution" });
    expect(res.status).toBe(404);
    expect(h.server.control.all("savedqueries").some((r) => r.name === "Nowhere")).toBe(false);
    const direct = await h.call("POST", "solutioncomponents", { body: { componenttype: 26 } });
    expect(direct.status).toBe(400);
  });

  it("PublishXml refuses a table that does not exist", async () => {
    const ok = await h.call("POST", "PublishXml", {
      body: {
        ParameterXml: "<importexportxml><entities><entity>opportunity</entity></entities></importexportxml>",
      },
    });
    expect(ok.status).toBe(204);
    const bad = await h.call("POST", "PublishXml", {
      body: {
        ParameterXml: "<importexportxml><entities><entity>nosuchtable</entity></entities></importexportxml>",
      },
    });
    expect(bad.status).toBe(400);
  });
});

describe("opportunities?savedQuery= runs the view", () => {
  it("returns the rows the FetchXml selects, in its order, with its columns", async () => {
    const id = entityId(await createView(view({ name: "By value" })));
    const { res, body } = await run(id);
    expect(res.status, JSON.stringify(body)).toBe(200);
    // Descending by value; SQL Server puts the null last when descending.
    expect(body.value.map((r) => r.name)).toEqual(["View test B", "View test A", "View test C"]);
    expect(Object.keys(body.value[0]!).sort()).toEqual(
      ["@odata.etag", "_parentaccountid_value", "estimatedvalue", "name", "opportunityid"].sort(),
    );
  });

  it("applies eq, ne, null, not-null and nested or filters", async () => {
    const cases: [string, string[]][] = [
      ['<condition attribute="name" operator="eq" value="view test a" />', ["View test A"]],
      ['<condition attribute="estimatedvalue" operator="ne" value="500" />', ["View test B"]],
      ['<condition attribute="estimatedvalue" operator="null" />', ["View test C"]],
      ['<condition attribute="estimatedvalue" operator="not-null" />', ["View test A", "View test B"]],
      [
        '<filter type="or"><condition attribute="estimatedvalue" operator="null" /><condition attribute="estimatedvalue" operator="eq" value="900" /></filter>',
        ["View test B", "View test C"],
      ],
      [
        `<condition attribute="name" operator="not-in"><value>View test A</value></condition>`,
        ["View test B", "View test C"],
      ],
    ];
    for (const [condition, expected] of cases) {
      const id = entityId(
        await createView(
          view({
            name: `Filter ${condition}`,
            fetchxml: fetchXml(
              `<attribute name="name" /><order attribute="name" descending="false" />${testRows}<filter type="and">${condition}</filter>`,
            ),
          }),
        ),
      );
      const { body } = await run(id);
      expect(
        body.value.map((r) => r.name),
        condition,
      ).toEqual(expected);
    }
  });

  it("follows the data: a row that stops matching leaves the view", async () => {
    const id = entityId(
      await createView(
        view({
          name: "Open ones",
          fetchxml: fetchXml(
            `<attribute name="name" /><order attribute="name" descending="false" />${testRows}<filter><condition attribute="statuscode" operator="eq" value="1" /></filter>`,
          ),
        }),
      ),
    );
    expect((await run(id)).body.value).toHaveLength(3);
    h.server.control.update("opportunities", ids.get("View test A")!, { statuscode: 2 });
    expect((await run(id)).body.value.map((r) => r.name)).toEqual(["View test B", "View test C"]);
  });

  it("refuses an unknown view, a view of another table and added query options", async () => {
    const unknown = await run("00000000-0000-0000-0000-000000000001");
    expect(unknown.res.status).toBe(404);
    const id = entityId(await createView(view({ name: "For accounts" })));
    const wrongSet = await h.call("GET", `accounts?savedQuery=${id}`);
    expect(wrongSet.status).toBe(400);
    const withSelect = await run(id, "&$select=name");
    expect(withSelect.res.status).toBe(400);
  });
});
