import type { CoSellDeal } from "./deal.js";

/** The seed's three views of the co-sell workspace. */
export type DealView = "inbound" | "outbound" | "favorites";

/** Deals in `view`, newest activity first. */
export function dealsInView(deals: readonly CoSellDeal[], view: DealView): CoSellDeal[] {
  const pick = view === "favorites" ? (d: CoSellDeal) => d.favorite : (d: CoSellDeal) => d.direction === view;
  // Instants, not strings: timestamps may carry offsets and any number of fractional digits.
  return deals.filter(pick).sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt));
}

/** Stars or un-stars a deal. Allowed in every stage: a favorite is the seller's bookmark, not an edit. */
export function toggleFavorite(deal: CoSellDeal): CoSellDeal {
  return { ...deal, favorite: !deal.favorite };
}
