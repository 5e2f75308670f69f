import { type CoSellDeal, type DealView, dealsInView, type StateStore } from "@cosell/core";
import { renderSummary } from "./plan.js";
import { table } from "./table.js";

/** `cosell status`: last cycles, link counts, parked conflicts, failing records. */
export function renderStatus(store: StateStore): string {
  const out: string[] = [];
  const cycles = store.listCycles(5);
  out.push(
    cycles.length
      ? `Last ${cycles.length} cycle(s):\n${cycles.map(renderSummary).join("\n")}`
      : "No sync cycle has run yet.",
  );
  const links = store.listLinks();
  const byState = new Map<string, number>();
  for (const l of links) byState.set(l.state, (byState.get(l.state) ?? 0) + 1);
  out.push(
    `\nLinks: ${links.length}${links.length ? ` (${[...byState].map(([k, v]) => `${k} ${v}`).join(", ")})` : ""}`,
  );
  const parked = store.listParked();
  out.push(
    parked.length
      ? `\nParked conflicts (${parked.length}):\n${table(
          ["link", "fields", "since"],
          parked.map((p) => [p.linkId, p.fields.join(", "), p.detectedAt]),
        )}`
      : "\nParked conflicts: none",
  );
  const errors = store.listRecordErrors();
  out.push(
    errors.length
      ? `\nFailing records (${errors.length}):\n${table(
          ["record", "code", "attempts", "error"],
          errors.map((e) => [e.key, e.code, String(e.attempts), e.message]),
          90,
        )}`
      : "\nFailing records: none",
  );
  const outbox = store.listOutbox();
  if (outbox.length)
    out.push(
      `\nWaiting for the lifecycle (${outbox.length}): ${outbox.map((o) => `${o.linkId.slice(0, 8)} ${o.fields.join("/")}`).join("; ")}`,
    );
  return out.join("\n");
}

/** The deals cosell knows, as last agreed (or last seen) — the seed's three views. */
export function knownDeals(store: StateStore): CoSellDeal[] {
  return store
    .listLinks()
    .map((l) => (l.baseline ? { ...l.baseline, favorite: l.favorite } : undefined))
    .filter((d): d is CoSellDeal => d !== undefined);
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
