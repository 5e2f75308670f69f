import { sampleDeal } from "@cosell/core/testing";
import { describe, expect, it } from "vitest";
import { useCliWorkspace } from "./helpers/cli-workspace.js";

describe("status and deals name deals the way a person looks them up", () => {
  const ctx = useCliWorkspace();

  it("status --cycles N shows N cycles in text as in JSON; a bad N is refused naming the flag", async () => {
    for (let i = 0; i < 3; i++) expect((await ctx.cli("sync")).code).toBe(0);
    const two = await ctx.cli("status", "--cycles", "2");
    expect(two.code).toBe(0);
    expect(two.out).toContain("Last 2 cycle(s)");
    expect(two.out.match(/^Cycle /gm)).toHaveLength(2);
    const one = await ctx.cli("status", "--cycles", "1");
    expect(one.out.match(/^Cycle /gm)).toHaveLength(1);
    expect((await ctx.cli("status", "--cycles", "2", "--json")).json().cycles).toHaveLength(2);
    expect((await ctx.cli("status")).out).toContain("Last 3 cycle(s)");
    for (const bad of ["0", "1.5", "many"]) {
      const r = await ctx.cli("status", "--cycles", bad);
      expect(r.code).toBe(1);
      expect(r.err).toContain("STATUS_BAD_CYCLES");
      expect(r.err).toContain("--cycles");
    }
  });

  it("a failing record is listed by referral id, CRM id and opportunity name, not by an internal key", async () => {
    const referral = ctx.ws.sandbox.partnerCenter.sendInboundReferral({ name: "Northwind data platform" });
    expect((await ctx.cli("sync")).code).toBe(0);
    const opp = ctx.fake.crm.findByReferralId(referral.id)!;
    expect(opp).toBeDefined();
    // Microsoft's seller edits the notes; the CRM refuses the write that brings them over.
    ctx.ws.sandbox.partnerCenter.updateNotes(referral.id, "Customer asked for a pilot.");
    ctx.fake.crm.failNextWrite(opp.crmId, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Notes are locked this week.");
    expect((await ctx.cli("sync")).code).toBe(0);

    const status = await ctx.cli("status");
    expect(status.out).toContain("Failing records (1)");
    const failing = status.out.slice(status.out.indexOf("Failing records"));
    expect(failing).toContain(referral.id);
    expect(failing).toContain(opp.crmId);
    expect(failing).toContain("Northwind data platform");
    expect(failing).toContain("FIELD_CUSTOM_VALIDATION_EXCEPTION");
    // The link's internal id appears nowhere a person reads.
    const links = (await ctx.cli("status", "--json")).json();
    expect(links.failing).toHaveLength(1);
    expect(status.out).not.toContain(links.failing[0].key);
  });

  it("deals fills the CRM id column for deals created on either side", async () => {
    const referral = ctx.ws.sandbox.partnerCenter.sendInboundReferral();
    const crmId = ctx.fake.crm.createOpportunity(sampleDeal({ name: "Contoso rollout" }), { optedIn: true });
    expect((await ctx.cli("sync")).code).toBe(0);
    const created = ctx.fake.crm.findByReferralId(referral.id)!;

    const inbound = await ctx.cli("deals", "inbound", "--json");
    expect(inbound.json().deals.map((d: { crmId?: string }) => d.crmId)).toEqual([created.crmId]);
    expect((await ctx.cli("deals", "inbound")).out).toContain(created.crmId);
    const outbound = await ctx.cli("deals", "outbound");
    expect(outbound.out).toContain(crmId);
    const outboundJson = (await ctx.cli("deals", "outbound", "--json")).json();
    expect(outboundJson.deals[0].id).toMatch(/\S/);
    expect(outbound.out).toContain(outboundJson.deals[0].id);
  });

  it("backfill --dry-run says there are no candidates when nothing matches, and writes nothing", async () => {
    ctx.ws.sandbox.partnerCenter.sendInboundReferral();
    const dry = await ctx.cli("backfill", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.out).toContain("No candidates");
    expect((await ctx.cli("backfill", "--dry-run", "--json")).json()).toMatchObject({
      ok: true,
      dryRun: true,
      candidates: [],
    });
    expect(ctx.fake.crm.all()).toHaveLength(0);
  });
});
