import { isMicrosoftInvitation } from "@cosell/core";
import { sampleDeal } from "@cosell/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EngineWorld, startEngineWorld } from "./engine-world.js";
import { salesforceDriver, sandboxConfig } from "./harness.js";

/**
 * Issue 12 item 4 as a seller on Salesforce sees it: ticking "Microsoft Help Requested" invites
 * Microsoft (a connected referral on the deal's engagement), and Microsoft's answer shows on the
 * opportunity in the read-only "Microsoft's Answer" picklist, whatever Microsoft's seller decides.
 */

let sb: EngineWorld["sb"];
let side: EngineWorld["side"];
let cycle: EngineWorld["cycle"];

beforeAll(async () => {
  ({ sb, side, cycle } = await startEngineWorld());
});
afterAll(async () => {
  await sb?.stop();
});

const answerOf = (id: string) =>
  sb.salesforce.query(`SELECT Cosell_Microsoft_Answer__c FROM Opportunity WHERE Id = '${id}'`).records[0]!
    .Cosell_Microsoft_Answer__c;

/** Shares two opportunities with Microsoft's help requested; returns their ids and referral ids. */
async function invited(): Promise<{ crmId: string; referralId: string }[]> {
  const crm = salesforceDriver(sb, sandboxConfig(sb));
  const invitation = {
    microsoftHelpRequested: true,
    helpNotes: "An Azure architect for the landing zone.",
    helpType: "CustomerTechnicalArchitecture",
  } as const;
  const ids = [
    await crm.createOpportunity(sampleDeal({ name: "Landing zone", invitation }), { optedIn: true }),
    await crm.createOpportunity(sampleDeal({ name: "Data estate", invitation }), { optedIn: true }),
  ];
  side.clock.advance(1000);
  const summary = await cycle();
  expect(summary.errors).toEqual([]);
  return ids.map((crmId) => ({
    crmId,
    referralId: sb.partnerCenter.all().find((r) => r.externalReferenceId === crmId)!.id,
  }));
}

describe("Microsoft's answer on the opportunity", () => {
  it("shows 'pending' once invited, then Microsoft's acceptance or decline; nothing is written back", async () => {
    const [a, b] = await invited();
    for (const { crmId, referralId } of [a!, b!]) {
      const deal = sb.partnerCenter.get(referralId)!;
      const invitations = sb.partnerCenter
        .all()
        .filter((r) => r.engagementId === deal.engagementId && isMicrosoftInvitation(r));
      expect(invitations).toHaveLength(1);
      expect(invitations[0]!.inviteContext?.assistanceRequestCode).toBe("CustomerTechnicalArchitecture");
      // The invitation follows the create in the same cycle; the answer field shows it right away.
      expect(answerOf(crmId)).toBe("pending");
    }

    sb.partnerCenter.engage(a!.referralId);
    sb.partnerCenter.decline(b!.referralId, "No Microsoft seller in this segment.");
    expect((await cycle()).errors).toEqual([]);
    expect(answerOf(a!.crmId)).toBe("accepted");
    expect(answerOf(b!.crmId)).toBe("declined");

    // Microsoft's fact, not the seller's: an overwrite is not sent to Partner Center (no write, no
    // second invitation) and the next cycle puts Microsoft's answer back.
    const before = sb.partnerCenter.get(a!.referralId)!.eTag;
    sb.salesforce.update("Opportunity", a!.crmId, { Cosell_Microsoft_Answer__c: "declined" });
    side.clock.advance(1000);
    expect((await cycle()).errors).toEqual([]);
    expect(sb.partnerCenter.get(a!.referralId)!.eTag).toBe(before);
    expect(answerOf(a!.crmId)).toBe("accepted");
    expect(
      sb.partnerCenter
        .all()
        .filter((r) => r.engagementId === sb.partnerCenter.get(a!.referralId)!.engagementId)
        .filter(isMicrosoftInvitation),
    ).toHaveLength(1);
  });
});
