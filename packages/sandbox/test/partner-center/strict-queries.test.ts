import { createPartnerCenterClient, type PartnerCenterClient, type Referral } from "@cosell/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partnerCenterClientConfig, type Sandbox } from "../../src/index.js";
import { newReferralBody, pcToken, startFrozen } from "./helpers.js";

/**
 * Strict mode: the emulated list refuses filters no documented example uses (updatedDateTime,
 * externalReferenceId…) and writes next links in the documented example's shape; `$top`, `$skip`
 * and `$orderby` on updatedDateTime stay allowed. core's client must give the same answers as on the
 * lenient emulator, through its fallbacks.
 */
let sandbox: Sandbox;

const clientFor = (s: Sandbox): PartnerCenterClient =>
  createPartnerCenterClient(partnerCenterClientConfig(s.credentials.partnerCenter, "user"), {
    now: () => s.clock.now(),
    sleep: async () => undefined,
  });

async function ids(it: AsyncIterable<Referral[]>): Promise<string[]> {
  const out: string[] = [];
  for await (const page of it) out.push(...page.map((r) => r.id));
  return out;
}

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${sandbox.urls.partnerCenter}${path}`, {
    headers: { authorization: `Bearer ${await pcToken(sandbox)}` },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  sandbox = await startFrozen();
  const client = clientFor(sandbox);
  // Six referrals a minute apart, two of them the partner's own with CRM ids.
  for (let i = 0; i < 4; i++) {
    sandbox.partnerCenter.sendInboundReferral();
    sandbox.clock.advance(60_000);
  }
  for (const crmId of ["crm-a", "crm-b"]) {
    const { externalReferenceId: _x, ...body } = newReferralBody();
    await client.createReferral(body as never, { crmId });
    sandbox.clock.advance(60_000);
  }
});
afterAll(() => sandbox.stop());

describe("the emulator's strict mode", () => {
  it("refuses undocumented filters with 400 and allows the documented ones, $top, $skip and $orderby", async () => {
    sandbox.partnerCenter.strictQueries(true);
    try {
      const refused = await get(
        `/v1.0/engagements/referrals?$filter=${encodeURIComponent("updatedDateTime ge 2020-01-01T00:00:00Z")}`,
      );
      expect(refused.status).toBe(400);
      expect(JSON.stringify(refused.body)).toContain("updatedDateTime");
      const byCrm = await get(
        `/v1.0/engagements/referrals?$filter=${encodeURIComponent("externalReferenceId eq 'crm-a'")}`,
      );
      expect(byCrm.status).toBe(400);
      const ok = await get(
        `/v1.0/engagements/referrals?$filter=${encodeURIComponent("direction eq 'Incoming' and substatus eq 'Pending'")}&$orderby=${encodeURIComponent("updatedDateTime desc")}&$top=2&$skip=1`,
      );
      expect(ok.status).toBe(200);
      expect((ok.body.value as unknown[]).length).toBe(2);
      // The documented example's link shape: another path than the list's.
      expect(String(ok.body["@odata.nextLink"])).toMatch(/\/v1\.0\/referrals\?\$skiptoken=/);
    } finally {
      sandbox.partnerCenter.strictQueries(false);
    }
  });

  it("core's client answers the same in strict mode: incremental reads, the idle probe ($skip), look-ups by CRM id", async () => {
    const since = new Date(sandbox.partnerCenter.all()[2]!.updatedDateTime);
    const lenient = clientFor(sandbox);
    const expected = {
      since: await ids(lenient.listReferrals({ updatedSince: since, pageSize: 2 })),
      probe: await ids(lenient.listReferrals({ updatedSince: since, skip: 2, pageSize: 2 })),
      all: await ids(lenient.listReferrals({ pageSize: 2 })),
      crm: (await lenient.findByExternalReferenceId("crm-b"))?.id,
    };
    expect(expected.since).toHaveLength(4);
    expect(expected.probe).toHaveLength(2);
    expect(lenient.unsupportedListOptions()).toEqual([]);

    sandbox.partnerCenter.strictQueries(true);
    try {
      const strict = clientFor(sandbox);
      expect(await ids(strict.listReferrals({ updatedSince: since, pageSize: 2 }))).toEqual(expected.since);
      expect(await ids(strict.listReferrals({ updatedSince: since, skip: 2, pageSize: 2 }))).toEqual(
        expected.probe,
      );
      expect(await ids(strict.listReferrals({ pageSize: 2 }))).toEqual(expected.all);
      expect((await strict.findByExternalReferenceId("crm-b"))?.id).toBe(expected.crm);
      expect(strict.unsupportedListOptions().sort()).toEqual([
        "externalReferenceIdFilter",
        "updatedSinceFilter",
      ]);
      // A create stays idempotent through the client-side look-up.
      const { externalReferenceId: _x, ...body } = newReferralBody();
      const again = await strict.createReferral(body as never, { crmId: "crm-a" });
      expect(again.externalReferenceId).toBe("crm-a");
      expect(sandbox.partnerCenter.all().filter((r) => r.externalReferenceId === "crm-a")).toHaveLength(1);
    } finally {
      sandbox.partnerCenter.strictQueries(false);
    }
  });
});
