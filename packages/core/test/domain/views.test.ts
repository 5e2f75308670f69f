import { describe, expect, it } from "vitest";
import { type CoSellDeal, dealsInView, toggleFavorite } from "../../src/index.js";
import { deepFreeze, validDeal } from "./factory.js";

const ids = (deals: CoSellDeal[]) => deals.map((d) => d.id);

describe("views", () => {
  const inboundOld = validDeal({ id: "in-old", direction: "inbound", updatedAt: "2026-03-02T00:00:00.000Z" });
  const outboundStarred = validDeal({
    id: "out-star",
    direction: "outbound",
    favorite: true,
    updatedAt: "2026-03-03T00:00:00.000Z",
  });
  const inboundWonStarred = validDeal({
    id: "in-won-star",
    direction: "inbound",
    favorite: true,
    stage: "won",
    updatedAt: "2026-03-04T00:00:00.000Z",
  });
  const outboundNew = validDeal({
    id: "out-new",
    direction: "outbound",
    updatedAt: "2026-03-05T00:00:00.000Z",
  });
  const all = deepFreeze([inboundOld, outboundStarred, inboundWonStarred, outboundNew]);

  it("inbound: every deal sent to the partner, archived ones too, newest first", () => {
    expect(ids(dealsInView(all, "inbound"))).toEqual(["in-won-star", "in-old"]);
  });

  it("outbound: every deal the partner created, newest first", () => {
    expect(ids(dealsInView(all, "outbound"))).toEqual(["out-new", "out-star"]);
  });

  it("favorites: starred deals of both directions, newest first", () => {
    expect(ids(dealsInView(all, "favorites"))).toEqual(["in-won-star", "out-star"]);
  });

  it("returns a new array and leaves the input order alone", () => {
    const view = dealsInView(all, "outbound");
    expect(view).not.toBe(all);
    expect(ids([...all])).toEqual(["in-old", "out-star", "in-won-star", "out-new"]);
  });

  it("an empty list gives an empty view", () => {
    expect(dealsInView([], "favorites")).toEqual([]);
  });

  // CoSellDealSchema allows offsets and any number of fractional digits (Partner Center sends 7), so
  // string order is not time order.
  it("orders by instant when timestamps carry different offsets", () => {
    const tenUtc = validDeal({ id: "10:00Z", updatedAt: "2026-03-01T12:00:00+02:00" });
    const elevenUtc = validDeal({ id: "11:00Z", updatedAt: "2026-03-01T11:00:00Z" });
    expect(ids(dealsInView([tenUtc, elevenUtc], "outbound"))).toEqual(["11:00Z", "10:00Z"]);
  });

  it("orders by instant when timestamps have different precision", () => {
    const whole = validDeal({ id: "42.0s", updatedAt: "2018-11-06T18:40:42Z" });
    const fraction = validDeal({ id: "42.6s", updatedAt: "2018-11-06T18:40:42.6178337Z" });
    expect(ids(dealsInView([whole, fraction], "outbound"))).toEqual(["42.6s", "42.0s"]);
  });
});

describe("toggleFavorite", () => {
  it("stars, then un-stars", () => {
    const deal = deepFreeze(validDeal({ favorite: false }));
    const starred = toggleFavorite(deal);
    expect(starred.favorite).toBe(true);
    expect(toggleFavorite(starred).favorite).toBe(false);
  });

  it("changes nothing else and does not touch the input", () => {
    const deal = deepFreeze(validDeal());
    expect(toggleFavorite(deal)).toStrictEqual({ ...deal, favorite: true });
    expect(deal.favorite).toBe(false);
  });

  it.each(["declined", "expired", "won", "lost"] as const)("is allowed on an archived (%s) deal", (stage) => {
    const archived = deepFreeze(validDeal({ stage, favorite: true }));
    const unstarred = toggleFavorite(archived);
    expect(unstarred).toStrictEqual({ ...archived, favorite: false });
  });
});
