import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  dealToReferral,
  type Referral,
  ReferralPageSchema,
  ReferralSchema,
  referralToDeal,
} from "../../src/index.js";
import { validDeal } from "./factory.js";

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));

const createResponse = ReferralSchema.parse(fixture("create-response.json"));
const updateRequest = ReferralSchema.parse(fixture("update-request.json"));
const list = ReferralPageSchema.parse(fixture("list-response.json"));
const documented: [string, Referral][] = [
  ["create-a-referral response", createResponse],
  ["update-a-referral request", updateRequest],
  ["list item 1 (sparse, New/Pending)", list.value[0]!],
  ["list item 2 (from Microsoft)", list.value[1]!],
];

describe("Partner Center referral ⇄ CoSellDeal on the documented examples", () => {
  it.each(documented)("%s round-trips losslessly", (_name, referral) => {
    const deal = referralToDeal(referral);
    expect(dealToReferral(deal, referral)).toEqual(referral);
  });

  it("keeps fields cosell does not model (links, qualification, contactPreference, industries)", () => {
    const back = dealToReferral(referralToDeal(createResponse), createResponse) as Record<string, unknown>;
    expect(back.links).toEqual((createResponse as Record<string, unknown>).links);
    expect(back.qualification).toBe("SalesQualified");
    expect(JSON.stringify(back)).toContain("contactPreference");
    expect(JSON.stringify(back)).toContain("Manufacturing");
  });

  it("maps the create-a-referral response into the canonical deal", () => {
    const d = referralToDeal(createResponse);
    expect(d).toMatchObject({
      id: "4111fffc-f9ee-4d53-bba6-569135228642",
      engagementId: "37ef26aa-1d15-4533-9f93-a69bd33ab1e5",
      stage: "won",
      kind: "privatePipeline",
      value: { amount: 50000, currency: "USD" },
      customer: {
        name: "Contoso Customer Inc",
        address: {
          street: "One Microsoft Way",
          street2: "34",
          city: "Redmond",
          state: "WA",
          postalCode: "98052",
          country: "US",
        },
        contact: { firstName: "Sue", lastName: "Smith", email: "sue.smith@contoso.com", phone: "1234567890" },
      },
      consentToShareContact: true,
      team: [{ firstName: "John", lastName: "Doe", email: "john.doe@microsoft.com", phone: "1231231234" }],
      solutions: [
        { id: "Dynamics365forFieldService", name: "Dynamics 365 for Field Service", kind: "microsoft" },
      ],
      version: '"2500ec5a-0000-0000-0000-5bf4967d0000"',
    });
    expect(d.closeDate).toBeUndefined(); // the documented response drops closingDateTime
    expect(referralToDeal(updateRequest).closeDate).toBe("2018-11-14");
  });

  it("maps stages and directions of the list examples", () => {
    const [sparse, fromMicrosoft] = list.value.map((r) => referralToDeal(r));
    expect(sparse).toMatchObject({
      stage: "accepted",
      direction: "outbound",
      name: "",
      value: undefined,
      crmId: undefined,
      consentToShareContact: false,
    });
    expect(fromMicrosoft).toMatchObject({ direction: "inbound", stage: "accepted" });
    const received = referralToDeal({ ...list.value[1]!, substatus: "Received" });
    expect(received).toMatchObject({
      stage: "received",
      direction: "inbound",
      expiresAt: "2018-11-06T00:00:00Z",
    });
  });

  it("an edit changes only the matching referral fields", () => {
    const before = createResponse;
    const deal = referralToDeal(before);
    const after = dealToReferral({ ...deal, notes: "Updated notes" }, before);
    expect(after.details?.notes).toBe("Updated notes");
    expect({ ...after, details: { ...after.details, notes: before.details?.notes } }).toEqual(before);

    const valued = dealToReferral({ ...deal, value: { amount: 75000, currency: "EUR" } }, before);
    expect(valued.details).toMatchObject({ dealValue: 75000, currency: "EUR" });

    const phone = dealToReferral({ ...deal, team: [{ ...deal.team[0]!, phone: "999" }] }, before);
    expect(phone.team?.[0]).toEqual({ ...before.team![0], phoneNumber: "999" });
  });

  it("a stage change rewrites status, substatus and reason", () => {
    const base = updateRequest;
    const accepted = dealToReferral(
      { ...referralToDeal(base), stage: "accepted", closeReason: undefined },
      base,
    );
    expect(accepted).toMatchObject({ status: "Active", substatus: "Accepted" });
    const lost = dealToReferral({ ...referralToDeal(base), stage: "lost", closeReason: "Budget cut" }, base);
    expect(lost).toMatchObject({ status: "Closed", substatus: "Lost", statusReason: "Budget cut" });
  });

  it("a stage the base spells differently (New/Pending) keeps its spelling while unchanged", () => {
    const pending = list.value[1]!;
    const back = dealToReferral({ ...referralToDeal(pending), notes: "x" }, pending);
    expect(back).toMatchObject({ status: "New", substatus: "Pending" });
  });

  it("create path: a fresh referral body parses back to the same deal", () => {
    const deal = validDeal({ id: undefined, version: undefined });
    const body = dealToReferral(deal);
    expect(body).toMatchObject({
      name: deal.name,
      type: "Independent",
      externalReferenceId: deal.crmId,
      customerProfile: {
        name: "Contoso Ltd",
        address: { country: "US", postalCode: "98052" },
        ids: { duns: "123456789" },
      },
      consent: { consentToShareReferralWithMicrosoftSellers: true },
      details: {
        dealValue: 50000,
        currency: "USD",
        closingDateTime: "2026-06-30T00:00:00Z",
        campaignId: deal.campaignId,
        requirements: { solutions: [{ id: "sol-1", name: "Field Service Accelerator", type: "Name" }] },
      },
      team: [
        { firstName: "Ann", lastName: "Lee", phoneNumber: "+1 206 555 0101", email: "ann@partner.example" },
      ],
      status: "Active",
      substatus: "Accepted",
    });
    const created: Referral = ReferralSchema.parse({
      ...body,
      id: "new-id",
      createdDateTime: deal.createdAt,
      updatedDateTime: deal.updatedAt,
    });
    expect(referralToDeal(created)).toEqual({ ...deal, id: "new-id", direction: "outbound" });
  });

  it.each([
    ["a status outside the enum", { status: "Open" }, "status"],
    ["a deal value as text", { details: { dealValue: "50000" } }, "details.dealValue"],
    ["no id", { id: undefined }, "id"],
  ])("rejects %s naming the path", (_name, patch, path) => {
    const r = ReferralSchema.safeParse({ ...createResponse, ...patch });
    expect(r.success).toBe(false);
    if (!r.success) expect(r.error.issues.map((i) => i.path.join("."))).toContain(path);
  });
});
