import type { Direction, Stage } from "../domain/deal.js";
import type { ReferralStatus, ReferralSubstatus } from "./referral.js";

/**
 * How the lifecycle's stages are spelled in the Referrals API (partner-center-api.md, "How the seed's
 * stages line up"). The stages and their transitions are defined in `domain/lifecycle.ts`; this is
 * only their wire spelling, kept as one table so a correction is one edit.
 */
export const STAGE_STATUS: Readonly<Record<Stage, { status: ReferralStatus; substatus: ReferralSubstatus }>> =
  {
    received: { status: "New", substatus: "Received" },
    accepted: { status: "Active", substatus: "Accepted" },
    declined: { status: "Closed", substatus: "Declined" },
    expired: { status: "Closed", substatus: "Expired" },
    won: { status: "Closed", substatus: "Won" },
    lost: { status: "Closed", substatus: "Lost" },
  };

const BY_SUBSTATUS: Partial<Record<ReferralSubstatus, Stage>> = {
  Received: "received",
  // An outbound invitation still waiting for the other side: the partner's own deal is accepted.
  Pending: "accepted",
  Accepted: "accepted",
  Engaged: "accepted",
  Declined: "declined",
  Expired: "expired",
  Won: "won",
  Lost: "lost",
};

/** The stage a referral is in. `None`/`Error` substatuses fall back on the coarse status. */
export function stageFromStatus(
  status: ReferralStatus,
  substatus: ReferralSubstatus,
  direction: Direction,
): Stage {
  const bySub = BY_SUBSTATUS[substatus];
  if (bySub) return bySub;
  if (status === "New") return direction === "inbound" ? "received" : "accepted";
  if (status === "Closed") return "lost";
  return "accepted";
}
