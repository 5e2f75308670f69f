import { type CoSellDeal, type DealView, dealsInView, type StateStore } from "@cosell/core";
import { pairLabeller } from "./pairs.js";
import { renderSummary } from "./plan.js";
import { table } from "./table.js";

/** How many recent cycles `cosell status` shows unless `--cycles` says otherwise. */
export const DEFAULT_STATUS_CYCLES = 5;

/**
 * `cosell status`: last cycles, link counts, parked conflicts, failing records. Pairs are named by
 * referral id, CRM id and deal name (what a person can search for in either system).
 */
export function renderStatus(store: StateStore, cycleCount = DEFAULT_STATUS_CYCLES): string {
  const out: string[] = [];
  const label = pairLabeller(store);
  const cycles = store.listCycles(cycleCount);
  out.push(
    cycles.length
      ? `Last ${cycles.length} cycle(s):\n${cycles.map((c) => renderSummary(c, label)).join("\n")}`
      : "No sync cycle has run yet.",
  );
  // Counted by the store: reading every link (and its baseline) would cost memory in the deal count.
  const byState = Object.entries(store.countLinks());
  const total = byState.reduce((n, [, v]) => n + v, 0);
  out.push(`\nLinks: ${total}${total ? ` (${byState.map(([k, v]) => `${k} ${v}`).join(", ")})` : ""}`);
  const parked = store.listParked();
  out.push(
    parked.length
      ? `\nParked conflicts (${parked.length}):\n${table(
          ["referral", "crm id", "name", "fields", "since"],
          parked.map((p) => {
            const l = label(p.linkId);
            return [l.referralId, l.crmId, l.name, p.fields.join(", "), p.detectedAt];
          }),
        )}`
      : "\nParked conflicts: none",
  );
  const errors = store.listRecordErrors();
  out.push(
    errors.length
      ? `\nFailing records (${errors.length}):\n${table(
          ["referral", "crm id", "name", "code", "attempts", "error"],
          errors.map((e) => {
            const l = label(e.key);
            return [l.referralId, l.crmId, l.name, e.code, String(e.attempts), e.message];
          }),
          90,
        )}`
      : "\nFailing records: none",
  );
  const outbox = store.listOutbox();
  if (outbox.length)
    out.push(
      `\nWaiting for the lifecycle (${outbox.length}):\n${table(
        ["referral", "crm id", "name", "fields", "why"],
        outbox.map((o) => {
          const l = label(o.linkId);
          return [l.referralId, l.crmId, l.name, o.fields.join(", "), o.reason];
        }),
        90,
      )}`,
    );
  return out.join("\n");
}

/** The deals cosell knows, as last agreed (or last seen) — the seed's three views. */
export function knownDeals(store: StateStore): CoSellDeal[] {
  const deals: CoSellDeal[] = [];
  for (const l of store.listLinks()) {
    if (!l.baseline) continue;
    // The link holds both ids even when the agreed deal does not (a referral's deal has no CRM id
    // until the CRM record exists), so a linked deal's CRM id column is never empty.
    const deal: CoSellDeal = { ...l.baseline };
    if (!deal.id && l.referralId) deal.id = l.referralId;
    if (!deal.crmId && l.crmId) deal.crmId = l.crmId;
    deals.push(deal);
  }
  return deals;
}

export function renderDeals(store: StateStore, view: DealView): string {
  const deals = dealsInView(knownDeals(store), view);
  if (!deals.length) return `No ${view} deals.`;
  return table(
    ["referral", "crm id", "name", "stage", "value", "close", "customer"],
    deals.map((d) => [
      d.id ?? "",
      d.crmId ?? "",
      d.name,
      d.stage,
      d.value ? `${d.value.amount} ${d.value.currency}` : "",
      d.closeDate ?? "",
      d.customer.name,
    ]),
  );
}
