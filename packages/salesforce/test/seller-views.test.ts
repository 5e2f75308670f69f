import { sampleDeal } from "@cosell/core/testing";
import { type Sandbox, startSandbox } from "@cosell/sandbox";
import type { Connection } from "jsforce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listViewSpecs, parseSalesforceConfig, SELLER_PERMISSION_SET } from "../src/index.js";
import { connectionAs, type EngineWorld, startEngineWorld } from "./engine-world.js";
import { adminOf, listViewRows, salesforceDriver, sandboxAdapter, sandboxConfig } from "./harness.js";

/**
 * A seller on Salesforce finds co-sell work in the list views setup creates on Opportunity, through
 * the REST list view resources as the UI does, signed in as themselves with the "Co-sell Seller"
 * permission set the admin assigned.
 */

const SELLER = "avery.chen@cosell.sandbox";

describe("a seller works from the co-sell list views", () => {
  let sb: EngineWorld["sb"];
  let side: EngineWorld["side"];
  let seller: Connection;
  let cycle: EngineWorld["cycle"];

  beforeAll(async () => {
    ({ sb, side, cycle } = await startEngineWorld());
    // The admin's step: setup creates the permission set, and does not assign it.
    sb.salesforce.assignPermissionSet(SELLER_PERMISSION_SET, SELLER);
    seller = await connectionAs(sb, SELLER);
  });
  afterAll(async () => {
    await sb?.stop();
  });

  const open = (developerName: string) => listViewRows(seller, developerName);
  const views = async () =>
    (
      await seller.request<{ listviews: { developerName: string; label: string }[] }>(
        `/services/data/v${seller.version}/sobjects/Opportunity/listviews`,
      )
    ).listviews;
  const idOf = (referralId: string) =>
    String(
      sb.salesforce.query(`SELECT Id FROM Opportunity WHERE Cosell_Referral_Id__c = '${referralId}'`)
        .records[0]!.Id,
    );
  const seconds = (salesforceDateTime: string) =>
    Math.floor(Date.parse(salesforceDateTime.replace("+0000", "Z")) / 1000);

  it("needs response, inbound, outbound, favorites and sync errors each show the records a seller expects", async () => {
    const first = sb.partnerCenter.sendInboundReferral().id;
    const second = sb.partnerCenter.sendInboundReferral().id;
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const outbound = await crm.createOpportunity(sampleDeal({ name: "Shared landing zone" }), {
      optedIn: true,
    });
    side.clock.advance(1000);
    expect((await cycle()).errors).toEqual([]);
    const [a, b] = [idOf(first), idOf(second)];

    // The seller sees the five views, with their labels.
    const listed = await views();
    expect(listed.map((v) => [v.developerName, v.label])).toEqual(
      expect.arrayContaining([
        ["Cosell_Needs_Response", "Co-sell – Needs response"],
        ["Cosell_Inbound", "Co-sell – Inbound"],
        ["Cosell_Outbound", "Co-sell – Outbound"],
        ["Cosell_Favorites", "Co-sell – Favorites"],
        ["Cosell_Sync_Errors", "Co-sell – Sync errors"],
      ]),
    );

    // Exactly the two referrals wait for an answer, each with its respond-by.
    const needs = await open("Cosell_Needs_Response");
    expect([...needs.keys()].sort()).toEqual([a, b].sort());
    for (const id of [a, b]) {
      const stored = sb.salesforce.get("Opportunity", id)!.Cosell_Respond_By__c;
      expect(typeof stored).toBe("string");
      const shown = needs.get(id)!.Cosell_Respond_By__c;
      expect(shown).not.toBeNull();
      expect(Math.floor(new Date(String(shown)).getTime() / 1000)).toBe(seconds(String(stored)));
    }
    expect([...(await open("Cosell_Inbound")).keys()].sort()).toEqual([a, b].sort());
    expect([...(await open("Cosell_Outbound")).keys()]).toEqual([outbound]);
    expect((await open("Cosell_Favorites")).size).toBe(0);
    expect((await open("Cosell_Sync_Errors")).size).toBe(0);

    // The seller accepts the first from the record, as the UI saves it; after a sync only the second waits.
    await seller.sobject("Opportunity").update({ Id: a, Cosell_Response__c: "accept" });
    side.clock.advance(1000);
    expect((await cycle()).errors).toEqual([]);
    expect(sb.partnerCenter.get(first)).toMatchObject({ substatus: "Accepted" });
    expect([...(await open("Cosell_Needs_Response")).keys()]).toEqual([b]);
    expect([...(await open("Cosell_Inbound")).keys()].sort()).toEqual([a, b].sort());

    // A favorite shows in Favorites (and reaches Partner Center's own flag).
    await seller.sobject("Opportunity").update({ Id: outbound, Cosell_Favorite__c: true });
    const favorites = await open("Cosell_Favorites");
    expect([...favorites.keys()]).toEqual([outbound]);
    side.clock.advance(1000);
    expect((await cycle()).errors).toEqual([]);
    expect([...(await open("Cosell_Favorites")).keys()]).toEqual([outbound]);

    // A decline made by moving the stage without a reason fails to sync: it shows in Sync errors.
    await seller.sobject("Opportunity").update({ Id: b, StageName: "Closed - Partner Declined" });
    side.clock.advance(1000);
    await cycle();
    const errors = await open("Cosell_Sync_Errors");
    expect([...errors.keys()]).toEqual([b]);
    // A picklist column shows the value's label, as Salesforce's list view results do.
    expect(errors.get(b)!.Cosell_Sync_Status__c).toBe("Error");
  });

  it("the seller permission set lets the seller answer but not edit cosell's status fields", async () => {
    const [opp] = sb.salesforce.query(
      "SELECT Id FROM Opportunity WHERE Cosell_Direction__c = 'inbound'",
    ).records;
    const refused = await seller
      .sobject("Opportunity")
      .update({ Id: String(opp!.Id), Cosell_Sync_Status__c: "synced" })
      .then(
        (r) => r,
        (e: Error) => ({ success: false, errors: [e] }),
      );
    expect(refused.success).toBe(false);
    const readable = await seller.query<Record<string, unknown>>(
      `SELECT Cosell_Sync_Status__c, Cosell_Stage__c FROM Opportunity WHERE Id = '${String(opp!.Id)}'`,
    );
    expect(readable.records[0]).toHaveProperty("Cosell_Stage__c");
  });
});

describe("setup and doctor: list views and the seller permission set", () => {
  let sb: Sandbox<"salesforce">;
  let admin: Connection;
  beforeAll(async () => {
    sb = await startSandbox({ systems: ["salesforce"] });
    admin = await adminOf(sb);
  });
  afterAll(async () => {
    await sb?.stop();
  });

  const specs = listViewSpecs(
    parseSalesforceConfig({
      kind: "salesforce",
      auth: {
        kind: "clientCredentials",
        clientId: "x",
        clientSecret: "y",
        loginUrl: "https://login.salesforce.com",
      },
    }).fields,
  );

  it("a bare org gets the five views and the seller permission set; a second run leaves them; doctor names a deleted view with the fix", async () => {
    const adapter = sandboxAdapter(sb);
    const first = await adapter.setup();
    for (const s of specs) expect(first.created).toContain(`List view ${s.fullName} "${s.label}"`);
    expect(first.created).toContain("Permission set Cosell_Seller (33 field grants)");
    // Setup does not assign the sellers' permission set to anyone.
    expect(
      sb.salesforce.query(
        `SELECT Id FROM PermissionSetAssignment WHERE PermissionSet.Name = '${SELLER_PERMISSION_SET}'`,
      ).totalSize,
    ).toBe(0);
    const ps = (await admin.metadata.read("PermissionSet", SELLER_PERMISSION_SET)) as unknown as {
      label: string;
      fieldPermissions: { field: string; readable: string | boolean; editable: string | boolean }[];
    };
    expect(ps.label).toBe("Co-sell Seller");
    const grant = (f: string) => ps.fieldPermissions.find((fp) => fp.field === `Opportunity.${f}`);
    expect(String(grant("Cosell_Response__c")?.editable)).toBe("true");
    expect(String(grant("Cosell_Favorite__c")?.editable)).toBe("true");
    expect(grant("Cosell_Sync_Status__c")).toMatchObject({});
    expect(String(grant("Cosell_Sync_Status__c")?.editable)).toBe("false");
    expect(String(grant("Cosell_Sync_Status__c")?.readable)).toBe("true");

    const second = await adapter.setup();
    expect(second.created).toEqual([]);
    for (const s of specs) expect(second.unchanged).toContain(`List view ${s.fullName}`);
    expect(second.unchanged).toContain(`Permission set ${SELLER_PERMISSION_SET}`);
    const healthy = await adapter.verifySetup();
    expect(healthy.checks.find((c) => c.name === "seller list views")).toMatchObject({ ok: true });
    expect(healthy.checks.find((c) => c.name === "seller permission set")).toMatchObject({ ok: true });

    expect(await admin.metadata.delete("ListView", "Opportunity.Cosell_Favorites")).toMatchObject({
      success: true,
    });
    const report = await adapter.verifySetup();
    expect(report.ok).toBe(false);
    const check = report.checks.find((c) => c.name === "seller list views")!;
    expect(check).toMatchObject({ ok: false });
    expect(check.detail).toContain('Opportunity.Cosell_Favorites ("Co-sell – Favorites") is missing');
    expect(check.detail).not.toContain("Cosell_Inbound");
    expect(check.fix).toContain("cosell setup");
    expect((await adapter.setup()).created).toEqual([
      'List view Opportunity.Cosell_Favorites "Co-sell – Favorites"',
    ]);
    expect((await adapter.verifySetup()).ok).toBe(true);
  });

  it("a view or a grant an admin changed is reported, then put back; the admin's grants on other fields stay", async () => {
    const adapter = sandboxAdapter(sb);
    await admin.metadata.update("ListView", {
      ...specs[0]!,
      filters: [specs[0]!.filters[0]!],
      columns: ["OPPORTUNITY.NAME"],
    } as never);
    sb.salesforce.upsertMetadata("CustomField", [
      { fullName: "Opportunity.Acme_Region__c", label: "Acme Region", type: "Text", length: 40 },
    ]);
    const ps = (await admin.metadata.read("PermissionSet", SELLER_PERMISSION_SET)) as unknown as {
      fieldPermissions: { field: string; readable: boolean | string; editable: boolean | string }[];
    };
    await admin.metadata.update("PermissionSet", {
      fullName: SELLER_PERMISSION_SET,
      label: "Co-sell Seller",
      fieldPermissions: [
        ...ps.fieldPermissions.map((fp) =>
          fp.field === "Opportunity.Cosell_Sync_Status__c" ? { ...fp, editable: true } : fp,
        ),
        { field: "Opportunity.Acme_Region__c", readable: true, editable: true },
      ],
    } as never);

    const report = await adapter.verifySetup();
    expect(report.checks.find((c) => c.name === "seller list views")?.detail).toContain(
      "Opportunity.Cosell_Needs_Response differs (other filters, other columns)",
    );
    expect(report.checks.find((c) => c.name === "seller permission set")?.detail).toContain(
      "Opportunity.Cosell_Sync_Status__c",
    );
    expect((await adapter.setup()).created).toEqual([
      "List view Opportunity.Cosell_Needs_Response: restored (it had other filters, other columns)",
      "Permission set Cosell_Seller: 1 field grants restored",
    ]);
    expect((await adapter.verifySetup()).ok).toBe(true);
    const after = (await admin.metadata.read("PermissionSet", SELLER_PERMISSION_SET)) as unknown as {
      fieldPermissions: { field: string; editable: boolean | string }[];
    };
    const editable = (f: string) => String(after.fieldPermissions.find((fp) => fp.field === f)?.editable);
    expect(editable("Opportunity.Cosell_Sync_Status__c")).toBe("false");
    expect(editable("Opportunity.Acme_Region__c")).toBe("true");
    expect(editable("Opportunity.Cosell_Response__c")).toBe("true");
  });
});
