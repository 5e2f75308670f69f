import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED_IDS } from "../../src/dataverse/index.js";
import { type DataverseHarness, entityId, startDataverse, T0 } from "./harness.js";

let h: DataverseHarness;
let appUserId: string;
const account = () => h.server.control.all("accounts")[0]!;

beforeAll(async () => {
  h = await startDataverse();
  appUserId = ((await (await h.call("GET", "WhoAmI")).json()) as { UserId: string }).UserId;
});
afterAll(() => h.close());

async function create(body: Record<string, unknown>): Promise<string> {
  const res = await h.call("POST", "opportunities", { body });
  expect(res.status, await res.clone().text()).toBe(204);
  return entityId(res);
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

describe("Dataverse writes", () => {
  it("creates with 204 + OData-EntityId, stamping version, times, owner and the base currency", async () => {
    const res = await h.call("POST", "opportunities", {
      body: {
        name: "New deal",
        estimatedvalue: 50000,
        estimatedclosedate: "2025-06-30",
        "parentaccountid@odata.bind": `/accounts(${account().accountid})`,
      },
    });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect(res.headers.get("OData-Version")).toBe("4.0");
    const id = entityId(res);
    expect(res.headers.get("OData-EntityId")).toBe(`${h.api}opportunities(${id})`);
    const row = h.server.control.get("opportunities", id)!;
    expect(row["@odata.etag"]).toBe(`W/"${row.versionnumber}"`);
    expect(row.createdon).toBe(T0.toISOString().replace(".000", ""));
    expect(row.modifiedon).toBe(row.createdon);
    expect(row._ownerid_value).toBe(appUserId);
    expect(row._createdby_value).toBe(appUserId);
    expect(row._transactioncurrencyid_value).toBe(SEED_IDS.usd);
    expect(row.exchangerate).toBe(1);
    expect(row.estimatedvalue_base).toBe(50000);
    expect(row.statecode).toBe(0);
    expect(row.statuscode).toBe(1);
    expect(row._parentaccountid_value).toBe(account().accountid);
  });

  it("answers 201 with the row and Preference-Applied (and no OData-EntityId) for return=representation", async () => {
    const res = await h.call("POST", "opportunities?$select=name,estimatedvalue", {
      body: { name: "Represented", estimatedvalue: 10 },
      headers: { Prefer: "return=representation" },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("Preference-Applied")).toBe("return=representation");
    expect(res.headers.get("OData-EntityId")).toBeNull();
    const body = (await res.json()) as Record<string, unknown>;
    expect(body["@odata.context"]).toBe(`${h.api}$metadata#opportunities(name,estimatedvalue)/$entity`);
    expect(body.name).toBe("Represented");
    expect(body.estimatedvalue).toBe(10);
    expect(body["@odata.etag"]).toBe(res.headers.get("ETag"));
    expect(typeof body.opportunityid).toBe("string");
  });

  it("bumps the version and modifiedon on every update, and checks If-Match", async () => {
    const id = await create({ name: "Versioned" });
    const v1 = h.server.control.get("opportunities", id)!;
    h.clock.advance(90_000);
    const ok = await h.call("PATCH", `opportunities(${id})`, {
      body: { description: "first" },
      headers: { "If-Match": v1["@odata.etag"] as string },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get("OData-EntityId")).toBe(`${h.api}opportunities(${id})`);
    const v2 = h.server.control.get("opportunities", id)!;
    expect(Number(v2.versionnumber)).toBeGreaterThan(Number(v1.versionnumber));
    expect(Date.parse(String(v2.modifiedon)) - Date.parse(String(v1.modifiedon))).toBe(90_000);
    expect(v2.createdon).toBe(v1.createdon);

    const stale = await h.call("PATCH", `opportunities(${id})`, {
      body: { description: "second" },
      headers: { "If-Match": v1["@odata.etag"] as string },
    });
    expect(stale.status).toBe(412);
    expect(await stale.json()).toEqual({
      error: {
        code: "0x80060882",
        message: "The version of the existing record doesn't match the RowVersion property provided.",
      },
    });
    expect(h.server.control.get("opportunities", id)!.description).toBe("first");

    const staleDelete = await h.call("DELETE", `opportunities(${id})`, {
      headers: { "If-Match": v1["@odata.etag"] as string },
    });
    expect(staleDelete.status).toBe(412);
  });

  it("upserts by id: If-Match * refuses to create, If-None-Match * refuses to update, no header does either", async () => {
    const missing = "11111111-2222-4333-8444-555555555555";
    const noCreate = await h.call("PATCH", `opportunities(${missing})`, {
      body: { name: "x" },
      headers: { "If-Match": "*" },
    });
    expect(noCreate.status).toBe(404);
    expect((await errorOf(noCreate)).message).toBe(`opportunity With Id = ${missing} Does Not Exist`);

    const created = await h.call("PATCH", `opportunities(${missing})`, {
      body: { name: "Upserted" },
      headers: { "If-None-Match": "*" },
    });
    expect(created.status).toBe(204);
    expect(h.server.control.get("opportunities", missing)!.name).toBe("Upserted");

    const noUpdate = await h.call("PATCH", `opportunities(${missing})`, {
      body: { name: "again" },
      headers: { "If-None-Match": "*" },
    });
    expect(noUpdate.status).toBe(412);
    expect((await errorOf(noUpdate)).message).toBe("A record with matching key values already exists.");

    const updated = await h.call("PATCH", `opportunities(${missing})?$select=name`, {
      body: { name: "Updated" },
      headers: { Prefer: "return=representation" },
    });
    expect(updated.status).toBe(200);
    expect(((await updated.json()) as { name: string }).name).toBe("Updated");

    const other = "22222222-2222-4333-8444-555555555555";
    const upsertCreated = await h.call("PATCH", `opportunities(${other})?$select=name`, {
      body: { name: "Created by upsert" },
      headers: { Prefer: "return=representation" },
    });
    expect(upsertCreated.status).toBe(201);
  });

  it("binds, re-binds and clears lookups with @odata.bind in every URL form", async () => {
    const [a1, a2] = h.server.control.all("accounts");
    const contact = h.server.control.all("contacts")[0]!;
    const eur = SEED_IDS.eur;
    const id = await create({
      name: "Bound",
      estimatedvalue: 920,
      "parentaccountid@odata.bind": `accounts(${a1!.accountid})`,
      "customerid_contact@odata.bind": `${h.api}contacts(${contact.contactid})`,
      "transactioncurrencyid@odata.bind": `/transactioncurrencies(${eur})`,
      "ownerid@odata.bind": `/systemusers(${SEED_IDS.systemUser})`,
    });
    let row = h.server.control.get("opportunities", id)!;
    expect(row._parentaccountid_value).toBe(a1!.accountid);
    expect(row._customerid_value).toBe(contact.contactid);
    expect(row._ownerid_value).toBe(SEED_IDS.systemUser);
    expect(row.exchangerate).toBe(0.92);
    expect(row.estimatedvalue_base).toBe(1000);
    const annotated = await h.getJson(`opportunities(${id})?$select=_customerid_value`, {
      Prefer: 'odata.include-annotations="*"',
    });
    expect(annotated.body["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"]).toBe("contact");
    expect(annotated.body["_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"]).toBe(
      "customerid_contact",
    );

    await h.call("PATCH", `opportunities(${id})`, {
      body: {
        "parentaccountid@odata.bind": `/accounts(${a2!.accountid})`,
        "customerid_account@odata.bind": null,
      },
    });
    row = h.server.control.get("opportunities", id)!;
    expect(row._parentaccountid_value).toBe(a2!.accountid);
    expect(row._customerid_value).toBeNull();
    await h.call("PATCH", `opportunities(${id})`, { body: { parentaccountid: null } });
    expect(h.server.control.get("opportunities", id)!._parentaccountid_value).toBeNull();

    const ref = await h.call("PUT", `opportunities(${id})/parentaccountid/$ref`, {
      body: { "@odata.id": `${h.api}accounts(${a1!.accountid})` },
    });
    expect(ref.status).toBe(204);
    expect(h.server.control.get("opportunities", id)!._parentaccountid_value).toBe(a1!.accountid);
    const unref = await h.call("DELETE", `opportunities(${id})/parentaccountid/$ref`);
    expect(unref.status).toBe(204);
    expect(h.server.control.get("opportunities", id)!._parentaccountid_value).toBeNull();
  });

  it("refuses bad binds the way Dataverse does", async () => {
    const missing = "33333333-2222-4333-8444-555555555555";
    const notFound = await h.call("POST", "opportunities", {
      body: { name: "x", "parentaccountid@odata.bind": `/accounts(${missing})` },
    });
    expect(notFound.status).toBe(404);
    expect(await errorOf(notFound)).toEqual({
      code: "0x80040217",
      message: `account With Id = ${missing} Does Not Exist`,
    });

    const contact = h.server.control.all("contacts")[0]!;
    const wrongSet = await h.call("POST", "opportunities", {
      body: { name: "x", "parentaccountid@odata.bind": `/contacts(${contact.contactid})` },
    });
    expect(wrongSet.status).toBe(400);

    const undeclared = await h.call("POST", "opportunities", {
      body: { name: "x", "nosuchnav@odata.bind": `/accounts(${missing})` },
    });
    expect(undeclared.status).toBe(400);
    expect((await errorOf(undeclared)).message).toMatch(
      /^An undeclared property 'nosuchnav' which only has property annotations/,
    );

    const lookupValue = await h.call("POST", "opportunities", {
      body: { name: "x", _parentaccountid_value: account().accountid },
    });
    expect(lookupValue.status).toBe(400);
    expect(await errorOf(lookupValue)).toEqual({
      code: "0x80048d19",
      message:
        "CRM do not support direct update of Entity Reference properties, Use Navigation properties instead.",
    });
    const malformed = await h.call("POST", "opportunities", {
      body: { name: "x", "parentaccountid@odata.bind": "not a url" },
    });
    expect(malformed.status).toBe(400);
  });

  it("validates values: lengths, choices, Edm.Date, types and unknown columns", async () => {
    const long = await h.call("POST", "opportunities", { body: { name: "x".repeat(301) } });
    expect(long.status).toBe(400);
    expect(await errorOf(long)).toEqual({
      code: "0x80044331",
      message:
        "A validation error occurred.  The length of the 'name' attribute of the 'opportunity' entity exceeded the maximum allowed length of '300'.",
    });
    const stage = await h.call("POST", "opportunities", { body: { name: "x", salesstage: 9 } });
    expect((await errorOf(stage)).message).toMatch(/The value 9 of 'salesstage' .* Accepted Values: 0,1,2,3/);
    const dateTime = await h.call("POST", "opportunities", {
      body: { name: "x", estimatedclosedate: "2025-06-30T00:00:00Z" },
    });
    expect(dateTime.status).toBe(400);
    expect((await errorOf(dateTime)).message).toBe(
      "Cannot convert the literal '2025-06-30T00:00:00Z' to the expected type 'Edm.Date'.",
    );
    const money = await h.call("POST", "opportunities", { body: { name: "x", estimatedvalue: "100" } });
    expect((await errorOf(money)).message).toBe(
      "Cannot convert the literal '100' to the expected type 'Edm.Decimal'.",
    );
    const unknown = await h.call("POST", "opportunities", { body: { name: "x", cosell_referralid: "R-1" } });
    expect(unknown.status).toBe(400);
    expect(await errorOf(unknown)).toEqual({
      code: "0x80060888",
      message:
        "The property 'cosell_referralid' does not exist on type 'Microsoft.Dynamics.CRM.opportunity'. Make sure to only use property names that are defined by the type.",
    });
    const badJson = await h.call("POST", "opportunities", { body: "{name:" });
    expect(badJson.status).toBe(400);
  });

  it("deletes with 204, then 404; reads and writes single properties", async () => {
    const id = await create({ name: "Doomed" });
    const put = await h.call("PUT", `opportunities(${id})/description`, { body: { value: "set by PUT" } });
    expect(put.status).toBe(204);
    expect(h.server.control.get("opportunities", id)!.description).toBe("set by PUT");
    const del = await h.call("DELETE", `opportunities(${id})`);
    expect(del.status).toBe(204);
    expect((await h.call("GET", `opportunities(${id})`)).status).toBe(404);
    expect((await h.call("DELETE", `opportunities(${id})`)).status).toBe(404);
  });

  it("logs requests by route for per-endpoint counts", async () => {
    const id = await create({ name: "Logged" });
    await h.call("PATCH", `opportunities(${id})`, { body: { description: "x" } });
    expect(h.log.count({ server: "dataverse", endpoint: "PATCH /opportunities({id})" })).toBeGreaterThan(0);
    expect(h.log.count({ server: "dataverse", endpoint: "POST /opportunities" })).toBeGreaterThan(0);
  });
});
