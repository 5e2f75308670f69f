import { CLOSE_REASON_LABELS, CLOSE_REASON_REQUIRED } from "@cosell/core";
import { describe, expect, it } from "vitest";
import { parseSalesforceConfig } from "../src/config.js";
import {
  dealToOpportunity,
  formatRegistrations,
  formatSolutions,
  type OrgFacts,
  opportunityFields,
  parseRegistrations,
  parseSolutions,
  readCloseReason,
  readHelpType,
  readSalesStage,
  rowToRecord,
  StageMapping,
  statusToOpportunity,
  writeCloseReason,
} from "../src/mapping.js";

const PEM = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";
const config = parseSalesforceConfig({
  kind: "salesforce",
  auth: { kind: "jwt", clientId: "id", username: "u@x", privateKey: PEM },
});
const stageInfo = [
  ["Prospecting", false, false],
  ["Co-sell Review", false, false],
  ["Negotiation/Review", false, false],
  ["Closed Won", true, true],
  ["Closed Lost", true, false],
  ["Closed - Partner Declined", true, false],
].map(([apiName, isClosed, isWon], i) => ({
  apiName: apiName as string,
  isActive: true,
  isClosed: isClosed as boolean,
  isWon: isWon as boolean,
  sortOrder: i + 1,
}));
const facts: OrgFacts = { multiCurrency: false, countryCodes: false, stages: stageInfo };
const stages = new StageMapping(stageInfo, config.stages);

const row = (over: Record<string, unknown> = {}) => ({
  Id: "0068d00000ABCDEAAA",
  Name: "Contoso supply chain",
  Amount: 50000,
  CloseDate: "2026-06-30",
  StageName: "Negotiation/Review",
  Description: "Wants field service.",
  CampaignId: "7018d000000Camp1AA",
  AccountId: "0018d000000Acc1AAA",
  CreatedDate: "2026-01-02T03:04:05.000+0000",
  LastModifiedDate: "2026-01-03T03:04:05.000+0000",
  SystemModstamp: "2026-01-03T03:04:05.000+0000",
  Cosell_Sync__c: true,
  Cosell_Referral_Id__c: null,
  Cosell_Contact_Consent__c: true,
  Cosell_Solutions__c: "sol-b | Field Service | own\nsol-a | Azure | microsoft",
  Account: {
    Name: "Contoso Ltd",
    BillingStreet: "1 Main St",
    BillingCity: "Redmond",
    BillingState: "WA",
    BillingPostalCode: "98052",
    BillingCountry: "United States",
  },
  OpportunityContactRoles: {
    records: [
      {
        IsPrimary: false,
        Contact: { FirstName: "Not", LastName: "Primary", Email: "np@x.example", Phone: "1" },
      },
      {
        IsPrimary: true,
        Contact: { FirstName: "Sue", LastName: "Smith", Email: "sue@contoso.example", Phone: "2" },
      },
    ],
  },
  OpportunityTeamMembers: {
    records: [{ User: { FirstName: "Ann", LastName: "Lee", Email: "ann@partner.example", Phone: "3" } }],
  },
  ...over,
});

describe("Opportunity → CoSellDeal", () => {
  it("maps fields, account, primary contact role, team members, solutions; Id is the CRM id and CampaignId the campaign", () => {
    const r = rowToRecord(row(), config, facts, stages);
    expect(r).toMatchObject({
      crmId: "0068d00000ABCDEAAA",
      optedIn: true,
      modifiedAt: "2026-01-03T03:04:05.000Z",
    });
    expect(r.deal).toMatchObject({
      direction: "outbound",
      kind: "privatePipeline",
      name: "Contoso supply chain",
      value: { amount: 50000, currency: "USD" },
      closeDate: "2026-06-30",
      crmId: "0068d00000ABCDEAAA",
      campaignId: "7018d000000Camp1AA",
      notes: "Wants field service.",
      customer: {
        name: "Contoso Ltd",
        address: { street: "1 Main St", city: "Redmond", state: "WA", postalCode: "98052", country: "US" },
        contact: { firstName: "Sue", lastName: "Smith", email: "sue@contoso.example", phone: "2" },
      },
      consentToShareContact: true,
      team: [{ firstName: "Ann", lastName: "Lee", email: "ann@partner.example", phone: "3" }],
      solutions: [
        { id: "sol-b", name: "Field Service", kind: "own" },
        { id: "sol-a", name: "Azure", kind: "microsoft" },
      ],
      stage: "accepted",
    });
    expect(r.issues).toBeUndefined();
  });

  it("reads CurrencyIsoCode only in a multi-currency org", () => {
    const multi = rowToRecord(
      row({ CurrencyIsoCode: "EUR" }),
      config,
      { ...facts, multiCurrency: true },
      stages,
    );
    expect(multi.deal.value).toEqual({ amount: 50000, currency: "EUR" });
    expect(opportunityFields(config, facts)).not.toContain("CurrencyIsoCode");
    expect(opportunityFields(config, { ...facts, multiCurrency: true })).toContain("CurrencyIsoCode");
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["an open stage", { StageName: "Prospecting" }, "accepted"],
    ["IsWon", { StageName: "Closed Won" }, "won"],
    ["IsClosed, not won", { StageName: "Closed Lost" }, "lost"],
    ["the partner-declined stage", { StageName: "Closed - Partner Declined" }, "declined"],
    [
      "the review stage on an inbound record",
      { StageName: "Co-sell Review", Cosell_Direction__c: "inbound" },
      "received",
    ],
    ["the review stage on an outbound record", { StageName: "Co-sell Review" }, "accepted"],
    [
      "closed lost after the referral expired",
      { StageName: "Closed Lost", Cosell_Stage__c: "expired" },
      "expired",
    ],
  ])("stage: %s", (_label, over, stage) => {
    expect(rowToRecord(row(over), config, facts, stages).deal.stage).toBe(stage);
  });

  it("per-stage overrides win, and an unknown stage is an issue, not a guess", () => {
    const custom = new StageMapping(stageInfo, { toDeal: { "Negotiation/Review": "won" }, toCrm: {} });
    expect(rowToRecord(row(), config, facts, custom).deal.stage).toBe("won");
    const r = rowToRecord(row({ StageName: "Mystery" }), config, facts, stages);
    expect(r.issues?.[0]).toMatchObject({ code: "VALUE_NOT_MAPPED", path: "stage" });
  });
});

describe("CoSellDeal → Opportunity", () => {
  const deal = rowToRecord(row(), config, facts, stages).deal;

  it("writes only the requested fields, never the name for a status write", () => {
    expect(dealToOpportunity(deal, ["notes", "value"], { config, facts, stages })).toEqual({
      Description: "Wants field service.",
      Amount: 50000,
    });
    const status = statusToOpportunity(
      {
        state: "synced",
        lastError: null,
        referralId: "r-1",
        referralUrl: "https://x/r-1",
        coSellStage: "accepted",
      },
      config,
    );
    expect(status).toEqual({
      Cosell_Sync_Status__c: "synced",
      Cosell_Last_Sync_Error__c: null,
      Cosell_Referral_Id__c: "r-1",
      Cosell_Referral_Link__c: "https://x/r-1",
      Cosell_Stage__c: "accepted",
      // An answered referral has no respond-by date any more.
      Cosell_Respond_By__c: null,
    });
    expect(Object.keys(status)).not.toContain("Name");
    // A referral still waiting keeps its respond-by date.
    expect(
      statusToOpportunity({ state: "synced", lastError: null, coSellStage: "received" }, config),
    ).not.toHaveProperty("Cosell_Respond_By__c");
  });

  it("maps stages to the org's StageName and keeps a stage that already means the same", () => {
    const won = dealToOpportunity({ ...deal, stage: "won" }, ["stage"], { config, facts, stages });
    const noReason = {
      Cosell_Response__c: null,
      Cosell_Close_Reason_Code__c: null,
      Cosell_Close_Reason__c: null,
    };
    expect(won).toEqual({ StageName: "Closed Won", ...noReason });
    const keep = dealToOpportunity({ ...deal, stage: "accepted" }, ["stage"], {
      config,
      facts,
      stages,
      currentStage: "Negotiation/Review",
    });
    expect(keep).toEqual(noReason);
    const expired = dealToOpportunity({ ...deal, stage: "expired" }, ["stage"], { config, facts, stages });
    expect(expired.StageName).toBe("Closed Lost");
  });

  it("writes a campaign id into CampaignId only when it is a Salesforce campaign id", () => {
    const ok = dealToOpportunity(deal, ["campaignId"], { config, facts, stages });
    expect(ok).toEqual({ CampaignId: "7018d000000Camp1AA" });
    const foreign = dealToOpportunity({ ...deal, campaignId: "MS-CAMPAIGN-42" }, ["campaignId"], {
      config,
      facts,
      stages,
    });
    expect(foreign).toEqual({});
  });

  it("solutions round-trip through the text field, sorted by id", () => {
    const text = formatSolutions(deal.solutions);
    expect(text).toBe("sol-a | Azure | microsoft\nsol-b | Field Service | own");
    expect(parseSolutions(text)).toEqual([...deal.solutions].sort((a, b) => a.id.localeCompare(b.id)));
    expect(parseSolutions("just-an-id")).toEqual([{ id: "just-an-id", name: "just-an-id", kind: "own" }]);
  });
});

describe("new co-sell fields", () => {
  it("registrations: one line each, keys sorted, read back as sent; a line cosell did not write reads as absent", () => {
    const regs = [{ status: "Approved", id: "r1", program: { name: "IP co-sell", tier: 2 } }, { id: "r2" }];
    const text = formatRegistrations(regs)!;
    expect(text.split("\n")).toEqual([
      '{"id":"r1","program":{"name":"IP co-sell","tier":2},"status":"Approved"}',
      '{"id":"r2"}',
    ]);
    expect(parseRegistrations(text)).toEqual(regs);
    expect(formatRegistrations([])).toBeNull();
    expect(parseRegistrations(null)).toBeUndefined();
    expect(parseRegistrations('{"id":"r1"}\nsee email')).toBeUndefined();
    expect(parseRegistrations("[1,2]")).toBeUndefined();
  });

  it("registrations longer than the field keep whole lines only", () => {
    const big = Array.from({ length: 40 }, (_, i) => ({ id: `r${i}`, note: "x".repeat(4000) }));
    const text = formatRegistrations(big)!;
    expect(text.length).toBeLessThanOrEqual(131072);
    const back = parseRegistrations(text)!;
    expect(back.length).toBeGreaterThan(0);
    expect(back).toEqual(big.slice(0, back.length));
  });

  it("picklist values map to canonical values regardless of case; anything else is absent", () => {
    expect(readSalesStage("Propose")).toBe("propose");
    expect(readSalesStage("CLOSE")).toBe("close");
    expect(readSalesStage("100")).toBeUndefined();
    expect(readSalesStage(null)).toBeUndefined();
    expect(readHelpType("proofofconceptordemo")).toBe("ProofOfConceptOrDemo");
    expect(readHelpType("Negotiate")).toBeUndefined();
  });

  it("a row with an unknown picklist value maps the rest and reports the value once", () => {
    const seen: unknown[] = [];
    const rec = rowToRecord(
      row({ Cosell_Sales_Stage__c: "Negotiate", Cosell_Favorite__c: true }),
      config,
      facts,
      stages,
      (u) => seen.push(u),
    );
    expect(rec.deal.salesStage).toBeUndefined();
    expect(rec.deal.favorite).toBe(true);
    expect(rec.issues).toBeUndefined();
    expect(seen).toEqual([
      expect.objectContaining({ field: "Cosell_Sales_Stage__c", value: "Negotiate", crmId: rec.crmId }),
    ]);
  });
});

describe("seller's response and listed close reason", () => {
  const inbound = (over: Record<string, unknown> = {}) =>
    row({
      StageName: "Co-sell Review",
      Cosell_Direction__c: "inbound",
      Cosell_Referral_Id__c: "ref-1",
      Cosell_Stage__c: "received",
      ...over,
    });
  const read = (r: Record<string, unknown>) => rowToRecord(r, config, facts, stages);

  it("a response answers a waiting referral only; an outbound record's response is ignored", () => {
    expect(read(inbound({ Cosell_Response__c: "accept" })).deal.stage).toBe("accepted");
    const declined = read(
      inbound({ Cosell_Response__c: "decline", Cosell_Close_Reason_Code__c: "duplicate" }),
    );
    expect(declined.deal).toMatchObject({ stage: "declined", closeReason: "Duplicate of another deal" });
    expect(declined.issues).toBeUndefined();
    expect(read(inbound({ StageName: "Closed Won", Cosell_Response__c: "decline" })).deal.stage).toBe("won");
    expect(read(row({ Cosell_Response__c: "decline" })).deal.stage).toBe("accepted");
  });

  it("a decline without a reason is an issue, unless Partner Center already holds it declined", () => {
    const missing = { code: "REASON_REQUIRED", path: "closeReason", message: CLOSE_REASON_REQUIRED };
    expect(read(inbound({ Cosell_Response__c: "decline" })).issues).toEqual([missing]);
    expect(read(inbound({ StageName: "Closed - Partner Declined" })).issues).toEqual([missing]);
    // A waiting referral moved to closed-lost is sent as a decline: the same reason is needed.
    expect(read(inbound({ StageName: "Closed Lost" })).issues).toEqual([missing]);
    expect(
      read(inbound({ Cosell_Response__c: "decline", Cosell_Close_Reason_Code__c: "other" })).issues,
    ).toEqual([missing]);
    const held = read(
      inbound({
        StageName: "Closed - Partner Declined",
        Cosell_Stage__c: "declined",
        Cosell_Response__c: "decline",
      }),
    );
    expect(held.deal.stage).toBe("declined");
    expect(held.issues).toBeUndefined();
  });

  it("reason text: label, label: details, Other's details; an admin's own value reads as its text", () => {
    const reason = (code: unknown, details: unknown) => readCloseReason(code, details);
    expect(reason("noCapacity", null)).toBe(CLOSE_REASON_LABELS.noCapacity);
    expect(reason("noCapacity", "Booked")).toBe(`${CLOSE_REASON_LABELS.noCapacity}: Booked`);
    expect(reason("other", "Went quiet")).toBe("Went quiet");
    expect(reason("other", "  ")).toBeUndefined();
    expect(reason(null, "Typed before the list came")).toBe("Typed before the list came");
    expect(reason("budgetFrozen", null)).toBe("budgetFrozen");
    expect(reason("budgetFrozen", "Frozen until Q3")).toBe("Frozen until Q3");
  });

  it("a written deal reads back as the same deal (stage, response and reason), so nothing ping-pongs", () => {
    const texts = [
      undefined,
      CLOSE_REASON_LABELS.notAFit,
      `${CLOSE_REASON_LABELS.lostToCompetitor}: Fabrikam`,
      "no capacity to take it on", // a label in other letters: kept word for word
      "Other: said so",
      "The customer went quiet",
    ];
    for (const stage of ["received", "accepted", "declined", "won", "lost", "expired"] as const)
      for (const closeReason of texts) {
        const base = read(inbound()).deal;
        const deal = { ...base, stage, ...(closeReason ? { closeReason } : { closeReason: undefined }) };
        const written = dealToOpportunity(deal, ["stage"], { config, facts, stages });
        const back = read(inbound({ ...written, Cosell_Stage__c: stage })).deal;
        expect({ stage: back.stage, closeReason: back.closeReason }, `${stage} ${closeReason}`).toEqual({
          stage,
          closeReason: closeReason?.trim() || undefined,
        });
        expect(written.Cosell_Response__c).toBe(
          stage === "declined" ? "decline" : ["accepted", "won", "lost"].includes(stage) ? "accept" : null,
        );
      }
    expect(writeCloseReason("no capacity to take it on")).toEqual({
      code: "other",
      details: "no capacity to take it on",
    });
    expect(writeCloseReason(`${CLOSE_REASON_LABELS.duplicate}: of 123`)).toEqual({
      code: "duplicate",
      details: "of 123",
    });
  });
});
