import { describe, expect, it } from "vitest";
import { applyReferralPatch, type Referral, referralPatch } from "../../src/index.js";
import { referral } from "./helpers.js";

describe("referralPatch: only the changed paths, replace/add only", () => {
  it("nothing changed: no operations", () => {
    expect(referralPatch(referral(), referral())).toEqual([]);
  });

  it("a nested change is one replace at its own path; neighbours are not sent", () => {
    const base = referral();
    const next = referral({ details: { ...base.details, notes: "changed" } });
    expect(referralPatch(base, next)).toEqual([{ op: "replace", path: "/details/notes", value: "changed" }]);
  });

  it("a property the base lacks is added whole; a dropped one is replaced with null, never removed", () => {
    const base = referral({ statusReason: "x" });
    const { statusReason: _gone, ...rest } = base;
    const next = { ...rest, salesStage: "Qualify", trackingInfo: { microsoftMsxId: "7-ABC" } } as Referral;
    expect(referralPatch(base, next)).toEqual([
      { op: "replace", path: "/statusReason", value: null },
      { op: "add", path: "/salesStage", value: "Qualify" },
      { op: "add", path: "/trackingInfo", value: { microsoftMsxId: "7-ABC" } },
    ]);
  });

  it("arrays are replaced whole; server-owned properties never appear", () => {
    const base = referral();
    const next = referral({
      team: [{ firstName: "A", lastName: "B", email: "a@b.example", phoneNumber: "1" }],
      eTag: '"new"',
      updatedDateTime: "2030-01-01T00:00:00Z",
      direction: "Incoming",
    });
    const ops = referralPatch(base, next);
    expect(ops).toEqual([{ op: "replace", path: "/team", value: next.team }]);
  });

  it("pointer segments are escaped (~0, ~1) and applied back to the same document", () => {
    const base = { ...referral(), "a/b": 1, "c~d": { e: 1 } } as Referral;
    const next = { ...base, "a/b": 2, "c~d": { e: 2 } } as Referral;
    const ops = referralPatch(base, next);
    expect(ops.map((o) => o.path)).toEqual(["/a~1b", "/c~0d/e"]);
    expect(applyReferralPatch(base, ops)).toEqual(next);
  });
});
