import type { Referral } from "@cosell/core";
import { describe, expect, it } from "vitest";
import { UpdatedIndex } from "../../src/partner-center/list-index.js";
import { type ListQuery, parseListQuery, runListQuery } from "../../src/partner-center/query.js";

/** The index must answer every updatedDateTime-ordered query exactly as the full scan does. */

function referrals(n: number, seed: number): Referral[] {
  let x = seed;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  const base = Date.parse("2026-03-01T09:00:00.000Z");
  return Array.from({ length: n }, (_, i) => {
    // Few distinct stamps, so ties (broken by id) are common.
    const at = new Date(base + Math.floor(rnd() * 40) * 1000).toISOString();
    return {
      id: `r-${String(Math.floor(rnd() * 1e6)).padStart(6, "0")}-${i}`,
      createdDateTime: at,
      updatedDateTime: at,
      status: rnd() < 0.5 ? "New" : "Active",
      substatus: "Pending",
    } as Referral;
  });
}

function pages(q: ListQuery, run: (q: ListQuery) => ReturnType<typeof runListQuery>) {
  const out: { ids: string[]; count: number }[] = [];
  let page = run(q);
  for (;;) {
    out.push({ ids: page.items.map((r) => r.id), count: page.count });
    if (!page.skipToken) return out;
    page = run(parseListQuery(new URLSearchParams({ $skiptoken: page.skipToken })));
  }
}

describe("UpdatedIndex", () => {
  const all = referrals(400, 7);
  const byId = new Map(all.map((r) => [r.id, r] as const));
  const index = new UpdatedIndex();
  for (const r of all) index.put(r);
  // Some referrals change after they were indexed: they move.
  for (const r of all.slice(0, 50)) {
    r.updatedDateTime = new Date(Date.parse(r.updatedDateTime) + 17_000).toISOString();
    index.put(r);
  }

  const queries = [
    "$orderby=updatedDateTime asc&$top=30",
    "$orderby=updatedDateTime desc&$top=25",
    "$filter=updatedDateTime ge 2026-03-01T09:00:20Z&$orderby=updatedDateTime asc&$top=40",
    "$filter=updatedDateTime gt 2026-03-01T09:00:20Z&$orderby=updatedDateTime asc&$top=40",
    "$filter=updatedDateTime le 2026-03-01T09:00:20Z&$orderby=updatedDateTime desc&$top=40",
    "$filter=updatedDateTime lt 2026-03-01T09:00:20Z and status eq 'New'&$orderby=updatedDateTime asc&$top=7",
    "$filter=updatedDateTime eq 2026-03-01T09:00:20Z&$orderby=updatedDateTime asc",
    "$filter=updatedDateTime ge 2026-03-01T09:00:10Z&$orderby=updatedDateTime asc&$top=50&$skip=117",
    "$filter=status eq 'Active'&$orderby=updatedDateTime asc&$top=100&$skip=3",
  ];
  it.each(queries)("%s", (text) => {
    const q = parseListQuery(new URLSearchParams(text));
    const expected = pages(q, (x) => runListQuery(all, x));
    expect(expected.flatMap((p) => p.ids).length).toBeGreaterThan(0);
    expect(pages(q, (x) => index.run(x, (id) => byId.get(id)))).toEqual(expected);
  });
});
