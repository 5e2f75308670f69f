import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DataverseHarness, entityId, type Rows, startDataverse } from "./harness.js";

let h: DataverseHarness;
beforeEach(async () => {
  h = await startDataverse();
});
afterEach(() => h.close());

const TRACK = { Prefer: "odata.track-changes,odata.maxpagesize=8" };

/** Follows nextLinks of a tracked request; returns every row and the final deltaLink. */
async function pull(
  first: string,
): Promise<{ rows: Record<string, unknown>[]; deltaLink: string; pages: Rows[] }> {
  const rows: Record<string, unknown>[] = [];
  const pages: Rows[] = [];
  let url = first;
  for (;;) {
    const res: Response = await h.call("GET", url, { headers: TRACK });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("Preference-Applied")).toBe("odata.track-changes,odata.maxpagesize=8");
    const body = (await res.json()) as Rows;
    pages.push(body);
    rows.push(...body.value);
    if (body["@odata.deltaLink"]) return { rows, deltaLink: body["@odata.deltaLink"], pages };
    const next = body["@odata.nextLink"];
    if (!next) throw new Error("a tracked page has neither a nextLink nor a deltaLink");
    url = next;
  }
}

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

describe("change tracking", () => {
  it("returns every row and a deltaLink, then only changes since, deletes last", async () => {
    const initial = await pull("opportunities?$select=name,estimatedvalue,statecode");
    const all = h.server.control.all("opportunities");
    expect(initial.rows.map((r) => r.opportunityid).sort()).toEqual(all.map((r) => r.opportunityid).sort());
    expect(initial.pages[0]!["@odata.context"]).toBe(
      `${h.api}$metadata#opportunities(name,estimatedvalue,statecode)`,
    );
    expect(initial.deltaLink).toMatch(
      new RegExp(
        `^${h.api.replace(/[.$?]/g, "\\$&")}opportunities\\?\\$select=name,estimatedvalue,statecode&\\$deltatoken=\\d+!\\d\\d%2F\\d\\d%2F\\d{4}%20`,
      ),
    );
    expect(initial.pages.slice(0, -1).every((p) => p["@odata.deltaLink"] === undefined)).toBe(true);

    // Changes: an update (by a user), a create, a delete, and a row created and deleted between syncs.
    const [updated, deleted] = all.filter((o) => o.statecode === 0);
    h.clock.advance(60_000);
    h.server.control.update("opportunities", updated!.opportunityid as string, { estimatedvalue: 1 });
    const created = entityId(await h.call("POST", "opportunities", { body: { name: "Brand new" } }));
    expect((await h.call("DELETE", `opportunities(${deleted!.opportunityid})`)).status).toBe(204);
    const ephemeral = entityId(await h.call("POST", "opportunities", { body: { name: "Gone soon" } }));
    await h.call("DELETE", `opportunities(${ephemeral})`);

    const delta = await h.call("GET", initial.deltaLink, { headers: { Prefer: "odata.track-changes" } });
    expect(delta.status).toBe(200);
    const body = (await delta.json()) as Rows;
    expect(body["@odata.context"]).toBe(
      `${h.api}$metadata#opportunities(name,estimatedvalue,statecode)/$delta`,
    );
    expect(body.value.map((r) => r.opportunityid ?? r.id)).toEqual([
      updated!.opportunityid,
      created,
      deleted!.opportunityid,
      ephemeral,
    ]);
    expect(body.value[0]).toMatchObject({
      name: updated!.name,
      estimatedvalue: 1,
      "@odata.etag": expect.stringMatching(/^W\/"\d+"$/),
    });
    expect(body.value[2]).toEqual({
      "@odata.context": `${h.api}$metadata#opportunities/$deletedEntity`,
      id: deleted!.opportunityid,
      reason: "deleted",
    });
    expect(body["@odata.deltaLink"]).not.toBe(initial.deltaLink);

    const quiet = await h.getJson<Rows>(body["@odata.deltaLink"]!, { Prefer: "odata.track-changes" });
    expect(quiet.body.value).toEqual([]);
  });

  it("pages a large delta and still ends with the deletes", async () => {
    const { deltaLink } = await pull("opportunities?$select=name");
    const ids: string[] = [];
    for (let i = 0; i < 12; i++)
      ids.push(entityId(await h.call("POST", "opportunities", { body: { name: `bulk ${i}` } })));
    for (const id of ids.slice(0, 3)) await h.call("DELETE", `opportunities(${id})`);
    const delta = await pull(deltaLink);
    expect(delta.pages.length).toBeGreaterThan(1);
    expect(delta.rows.slice(0, 9).map((r) => r.opportunityid)).toEqual(ids.slice(3));
    expect(delta.rows.slice(9).map((r) => r.id)).toEqual(ids.slice(0, 3));
  });

  it("refuses $filter, $orderby, $expand and $top with track-changes, with the documented message", async () => {
    for (const [option, query] of [
      ["$filter", "$filter=statecode eq 0"],
      ["$orderby", "$orderby=name"],
      ["$expand", "$expand=ownerid($select=fullname)"],
      ["$top", "$top=5"],
    ] as const) {
      const res = await h.call("GET", `opportunities?$select=name&${query}`, {
        headers: { Prefer: "odata.track-changes" },
      });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).message).toBe(
        `The "${option}" query parameter isn't supported when Change Tracking is enabled.`,
      );
    }
  });

  it("refuses track-changes on a table without change tracking, so clients fall back to modifiedon polling", async () => {
    const campaigns = await h.call("GET", "campaigns?$select=name", {
      headers: { Prefer: "odata.track-changes" },
    });
    expect(campaigns.status).toBe(400);
    expect((await errorOf(campaigns)).message).toMatch(
      /^Change tracking is not enabled for the entity 'campaign'/,
    );

    h.server.control.setChangeTracking("opportunities", false);
    const meta = await h.getJson(
      "EntityDefinitions(LogicalName='opportunity')?$select=ChangeTrackingEnabled,IsOptimisticConcurrencyEnabled",
    );
    expect(meta.body).toMatchObject({ ChangeTrackingEnabled: false, IsOptimisticConcurrencyEnabled: true });
    const refused = await h.call("GET", "opportunities?$select=name", {
      headers: { Prefer: "odata.track-changes" },
    });
    expect(refused.status).toBe(400);

    // The fallback: modifiedon watermark with a stable order, paged.
    h.clock.advance(5 * 60_000);
    const watermark = h.clock.now().toISOString();
    h.clock.advance(1000);
    const changed = h.server.control
      .all("opportunities")
      .filter((o) => o.statecode === 0)
      .slice(0, 2);
    for (const o of changed)
      h.server.control.update("opportunities", o.opportunityid as string, { description: "touched" });
    const polled = await h.getJson<Rows>(
      `opportunities?$select=name,modifiedon&$filter=modifiedon ge ${watermark}&$orderby=modifiedon asc,opportunityid asc`,
      { Prefer: "odata.maxpagesize=500" },
    );
    expect(polled.body.value.map((r) => r.opportunityid).sort()).toEqual(
      changed.map((o) => o.opportunityid).sort(),
    );
  });

  it("can turn change tracking on through the entity definition", async () => {
    const put = await h.call("PUT", "EntityDefinitions(LogicalName='campaign')", {
      body: { LogicalName: "campaign", ChangeTrackingEnabled: true },
      headers: { "MSCRM.MergeLabels": "true" },
    });
    expect(put.status).toBe(204);
    const res = await h.call("GET", "campaigns?$select=name", { headers: { Prefer: "odata.track-changes" } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Rows)["@odata.deltaLink"]).toContain("$deltatoken=");
  });

  it("expires delta tokens after 7 days on the sandbox clock", async () => {
    const { deltaLink } = await pull("opportunities?$select=name");
    h.clock.advance(6 * 86_400_000);
    h.renewToken();
    expect((await h.call("GET", deltaLink, { headers: { Prefer: "odata.track-changes" } })).status).toBe(200);
    h.clock.advance(2 * 86_400_000);
    h.renewToken();
    const expired = await h.call("GET", deltaLink, { headers: { Prefer: "odata.track-changes" } });
    expect(expired.status).toBe(400);
    expect(await errorOf(expired)).toEqual({
      code: "0x80044352",
      message: "Version stamp associated with the client has expired. Please perform a full sync.",
    });
  });
});
