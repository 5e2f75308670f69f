import { describe, expect, it } from "vitest";
import {
  type Direction,
  isAwaitingAnswer,
  isKnownStatusPair,
  type ReferralStatus,
  ReferralStatusSchema,
  type ReferralSubstatus,
  ReferralSubstatusSchema,
  referralDirection,
  STAGE_STATUS,
  type Stage,
  StageSchema,
  stageFromStatus,
} from "../../src/index.js";

/**
 * Status/substatus pairs Microsoft documents ("Referral resources", "Get a list of leads and
 * opportunities"): an inbound referral waiting for an answer is New/Pending (direction Incoming); a
 * partner's own deal is Active/Accepted; closed ones say how.
 */
const DOCUMENTED_SUBSTATUSES: Record<string, readonly string[]> = {
  New: ["Pending", "Received"],
  Active: ["Accepted"],
  Closed: ["Won", "Lost", "Declined", "Expired"],
};
const directions: Direction[] = ["inbound", "outbound"];

describe("stage ⇄ Partner Center status", () => {
  it.each(StageSchema.options)("%s is written with a documented status/substatus pair", (stage) => {
    const { status, substatus } = STAGE_STATUS[stage];
    expect(DOCUMENTED_SUBSTATUSES[status]).toContain(substatus);
  });

  it("an inbound referral waiting for an answer is written New/Pending, never Received", () => {
    expect(STAGE_STATUS.received).toEqual({ status: "New", substatus: "Pending" });
  });

  it("Engaged and Error are never written", () => {
    const written = Object.values(STAGE_STATUS).map((w) => w.substatus);
    expect(written).not.toContain("Engaged");
    expect(written).not.toContain("Error");
  });

  it.each(StageSchema.options.flatMap((s) => directions.map((d) => [s, d] as const)))(
    "%s written for a %s referral reads back as itself",
    (stage, direction) => {
      if (stage === "received" && direction === "outbound") return; // a partner's own deal is never "received"
      const { status, substatus } = STAGE_STATUS[stage];
      expect(stageFromStatus(status, substatus, direction)).toBe(stage);
    },
  );

  it.each<[ReferralStatus, ReferralSubstatus, Direction, Stage]>([
    ["New", "Pending", "inbound", "received"], // waiting for the partner's answer
    ["New", "Received", "inbound", "received"], // read the same way
    ["New", "Pending", "outbound", "accepted"], // the partner's own referral, waiting for the other side
    ["Active", "Accepted", "outbound", "accepted"], // the partner's own deal, from creation
    ["Active", "Accepted", "inbound", "accepted"],
    ["Active", "Engaged", "outbound", "accepted"], // tolerated on read
    ["Active", "Error", "inbound", "accepted"], // tolerated on read
    ["New", "Error", "inbound", "received"],
    ["None", "None", "inbound", "received"], // status None tolerated
    ["None", "None", "outbound", "accepted"],
    ["None", "Accepted", "inbound", "accepted"],
    ["Closed", "Declined", "inbound", "declined"],
    ["Closed", "Expired", "inbound", "expired"],
    ["Closed", "Won", "outbound", "won"],
    ["Closed", "Lost", "outbound", "lost"],
  ])("%s/%s (%s) → %s", (status, substatus, direction, stage) => {
    expect(isKnownStatusPair(status, substatus)).toBe(true);
    expect(stageFromStatus(status, substatus, direction)).toBe(stage);
  });

  it.each<[string, string]>([
    ["Closed", "Pending"],
    ["Closed", "Accepted"],
    ["Closed", "None"], // closed without saying how: not guessed as lost
    ["Closed", "Error"],
    ["New", "Won"],
    ["New", "Accepted"],
    ["Active", "Lost"],
    ["Active", "Pending"],
    ["Open", "Pending"],
    ["New", "Qualified"],
  ])("%s/%s is an unknown pair", (status, substatus) => {
    expect(isKnownStatusPair(status, substatus)).toBe(false);
  });

  it("every documented status and substatus appears in some known pair", () => {
    for (const status of ReferralStatusSchema.options)
      expect(ReferralSubstatusSchema.options.some((s) => isKnownStatusPair(status, s))).toBe(true);
    for (const sub of ReferralSubstatusSchema.options)
      expect(ReferralStatusSchema.options.some((s) => isKnownStatusPair(s, sub))).toBe(true);
  });

  it("only inbound New/Pending (or Received) referrals are waiting for an answer (and may expire)", () => {
    expect(isAwaitingAnswer({ status: "New", substatus: "Pending", direction: "Incoming" })).toBe(true);
    expect(isAwaitingAnswer({ status: "New", substatus: "Received", direction: "Incoming" })).toBe(true);
    expect(isAwaitingAnswer({ status: "New", substatus: "Pending", direction: "Outgoing" })).toBe(false);
    expect(isAwaitingAnswer({ status: "Active", substatus: "Accepted", direction: "Incoming" })).toBe(false);
    expect(isAwaitingAnswer({ status: "Closed", substatus: "Expired", direction: "Incoming" })).toBe(false);
  });

  it("direction comes from the referral's own direction first", () => {
    const base = {
      id: "r",
      createdDateTime: "2024-01-01T00:00:00Z",
      updatedDateTime: "2024-01-01T00:00:00Z",
    };
    expect(referralDirection({ ...base, status: "New", substatus: "Pending", direction: "Incoming" })).toBe(
      "inbound",
    );
    expect(
      referralDirection({ ...base, status: "Active", substatus: "Accepted", direction: "Outgoing" }),
    ).toBe("outbound");
    // Without `direction`, Microsoft as the inviter (or the older Received) says inbound.
    expect(
      referralDirection({
        ...base,
        status: "New",
        substatus: "Pending",
        inviteContext: { invitedBy: { organizationId: "msft" } },
      }),
    ).toBe("inbound");
    expect(referralDirection({ ...base, status: "New", substatus: "Received" })).toBe("inbound");
  });
});
