import { runSolutionCatalogConformance, sampleDeal } from "@cosell/core/testing";
import { type Sandbox, startSandbox } from "@cosell/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SELLER_PERMISSION_SET } from "../src/index.js";
import { connectionAs, type EngineWorld, startEngineWorld } from "./engine-world.js";
import { salesforceDriver, sandboxAdapter, sandboxConfig } from "./harness.js";

/**
 * Issue 16 item 4 on a sandbox org: solutions and Microsoft's team as records. Setup creates the
 * catalog, deal-solution and team objects (and says nothing changes the second time); a referral's
 * solutions become rows and catalog entries; a seller's added row reaches Partner Center; Microsoft's
 * team shows as rows once it engages; text lines an older cosell wrote become rows.
 */

runSolutionCatalogConformance("salesforce (sandbox)", async () => {
  const sb = await startSandbox({ systems: ["salesforce"] });
  const adapter = sandboxAdapter(sb);
  await adapter.setup();
  return { catalog: adapter.solutionCatalog!, close: () => sb.stop() };
});

const SELLER = "avery.chen@cosell.sandbox";
const OBJECTS = ["Cosell_Solution__c", "Cosell_Deal_Solution__c", "Cosell_Microsoft_Team_Member__c"];

describe("setup of the solution objects", () => {
  let sb: Sandbox<"partnerCenter" | "salesforce">;
  beforeAll(async () => {
    sb = await startSandbox({ systems: ["partnerCenter", "salesforce"] });
  });
  afterAll(async () => {
    await sb?.stop();
  });

  it("creates the objects on a bare org; a second run changes nothing; old text lines become rows", async () => {
    const adapter = sandboxAdapter(sb);
    const first = await adapter.setup();
    for (const o of OBJECTS) expect(first.created.some((l) => l.startsWith(`Object ${o} `))).toBe(true);
    expect(first.created).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Layout .*related lists|section added/)]),
    );
    const again = await adapter.setup();
    expect(again.created).toEqual([]);
    expect(again.unchanged).toEqual(expect.arrayContaining(OBJECTS.map((o) => `Object ${o} and its fields`)));
    const doctor = await adapter.verifySetup();
    expect(doctor.checks.find((c) => c.name === "solution objects")).toMatchObject({ ok: true });
    expect(doctor.checks.find((c) => c.name === "seller page layout")).toMatchObject({ ok: true });

    // Text an older cosell left: moved into rows (the catalog gets the entries), the text emptied.
    const crmId = sb.salesforce.insert("Opportunity", {
      Name: "Older deal",
      StageName: "Prospecting",
      CloseDate: "2027-01-31",
      Cosell_Sync__c: true,
      Cosell_Solutions__c: "sol-a | Contoso Insights | own\nsol-b | Azure OpenAI | microsoft",
    });
    const migrated = await adapter.setup();
    expect(migrated.created).toEqual([
      "Solutions of 1 opportunities moved from text into Cosell_Deal_Solution__c rows",
    ]);
    const rows = sb.salesforce.query(
      `SELECT Cosell_Solution__r.Cosell_Solution_Id__c, Cosell_Solution__r.Cosell_Kind__c FROM Cosell_Deal_Solution__c WHERE Cosell_Opportunity__c = '${crmId}' ORDER BY Cosell_Solution__r.Cosell_Solution_Id__c`,
    ).records;
    expect(rows.map((r) => r.Cosell_Solution__r)).toMatchObject([
      { Cosell_Solution_Id__c: "sol-a", Cosell_Kind__c: "own" },
      { Cosell_Solution_Id__c: "sol-b", Cosell_Kind__c: "microsoft" },
    ]);
    expect(sb.salesforce.get("Opportunity", crmId)?.Cosell_Solutions__c ?? null).toBeNull();
    expect((await adapter.setup()).created).toEqual([]);
    const [record] = await adapter.read([crmId]);
    expect(record!.deal.solutions.map((s) => s.id).sort()).toEqual(["sol-a", "sol-b"]);
  });

  it("doctor names a missing solution object and says how to fix it", async () => {
    const adapter = sandboxAdapter(sb);
    await adapter.setup();
    // Objects the integration user may not read: doctor says so (the adapter would keep to the text field).
    sb.salesforce.upsertMetadata("PermissionSet", [
      { fullName: "Cosell_Sync", label: "Cosell Sync", objectPermissions: [] },
    ]);
    const hidden = (await adapter.verifySetup()).checks.find((c) => c.name === "solution objects");
    expect(hidden).toMatchObject({ ok: false, detail: expect.stringContaining("cannot read them") });
    await adapter.setup();
    expect((await adapter.verifySetup()).checks.find((c) => c.name === "solution objects")?.ok).toBe(true);
    const conn = await connectionAs(sb, "integration@cosell.sandbox");
    const [deleted] = [
      await conn.metadata.delete("CustomObject", ["Cosell_Microsoft_Team_Member__c"]),
    ].flat();
    expect(deleted).toMatchObject({ success: true });
    const check = (await adapter.verifySetup()).checks.find((c) => c.name === "solution objects");
    expect(check?.ok).toBe(false);
    expect(check?.detail).toContain("Cosell_Microsoft_Team_Member__c");
    expect(check?.fix).toContain("cosell setup");
  });
});

describe("solutions and Microsoft's team through the sync", () => {
  let world: EngineWorld;
  beforeAll(async () => {
    world = await startEngineWorld();
  });
  afterAll(async () => {
    await world?.sb.stop();
  });

  const dealSolutions = (crmId: string) =>
    world.sb.salesforce
      .query(
        `SELECT Id, Cosell_Solution__c, Cosell_Solution__r.Cosell_Solution_Id__c FROM Cosell_Deal_Solution__c WHERE Cosell_Opportunity__c = '${crmId}'`,
      )
      .records.map((r) =>
        String((r.Cosell_Solution__r as { Cosell_Solution_Id__c: string }).Cosell_Solution_Id__c),
      )
      .sort();

  it("a referral's solutions become rows and catalog entries; a seller's added row reaches Partner Center", async () => {
    const { sb, side, cycle } = world;
    const referral = sb.partnerCenter.sendInboundReferral({
      details: {
        requirements: {
          solutions: [
            { id: "ms-aoai", name: "Azure OpenAI", type: "Category" },
            { id: "own-ins", name: "Contoso Insights", type: "Name" },
          ],
        },
      },
    });
    side.clock.advance(1000);
    expect((await cycle()).errors).toEqual([]);
    const opp = sb.salesforce.query(
      `SELECT Id, Cosell_Solutions__c FROM Opportunity WHERE Cosell_Referral_Id__c = '${referral.id}'`,
    ).records[0]!;
    const crmId = String(opp.Id);
    expect(opp.Cosell_Solutions__c ?? null).toBeNull();
    expect(dealSolutions(crmId)).toEqual(["ms-aoai", "own-ins"]);
    const catalog = await world.adapter.solutionCatalog!.list();
    expect(
      catalog.filter((e) => e.id === "ms-aoai" || e.id === "own-ins").map((e) => [e.name, e.kind, e.active]),
    ).toEqual([
      ["Azure OpenAI", "microsoft", true],
      ["Contoso Insights", "own", true],
    ]);

    // The seller adds a catalog solution on the opportunity page.
    await world.adapter.solutionCatalog!.upsert([
      { id: "tp-sec", name: "Fabrikam Security", kind: "thirdParty", active: true },
    ]);
    const entry = sb.salesforce.query(
      "SELECT Id FROM Cosell_Solution__c WHERE Cosell_Solution_Id__c = 'tp-sec'",
    ).records[0]!;
    // The row's name is Salesforce's number: the seller picks the solution and types nothing else.
    const added = sb.salesforce.insert("Cosell_Deal_Solution__c", {
      Cosell_Opportunity__c: crmId,
      Cosell_Solution__c: entry.Id,
    });
    expect(String(sb.salesforce.get("Cosell_Deal_Solution__c", added)?.Name)).toMatch(/^DS-\d{6}$/);
    // Partner Center takes solution changes once the referral is accepted: the seller accepts too.
    sb.salesforce.update("Opportunity", crmId, { Cosell_Response__c: "accept" });
    side.clock.advance(1000);
    expect((await cycle()).errors).toEqual([]);
    const tags = sb.partnerCenter.get(referral.id)!.details?.requirements?.solutions ?? [];
    expect(tags.map((t) => t.id).sort()).toEqual(["ms-aoai", "own-ins", "tp-sec"]);
    // Nothing more to write: the rows and Partner Center agree.
    expect(dealSolutions(crmId)).toEqual(["ms-aoai", "own-ins", "tp-sec"]);

    // The seller removes one: Partner Center loses it too.
    const row = sb.salesforce.query(
      `SELECT Id FROM Cosell_Deal_Solution__c WHERE Cosell_Opportunity__c = '${crmId}' AND Cosell_Solution__c = '${String(entry.Id)}'`,
    ).records[0]!;
    sb.salesforce.delete("Cosell_Deal_Solution__c", String(row.Id));
    side.clock.advance(1000);
    expect((await cycle()).errors).toEqual([]);
    const left = sb.partnerCenter.get(referral.id)!.details?.requirements?.solutions ?? [];
    expect(left.map((t) => t.id).sort()).toEqual(["ms-aoai", "own-ins"]);
  });

  it("a deal-solution row must point at a catalog entry that exists", async () => {
    const { sb } = world;
    const crmId = String(sb.salesforce.query("SELECT Id FROM Opportunity LIMIT 1").records[0]!.Id);
    await world.adapter.solutionCatalog!.upsert([{ id: "gone", name: "Gone", kind: "own", active: true }]);
    const gone = String(
      sb.salesforce.query("SELECT Id FROM Cosell_Solution__c WHERE Cosell_Solution_Id__c = 'gone'")
        .records[0]!.Id,
    );
    sb.salesforce.delete("Cosell_Solution__c", gone);
    expect(() =>
      sb.salesforce.insert("Cosell_Deal_Solution__c", {
        Cosell_Opportunity__c: crmId,
        Cosell_Solution__c: gone,
      }),
    ).toThrow(/entity is deleted/);
    // A catalog entry on a deal cannot be deleted (deleteConstraint Restrict): it is made inactive instead.
    const used = String(
      sb.salesforce.query("SELECT Cosell_Solution__c FROM Cosell_Deal_Solution__c LIMIT 1").records[0]!
        .Cosell_Solution__c,
    );
    expect(() => sb.salesforce.delete("Cosell_Solution__c", used)).toThrow(/associated with/);
  });

  it("Microsoft's team shows as rows once Microsoft engages, read-only for sellers, and goes with its opportunity", async () => {
    const { sb, side, cycle } = world;
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const crmId = await crm.createOpportunity(
      sampleDeal({
        name: "Landing zone",
        invitation: { microsoftHelpRequested: true, helpType: "CustomerTechnicalArchitecture" },
      }),
      { optedIn: true },
    );
    side.clock.advance(1000);
    expect((await cycle()).errors).toEqual([]);
    const referralId = sb.partnerCenter.all().find((r) => r.externalReferenceId === crmId)!.id;
    sb.partnerCenter.engage(referralId);
    expect((await cycle()).errors).toEqual([]);
    const teamRows = () =>
      sb.salesforce.query(
        `SELECT Id, Name, Cosell_Email__c, LastModifiedDate FROM Cosell_Microsoft_Team_Member__c WHERE Cosell_Opportunity__c = '${crmId}'`,
      ).records;
    const team = teamRows();
    expect(team.length).toBeGreaterThan(0);
    expect(team.every((m) => String(m.Cosell_Email__c).includes("@"))).toBe(true);
    const [record] = await world.adapter.read([crmId]);
    expect(record!.deal.microsoftTeam?.map((m) => m.email).sort()).toEqual(
      team.map((m) => String(m.Cosell_Email__c)).sort(),
    );
    // A later cycle leaves the rows alone: they read back as Partner Center's team.
    side.clock.advance(1000);
    expect((await cycle()).errors).toEqual([]);
    expect(teamRows()).toEqual(team);
    // Read-only for sellers: with Co-sell Seller they read the rows and change none of them.
    sb.salesforce.assignPermissionSet(SELLER_PERMISSION_SET, SELLER);
    const seller = await connectionAs(sb, SELLER);
    const seen = await seller.query(
      `SELECT Id, Cosell_Email__c FROM Cosell_Microsoft_Team_Member__c WHERE Cosell_Opportunity__c = '${crmId}'`,
    );
    expect(seen.totalSize).toBe(team.length);
    const refused = (p: Promise<unknown>) =>
      p.then(
        (r) => r as { success: boolean },
        (e: Error & { errorCode?: string }) => ({ success: false, errorCode: e.errorCode }),
      );
    const members = seller.sobject("Cosell_Microsoft_Team_Member__c");
    expect(
      await refused(members.update({ Id: String(team[0]!.Id), Cosell_Email__c: "someone@contoso.com" })),
    ).toMatchObject({ success: false });
    expect(
      await refused(members.create({ Cosell_Opportunity__c: crmId, Cosell_Email__c: "someone@contoso.com" })),
    ).toMatchObject({ success: false });
    expect(await refused(members.destroy(String(team[0]!.Id)))).toMatchObject({ success: false });
    expect(teamRows()).toEqual(team);
    // Deleting the opportunity deletes its rows (master-detail).
    sb.salesforce.delete("Opportunity", crmId);
    expect(teamRows()).toEqual([]);
  });
});
