import { odataAnd, odataDateTime, odataString } from "./odata.js";
import type { ReferralStatus, ReferralSubstatus } from "./referral.js";

/**
 * Which parts of a referral listing go to Partner Center and which cosell does itself.
 *
 * Microsoft's documented list examples ("Get a list of leads and opportunities") filter on
 * engagementId, status, substatus, qualification, type, direction, customer country and team email,
 * and order by createdDateTime / updatedDateTime; the Power Platform connector lists `$top` and
 * `$skip` as options. Two filters cosell relies on appear in no documented example —
 * `updatedDateTime ge …` and `externalReferenceId eq …` — and `$skip` is documented by the connector
 * only. Nothing settles whether the service accepts them, so both readings are tolerated: they are
 * sent, and on a 400 the listing is retried without them and the rest is done client-side:
 *
 * - `updatedDateTime ge T` → `$orderby=updatedDateTime desc`, read until a referral older than T,
 *   then put back into ascending order (what the sync engine expects).
 * - `externalReferenceId eq X` → the listing without that clause, matched client-side.
 * - `$skip = n` → the first n of the (client-side ordered) listing are left out client-side.
 *
 * An option found unsupported is remembered (for the process, or longer when the caller persists
 * it) so the 400 is paid once.
 */
export const LIST_OPTIONS = ["updatedSinceFilter", "externalReferenceIdFilter", "skip"] as const;
/** A list option Partner Center may refuse (see above). */
export type ListOption = (typeof LIST_OPTIONS)[number];

export interface ListRequest {
  updatedSince?: Date;
  status?: ReferralStatus;
  substatus?: ReferralSubstatus;
  direction?: "inbound" | "outbound";
  externalReferenceId?: string;
  /** The referrals of one engagement (documented: the `links.relatedReferrals` filter). */
  engagementId?: string;
  skip?: number;
}

/** How one listing is made: what goes on the wire, what is done client-side. */
export interface ListPlan {
  /** `$filter` text (documented clauses, plus the undocumented ones still believed supported). */
  filter: string;
  orderBy: "updatedDateTime asc" | "updatedDateTime desc";
  /** `$skip` sent to the server, if any. */
  serverSkip?: number;
  /** Client-side: keep only referrals updated at or after this instant (ms); read in desc order. */
  sinceMs?: number;
  /** Client-side: keep only referrals with this externalReferenceId. */
  externalReferenceId?: string;
  /** Client-side: leave out this many of the first kept referrals (ascending order). */
  skip?: number;
}

/** The options `request` uses that Partner Center might refuse, in the order they are given up. */
export function riskyOptions(request: ListRequest): ListOption[] {
  const out: ListOption[] = [];
  if (request.updatedSince) out.push("updatedSinceFilter");
  if (request.externalReferenceId !== undefined) out.push("externalReferenceIdFilter");
  if (request.skip) out.push("skip");
  return out;
}

/** The plan for `request` when the options in `off` are done client-side. */
export function listPlan(request: ListRequest, off: ReadonlySet<ListOption>): ListPlan {
  const sinceClient = !!request.updatedSince && off.has("updatedSinceFilter");
  const extClient = request.externalReferenceId !== undefined && off.has("externalReferenceIdFilter");
  // $skip counts positions in the server's listing: once the order or the matching is client-side,
  // the server's positions are not the ones meant, so the skip is client-side too.
  const skipClient = !!request.skip && (off.has("skip") || sinceClient || extClient);
  const filter = odataAnd([
    request.updatedSince && !sinceClient
      ? `updatedDateTime ge ${odataDateTime(request.updatedSince)}`
      : undefined,
    request.engagementId !== undefined ? `engagementId eq ${odataString(request.engagementId)}` : undefined,
    request.status ? `status eq ${odataString(request.status)}` : undefined,
    request.substatus ? `substatus eq ${odataString(request.substatus)}` : undefined,
    request.direction
      ? `direction eq ${odataString(request.direction === "inbound" ? "Incoming" : "Outgoing")}`
      : undefined,
    request.externalReferenceId !== undefined && !extClient
      ? `externalReferenceId eq ${odataString(request.externalReferenceId)}`
      : undefined,
  ]);
  return {
    filter,
    orderBy: sinceClient ? "updatedDateTime desc" : "updatedDateTime asc",
    serverSkip: request.skip && !skipClient ? request.skip : undefined,
    sinceMs: sinceClient ? request.updatedSince?.getTime() : undefined,
    externalReferenceId: extClient ? request.externalReferenceId : undefined,
    skip: skipClient ? request.skip : undefined,
  };
}

/** Whether the plan does anything client-side. */
export const isClientSide = (p: ListPlan): boolean =>
  p.sinceMs !== undefined || p.externalReferenceId !== undefined || p.skip !== undefined;

/** `updatedDateTime` of a listed item as read (before validation), or undefined when unreadable. */
export function rawStamp(item: unknown): number | undefined {
  const v = (item as { updatedDateTime?: unknown } | null)?.updatedDateTime;
  if (typeof v !== "string") return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Whether a listed item (before validation) carries externalReferenceId `id`. */
export const rawExternalIdIs = (item: unknown, id: string): boolean =>
  (item as { externalReferenceId?: unknown } | null)?.externalReferenceId === id;
