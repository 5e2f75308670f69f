import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DataverseHarness, type Rows, startDataverse } from "./harness.js";

let h: DataverseHarness;
beforeAll(async () => {
  h = await startDataverse();
});
afterAll(() => h.close());

type Opp = Record<string, unknown>;
const opps = () => h.server.control.all("opportunities") as Opp[];
const idsOf = (rows: Record<string, unknown>[], key = "opportunityid") =>
  rows.map((r) => r[key] as string).sort();

async function filterIds(filter: string): Promise<string[]> {
  const { res, body } = await h.getJson<Rows>(
    `opportunities?$select=name&$filter=${encodeURIComponent(filter)}`,
  );
  expect(res.status, JSON.stringify(body)).toBe(200);
  return idsOf(body.value);
}

describe("Dataverse queries", () => {
  it("pages with odata.maxpagesize: absolute nextLink with a $skiptoken cookie, Preference-Applied, no row lost", async () => {
    const all = opps();
    expect(all.length).toBeGreaterThan(12);
    let url = "opportunities?$select=name,modifiedon&$orderby=name asc";
    const seen: Record<string, unknown>[] = [];
    let pages = 0;
    for (;;) {
      const res = await h.call("GET", url, { headers: { Prefer: "odata.maxpagesize=5" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("OData-Version")).toBe("4.0");
      expect(res.headers.get("Preference-Applied")).toBe("odata.maxpagesize=5");
      const body = (await res.json()) as Rows;
      expect(body["@odata.context"]).toBe(`${h.api}$metadata#opportunities(name,modifiedon)`);
      expect(body.value.length).toBeLessThanOrEqual(5);
      for (const row of body.value) expect(row["@odata.etag"]).toMatch(/^W\/"\d+"$/);
      seen.push(...body.value);
      pages++;
      const next = body["@odata.nextLink"];
      if (!next) break;
      expect(
        next.startsWith(`${h.api}opportunities?$select=name,modifiedon&$orderby=name%20asc&$skiptoken=`),
      ).toBe(true);
      expect(decodeURIComponent(new URL(next).searchParams.get("$skiptoken") ?? "")).toMatch(
        /^<cookie pagenumber="\d+" pagingcookie="[^"]+" istracking="False" \/>$/,
      );
      url = next;
    }
    expect(pages).toBe(Math.ceil(all.length / 5));
    expect(idsOf(seen)).toEqual(idsOf(all));
    const names = seen.map((r) => String(r.name).toLowerCase());
    expect(names).toEqual([...names].sort());
  });

  it("keeps paging by sort values, so a row that moves while a client pages does not hide others", async () => {
    const first = await h.call(
      "GET",
      "opportunities?$select=name&$filter=statecode eq 0&$orderby=modifiedon asc",
      {
        headers: { Prefer: "odata.maxpagesize=4" },
      },
    );
    const page1 = (await first.json()) as Rows;
    // Someone edits a row of page 1: its modifiedon moves to the end of the order.
    h.clock.advance(60_000);
    h.server.control.update("opportunities", page1.value[0]!.opportunityid as string, {
      description: "edited",
    });
    const seen = [...page1.value];
    let next = page1["@odata.nextLink"];
    while (next) {
      const body = (await (
        await h.call("GET", next, { headers: { Prefer: "odata.maxpagesize=4" } })
      ).json()) as Rows;
      seen.push(...body.value);
      next = body["@odata.nextLink"];
    }
    expect(new Set(idsOf(seen))).toEqual(new Set(idsOf(opps().filter((o) => o.statecode === 0))));
  });

  it("honours $top without a page size, and ignores it when odata.maxpagesize is present", async () => {
    const top = await h.getJson<Rows>("opportunities?$select=name&$top=3");
    expect(top.body.value).toHaveLength(3);
    expect(top.body["@odata.nextLink"]).toBeUndefined();
    const both = await h.getJson<Rows>("opportunities?$select=name&$top=3", {
      Prefer: "odata.maxpagesize=7",
    });
    expect(both.body.value).toHaveLength(7);
    expect(both.body["@odata.nextLink"]).toBeDefined();
  });

  it("filters with every operator over strings, numbers, dates, date-times, guids, null and booleans", async () => {
    const all = opps();
    const expectIds = async (filter: string, pred: (o: Opp) => boolean) =>
      expect(await filterIds(filter), filter).toEqual(idsOf(all.filter(pred)));
    await expectIds("statecode eq 0", (o) => o.statecode === 0);
    await expectIds("statuscode ne 1", (o) => o.statuscode !== 1);
    await expectIds("estimatedvalue gt 200000", (o) => (o.estimatedvalue as number) > 200000);
    await expectIds("estimatedvalue ge 210000 and estimatedvalue le 620000", (o) => {
      const v = o.estimatedvalue as number;
      return v >= 210000 && v <= 620000;
    });
    await expectIds("estimatedvalue lt 50000", (o) => (o.estimatedvalue as number) < 50000);
    await expectIds("estimatedclosedate lt 2025-03-03", (o) => String(o.estimatedclosedate) < "2025-03-03");
    await expectIds("estimatedclosedate ge 2025-06-01", (o) => String(o.estimatedclosedate) >= "2025-06-01");
    await expectIds(
      "modifiedon ge 2025-02-25T00:00:00Z",
      (o) => Date.parse(String(o.modifiedon)) >= Date.parse("2025-02-25T00:00:00Z"),
    );
    const account = all[0]!._parentaccountid_value as string;
    await expectIds(`_parentaccountid_value eq ${account}`, (o) => o._parentaccountid_value === account);
    await expectIds("_campaignid_value eq null", (o) => o._campaignid_value === null);
    await expectIds("_campaignid_value ne null", (o) => o._campaignid_value !== null);
    await expectIds("contains(name,'AZURE')", (o) => String(o.name).toLowerCase().includes("azure"));
    await expectIds("startswith(name,'co')", (o) => String(o.name).toLowerCase().startsWith("co"));
    await expectIds("not contains(name,'azure')", (o) => !String(o.name).toLowerCase().includes("azure"));
    await expectIds(
      "(statecode eq 1 or statecode eq 2) and estimatedvalue lt 100000",
      (o) => (o.statecode === 1 || o.statecode === 2) && (o.estimatedvalue as number) < 100000,
    );
    await expectIds("salesstage in (0,1)", (o) => o.salesstage === 0 || o.salesstage === 1);

    const users = h.server.control.all("systemusers");
    const disabled = await h.getJson<Rows>("systemusers?$select=fullname&$filter=isdisabled eq true");
    expect(idsOf(disabled.body.value, "systemuserid")).toEqual(
      idsOf(
        users.filter((u) => u.isdisabled === true),
        "systemuserid",
      ),
    );
    const aad = users.find((u) => typeof u.azureactivedirectoryobjectid === "string")!;
    const byAad = await h.getJson<Rows>(
      `systemusers?$select=fullname&$filter=azureactivedirectoryobjectid eq ${aad.azureactivedirectoryobjectid}`,
    );
    expect(byAad.body.value.map((u) => u.systemuserid)).toEqual([aad.systemuserid]);
  });

  it("a lookup by ids (or'ed eq, or in) answers as the full scan does: any case, unknown ids, ids combined with another term", async () => {
    const all = opps();
    const idOf = (i: number) => String(all[i]!.opportunityid);
    const [a, b, c] = [idOf(0), idOf(1), idOf(2)];
    const unknown = "00000000-0000-0000-0000-0000000000ff";
    expect(await filterIds(`opportunityid eq ${a} or opportunityid eq ${b.toUpperCase()}`)).toEqual(
      [a, b].sort(),
    );
    expect(await filterIds(`opportunityid eq ${a} or opportunityid eq ${unknown}`)).toEqual([a]);
    expect(await filterIds(`${c} eq opportunityid`)).toEqual([c]);
    expect(await filterIds(`opportunityid in (${a}, ${c})`)).toEqual([a, c].sort());
    // Not a pure id lookup: the other term still filters (here it matches none of them).
    expect(
      await filterIds(`(opportunityid eq ${a} or opportunityid eq ${b}) and name eq 'no such name'`),
    ).toEqual([]);
    expect(
      await filterIds(`opportunityid eq ${a} or name eq '${String(all[1]!.name).replace(/'/g, "''")}'`),
    ).toEqual(idsOf(all.filter((o) => o.opportunityid === a || o.name === all[1]!.name)));
  });

  it("answers Dataverse's errors for unknown properties, bad types, bad syntax and $skip", async () => {
    const cases: [string, number, string][] = [
      [
        "opportunities?$select=name,bogus",
        400,
        "Could not find a property named 'bogus' on type 'Microsoft.Dynamics.CRM.opportunity'.",
      ],
      [
        "opportunities?$filter=bogus eq 1",
        400,
        "Could not find a property named 'bogus' on type 'Microsoft.Dynamics.CRM.opportunity'.",
      ],
      [
        "opportunities?$orderby=bogus desc",
        400,
        "Could not find a property named 'bogus' on type 'Microsoft.Dynamics.CRM.opportunity'.",
      ],
      [
        "opportunities?$select=parentaccountid",
        400,
        "Could not find a property named 'parentaccountid' on type 'Microsoft.Dynamics.CRM.opportunity'.",
      ],
      [
        "opportunities?$filter=name eq 5",
        400,
        "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int32' for operator kind 'Equal'.",
      ],
      ["opportunities?$filter=name eq", 400, "Syntax error at position 7 in 'name eq'."],
      ["opportunities?$skip=5", 400, "The query parameter $skip is not supported"],
      ["nonsense", 404, "Resource not found for the segment 'nonsense'."],
      [
        "opportunities(00000000-0000-0000-0000-000000000001)",
        404,
        "opportunity With Id = 00000000-0000-0000-0000-000000000001 Does Not Exist",
      ],
    ];
    for (const [path, status, message] of cases) {
      const res = await h.call("GET", path);
      expect(res.status, path).toBe(status);
      expect(res.headers.get("content-type")).toBe("application/json; odata.metadata=minimal");
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.message, path).toBe(message);
      expect(body.error.code).toMatch(/^0x8\w{7}$/);
    }
  });

  it("sorts by several columns in either direction, nulls first ascending", async () => {
    const { body } = await h.getJson<Rows>(
      "opportunities?$select=salesstage,name,_campaignid_value&$orderby=salesstage desc,name asc",
    );
    const rows = body.value.map((r) => [r.salesstage as number, String(r.name).toLowerCase()] as const);
    const expected = [...rows].sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    expect(rows).toEqual(expected);
    const byCampaign = await h.getJson<Rows>(
      "opportunities?$select=_campaignid_value&$orderby=_campaignid_value asc",
    );
    const values = byCampaign.body.value.map((r) => r._campaignid_value);
    const firstNonNull = values.findIndex((v) => v !== null);
    expect(values.slice(firstNonNull).every((v) => v !== null)).toBe(true);
    expect(firstNonNull).toBeGreaterThan(0);
  });

  it("expands single-valued navigation properties with nested $select", async () => {
    const withCampaign = opps().find((o) => o._campaignid_value !== null)!;
    const { res, body } = await h.getJson(
      `opportunities(${withCampaign.opportunityid})?$select=name&$expand=parentaccountid($select=name,address1_country,address1_postalcode),ownerid($select=fullname,azureactivedirectoryobjectid),customerid_account($select=name),customerid_contact($select=fullname),campaignid($select=name),parentcontactid($select=fullname,emailaddress1)`,
    );
    expect(res.status).toBe(200);
    expect(body["@odata.context"]).toBe(
      `${h.api}$metadata#opportunities(name,parentaccountid(name,address1_country,address1_postalcode),ownerid(fullname,azureactivedirectoryobjectid),customerid_account(name),customerid_contact(fullname),campaignid(name),parentcontactid(fullname,emailaddress1))/$entity`,
    );
    const account = h.server.control.get("accounts", withCampaign._parentaccountid_value as string)!;
    expect(body.parentaccountid).toEqual({
      "@odata.etag": account["@odata.etag"],
      name: account.name,
      address1_country: account.address1_country,
      address1_postalcode: account.address1_postalcode,
      accountid: account.accountid,
    });
    expect((body.customerid_account as Record<string, unknown>).accountid).toBe(account.accountid);
    expect(body.customerid_contact).toBeNull();
    expect((body.ownerid as Record<string, unknown>).systemuserid).toBe(withCampaign._ownerid_value);
    expect((body.campaignid as Record<string, unknown>).campaignid).toBe(withCampaign._campaignid_value);
    expect((body.parentcontactid as Record<string, unknown>).emailaddress1).toMatch(/@/);

    const bad = await h.call("GET", "opportunities?$expand=nosuchnav");
    expect(bad.status).toBe(400);
  });

  it("adds FormattedValue and lookup annotations only when asked, and says so in Preference-Applied", async () => {
    const won = opps().find((o) => o.statuscode === 3)!;
    const plain = await h.getJson(
      `opportunities(${won.opportunityid})?$select=statecode,statuscode,_ownerid_value`,
    );
    expect(Object.keys(plain.body).some((k) => k.includes("@OData.Community"))).toBe(false);
    const annotated = await h.getJson(
      `opportunities(${won.opportunityid})?$select=statecode,statuscode,salesstage,estimatedvalue,_ownerid_value`,
      {
        Prefer:
          'odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname"',
      },
    );
    expect(annotated.res.headers.get("Preference-Applied")).toBe(
      'odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname"',
    );
    const b = annotated.body;
    expect(b["statecode@OData.Community.Display.V1.FormattedValue"]).toBe("Won");
    expect(b["statuscode@OData.Community.Display.V1.FormattedValue"]).toBe("Won");
    expect(b["salesstage@OData.Community.Display.V1.FormattedValue"]).toBe("Close");
    expect(b["estimatedvalue@OData.Community.Display.V1.FormattedValue"]).toMatch(/^[$€£][\d,]+\.\d{2}$/);
    const owner = h.server.control.get("systemusers", won._ownerid_value as string)!;
    expect(b["_ownerid_value@OData.Community.Display.V1.FormattedValue"]).toBe(owner.fullname);
    expect(b["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"]).toBe("systemuser");
    expect(b["_ownerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"]).toBeUndefined();
  });

  it("answers 304 to If-None-Match with the current ETag, but never with $expand or annotations", async () => {
    const o = opps()[0]!;
    const first = await h.call("GET", `opportunities(${o.opportunityid})?$select=name`);
    const etag = first.headers.get("ETag")!;
    expect(etag).toBe(o["@odata.etag"]);
    const again = await h.call("GET", `opportunities(${o.opportunityid})?$select=name`, {
      headers: { "If-None-Match": etag },
    });
    expect(again.status).toBe(304);
    const expanded = await h.call(
      "GET",
      `opportunities(${o.opportunityid})?$select=name&$expand=ownerid($select=fullname)`,
      {
        headers: { "If-None-Match": etag },
      },
    );
    expect(expanded.status).toBe(200);
    const annotated = await h.call("GET", `opportunities(${o.opportunityid})?$select=name`, {
      headers: { "If-None-Match": etag, Prefer: 'odata.include-annotations="*"' },
    });
    expect(annotated.status).toBe(200);
    const nullHeader = await h.call("GET", `opportunities(${o.opportunityid})?$select=name`, {
      headers: { "If-None-Match": "null" },
    });
    expect(nullHeader.status).toBe(200);
  });

  it("counts with $count=true and reads single properties", async () => {
    const { body } = await h.getJson<Rows & { "@odata.count": number }>(
      "opportunities?$select=name&$filter=statecode eq 0&$count=true",
    );
    expect(body["@odata.count"]).toBe(opps().filter((o) => o.statecode === 0).length);
    const o = opps()[0]!;
    const prop = await h.getJson(`opportunities(${o.opportunityid})/name`);
    expect(prop.body).toEqual({
      "@odata.context": `${h.api}$metadata#opportunities(${o.opportunityid})/name`,
      value: o.name,
    });
  });

  it("lists a user's security roles through systemuserroles_association", async () => {
    const who = await h.getJson<{ UserId: string }>("WhoAmI");
    const { body } = await h.getJson(
      `systemusers(${who.body.UserId})?$select=fullname,applicationid,accessmode&$expand=systemuserroles_association($select=name)`,
    );
    expect(String(body.fullname)).toMatch(/^# /);
    expect(body.accessmode).toBe(4);
    expect((body.systemuserroles_association as { name: string }[]).map((r) => r.name)).toEqual([
      "System Administrator",
    ]);
    const roles = await h.getJson<Rows>(
      `systemusers(${who.body.UserId})/systemuserroles_association?$select=name`,
    );
    expect(roles.body.value.map((r) => r.name)).toEqual(["System Administrator"]);
    const byName = await h.getJson<Rows>("roles?$select=name&$filter=name eq 'System Administrator'");
    expect(byName.body.value).toHaveLength(1);
  });
});
