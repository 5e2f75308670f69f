import { describe, expect, it } from "vitest";
import { emptyDeal } from "../../src/domain/deal.js";
import { microsoftTeamOf, withMicrosoftInvitation } from "../../src/partner-center/engagement.js";
import type { Referral } from "../../src/partner-center/referral.js";
import { fieldValue } from "../../src/sync/compare.js";

const sampleDeal = () => emptyDeal(new Date(0));

const partner = { firstName: "Ana", lastName: "Lee", email: "ana@contoso.com", phone: "+1 555 0100" };

function connected(team: Referral["team"], status = "Active", substatus = "Accepted"): Referral {
  return {
    id: "inv-1",
    engagementId: "eng-1",
    status,
    substatus,
    target: [{ type: "BusinessProfileLocation", id: "msft" }],
    team,
  } as Referral;
}

describe("Microsoft's team on an engaged deal", () => {
  it("is the connected referral's people who are not on the partner's own team", () => {
    const deal = { ...sampleDeal(), team: [partner] };
    const team = microsoftTeamOf(
      connected([
        { firstName: "Ana", lastName: "Lee", email: "ANA@contoso.com", phoneNumber: "+1 555 0100" },
        {
          firstName: "Morgan",
          lastName: "Reyes",
          email: "morgan@microsoft.com",
          phoneNumber: "+1 425 555 0199",
        },
        { firstName: "No", lastName: "Email", email: null, phoneNumber: null },
      ]),
      deal,
    );
    expect(team).toEqual([
      { firstName: "Morgan", lastName: "Reyes", email: "morgan@microsoft.com", phone: "+1 425 555 0199" },
    ]);
  });

  it("keeps a role when an answer carries one", () => {
    const member = {
      firstName: "Sam",
      lastName: "Ito",
      email: "sam@microsoft.com",
      phoneNumber: "",
      role: "Solution specialist",
    };
    expect(microsoftTeamOf(connected([member]), { team: [] })[0]?.role).toBe("Solution specialist");
  });

  it("rides on the deal with Microsoft's answer, and falls back to what was known without the connected referral", () => {
    const deal = { ...sampleDeal(), team: [partner] };
    const ms = { firstName: "Morgan", lastName: "Reyes", email: "morgan@microsoft.com", phoneNumber: "1" };
    const read = withMicrosoftInvitation(deal, connected([ms]));
    expect(read.microsoftAnswer).toBe("accepted");
    expect(read.microsoftTeam?.map((p) => p.email)).toEqual(["morgan@microsoft.com"]);
    const known = withMicrosoftInvitation(deal, undefined, {
      microsoftAnswer: "accepted",
      microsoftTeam: read.microsoftTeam,
    });
    expect(known.microsoftTeam).toEqual(read.microsoftTeam);
    const pending = withMicrosoftInvitation(deal, connected([], "New", "Pending"));
    expect(pending.microsoftTeam).toBeUndefined();
  });

  it("compares without regard to order", () => {
    const a = { firstName: "A", lastName: "A", email: "a@microsoft.com", phone: "" };
    const b = { firstName: "B", lastName: "B", email: "b@microsoft.com", phone: "" };
    expect(fieldValue({ ...sampleDeal(), microsoftTeam: [a, b] }, "microsoftTeam")).toEqual(
      fieldValue({ ...sampleDeal(), microsoftTeam: [b, a] }, "microsoftTeam"),
    );
  });
});
