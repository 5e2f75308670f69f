import jsforce, { type Connection } from "jsforce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCredentials, rejection, startOrg, type TestOrg } from "./harness.js";

const PAGE = 7;

let org: TestOrg;
let conn: Connection;
beforeAll(async () => {
  org = await startOrg({ queryPageSize: PAGE });
  conn = await clientCredentials(org);
});
afterAll(() => org.close());

interface Opp {
  Id: string;
  Name: string;
}

describe("query paging", () => {
  it("pages with nextRecordsUrl and queryMore until done", async () => {
    const soql = "SELECT Id, Name FROM Opportunity ORDER BY Name";
    const expected = org.server.control.query(soql).records.map((r) => r.Id);
    expect(expected).toHaveLength(20);

    const first = await conn.query<Opp>(soql);
    expect(first.totalSize).toBe(20);
    expect(first.done).toBe(false);
    expect(first.records).toHaveLength(PAGE);
    // jsforce hands back the absolute URL it rebuilt from the locator.
    expect(first.nextRecordsUrl).toMatch(/\/services\/data\/v62\.0\/query\/01g[A-Za-z0-9]{15}-7$/);
    expect(first.records[0]).toEqual({
      attributes: { type: "Opportunity", url: `/services/data/v62.0/sobjects/Opportunity/${expected[0]}` },
      Id: expected[0],
      Name: expect.any(String),
    });

    const second = await conn.queryMore<Opp>(first.nextRecordsUrl!);
    expect(second.records).toHaveLength(PAGE);
    expect(second.done).toBe(false);
    const third = await conn.queryMore<Opp>(second.nextRecordsUrl!);
    expect(third.done).toBe(true);
    expect(third.nextRecordsUrl).toBeUndefined();
    expect(third.records).toHaveLength(20 - 2 * PAGE);
    expect([...first.records, ...second.records, ...third.records].map((r) => r.Id)).toEqual(expected);
  });

  it("fetches every page with autoFetch", async () => {
    org.log.clear();
    const res = await conn.query<Opp>("SELECT Id FROM Opportunity", { autoFetch: true, maxFetch: 1000 });
    expect(res.records).toHaveLength(20);
    expect(new Set(res.records.map((r) => r.Id)).size).toBe(20);
    expect(org.log.count({ endpoint: "GET /query" })).toBe(1);
    expect(org.log.count({ endpoint: "GET /query/{locator}" })).toBe(2);
  });

  it("answers an empty result in one page", async () => {
    const res = await conn.query("SELECT Id FROM Opportunity WHERE Name = 'does not exist'");
    expect(res).toEqual({ totalSize: 0, done: true, records: [] });
  });

  it("pages rows with equal SystemModstamp without skipping or repeating, even when rows change meanwhile", async () => {
    const ids = org.server.control.seedOpportunities(25, { namePrefix: "Tie" });
    const stamp = org.server.control.get("Opportunity", ids[0]!)!.SystemModstamp as string;
    expect(new Set(ids.map((id) => org.server.control.get("Opportunity", id)!.SystemModstamp)).size).toBe(1);
    const soql = `SELECT Id FROM Opportunity WHERE SystemModstamp >= ${stamp.replace("+0000", "Z")} AND Name LIKE 'Tie%' ORDER BY SystemModstamp`;
    const first = await conn.query<Opp>(soql);
    // A write between pages does not shift the cursor.
    org.clock.advance(1000);
    org.server.control.update("Opportunity", ids[3]!, { NextStep: "Call back" });
    const seen = [...first.records];
    let page = first;
    while (!page.done) {
      page = await conn.queryMore<Opp>(page.nextRecordsUrl!);
      seen.push(...page.records);
    }
    expect(seen.map((r) => r.Id).sort()).toEqual([...ids].sort());
  });

  it("rejects an unknown locator with INVALID_QUERY_LOCATOR", async () => {
    const err = await rejection(conn.queryMore("01g8d0000000000000AAA-7"));
    expect(err.errorCode).toBe("INVALID_QUERY_LOCATOR");
  });
});

describe("queryAll", () => {
  it("shows deleted rows (IsDeleted = true) that query hides, including cascaded children", async () => {
    const { records } = await conn.query<Opp>(
      "SELECT Id FROM Opportunity WHERE StageName = 'Negotiation/Review' LIMIT 1",
    );
    const id = records[0]!.Id;
    const roles = await conn.query(`SELECT Id FROM OpportunityContactRole WHERE OpportunityId = '${id}'`);
    expect(roles.totalSize).toBeGreaterThan(0);

    await conn.sobject("Opportunity").destroy(id);

    expect((await conn.query(`SELECT Id FROM Opportunity WHERE Id = '${id}'`)).totalSize).toBe(0);
    const all = await conn.query<{ Id: string; IsDeleted: boolean }>(
      `SELECT Id, IsDeleted FROM Opportunity WHERE Id = '${id}'`,
      {
        scanAll: true,
      },
    );
    expect(all.records.map((r) => [r.Id, r.IsDeleted])).toEqual([[id, true]]);
    expect(org.log.count({ endpoint: "GET /queryAll" })).toBe(1);
    const deletedRoles = await conn.query(
      `SELECT Id FROM OpportunityContactRole WHERE OpportunityId = '${id}' AND IsDeleted = true`,
      { scanAll: true },
    );
    expect(deletedRoles.totalSize).toBe(roles.totalSize);
  });
});

describe("queryAll child sub-selects", () => {
  it("hold the parent's live and deleted children, and only the parent's", async () => {
    const fresh = (name: string) =>
      conn
        .sobject("Opportunity")
        .create({ Name: name, StageName: "Prospecting", CloseDate: "2026-06-30" })
        .then((r) => r.id as string);
    const a = await fresh("Child sub-select A");
    const b = await fresh("Child sub-select B");
    const contacts = await conn.query<{ Id: string }>("SELECT Id FROM Contact LIMIT 2");
    const roleOf = async (opp: string, contact: string, role: string) =>
      (
        await conn
          .sobject("OpportunityContactRole")
          .create({ OpportunityId: opp, ContactId: contact, Role: role })
      ).id as string;
    const kept = await roleOf(a, contacts.records[0]!.Id, "Decision Maker");
    const removed = await roleOf(a, contacts.records[1]!.Id, "Evaluator");
    const other = await roleOf(b, contacts.records[0]!.Id, "Influencer");
    await conn.sobject("OpportunityContactRole").destroy(removed);

    const sub = "(SELECT Id, IsDeleted FROM OpportunityContactRoles)";
    const rolesOf = (rec: Record<string, unknown>) =>
      (
        (rec.OpportunityContactRoles as { records: { Id: string; IsDeleted: boolean }[] } | null)?.records ??
        []
      ).map((r) => [r.Id, r.IsDeleted]);
    const live = await conn.query<Record<string, unknown>>(
      `SELECT Id, ${sub} FROM Opportunity WHERE Id = '${a}'`,
    );
    expect(rolesOf(live.records[0]!)).toContainEqual([kept, false]);
    expect(rolesOf(live.records[0]!).map(([id]) => id)).not.toContain(removed);

    const all = await conn.query<Record<string, unknown>>(
      `SELECT Id, ${sub} FROM Opportunity WHERE Id = '${a}'`,
      {
        scanAll: true,
      },
    );
    const withBin = rolesOf(all.records[0]!);
    expect(withBin).toContainEqual([kept, false]);
    expect(withBin).toContainEqual([removed, true]);
    expect(withBin.map(([id]) => id)).not.toContain(other);
  });
});

describe("SOQL features over REST", () => {
  it("returns relationship fields as nested records and null for an empty lookup", async () => {
    const acct = await conn.sobject("Account").create({ Name: "Nested Co", BillingCountry: "Norway" });
    const owner = org.server.control.integrationUser;
    const opp = await conn.sobject("Opportunity").create({
      Name: "No account deal",
      StageName: "Prospecting",
      CloseDate: "2025-06-30",
    });
    const withAccount = await conn.sobject("Opportunity").create({
      Name: "Nested deal",
      StageName: "Prospecting",
      CloseDate: "2025-06-30",
      AccountId: acct.id,
    });
    const res = await conn.query<Record<string, unknown>>(
      `SELECT Name, Account.Name, Account.BillingCountry, Owner.Email FROM Opportunity WHERE Id IN ('${opp.id}', '${withAccount.id}') ORDER BY Name`,
    );
    expect(res.records[0]).toEqual({
      attributes: expect.objectContaining({ type: "Opportunity" }),
      Name: "Nested deal",
      Account: {
        attributes: { type: "Account", url: `/services/data/v62.0/sobjects/Account/${acct.id}` },
        Name: "Nested Co",
        BillingCountry: "Norway",
      },
      Owner: { attributes: expect.objectContaining({ type: "User" }), Email: owner.username },
    });
    expect(res.records[1]!.Account).toBeNull();
  });

  it("returns child sub-selects as nested query results", async () => {
    const res = await conn.query<Record<string, unknown>>(
      "SELECT Name, (SELECT Role, Contact.LastName FROM OpportunityContactRoles ORDER BY Role), (SELECT TeamMemberRole FROM OpportunityTeamMembers) FROM Opportunity WHERE Name LIKE 'Contoso%' ORDER BY Name LIMIT 1",
    );
    const rec = res.records[0]!;
    const roles = rec.OpportunityContactRoles as {
      totalSize: number;
      done: boolean;
      records: Record<string, unknown>[];
    };
    expect(roles.totalSize).toBe(2);
    expect(roles.done).toBe(true);
    expect(roles.records[0]).toMatchObject({
      attributes: { type: "OpportunityContactRole" },
      Role: expect.any(String),
      Contact: { attributes: { type: "Contact" }, LastName: expect.any(String) },
    });
    expect(rec.OpportunityTeamMembers === null || typeof rec.OpportunityTeamMembers === "object").toBe(true);
  });

  it("filters with IN, NOT IN, LIKE, NOT, NULL, booleans, date and datetime literals", async () => {
    const q = async (where: string) =>
      (await conn.query(`SELECT Id FROM Opportunity WHERE ${where}`, { autoFetch: true, maxFetch: 10_000 }))
        .totalSize;
    // Independent oracle: the stored rows filtered in plain JavaScript.
    const rows = org.server.control.all("Opportunity");
    const count = (pred: (r: Record<string, unknown>) => boolean) => rows.filter(pred).length;
    expect(await q("StageName IN ('Closed Won', 'Closed Lost')")).toBe(
      count((r) => r.StageName === "Closed Won" || r.StageName === "Closed Lost"),
    );
    expect(await q("IsClosed = true AND IsWon = false")).toBe(
      count((r) => r.IsClosed === true && r.IsWon === false),
    );
    expect(await q("StageName NOT IN ('Closed Won') AND IsClosed = true")).toBe(
      count((r) => r.StageName !== "Closed Won" && r.IsClosed === true),
    );
    expect(await q("Name LIKE 'contoso%'")).toBe(
      count((r) => String(r.Name).toLowerCase().startsWith("contoso")),
    );
    expect(await q("Name LIKE '%\\_%'")).toBe(count((r) => String(r.Name).includes("_")));
    expect(await q("NOT (Amount > 100000)")).toBe(
      count((r) => !(typeof r.Amount === "number" && r.Amount > 100000)),
    );
    expect(await q("CampaignId != null")).toBe(count((r) => r.CampaignId !== null));
    expect(await q("CloseDate < 2025-03-10")).toBe(count((r) => String(r.CloseDate) < "2025-03-10"));
    expect(await q("CreatedDate = TODAY")).toBe(count((r) => String(r.CreatedDate).startsWith("2025-03-10")));
    expect(await q("SystemModstamp > 2025-03-10T09:00:00Z")).toBe(
      count((r) => String(r.SystemModstamp) > "2025-03-10T09:00:00.000+0000"),
    );
    expect(await q("(StageName = 'Prospecting' OR StageName = 'Qualification') AND Amount >= 100000")).toBe(
      count(
        (r) =>
          (r.StageName === "Prospecting" || r.StageName === "Qualification") && Number(r.Amount) >= 100000,
      ),
    );
  });

  it("counts with COUNT() and orders with NULLS FIRST / LAST", async () => {
    const n = await conn.query("SELECT COUNT() FROM Opportunity WHERE IsClosed = false");
    expect(n).toEqual({
      totalSize: org.server.control.query("SELECT Id FROM Opportunity WHERE IsClosed = false").totalSize,
      done: true,
      records: [],
    });
    const desc = await conn.query<{ CampaignId: string | null }>(
      "SELECT CampaignId FROM Opportunity ORDER BY CampaignId DESC NULLS LAST, Name",
      { autoFetch: true },
    );
    const values = desc.records.map((r) => r.CampaignId);
    const firstNull = values.indexOf(null);
    expect(firstNull).toBeGreaterThan(0);
    expect(values.slice(firstNull).every((v) => v === null)).toBe(true);
    const asc = await conn.query<{ CampaignId: string | null }>(
      "SELECT CampaignId FROM Opportunity ORDER BY CampaignId LIMIT 1",
    );
    expect(asc.records[0]!.CampaignId).toBeNull();
  });

  it("reads the org's stages from OpportunityStage", async () => {
    const res = await conn.query<{ ApiName: string; IsClosed: boolean; IsWon: boolean }>(
      "SELECT ApiName, IsClosed, IsWon, DefaultProbability FROM OpportunityStage WHERE IsActive = true ORDER BY SortOrder",
      { autoFetch: true },
    );
    const byName = Object.fromEntries(res.records.map((r) => [r.ApiName, [r.IsClosed, r.IsWon]]));
    expect(byName["Co-sell Review"]).toEqual([false, false]);
    expect(byName["Closed - Partner Declined"]).toEqual([true, false]);
    expect(byName["Closed Won"]).toEqual([true, true]);
  });
});

describe("jsforce's query builder", () => {
  it("understands the SOQL that sobject().find() generates", async () => {
    type Row = { Id: string; Name: string; Amount: number | null; IsWon: boolean; StageName: string };
    const found = await conn
      .sobject("Opportunity")
      .find<Row>(
        {
          StageName: { $in: ["Closed Won", "Closed Lost", "Negotiation/Review"] },
          Amount: { $gte: 50000 },
          $or: [{ Name: { $like: "C%" } }, { IsWon: true }],
          CampaignId: { $exists: false },
          CloseDate: { $lte: jsforce.SfDate.toDateLiteral(new Date("2026-01-01T00:00:00Z")) },
        },
        ["Id", "Name", "Amount", "IsWon", "StageName"],
      )
      .sort({ Amount: -1 })
      .limit(5);
    const soql = org.log.filter({ endpoint: "GET /query" }).at(-1)!.url;
    expect(decodeURIComponent(soql.replace(/\+/g, " "))).toMatch(
      /WHERE .*StageName IN \(.*\) AND Amount >= 50000 AND \(Name LIKE 'C%' OR IsWon = true\)/,
    );
    const oracle = org.server.control
      .all("Opportunity")
      .filter(
        (r) =>
          ["Closed Won", "Closed Lost", "Negotiation/Review"].includes(String(r.StageName)) &&
          Number(r.Amount) >= 50000 &&
          (String(r.Name).toLowerCase().startsWith("c") || r.IsWon === true) &&
          r.CampaignId === null &&
          String(r.CloseDate) <= "2026-01-01",
      )
      .sort((a, b) => Number(b.Amount) - Number(a.Amount))
      .slice(0, 5);
    expect(found.map((r) => r.Amount)).toEqual(oracle.map((r) => r.Amount));
    expect(found.length).toBeGreaterThan(0);
    expect(await conn.sobject("Opportunity").count({ IsClosed: false })).toBe(
      org.server.control.all("Opportunity").filter((r) => r.IsClosed === false).length,
    );
  });
});

describe("query errors surface as jsforce errorCodes", () => {
  it.each([
    ["SELECT Id FRM Opportunity", "MALFORMED_QUERY", /ERROR at Row:1:Column:\d+\nunexpected token/],
    [
      "SELECT Id, Foo__c FROM Opportunity",
      "INVALID_FIELD",
      /^\nSELECT Id, Foo__c FROM Opportunity\n {11}\^\nERROR at Row:1:Column:12\nNo such column 'Foo__c' on entity 'Opportunity'/,
    ],
    ["SELECT Id FROM Opp", "INVALID_TYPE", /sObject type 'Opp' is not supported/],
    [
      "SELECT Id FROM Opportunity WHERE IsClosed = true AND Amount > 1 OR Name = 'x'",
      "MALFORMED_QUERY",
      /unexpected token: OR/,
    ],
    [
      "SELECT Id FROM Opportunity WHERE CloseDate > '2025-01-01'",
      "INVALID_FIELD",
      /must be of type date and should not be enclosed in quotes/,
    ],
    [
      "SELECT Id FROM Opportunity WHERE Id = 'nope'",
      "INVALID_QUERY_FILTER_OPERATOR",
      /invalid ID field: nope/,
    ],
    [
      "SELECT Account.Nme FROM Opportunity",
      "INVALID_FIELD",
      /No such column 'Account.Nme' on entity 'Account'/,
    ],
    [
      "SELECT Id FROM Opportunity WHERE Description = 'x'",
      "INVALID_FIELD",
      /field 'Description' can not be filtered/,
    ],
  ])("%s → %s", async (soql, code, message) => {
    const err = await rejection(conn.query(soql));
    expect(err.errorCode).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.data).toEqual({ errorCode: code, message: err.message });
  });
});
