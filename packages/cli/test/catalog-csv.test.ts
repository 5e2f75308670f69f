import { describe, expect, it } from "vitest";
import { parseCatalogCsv } from "../src/solutions/catalog-csv.js";

describe("catalog CSV", () => {
  it("reads id, name, kind and active; kind defaults to own, active to yes", () => {
    const csv =
      "id,name,kind,active\nsol-1,Contoso Insights,,\nsol-2,Azure OpenAI,microsoft,yes\nsol-3,Fabrikam Edge,third party,no\n";
    expect(parseCatalogCsv(csv)).toEqual({
      entries: [
        { id: "sol-1", name: "Contoso Insights", kind: "own", active: true },
        { id: "sol-2", name: "Azure OpenAI", kind: "microsoft", active: true },
        { id: "sol-3", name: "Fabrikam Edge", kind: "thirdParty", active: false },
      ],
      problems: [],
    });
  });

  it("takes Partner Center's column names, quoted cells and a byte-order mark", () => {
    const csv = '\uFEFFSolution ID,Solution Name\r\n"sol-9","Contoso, Data Platform"\r\n';
    expect(parseCatalogCsv(csv).entries).toEqual([
      { id: "sol-9", name: "Contoso, Data Platform", kind: "own", active: true },
    ]);
  });

  it("leaves out bad rows with their line and reason, and keeps the good ones", () => {
    const csv =
      "id,name,kind,active\nsol-1,One,own,\n,No id,own,\nsol-3,Three,partnerish,\nsol-4,Four,own,maybe\nsol-1,Again,own,\n";
    const { entries, problems } = parseCatalogCsv(csv);
    expect(entries.map((e) => e.id)).toEqual(["sol-1"]);
    expect(problems).toEqual([
      { line: 3, message: "id: give the Partner Center solution id" },
      { line: 4, message: 'kind "partnerish" is not one of own, microsoft, thirdParty' },
      { line: 5, message: 'active "maybe" is not yes or no' },
      { line: 6, message: "solution id sol-1 is already on line 2" },
    ]);
  });

  it("names the missing columns when the header lacks id or name", () => {
    const { entries, problems } = parseCatalogCsv("solution,label\nsol-1,One\n");
    expect(entries).toEqual([]);
    expect(problems[0]?.line).toBe(1);
    expect(problems[0]?.message).toContain('at least "id" and "name"');
    expect(problems[0]?.message).toContain('"solution", "label"');
  });

  it("reports a file that is not CSV instead of throwing", () => {
    const { problems } = parseCatalogCsv('id,name\n"sol-1,unterminated\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/not readable as CSV/);
  });
});
