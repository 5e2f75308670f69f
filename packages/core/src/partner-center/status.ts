import type { Direction, Stage } from "../domain/deal.js";
import type { ReferralStatus, ReferralSubstatus } from "./referral.js";

/**
 * How the lifecycle's stages are spelled in the Referrals API. The stages and their transitions are
 * defined in `domain/lifecycle.ts`; this is only their wire spelling, kept as one table so a
 * correction is one edit.
 *
 * Source: "Referral resources" and "Get a list of leads and opportunities"
 * (learn.microsoft.com/partner-center/developer/referral-resources, …/get-a-list-of-referrals): an
 * inbound referral waiting for the partner's answer is `New/Pending` with `direction Incoming` (the
 * docs' own filter for "inbound not responded to" is `direction eq 'Incoming' and substatus eq
 * 'Pending'`); a partner's own deal is created `Active/Accepted` with `direction Outgoing`.
 */
export const STAGE_STATUS: Readonly<Record<Stage, { status: ReferralStatus; substatus: ReferralSubstatus }>> =
  {
    received: { status: "New", substatus: "Pending" },
    accepted: { status: "Active", substatus: "Accepted" },
    declined: { status: "Closed", substatus: "Declined" },
    expired: { status: "Closed", substatus: "Expired" },
    won: { status: "Closed", substatus: "Won" },
    lost: { status: "Closed", substatus: "Lost" },
  };

/** `"initial"`: the stage a new deal of that direction starts in (inbound: received; outbound: accepted). */
type Reading = Stage | "initial";

/**
 * Every status/substatus pair cosell understands, and the stage it reads as. A pair not listed here
 * (e.g. `Closed/Pending`, `New/Won`) is unknown: the referral is marked with
 * `REFERRAL_STATUS_UNKNOWN` rather than guessed into a stage that would close or reopen the CRM deal.
 *
 * - `Received` is read like `Pending` (older answers and the seed's wording use it).
 * - `Engaged` and `Error` appear in no documented list but are tolerated when read: `Engaged` on an
 *   active referral is still accepted; `Error` says nothing about the stage, so the status decides.
 *   cosell never writes either.
 * - Status `None` (documented) is tolerated: the substatus, or else the direction, decides.
 * - `Closed/None` and `Closed/Error` say a deal closed without saying how: unknown, not "lost".
 */
const PAIRS: Readonly<Record<ReferralStatus, Partial<Record<ReferralSubstatus, Reading>>>> = {
  None: { None: "initial", Pending: "initial", Received: "initial", Accepted: "accepted", Error: "initial" },
  New: { None: "initial", Pending: "initial", Received: "initial", Error: "initial" },
  Active: { None: "accepted", Accepted: "accepted", Engaged: "accepted", Error: "accepted" },
  Closed: { Won: "won", Lost: "lost", Declined: "declined", Expired: "expired" },
};

/** Whether cosell knows what stage `status/substatus` means (see {@link stageFromStatus}). */
export function isKnownStatusPair(status: unknown, substatus: unknown): boolean {
  if (typeof status !== "string" || typeof substatus !== "string") return false;
  const row = (PAIRS as Record<string, Record<string, Reading> | undefined>)[status];
  return row !== undefined && Object.hasOwn(row, substatus);
}

/**
 * The stage a referral is in, from its status, substatus and direction. An unknown pair (see
 * {@link isKnownStatusPair}; the client marks such referrals before they reach here) reads as the
 * direction's initial stage, which never closes a deal.
 */
export function stageFromStatus(
  status: ReferralStatus,
  substatus: ReferralSubstatus,
  direction: Direction,
): Stage {
  const reading = PAIRS[status]?.[substatus] ?? "initial";
  if (reading !== "initial") return reading;
  return direction === "inbound" ? "received" : "accepted";
}

/** Whether a referral is an inbound one still waiting for the partner's answer (what may expire). */
export function isAwaitingAnswer(r: {
  status: ReferralStatus;
  substatus: ReferralSubstatus;
  direction?: string | null;
}): boolean {
  return (
    (r.status === "New" || r.status === "None") &&
    (r.substatus === "Pending" || r.substatus === "Received") &&
    r.direction === "Incoming"
  );
}
