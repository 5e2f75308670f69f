import { describe, expect, it } from "vitest";
import {
  type CoSellDeal,
  dealToReferral,
  parseDeal,
  type Referral,
  ReferralPageSchema,
  ReferralSchema,
  referralToDeal,
  type Solution,
} from "../../src/index.js";
import { diffPaths } from "./diff.js";
import { deepFreeze, person, T0, validDeal } from "./factory.js";
import { createRequestRaw, DOCUMENTED, DOCUMENTED_RAW, listResponseRaw } from "./fixtures/documented.js";

const EXAMPLES = Object.entries(DOCUMENTED);
const createResponse = DOCUMENTED["create response"]!;
const updateRequest = DOCUMENTED["update request"]!;
const sparse = DOCUMENTED["list item 1 (sparse, New/Pending)"]!;
const fromMicrosoft = DOCUMENTED["list item 2 (invited by Microsoft)"]!;

/** A documented example with a different status, for stages no example shows. */
const withStatus = (r: Referral, status: Referral["status"], substatus: Referral["substatus"]): Referral =>
  ReferralSchema.parse({ ...structuredClone(r), status, substatus });
const received = withStatus(fromMicrosoft, "New", "Received");
const engaged = withStatus(fromMicrosoft, "Active", "Engaged");

const SUPPLY_CHAIN_NOTES =
  "Customer is looking to leverage Dynamics 365 to manage their supply chain. There is also a need to leverage a set of custom apps to enable their business processes.";
const contosoAddress = {
  street: "One Microsoft Way",
  street2: "34",
  city: "Redmond",
  state: "WA",
  postalCode: "98052",
  country: "US",
};
const sueAtContoso = {
  firstName: "Sue",
  lastName: "Smith",
  email: "sue.smith@contoso.com",
  phone: "1234567890",
};
const johnDoe = { firstName: "John", lastName: "Doe", email: "john.doe@microsoft.com", phone: "1231231234" };
const fieldService: Solution = {
  id: "Dynamics365forFieldService",
  name: "Dynamics 365 for Field Service",
  kind: "microsoft",
};
const johnsInvite = "Hi ABC Partner, hoping you can help this customer. Thanks, John @ Microsoft";

/** The canonical deal each documented example must map to. */
const EXPECTED: Record<string, CoSellDeal> = {
  "create response": {
    id: "4111fffc-f9ee-4d53-bba6-569135228642",
    engagementId: "37ef26aa-1d15-4533-9f93-a69bd33ab1e5",
    // inviteContext.invitedBy is Microsoft ("msft"), so the example reads as sent to the partner.
    direction: "inbound",
    kind: "privatePipeline", // type Independent
    name: "",
    value: { amount: 50000, currency: "USD" },
    notes: SUPPLY_CHAIN_NOTES,
    customer: { name: "Contoso Customer Inc", address: contosoAddress, contact: sueAtContoso },
    consentToShareContact: true,
    consentToContact: true,
    team: [johnDoe],
    solutions: [fieldService],
    invitation: { microsoftHelpRequested: false, helpNotes: johnsInvite },
    stage: "won",
    favorite: false,
    createdAt: "2018-11-06T18:40:42.6178337Z",
    updatedAt: "2018-11-06T18:43:38.9948636Z",
    version: '"2500ec5a-0000-0000-0000-5bf4967d0000"',
  },
  "update request": {
    id: "49d90c72-3326-4f61-aacc-2cb57970448c",
    engagementId: "37ef26aa-1d15-4533-9f93-a69bd33ab1e5",
    direction: "inbound",
    kind: "privatePipeline",
    name: "",
    value: { amount: 50000, currency: "USD" },
    closeDate: "2018-11-14",
    notes: SUPPLY_CHAIN_NOTES,
    customer: { name: "Contoso Customer Inc", address: contosoAddress, contact: sueAtContoso },
    consentToShareContact: true,
    consentToContact: true,
    team: [johnDoe],
    solutions: [fieldService],
    invitation: { microsoftHelpRequested: false, helpNotes: johnsInvite },
    stage: "won",
    favorite: false,
    createdAt: "2018-11-06T18:40:42.6178337Z",
    updatedAt: "2018-11-06T18:40:42.6178337Z",
    version: '"2500ec5a-0000-0000-0000-5bf4967d0000"',
  },
  "list item 1 (sparse, New/Pending)": {
    id: "c5fbb3b6-be74-4795-9fb5-4324c73fed37",
    engagementId: "65edc0b5-3485-41b7-a17e-dfa9ef4706e2",
    direction: "outbound", // nobody invited the partner: its own referral, waiting for the other side
    kind: "privatePipeline",
    name: "",
    notes:
      "We are interested in deploying Microsoft 365 and are looking for support in training our employees. Can you help?",
    customer: {
      name: "Fabrikam Customer Inc",
      address: {
        street: "One Microsoft Way",
        city: "Redmond",
        state: "WA",
        postalCode: "98052",
        country: "US",
      },
      contact: { ...sueAtContoso, email: "sue.smith@fabrikam.com" },
    },
    consentToShareContact: false, // only consentToContact is given
    consentToContact: true,
    team: [],
    solutions: [],
    invitation: { microsoftHelpRequested: false },
    stage: "accepted",
    favorite: false,
    createdAt: "2018-10-30T21:03:42.4579542Z",
    updatedAt: "2018-10-30T21:03:42.4579542Z",
  },
  "list item 2 (invited by Microsoft)": {
    id: "61c65491-2f2c-461a-84b4-3654499bc1d9",
    engagementId: "b1c40bb4-6d36-4eca-baa3-e1460cf2a454",
    direction: "inbound",
    kind: "privatePipeline",
    name: "",
    value: { amount: 50000, currency: "USD" },
    notes: SUPPLY_CHAIN_NOTES,
    customer: { name: "Contoso Customer Inc", address: contosoAddress, contact: sueAtContoso },
    consentToShareContact: true,
    consentToContact: true,
    team: [johnDoe],
    solutions: [fieldService],
    invitation: { microsoftHelpRequested: false, helpNotes: johnsInvite },
    // New/Pending from Microsoft: waiting for the partner's answer (was read as accepted before the
    // documented reading of Pending was applied).
    stage: "received",
    favorite: false,
    sentBy: "Microsoft", // inviteContext.invitedBy.organizationName
    createdAt: "2018-10-29T21:24:52.040469Z",
    updatedAt: "2018-10-29T21:24:52.040469Z",
    expiresAt: "2018-11-06T00:00:00Z",
  },
};

describe("the documented examples parse", () => {
  it.each(EXAMPLES)("%s: ReferralSchema keeps every field as documented", (name, referral) => {
    expect(referral).toStrictEqual(DOCUMENTED_RAW[name]);
  });

  it("the list page keeps its count and next link", () => {
    const page = ReferralPageSchema.parse(listResponseRaw);
    expect(page.value).toHaveLength(2);
    expect(page["@odata.count"]).toBe(100);
    expect(page["@odata.nextLink"]).toMatch(
      /^http:\/\/api\.partner\.microsoft\.com\/v1\.0\/referrals\?\$skiptoken=/,
    );
  });

  it("the create request is a referral but for the server's id", () => {
    const r = ReferralSchema.safeParse(createRequestRaw);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual(["id"]);
  });
});

describe("referral → canonical deal, on the documented examples", () => {
  it.each(EXAMPLES)("%s", (name, referral) => {
    expect(referralToDeal(referral)).toEqual(EXPECTED[name]);
  });

  it.each(EXAMPLES)("%s: the canonical deal is a well-formed CoSellDeal", (_name, referral) => {
    const deal = referralToDeal(referral);
    expect(parseDeal(JSON.parse(JSON.stringify(deal)))).toEqual(deal);
  });

  it.each<[string, Referral, Partial<CoSellDeal>]>([
    ["Closed/Won", createResponse, { stage: "won" }],
    ["New/Pending, the partner's own", sparse, { stage: "accepted", direction: "outbound" }],
    [
      "New/Pending, invited by Microsoft",
      fromMicrosoft,
      { stage: "received", direction: "inbound", expiresAt: "2018-11-06T00:00:00Z" },
    ],
    [
      "New/Received",
      received,
      { stage: "received", direction: "inbound", expiresAt: "2018-11-06T00:00:00Z" },
    ],
    [
      "Active/Engaged",
      engaged,
      {
        stage: "accepted",
        invitation: { microsoftHelpRequested: false, helpNotes: johnsInvite },
      },
    ],
  ])("%s maps to its stage", (_label, referral, expected) => {
    expect(referralToDeal(referral)).toMatchObject(expected);
  });

  it("a received deal carries the expiry date", () => {
    expect(referralToDeal(fromMicrosoft).expiresAt).toBe(fromMicrosoft.expirationDateTime);
    expect(referralToDeal(received).expiresAt).toBe(fromMicrosoft.expirationDateTime);
  });

  it("favorite is Partner Center's own flag, false when the referral does not carry it", () => {
    const starred = ReferralSchema.parse({ ...structuredClone(createResponse), favorite: true });
    expect(referralToDeal(starred).favorite).toBe(true);
    expect(referralToDeal(createResponse).favorite).toBe(false);
  });

  it("an unparseable timestamp falls back on the injected clock", () => {
    const r = ReferralSchema.parse({ ...structuredClone(sparse), createdDateTime: "soon" });
    expect(referralToDeal(r, { now: T0 }).createdAt).toBe(T0.toISOString());
  });
});

describe("canonical deal → referral: lossless round trip", () => {
  const all = [
    ...EXAMPLES,
    ["derived New/Received", received] as const,
    ["derived Active/Engaged", engaged] as const,
  ];

  it.each(all)("%s comes back byte-identical", (_name, referral) => {
    const back = dealToReferral(referralToDeal(referral), referral);
    expect(back).toStrictEqual(referral);
    expect(JSON.stringify(back)).toBe(JSON.stringify(referral));
  });

  it.each(all)("%s: a favorite star is the only thing it writes", (_name, referral) => {
    const back = dealToReferral({ ...referralToDeal(referral), favorite: true }, referral);
    expect(back).toStrictEqual({ ...referral, favorite: true });
  });

  it("keeps what cosell does not model: links, qualification, size, contactPreference, industries…", () => {
    const back = dealToReferral(referralToDeal(createResponse), createResponse) as Record<string, unknown>;
    const raw = DOCUMENTED_RAW["create response"] as Record<string, unknown>;
    for (const key of ["links", "qualification", "expirationDateTime", "inviteContext", "statusReason"])
      expect(back[key], key).toStrictEqual(raw[key]);
    expect(back.customerProfile).toMatchObject({ size: "10to50employees", ids: [] });
    expect(back.customerProfile).toMatchObject({
      team: [{ contactPreference: { locale: "en-us", disableNotifications: false } }, {}],
    });
    expect(back.consent).toStrictEqual({ consentToToShareInfoWithOthers: true, consentToContact: true });
    expect(back.details).toMatchObject({
      requirements: {
        industries: [{ id: "Manufacturing" }],
        products: [{ id: "Dynamics365Enterprise" }],
        services: [{ id: "DeploymentOrMigration" }],
      },
    });
  });

  it("does not mutate the referral it starts from", () => {
    const base = deepFreeze(structuredClone(createResponse));
    const deal = referralToDeal(base);
    expect(() =>
      dealToReferral({ ...deal, notes: "x", stage: "lost", closeReason: "y" }, base),
    ).not.toThrow();
    expect(base).toStrictEqual(createResponse);
  });
});

/** An edit of the canonical deal and the referral paths it must change, per example when they differ. */
type Edit = [label: string, apply: (d: CoSellDeal) => CoSellDeal, paths: (d: CoSellDeal) => string[]];

const EDITS: Edit[] = [
  ["notes", (d) => ({ ...d, notes: "Updated notes" }), () => ["details.notes"]],
  [
    "value",
    (d) => ({ ...d, value: { amount: 75_000, currency: d.value?.currency ?? "USD" } }),
    (d) => (d.value ? ["details.dealValue"] : ["details.currency", "details.dealValue"]),
  ],
  [
    "currency",
    (d) => ({ ...d, value: { amount: d.value?.amount ?? 0, currency: "EUR" } }),
    (d) => (d.value ? ["details.currency"] : ["details.currency", "details.dealValue"]),
  ],
  ["close date", (d) => ({ ...d, closeDate: "2026-12-31" }), () => ["details.closingDateTime"]],
  ["name", (d) => ({ ...d, name: "Contoso supply chain" }), () => ["name"]],
  ["CRM id", (d) => ({ ...d, crmId: "0065g00000AbCdEAAA" }), () => ["externalReferenceId"]],
  [
    "stage (accepted → won, received → declined with a reason, or won → lost with a reason)",
    (d) =>
      d.stage === "accepted"
        ? { ...d, stage: "won" }
        : d.stage === "received"
          ? { ...d, stage: "declined", closeReason: "Not our region", expiresAt: undefined } // answered: no deadline
          : { ...d, stage: "lost", closeReason: "Budget cut" },
    (d) =>
      d.stage === "accepted"
        ? ["status", "substatus"]
        : d.stage === "received"
          ? ["status", "statusReason", "substatus"]
          : ["statusReason", "substatus"],
  ],
  [
    "team: first member's phone, or a first member",
    (d) =>
      d.team.length
        ? { ...d, team: d.team.map((m, i) => (i === 0 ? { ...m, phone: "999" } : m)) }
        : { ...d, team: [person()] },
    (d) => (d.team.length ? ["team.0.phoneNumber"] : ["team"]),
  ],
  [
    "consent flipped",
    (d) => ({ ...d, consentToShareContact: !d.consentToShareContact }),
    // Only the contact-sharing flag: the deal kind and the consent to be contacted are their own.
    () => ["consent.consentToToShareInfoWithOthers"],
  ],
  [
    "a solution added",
    (d) => ({
      ...d,
      solutions: [...d.solutions, { id: "sol-1", name: "Field Service Accelerator", kind: "own" }],
    }),
    (d) => (d.solutions.length ? ["details.requirements.solutions.1"] : ["details.requirements.solutions"]),
  ],
];

/** Customer edits (list item 1 has its own tests below: its empty addressLine2 must survive). */
const CUSTOMER_EDITS: Edit[] = [
  [
    "customer contact's phone",
    (d) => ({ ...d, customer: { ...d.customer, contact: { ...d.customer.contact!, phone: "999" } } }),
    () => ["customerProfile.team.0.phoneNumber"],
  ],
  [
    "customer city",
    (d) => ({ ...d, customer: { ...d.customer, address: { ...d.customer.address, city: "Bellevue" } } }),
    () => ["customerProfile.address.city"],
  ],
];

/** Checks that `after` differs from `before` exactly at `paths` and is byte-identical elsewhere. */
function expectOnlyChanged(before: Referral, after: Referral, paths: string[]) {
  expect(diffPaths(before, after)).toEqual([...paths].sort());
  const touched = new Set(paths.map((p) => p.split(".")[0]));
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  for (const key of Object.keys(b).filter((k) => !touched.has(k)))
    expect(JSON.stringify(a[key]), key).toBe(JSON.stringify(b[key]));
  expect(Object.keys(a).filter((k) => !touched.has(k))).toEqual(
    Object.keys(b).filter((k) => !touched.has(k)),
  );
}

describe("canonical deal → referral: an edit changes only its own fields", () => {
  const rows = [
    ...EXAMPLES.flatMap(([name, referral]) => EDITS.map((e) => [name, referral, ...e] as const)),
    ...EXAMPLES.filter(([name]) => !name.startsWith("list item 1")).flatMap(([name, referral]) =>
      CUSTOMER_EDITS.map((e) => [name, referral, ...e] as const),
    ),
  ];

  it.each(rows)("%s: %s", (_name, referral, _label, apply, paths) => {
    const deal = referralToDeal(referral);
    const edited = apply(deal);
    const after = dealToReferral(edited, referral);
    expectOnlyChanged(referral, after, paths(deal));
    // …and the edit is what Partner Center reads back.
    expect(referralToDeal(after)).toEqual(edited);
  });

  it("a stage change spells the new stage the documented way", () => {
    const lost = dealToReferral(
      { ...referralToDeal(updateRequest), stage: "lost", closeReason: "Budget cut" },
      updateRequest,
    );
    expect(lost).toMatchObject({ status: "Closed", substatus: "Lost", statusReason: "Budget cut" });
    const won = dealToReferral({ ...referralToDeal(sparse), stage: "won" }, sparse);
    expect(won).toMatchObject({ status: "Closed", substatus: "Won" });
  });

  it("an unchanged stage keeps the base's own spelling (Pending, Engaged)", () => {
    for (const base of [sparse, engaged]) {
      const back = dealToReferral({ ...referralToDeal(base), notes: "x" }, base);
      expect([back.status, back.substatus]).toEqual([base.status, base.substatus]);
    }
  });

  it("a kind change rewrites the type and the sharing-with-Microsoft-sellers flag; Shared alone does not read as help requested", () => {
    const deal = referralToDeal(createResponse);
    const after = dealToReferral({ ...deal, kind: "coSell" }, createResponse);
    expectOnlyChanged(createResponse, after, [
      "consent.consentToShareReferralWithMicrosoftSellers",
      "target",
      "type",
    ]);
    expect(after.target).toEqual(deal.solutions.map((s) => ({ type: "SolutionProfile", id: s.id })));
    expect(after.type).toBe("Shared");
    // A co-sell deal is Shared from the start; only the connected referral says Microsoft was invited.
    expect(referralToDeal(after)).toMatchObject({
      kind: "coSell",
      invitation: { microsoftHelpRequested: false },
    });
  });

  it("a team member matched by email keeps its contactPreference when the team is reordered", () => {
    const twoPeople = ReferralSchema.parse({
      ...structuredClone(createResponse),
      team: [
        ...structuredClone(createResponse.team!),
        { firstName: "Ann", lastName: "Lee", email: "ann@x.com", phoneNumber: "1" },
      ],
    });
    const deal = referralToDeal(twoPeople);
    const back = dealToReferral({ ...deal, team: [deal.team[1]!, deal.team[0]!] }, twoPeople);
    expect(back.team?.[1]).toStrictEqual(twoPeople.team?.[0]);
  });
});

describe("canonical deal → referral: create (no base)", () => {
  const deal = validDeal({ id: undefined, version: undefined });
  const body = dealToReferral(deal);

  it("has the documented create-body shape", () => {
    expect(body).toMatchObject({
      name: "Contoso supply chain",
      type: "Independent",
      externalReferenceId: "0065g00000AbCdEAAA",
      customerProfile: {
        name: "Contoso Ltd",
        address: {
          addressLine1: "1 Main St",
          city: "Redmond",
          state: "WA",
          postalCode: "98052",
          country: "US",
        },
        team: [
          { firstName: "Sue", lastName: "Smith", phoneNumber: "+1 425 555 0100", email: "sue@contoso.com" },
        ],
      },
      // A private-pipeline deal is not shared with Microsoft's sellers; the contact may be shared.
      consent: { consentToShareReferralWithMicrosoftSellers: false, consentToToShareInfoWithOthers: true },
      details: {
        notes: "Wants Dynamics 365 for field service.",
        dealValue: 50000,
        currency: "USD",
        closingDateTime: "2026-06-30T00:00:00Z",
        requirements: { solutions: [{ id: "sol-1", name: "Field Service Accelerator", type: "Name" }] },
      },
      team: [
        { firstName: "Ann", lastName: "Lee", phoneNumber: "+1 206 555 0101", email: "ann@partner.example" },
      ],
    });
  });

  it("carries no server-assigned field", () => {
    for (const key of ["id", "engagementId", "eTag", "createdDateTime", "updatedDateTime"])
      expect(body).not.toHaveProperty(key);
  });

  it("uses only top-level properties of the documented create request and Referral resource", () => {
    // `campaignId` is top-level in Microsoft's connector contract (PowerPlatformConnectors swagger).
    const documented = new Set([
      ...Object.keys(createRequestRaw),
      "name",
      "externalReferenceId",
      "campaignId",
      // ReferralTarget: a co-sell deal's solution profiles ("Create a shared referral").
      "target",
    ]);
    expect(Object.keys(body).filter((k) => !documented.has(k))).toEqual([]);
  });

  it.each<[string, CoSellDeal]>([
    ["a private-pipeline deal", deal],
    [
      "a co-sell deal (Shared; Microsoft is invited by a connected referral, not by this one)",
      validDeal({ id: undefined, kind: "coSell", invitation: { microsoftHelpRequested: false } }),
    ],
    [
      "a deal without optional fields",
      validDeal({
        id: undefined,
        crmId: undefined,
        campaignId: undefined,
        notes: undefined,
        customer: { name: "Fabrikam", address: { country: "DE" } },
      }),
    ],
  ])("%s parses back to the same canonical deal", (_label, original) => {
    const created = ReferralSchema.parse({
      ...dealToReferral(original),
      id: "new-id",
      createdDateTime: original.createdAt,
      updatedDateTime: original.updatedAt,
    });
    expect(referralToDeal(created)).toEqual({ ...original, id: "new-id" });
  });
});

describe("malformed referrals are refused, naming the path", () => {
  const base = () => structuredClone(DOCUMENTED_RAW["create response"]) as Record<string, unknown>;
  it.each<[string, (r: Record<string, unknown>) => void, string]>([
    ["a status outside the enum", (r) => (r.status = "Open"), "status"],
    ["a substatus outside the enum", (r) => (r.substatus = "Done"), "substatus"],
    ["a type outside the enum", (r) => (r.type = "Private"), "type"],
    [
      "a deal value as text",
      (r) => ((r.details as Record<string, unknown>).dealValue = "50000"),
      "details.dealValue",
    ],
    ["no id", (r) => delete r.id, "id"],
    ["no updatedDateTime", (r) => delete r.updatedDateTime, "updatedDateTime"],
    [
      "customer team as an object",
      (r) => ((r.customerProfile as Record<string, unknown>).team = {}),
      "customerProfile.team",
    ],
    [
      "a team member's email as a number",
      (r) => ((r.team as Record<string, unknown>[])[0]!.email = 42),
      "team.0.email",
    ],
    [
      "a solution without an id",
      (r) =>
        ((r.details as { requirements: { solutions: Record<string, unknown>[] } }).requirements
          .solutions[0]!.id = undefined),
      "details.requirements.solutions.0.id",
    ],
  ])("%s", (_label, mutate, path) => {
    const raw = base();
    mutate(raw);
    const r = ReferralSchema.safeParse(raw);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual([path]);
  });
});

// The Power Platform "Partner Center Referrals" connector, published by Microsoft
// (microsoft/PowerPlatformConnectors, connectors/PartnerCenterReferrals/apiDefinition.swagger.json),
// defines `customerProfile.ids` as an array of CustomerProfileId {profileType: "Duns" | "External", id}
// and `campaignId` ("Marketing Campaign ID") as a top-level Referral property.
describe("wire shapes of Microsoft's connector contract", () => {
  it("the DUNS number is read from customerProfile.ids [{profileType: 'Duns', id}]", () => {
    const r = ReferralSchema.parse({
      ...structuredClone(createResponse),
      customerProfile: {
        ...structuredClone(createResponse.customerProfile),
        ids: [{ profileType: "Duns", id: "123456789" }],
      },
    });
    expect(referralToDeal(r).customer.duns).toBe("123456789");
  });

  it("a create body sends the DUNS number as ids [{profileType: 'Duns', id}]", () => {
    const body = dealToReferral(validDeal({ id: undefined }));
    expect(body.customerProfile?.ids).toEqual([{ profileType: "Duns", id: "123456789" }]);
  });

  it("the campaign id is the top-level campaignId", () => {
    const body = dealToReferral(validDeal({ id: undefined })) as Record<string, unknown>;
    expect(body.campaignId).toBe("7015g000000XyZAAA");
    expect(body.details).not.toHaveProperty("campaignId");
  });
});

describe("a group edit leaves unchanged neighbours alone", () => {
  // The empty addressLine2 of list item 1 must not come back as null when the address was not edited.
  it("list item 1: editing the customer contact's phone changes only that phone", () => {
    const deal = referralToDeal(sparse);
    const after = dealToReferral(
      { ...deal, customer: { ...deal.customer, contact: { ...deal.customer.contact!, phone: "999" } } },
      sparse,
    );
    expect(diffPaths(sparse, after)).toEqual(["customerProfile.team.0.phoneNumber"]);
  });

  it("list item 1: editing the customer city changes only the city", () => {
    const deal = referralToDeal(sparse);
    const after = dealToReferral(
      { ...deal, customer: { ...deal.customer, address: { ...deal.customer.address, city: "Bellevue" } } },
      sparse,
    );
    expect(diffPaths(sparse, after)).toEqual(["customerProfile.address.city"]);
  });

  // Editing the help notes must not add invitedDateTime/engagedDateTime, which the documented
  // InviteContext does not have.
  it("editing the help notes changes only inviteContext.notes", () => {
    const deal = referralToDeal(createResponse);
    const after = dealToReferral(
      { ...deal, invitation: { ...deal.invitation, helpNotes: "Need a demo" } },
      createResponse,
    );
    expect(diffPaths(createResponse, after)).toEqual(["inviteContext.notes"]);
  });
});
