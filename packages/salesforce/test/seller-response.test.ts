import { CLOSE_REASON_LABELS, CLOSE_REASON_REQUIRED } from "@cosell/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EngineWorld, startEngineWorld } from "./engine-world.js";

/**
 * A seller on Salesforce answers a referral Microsoft sent from the opportunity: "Co-sell Response"
 * (accept / decline) and, to decline, "Co-sell Close Reason" from a list with "Co-sell Close Reason
 * Details". The validation rule setup deploys refuses a decline without a reason on save; a decline
 * that got past it (a stage move) is marked on the record and nothing reaches Partner Center.
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

const FIELDS =
  "Id, StageName, Cosell_Stage__c, Cosell_Response__c, Cosell_Close_Reason_Code__c, Cosell_Close_Reason__c, Cosell_Sync_Status__c, Cosell_Last_Sync_Error__c";
const opportunityOf = (referralId: string) =>
  sb.salesforce.query(`SELECT ${FIELDS} FROM Opportunity WHERE Cosell_Referral_Id__c = '${referralId}'`)
    .records[0]!;

/** Microsoft sends a referral; after a cycle it is an opportunity waiting for the seller's answer. */
async function received(): Promise<{ referralId: string; crmId: string }> {
  const referralId = sb.partnerCenter.sendInboundReferral().id;
  side.clock.advance(1000);
  expect((await cycle()).errors).toEqual([]);
  const opp = opportunityOf(referralId);
  expect(opp).toMatchObject({ StageName: "Co-sell Review", Cosell_Stage__c: "received" });
  expect(opp.Cosell_Response__c ?? null).toBeNull();
  return { referralId, crmId: String(opp.Id) };
}

/** A seller's edit on the opportunity page. */
const edit = (crmId: string, fields: Record<string, unknown>) => {
  sb.salesforce.update("Opportunity", crmId, fields);
  side.clock.advance(1000);
};

describe("a seller answers a referral from the opportunity", () => {
  it("Accept: Partner Center's referral is accepted and the opportunity moves to the accepted stage", async () => {
    const { referralId, crmId } = await received();
    edit(crmId, { Cosell_Response__c: "accept" });
    expect((await cycle()).errors).toEqual([]);
    expect(sb.partnerCenter.get(referralId)).toMatchObject({ status: "Active", substatus: "Accepted" });
    const opp = opportunityOf(referralId);
    expect(opp.StageName).not.toBe("Co-sell Review");
    expect(opp).toMatchObject({ Cosell_Stage__c: "accepted", Cosell_Response__c: "accept" });
    // The record reads back as the deal Partner Center holds: another cycle writes nothing.
    const eTag = sb.partnerCenter.get(referralId)!.eTag;
    const modstamp = sb.salesforce.get("Opportunity", crmId)!.SystemModstamp;
    expect((await cycle()).errors).toEqual([]);
    expect(sb.partnerCenter.get(referralId)!.eTag).toBe(eTag);
    expect(sb.salesforce.get("Opportunity", crmId)!.SystemModstamp).toBe(modstamp);
  });

  it("Decline without a reason is refused on save; with a listed reason and details Partner Center gets 'label: details'", async () => {
    const { referralId, crmId } = await received();
    let refused: unknown;
    try {
      edit(crmId, { Cosell_Response__c: "decline" });
    } catch (e) {
      refused = e;
    }
    expect(refused).toMatchObject({
      code: "FIELD_CUSTOM_VALIDATION_EXCEPTION",
      message: CLOSE_REASON_REQUIRED,
      fields: ["Cosell_Close_Reason_Code__c"],
    });
    // "Other" needs the seller's own words.
    expect(() =>
      edit(crmId, { Cosell_Response__c: "decline", Cosell_Close_Reason_Code__c: "other" }),
    ).toThrow(CLOSE_REASON_REQUIRED);
    expect(opportunityOf(referralId).Cosell_Response__c ?? null).toBeNull();

    edit(crmId, {
      Cosell_Response__c: "decline",
      Cosell_Close_Reason_Code__c: "noCapacity",
      Cosell_Close_Reason__c: "Fully booked until March",
    });
    expect((await cycle()).errors).toEqual([]);
    expect(sb.partnerCenter.get(referralId)).toMatchObject({
      status: "Closed",
      substatus: "Declined",
      statusReason: `${CLOSE_REASON_LABELS.noCapacity}: Fully booked until March`,
    });
    expect(opportunityOf(referralId)).toMatchObject({
      StageName: "Closed - Partner Declined",
      Cosell_Stage__c: "declined",
      Cosell_Response__c: "decline",
      Cosell_Close_Reason_Code__c: "noCapacity",
      Cosell_Close_Reason__c: "Fully booked until March",
    });
    const modstamp = sb.salesforce.get("Opportunity", crmId)!.SystemModstamp;
    expect((await cycle()).errors).toEqual([]);
    expect(sb.salesforce.get("Opportunity", crmId)!.SystemModstamp).toBe(modstamp);
  });

  it("a referral declined in Partner Center with its own words shows as Other with those words", async () => {
    const { referralId, crmId } = await received();
    await side.partnerCenter.decline(referralId, "The customer went with their incumbent");
    side.clock.advance(1000);
    expect((await cycle()).errors).toEqual([]);
    expect(opportunityOf(referralId)).toMatchObject({
      StageName: "Closed - Partner Declined",
      Cosell_Stage__c: "declined",
      Cosell_Response__c: "decline",
      Cosell_Close_Reason_Code__c: "other",
      Cosell_Close_Reason__c: "The customer went with their incumbent",
    });
    // Read back as the same reason: nothing goes back to Partner Center.
    const eTag = sb.partnerCenter.get(referralId)!.eTag;
    const modstamp = sb.salesforce.get("Opportunity", crmId)!.SystemModstamp;
    expect((await cycle()).errors).toEqual([]);
    expect(sb.partnerCenter.get(referralId)!.eTag).toBe(eTag);
    expect(sb.salesforce.get("Opportunity", crmId)!.SystemModstamp).toBe(modstamp);
  });

  it("a decline made by moving the stage without a reason is marked on the record; nothing is sent", async () => {
    const { referralId, crmId } = await received();
    const eTag = sb.partnerCenter.get(referralId)!.eTag;
    // The rule checks the response only: a stage move gets past it, as on an org without the rule.
    edit(crmId, { StageName: "Closed - Partner Declined" });
    await cycle();
    expect(sb.partnerCenter.get(referralId)).toMatchObject({ eTag, status: "New", substatus: "Pending" });
    const opp = opportunityOf(referralId);
    expect(opp.Cosell_Sync_Status__c).toBe("error");
    expect(String(opp.Cosell_Last_Sync_Error__c)).toContain(CLOSE_REASON_REQUIRED);

    // Picking a reason (here with the stage, the response left empty) sends the decline.
    edit(crmId, { Cosell_Close_Reason_Code__c: "notAFit" });
    expect((await cycle()).errors).toEqual([]);
    expect(sb.partnerCenter.get(referralId)).toMatchObject({
      status: "Closed",
      substatus: "Declined",
      statusReason: CLOSE_REASON_LABELS.notAFit,
    });
    expect(opportunityOf(referralId)).toMatchObject({
      Cosell_Stage__c: "declined",
      Cosell_Response__c: "decline",
      Cosell_Sync_Status__c: "synced",
    });
  });
});
