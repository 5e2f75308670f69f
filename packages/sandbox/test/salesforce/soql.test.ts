import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSoql, toId18 } from "../../src/salesforce/index.js";
import { startOrg, type TestOrg } from "./harness.js";

let org: TestOrg;
beforeAll(async () => {
  org = await startOrg();
});
afterAll(() => org.close());

const ids = (soql: string) => org.server.control.query(soql).records.map((r) => r.Id as string);
const names = (soql: string) => org.server.control.query(soql).records.map((r) => r.Name as string);

describe("ids", () => {
  it("computes Salesforce's 18-char checksum suffix", () => {
    expect(toId18("001A0000006Vm9r")).toBe("001A0000006Vm9rIAC");
    expect(toId18("001a0000006vm9r")).toBe("001a0000006vm9rAAA");
    expect(toId18("001A0000006Vm9rXXX")).toBe("001A0000006Vm9rIAC");
    expect(toId18("not-an-id")).toBeUndefined();
  });

  it("accepts 15-char ids in filters", () => {
    const [id] = ids("SELECT Id FROM Account WHERE Name = 'Contoso Ltd'");
    expect(ids(`SELECT Id FROM Account WHERE Id = '${id!.slice(0, 15)}'`)).toEqual([id]);
  });
});

describe("parser", () => {
  it("parses the connector's watermark query", () => {
    const q = parseSoql(
      "SELECT Id, Name, Account.Name FROM Opportunity WHERE SystemModstamp > 2024-01-01T00:00:00Z ORDER BY SystemModstamp ASC, Id LIMIT 200",
    );
    expect(q.select.map((s) => (s.kind === "field" ? s.path.join(".") : s.kind))).toEqual([
      "Id",
      "Name",
      "Account.Name",
    ]);
    expect(q.where).toMatchObject({
      kind: "compare",
      op: ">",
      value: { kind: "datetime", value: "2024-01-01T00:00:00Z" },
    });
    expect(q.orderBy.map((o) => [o.field.path.join("."), o.descending, o.nullsLast])).toEqual([
      ["SystemModstamp", false, false],
      ["Id", false, false],
    ]);
    expect(q.limit).toBe(200);
  });

  it("keeps keywords case-insensitive and string escapes intact", () => {
    const q = parseSoql("select id from opportunity where name = 'O\\'Brien \\\\ Co' and isclosed = FALSE");
    expect(q.where).toMatchObject({
      kind: "and",
      items: [
        { value: { kind: "string", value: "O'Brien \\ Co" } },
        { value: { kind: "boolean", value: false } },
      ],
    });
  });

  it.each([
    ["SELECT FROM Opportunity", /unexpected token: FROM/],
    ["SELECT Id FROM Opportunity WHERE", /unexpected token: <EOF>/],
    ["SELECT Id FROM Opportunity WHERE Name = 'open", /<EOF>/],
    ["SELECT Id FROM Opportunity LIMIT x", /unexpected token: x/],
    ["SELECT Id FROM Opportunity WHERE (Name = 'a'", /unexpected token: <EOF>/],
  ])("rejects %s", (soql, message) => {
    expect(() => parseSoql(soql)).toThrow(message);
  });
});

describe("executor semantics", () => {
  it("compares text case-insensitively and keeps nulls for !=", () => {
    expect(names("SELECT Name FROM Account WHERE Name = 'CONTOSO LTD'")).toEqual(["Contoso Ltd"]);
    const withState = org.server.control.all("Account").filter((a) => a.BillingState !== null).length;
    const all = org.server.control.all("Account").length;
    expect(ids("SELECT Id FROM Account WHERE BillingState != 'WA'")).toHaveLength(all - 1);
    expect(ids("SELECT Id FROM Account WHERE BillingState = null")).toHaveLength(all - withState);
  });

  it("orders text case-insensitively with DESC putting nulls last", () => {
    const states = org.server.control
      .query("SELECT BillingState FROM Account ORDER BY BillingState DESC")
      .records.map((r) => r.BillingState);
    const nonNull = states.filter((s) => s !== null) as string[];
    expect(nonNull).toEqual([...nonNull].sort((a, b) => b.toLowerCase().localeCompare(a.toLowerCase())));
    expect(states.slice(nonNull.length).every((s) => s === null)).toBe(true);
  });

  it("applies OFFSET after ORDER BY", () => {
    const all = names("SELECT Name FROM Opportunity ORDER BY Name");
    expect(names("SELECT Name FROM Opportunity ORDER BY Name LIMIT 3 OFFSET 4")).toEqual(all.slice(4, 7));
  });

  it("filters through relationships and semi-joins", () => {
    const viaJoin = ids(
      "SELECT Id FROM Opportunity WHERE Id IN (SELECT OpportunityId FROM OpportunityContactRole WHERE Contact.LastName = 'Whitfield')",
    );
    const direct = org.server.control
      .query("SELECT OpportunityId FROM OpportunityContactRole WHERE Contact.LastName = 'Whitfield'")
      .records.map((r) => r.OpportunityId);
    expect(viaJoin.sort()).toEqual([...new Set(direct)].sort());
    expect(viaJoin.length).toBeGreaterThan(0);
    expect(
      ids("SELECT Id FROM Opportunity WHERE Account.BillingCountry IN ('US', 'United States')").length,
    ).toBe(
      org.server.control.all("Opportunity").filter((o) => {
        const acc = org.server.control.get("Account", o.AccountId as string);
        return acc?.BillingCountry === "US" || acc?.BillingCountry === "United States";
      }).length,
    );
  });

  it("supports date literals relative to the sandbox clock", () => {
    const closeDates = org.server.control.all("Opportunity").map((o) => o.CloseDate as string);
    const inNext30 = closeDates.filter((d) => d > "2025-03-10" && d <= "2025-04-09").length;
    expect(ids("SELECT Id FROM Opportunity WHERE CloseDate = NEXT_N_DAYS:30")).toHaveLength(inNext30);
    expect(ids("SELECT Id FROM Opportunity WHERE CloseDate < TODAY")).toHaveLength(
      closeDates.filter((d) => d < "2025-03-10").length,
    );
  });

  it("counts with COUNT(Id) as an AggregateResult", () => {
    const res = org.server.control.query("SELECT COUNT(Id) n FROM Opportunity WHERE IsWon = true");
    expect(res.records).toEqual([{ attributes: { type: "AggregateResult" }, n: 3 }]);
  });

  it("expands FIELDS(STANDARD) and rejects FIELDS(ALL) without LIMIT 200", () => {
    const rec = org.server.control.query("SELECT FIELDS(STANDARD) FROM Campaign LIMIT 1").records[0]!;
    expect(Object.keys(rec)).toEqual(expect.arrayContaining(["Id", "Name", "IsActive", "SystemModstamp"]));
    expect(() => org.server.control.query("SELECT FIELDS(ALL) FROM Campaign")).toThrow(
      /LIMIT of at most 200/,
    );
  });

  it("rejects duplicate fields and bad boolean operators", () => {
    expect(() => org.server.control.query("SELECT Id, id FROM Account")).toThrow(
      /duplicate field selected: Id/,
    );
    expect(() => org.server.control.query("SELECT Id FROM Opportunity WHERE IsClosed > true")).toThrow(
      /invalid operator/,
    );
    expect(() => org.server.control.query("SELECT Id FROM Opportunity WHERE Amount = '5'")).toThrow(
      /must be of type double and should not be enclosed in quotes/,
    );
  });
});
