import { describe, expect, it } from "vitest";
import type { Referral } from "../../src/partner-center/referral.js";
import { nextReferralWindow } from "../../src/sync/referral-window.js";

const at = (s: number) => new Date(Date.UTC(2026, 11, 6, 12, 0, s)).toISOString();
const ref = (id: string, s: number, eTag = `"${id}-${s}"`) =>
  ({ id, updatedDateTime: at(s), eTag }) as unknown as Referral;
const opts = { probed: false, readAt: new Date(at(10)), overlapMs: 120_000, believable: () => true };

describe("the Partner Center window with the cycle's own writes", () => {
  it("counts each referral once, at its written place, and ends with the newest write", () => {
    // Read: a and b; then the cycle wrote b again (newer), and created c and d (d answered first).
    const w = nextReferralWindow(
      { stamps: [] },
      {
        ...opts,
        read: [ref("a", 1), ref("b", 2)],
        written: [ref("d", 7), ref("b", 5), ref("c", 6)],
      },
    );
    expect(w.stamps).toHaveLength(4);
    expect(w.last).toEqual({ id: "d", eTag: '"d-7"' });
    expect(w.newest).toBe(at(7));
  });

  it("without writes, is what the read alone gives", () => {
    const read = [ref("a", 1), ref("b", 2)];
    const plain = nextReferralWindow({ stamps: [] }, { ...opts, read });
    expect(nextReferralWindow({ stamps: [] }, { ...opts, read, written: [] })).toEqual(plain);
    expect(plain.last).toEqual({ id: "b", eTag: '"b-2"' });
    expect(plain.stamps).toHaveLength(2);
  });
});
