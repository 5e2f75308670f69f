import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataverseError, SEED_IDS, systemUserIdFor } from "../../src/dataverse/index.js";
import { seedCrmDirectoryUsers, seedDirectoryUsers } from "../../src/graph/index.js";
import { type DataverseHarness, type Rows, startDataverse } from "./harness.js";

let h: DataverseHarness;
beforeAll(async () => {
  h = await startDataverse();
});
afterAll(() => h.close());

describe("seed data", () => {
  it("has users matching the Graph directory, accounts in several countries and opportunities in every state", () => {
    const c = h.server.control;
    const humans = c
      .all("systemusers")
      .filter((u) => u.applicationid === null && u.azureactivedirectoryobjectid !== null);
    const directory = seedCrmDirectoryUsers();
    expect(humans.map((u) => u.azureactivedirectoryobjectid).sort()).toEqual(
      directory.map((u) => u.id).sort(),
    );
    for (const d of directory) {
      const u = humans.find((x) => x.azureactivedirectoryobjectid === d.id)!;
      expect(u).toMatchObject({
        fullname: d.displayName,
        internalemailaddress: d.mail,
        domainname: d.userPrincipalName,
        address1_telephone1: d.businessPhones[0],
        isdisabled: !d.accountEnabled,
      });
    }
    expect(seedDirectoryUsers().length).toBeGreaterThan(directory.length);

    const countries = new Set(c.all("accounts").map((a) => a.address1_country));
    expect(countries.size).toBeGreaterThanOrEqual(8);
    expect(c.all("accounts").every((a) => typeof a.address1_postalcode === "string")).toBe(true);
    const opps = c.all("opportunities");
    expect(opps.length).toBeGreaterThanOrEqual(20);
    expect(new Set(opps.map((o) => o.statuscode))).toEqual(new Set([1, 2, 3, 4, 5]));
    const currencies = c
      .all("transactioncurrencies")
      .map((x) => x.isocurrencycode)
      .sort();
    expect(currencies).toEqual(["EUR", "GBP", "USD"]);
    const closed = opps.filter((o) => o.statecode !== 0);
    const closes = c.all("opportunitycloses");
    for (const o of closed) expect(closes.some((x) => x._opportunityid_value === o.opportunityid)).toBe(true);
    for (const o of opps)
      expect(Date.parse(String(o.modifiedon))).toBeLessThanOrEqual(h.clock.now().getTime());
  });

  it("is the same on every start", async () => {
    const other = await startDataverse();
    try {
      const ids = (x: DataverseHarness) =>
        x.server.control
          .all("opportunities")
          .map((o) => o.opportunityid)
          .sort();
      expect(ids(other)).toEqual(ids(h));
    } finally {
      await other.close();
    }
  });
});

describe("control", () => {
  it("insert / update / get / all / delete behave like user edits", () => {
    const c = h.server.control;
    const seller = systemUserIdFor(seedCrmDirectoryUsers()[1]!.id);
    const row = c.insert("accounts", {
      name: "Control Co",
      address1_country: "Spain",
      address1_postalcode: "28013",
    });
    expect(row._ownerid_value).toBe(c.defaultUserId);
    h.clock.advance(1000);
    const updated = c.update(
      "account",
      row.accountid as string,
      { telephone1: "+34 91 000 0000" },
      { asUserId: seller },
    );
    expect(updated._modifiedby_value).toBe(seller);
    expect(Number(updated.versionnumber)).toBeGreaterThan(Number(row.versionnumber));
    expect(c.get("accounts", row.accountid as string)!.telephone1).toBe("+34 91 000 0000");
    expect(c.all("accounts").some((a) => a.accountid === row.accountid)).toBe(true);
    c.delete("accounts", row.accountid as string);
    expect(c.get("accounts", row.accountid as string)).toBeUndefined();
    expect(() => c.update("accounts", row.accountid as string, { name: "x" })).toThrow(DataverseError);
    try {
      c.insert("opportunities", { name: "x", salesstage: 42 });
      expect.unreachable();
    } catch (e) {
      expect((e as DataverseError).code).toBe("0x80044331");
      expect((e as DataverseError).status).toBe(400);
    }
  });

  it("seeds tens of thousands of opportunities that page, filter and track like the rest", async () => {
    const before = h.server.control.count("opportunities");
    const ids = h.server.control.seedOpportunities(20_000, { seed: 7 });
    expect(ids).toHaveLength(20_000);
    expect(new Set(ids).size).toBe(20_000);
    expect(h.server.control.count("opportunities")).toBe(before + 20_000);
    const page = await h.getJson<Rows>(
      "opportunities?$select=name,estimatedvalue,statecode&$filter=statecode eq 0&$orderby=estimatedvalue desc",
      {
        Prefer: "odata.maxpagesize=5000",
      },
    );
    expect(page.body.value).toHaveLength(5000);
    expect(page.body["@odata.nextLink"]).toBeDefined();
    const values = page.body.value.map((r) => r.estimatedvalue as number);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    const one = h.server.control.get("opportunities", ids[123]!)!;
    expect(one._transactioncurrencyid_value).toBeTruthy();
    expect(one["@odata.etag"]).toBe(`W/"${one.versionnumber}"`);
  });

  it("exports and imports the whole environment, custom columns and keys included", async () => {
    const c = h.server.control;
    c.installCosellSetup();
    const id = c.all("opportunities")[0]!.opportunityid as string;
    c.update("opportunities", id, { cosell_referralid: "EXPORTED-1" });
    c.setChangeTracking("campaigns", true);
    const state = JSON.parse(JSON.stringify(c.exportState()));

    const copy = await startDataverse({ seed: false });
    try {
      expect(copy.server.control.count("opportunities")).toBe(0);
      copy.server.control.importState(state);
      expect(copy.server.control.count("opportunities")).toBe(c.count("opportunities"));
      const byKey = await copy.getJson("opportunities(cosell_referralid='EXPORTED-1')?$select=opportunityid");
      expect(byKey.body.opportunityid).toBe(id);
      const tracked = await copy.call("GET", "campaigns?$select=name", {
        headers: { Prefer: "odata.track-changes" },
      });
      expect(tracked.status).toBe(200);
      // Row versions continue after the imported ones.
      const created = copy.server.control.insert("opportunities", { name: "after import" });
      expect(Number(created.versionnumber)).toBeGreaterThan(
        Number(c.get("opportunities", id)!.versionnumber),
      );
    } finally {
      await copy.close();
    }
    expect(() => c.importState({ format: "something else" } as never)).toThrow(DataverseError);
  });

  it("keeps the organization basics without sample data", async () => {
    const empty = await startDataverse({ seed: false });
    try {
      const who = await empty.getJson<{ BusinessUnitId: string }>("WhoAmI");
      expect(who.body.BusinessUnitId).toBe(SEED_IDS.businessUnit);
      expect(empty.server.control.count("accounts")).toBe(0);
      expect(empty.server.control.count("transactioncurrencies")).toBe(3);
    } finally {
      await empty.close();
    }
  });
});
