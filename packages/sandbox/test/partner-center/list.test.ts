import type { Referral } from "@cosell/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "../../src/index.js";
import { type Api, createReferral, pcApi, pcToken, REFERRALS, startFrozen, T0 } from "./helpers.js";

type Page = {
  "@odata.context": string;
  "@odata.count": number;
  "@odata.nextLink"?: string;
  value: Referral[];
};
type ErrorBody = { error: { code: string; message: string } };

let sandbox: Sandbox;
let api: Api;

beforeAll(async () => {
  sandbox = await startFrozen();
  api = pcApi(sandbox, () => pcToken(sandbox));
});
afterAll(() => sandbox.stop());

/** Follows nextLink to the end; returns every page. */
async function readAll(first: string): Promise<Page[]> {
  const pages: Page[] = [];
  let url: string | undefined = first;
  while (url) {
    const res: { status: number; body: Page } = await api<Page>("GET", url);
    expect(res.status).toBe(200);
    pages.push(res.body);
    url = res.body["@odata.nextLink"];
  }
  return pages;
}

const q = (params: Record<string, string>) =>
  `${REFERRALS}?${Object.entries(params)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join("&")}`;

describe("paging", () => {
  let all: Referral[];

  beforeAll(() => {
    // 250 referrals, one second apart, so createdDateTime differs.
    for (let i = 0; i < 250; i++) {
      sandbox.partnerCenter.sendInboundReferral({ name: `Deal ${i}` });
      sandbox.clock.advance(1000);
    }
    all = sandbox.partnerCenter.all();
  });

  it("pages of at most 100 with @odata.count and an absolute @odata.nextLink carrying $skiptoken", async () => {
    const first = await api<Page>("GET", REFERRALS);
    expect(first.body["@odata.context"]).toBe(`${sandbox.urls.partnerCenter}/v1.0/$metadata#Referrals`);
    expect(first.body["@odata.count"]).toBe(250);
    expect(first.body.value).toHaveLength(100);
    expect(first.body["@odata.nextLink"]).toMatch(
      new RegExp(`^${sandbox.urls.partnerCenter}${REFERRALS}\\?\\$skiptoken=[A-Za-z0-9_-]+$`),
    );
    const pages = await readAll(REFERRALS);
    expect(pages.map((p) => p.value.length)).toEqual([100, 100, 50]);
    expect(pages[2]?.["@odata.nextLink"]).toBeUndefined();
    const ids = pages.flatMap((p) => p.value.map((r) => r.id));
    expect(ids).toEqual(all.map((r) => r.id));
  });

  it("$top sets the page size; above 100 it is capped", async () => {
    const pages = await readAll(q({ $top: "60" }));
    expect(pages.map((p) => p.value.length)).toEqual([60, 60, 60, 60, 10]);
    expect((await api<Page>("GET", q({ $top: "500" }))).body.value).toHaveLength(100);
    expect((await api<ErrorBody>("GET", q({ $top: "0" }))).status).toBe(400);
  });

  it("continuation is stable while records change (updatedDateTime asc: nothing is skipped)", async () => {
    const query = q({ $orderby: "updatedDateTime asc", $top: "50" });
    const first = await api<Page>("GET", query);
    const seen = first.body.value.map((r) => r.id);
    // Meanwhile: one already-served referral and one not yet served change, and a new one arrives.
    sandbox.clock.advance(1000);
    const servedChanged = first.body.value[10]!.id;
    const unseenChanged = all[200]!.id;
    sandbox.partnerCenter.updateNotes(servedChanged, "changed after it was served");
    sandbox.partnerCenter.updateNotes(unseenChanged, "changed before it was served");
    const added = sandbox.partnerCenter.sendInboundReferral({ name: "Arrived mid-listing" });
    const rest = await readAll(first.body["@odata.nextLink"]!);
    seen.push(...rest.flatMap((p) => p.value.map((r) => r.id)));

    for (const r of all) expect(seen).toContain(r.id);
    expect(seen.filter((id) => id === unseenChanged)).toHaveLength(1);
    // A record changed after it was served comes again (with its new updatedDateTime): a re-read, not a miss.
    expect(seen.filter((id) => id === servedChanged)).toHaveLength(2);
    expect(seen).toContain(added.id);
    expect(seen).toHaveLength(all.length + 2);
  });

  it("continuation by createdDateTime never serves a record twice while records change", async () => {
    const first = await api<Page>("GET", q({ $orderby: "createdDateTime asc", $top: "100" }));
    sandbox.clock.advance(1000);
    for (const r of first.body.value.slice(0, 5))
      sandbox.partnerCenter.updateNotes(r.id, "edited mid-listing");
    const rest = await readAll(first.body["@odata.nextLink"]!);
    const ids = [...first.body.value, ...rest.flatMap((p) => p.value)].map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.slice(0, all.length)).toEqual(all.map((r) => r.id));
  });

  it("refuses a skiptoken it did not issue", async () => {
    const res = await api<ErrorBody>("GET", `${REFERRALS}?$skiptoken=bogus`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain("skiptoken");
  });
});

describe("$filter and $orderby", () => {
  let s: Sandbox;
  let a: Api;
  let inbound: Referral;
  let outbound: Referral;
  let accepted: Referral;

  beforeAll(async () => {
    s = await startFrozen();
    a = pcApi(s, await pcToken(s));
    inbound = s.partnerCenter.sendInboundReferral();
    s.clock.advance(1000);
    outbound = await createReferral(a, { externalReferenceId: "crm-o'brien" });
    s.clock.advance(1000);
    const toAccept = s.partnerCenter.sendInboundReferral();
    s.clock.advance(1000);
    accepted = (
      await a<Referral>(
        "PATCH",
        `${REFERRALS}/${toAccept.id}`,
        [
          { op: "replace", path: "/status", value: "Active" },
          { op: "replace", path: "/substatus", value: "Accepted" },
        ],
        { "if-match": toAccept.eTag ?? "", prefer: "return=representation" },
      )
    ).body;
  });
  afterAll(() => s.stop());

  const ids = async (params: Record<string, string>) => {
    const res = await a<Page>("GET", q(params));
    expect(res.status).toBe(200);
    return res.body.value.map((r) => r.id);
  };

  it("filters by status, substatus, externalReferenceId (quotes doubled) and engagementId", async () => {
    expect(await ids({ $filter: "status eq 'New'" })).toEqual([inbound.id]);
    expect(await ids({ $filter: "substatus eq 'Accepted'" })).toEqual([outbound.id, accepted.id]);
    expect(await ids({ $filter: "externalReferenceId eq 'crm-o''brien'" })).toEqual([outbound.id]);
    expect(await ids({ $filter: `engagementId eq '${accepted.engagementId}'` })).toEqual([accepted.id]);
    expect(await ids({ $filter: "status ne 'New'" })).toEqual([outbound.id, accepted.id]);
  });

  it("filters by direction", async () => {
    expect(await ids({ $filter: "direction eq 'Incoming'" })).toEqual([inbound.id, accepted.id]);
    expect(await ids({ $filter: "direction eq 'Outgoing'" })).toEqual([outbound.id]);
  });

  it("filters by updatedDateTime ge/gt, combined with and", async () => {
    const at = outbound.updatedDateTime;
    expect(await ids({ $filter: `updatedDateTime ge ${at}` })).toEqual([outbound.id, accepted.id]);
    expect(await ids({ $filter: `updatedDateTime gt ${at}` })).toEqual([accepted.id]);
    expect(await ids({ $filter: `updatedDateTime ge ${at} and direction eq 'Incoming'` })).toEqual([
      accepted.id,
    ]);
    expect(await ids({ $filter: `updatedDateTime ge '${T0.toISOString()}' and status eq 'Closed'` })).toEqual(
      [],
    );
  });

  it("orders by updatedDateTime/createdDateTime asc or desc, ties broken by id", async () => {
    expect(await ids({ $orderby: "updatedDateTime desc" })).toEqual([accepted.id, outbound.id, inbound.id]);
    expect(await ids({ $orderby: "createdDateTime asc" })).toEqual([inbound.id, outbound.id, accepted.id]);
    const t = s.clock.now();
    const twins = [s.partnerCenter.sendInboundReferral(), s.partnerCenter.sendInboundReferral()];
    const sameTime = await ids({
      $filter: `createdDateTime ge ${t.toISOString()}`,
      $orderby: "createdDateTime desc",
    });
    expect(sameTime).toEqual(
      twins
        .map((r) => r.id)
        .sort()
        .reverse(),
    );
  });

  it("400 invalidRequest for what it cannot read", async () => {
    const bads: Record<string, string>[] = [
      { $filter: "status eq 'New' or status eq 'Closed'" },
      { $filter: "customer eq 'x'" },
      { $filter: "updatedDateTime ge yesterday" },
      { $filter: "status gt 'New'" },
      { $filter: "status eq New" },
      { $orderby: "name asc" },
    ];
    for (const bad of bads) {
      const res = await a<ErrorBody>("GET", q(bad));
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.error.code).toBe("invalidRequest");
    }
  });
});
