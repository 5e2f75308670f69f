import { describe, expect, it } from "vitest";
import {
  type Direction,
  type ReferralStatus,
  type ReferralSubstatus,
  ReferralSubstatusSchema,
  STAGE_STATUS,
  type Stage,
  StageSchema,
  stageFromStatus,
} from "../../src/index.js";

/**
 * "Status & Substatus transition states" from the create-a-referral and update-a-referral pages:
 * which substatuses each status allows.
 */
const DOCUMENTED_SUBSTATUSES: Record<string, readonly string[]> = {
  New: ["Pending", "Received"],
  Active: ["Accepted"],
  Closed: ["Won", "Lost", "Declined", "Expired"],
};

describe("stage ⇄ Partner Center status", () => {
  it.each(StageSchema.options)("%s is spelled with a documented status/substatus pair", (stage) => {
    const { status, substatus } = STAGE_STATUS[stage];
    expect(DOCUMENTED_SUBSTATUSES[status]).toContain(substatus);
  });

  const directions: Direction[] = ["inbound", "outbound"];
  it.each(StageSchema.options.flatMap((s) => directions.map((d) => [s, d] as const)))(
    "%s (%s) reads back as itself",
    (stage, direction) => {
      const { status, substatus } = STAGE_STATUS[stage];
      expect(stageFromStatus(status, substatus, direction)).toBe(stage);
    },
  );

  it.each<[ReferralSubstatus, Stage]>([
    ["Received", "received"],
    ["Pending", "accepted"], // the partner's own referral, waiting for the other side
    ["Accepted", "accepted"],
    ["Engaged", "accepted"],
    ["Declined", "declined"],
    ["Expired", "expired"],
    ["Won", "won"],
    ["Lost", "lost"],
  ])("substatus %s → %s", (substatus, stage) => {
    for (const direction of directions) expect(stageFromStatus("Active", substatus, direction)).toBe(stage);
  });

  // Substatuses that say nothing (None, Error) fall back on the coarse status.
  it.each<[ReferralStatus, Direction, Stage]>([
    ["New", "inbound", "received"],
    ["New", "outbound", "accepted"],
    ["Active", "inbound", "accepted"],
    ["None", "outbound", "accepted"],
    ["Closed", "inbound", "lost"], // questionable: a Closed referral of unknown outcome reads as lost
  ])("status %s with no substatus (%s) → %s", (status, direction, stage) => {
    for (const sub of ["None", "Error"] as const) expect(stageFromStatus(status, sub, direction)).toBe(stage);
  });

  it("every substatus is covered by the tables above", () => {
    expect([...ReferralSubstatusSchema.options].sort()).toEqual(
      [
        "Accepted",
        "Declined",
        "Engaged",
        "Error",
        "Expired",
        "Lost",
        "None",
        "Pending",
        "Received",
        "Won",
      ].sort(),
    );
  });
});
