import {
  CLOSE_REASON_LABELS,
  CLOSE_REASON_REQUIRED,
  type CoSellDeal,
  type Direction,
  type Stage,
} from "@cosell/core";
import { describe, expect, it } from "vitest";
import { buildBatch, parseBatchResponse } from "../src/batch.js";
import { COSELL_STAGE_CHOICE, DIRECTION_CHOICE } from "../src/choice-columns.js";
import {
  CLOSE_REASON_CHOICE,
  choiceValue,
  columnsFor,
  SELLER_RESPONSE_CHOICE,
  syncStateOf,
  syncStateValue,
} from "../src/columns.js";
import { countryCode } from "../src/countries.js";
import { retryAfterMs } from "../src/http.js";
import {
  answerColumns,
  type MappingWarning,
  plainFieldColumns,
  type Related,
  rowToRecord,
  stageOf,
  stateOfStage,
  statusColumns,
} from "../src/mapping.js";

const c = columnsFor("cosell");
const stageV = (stage: Stage) => choiceValue(COSELL_STAGE_CHOICE, 18342, stage);
const dirV = (direction: Direction) => choiceValue(DIRECTION_CHOICE, 18342, direction);
const related = (): Related => ({
  accounts: new Map([
    [
      "acc",
      {
        accountid: "acc",
        name: "Contoso Ltd",
        address1_line1: "1 Main St",
        address1_city: "Redmond",
        address1_stateorprovince: "WA",
        address1_postalcode: "98052",
        address1_country: "United States",
      },
    ],
  ]),
  contacts: new Map([
    [
      "con",
      {
        firstname: "Sue",
        lastname: "Smith",
        emailaddress1: "sue@contoso.example",
        telephone1: "+1 425 555 0100",
      },
    ],
  ]),
  campaigns: new Map([["cmp", { campaignid: "cmp", codename: "CMP-1001" }]]),
  currencies: new Map([["eur", "EUR"]]),
  owners: new Map([
    ["usr", { firstName: "Ann", lastName: "Lee", email: "ann@partner.example", phone: "+1 206 555 0101" }],
  ]),
});
const row = (extra: Record<string, unknown> = {}) => ({
  "@odata.etag": 'W/"42"',
  opportunityid: "opp",
  name: "Contoso supply chain",
  estimatedvalue: 50_000,
  _transactioncurrencyid_value: "eur",
  estimatedclosedate: "2026-06-30",
  description: "Wants field service.",
  statecode: 0,
  statuscode: 1,
  _parentaccountid_value: "acc",
  _parentcontactid_value: "con",
  _campaignid_value: "cmp",
  _ownerid_value: "usr",
  createdon: "2026-01-01T00:00:00Z",
  modifiedon: "2026-01-02T00:00:00Z",
  [c.syncFlag]: true,
  [c.consent]: true,
  [c.solutions]: JSON.stringify([{ id: "sol-1", name: "Accelerator", kind: "own" }]),
  ...extra,
});

describe("opportunity → CoSellDeal", () => {
  it("maps every field: value + currency, close date, CRM id, campaign code, notes, account, contact, owner", () => {
    const rec = rowToRecord(row(), related(), c);
    expect(rec).toMatchObject({
      crmId: "opp",
      optedIn: true,
      version: 'W/"42"',
      modifiedAt: "2026-01-02T00:00:00.000Z",
    });
    expect(rec.issues).toBeUndefined();
    expect(rec.deal).toMatchObject({
      direction: "outbound",
      kind: "privatePipeline",
      name: "Contoso supply chain",
      value: { amount: 50_000, currency: "EUR" },
      closeDate: "2026-06-30",
      crmId: "opp",
      campaignId: "CMP-1001",
      notes: "Wants field service.",
      customer: {
        name: "Contoso Ltd",
        address: { street: "1 Main St", city: "Redmond", state: "WA", postalCode: "98052", country: "US" },
        contact: {
          firstName: "Sue",
          lastName: "Smith",
          email: "sue@contoso.example",
          phone: "+1 425 555 0100",
        },
      },
      consentToShareContact: true,
      team: [{ email: "ann@partner.example" }],
      // Solutions are related rows now, read by the adapter: the old memo column is ignored.
      solutions: [],
      stage: "accepted",
    });
  });

  it("team: the owner first, then the team column's members, without duplicates", () => {
    const team = JSON.stringify([
      { firstName: "Ann", lastName: "Lee", email: "ANN@partner.example", phone: "1" },
      { firstName: "Bo", lastName: "Ek", email: "bo@partner.example", phone: "2" },
    ]);
    expect(rowToRecord(row({ [c.team]: team }), related(), c).deal.team.map((p) => p.email)).toEqual([
      "ann@partner.example",
      "bo@partner.example",
    ]);
    expect(rowToRecord(row({ _ownerid_value: "app" }), related(), c).deal.team).toEqual([]);
  });

  it.each([
    [0, null, "accepted"],
    [0, "received", "received"],
    [0, "accepted", "accepted"],
    [1, "won", "won"],
    [1, null, "won"],
    [2, null, "lost"],
    [2, "declined", "declined"],
    [2, "expired", "expired"],
    [2, "accepted", "lost"],
  ])("statecode %s with co-sell status %s reads as %s", (statecode, status, stage) => {
    expect(stageOf(row({ statecode, [c.coSellStatus]: status ? stageV(status as Stage) : null }), c)).toBe(
      stage,
    );
  });

  it("a close reason is read only from a lost opportunity", () => {
    expect(rowToRecord(row({ statecode: 2, [c.closeReason]: "Budget" }), related(), c).deal.closeReason).toBe(
      "Budget",
    );
    expect(rowToRecord(row({ [c.closeReason]: "Budget" }), related(), c).deal.closeReason).toBeUndefined();
  });

  it("an unknown country marks the record instead of syncing it wrongly; broken JSON left in the old solutions memo does not", () => {
    const r = related();
    r.accounts.get("acc")!.address1_country = "Atlantis";
    const rec = rowToRecord(row({ [c.solutions]: "{oops" }), r, c);
    expect(rec.issues?.map((i) => i.path).sort()).toEqual(["customer.address.country"]);
  });

  it("inbound records are co-sell deals", () => {
    expect(rowToRecord(row({ [c.direction]: dirV("inbound") }), related(), c).deal).toMatchObject({
      direction: "inbound",
      kind: "coSell",
    });
  });
});

describe("CoSellDeal → opportunity columns", () => {
  it("writes only the named fields, and status only into status columns, never the name", () => {
    const deal = rowToRecord(row(), related(), c).deal;
    expect(plainFieldColumns(deal, ["notes", "closeDate"], c, 18342)).toEqual({
      description: "Wants field service.",
      estimatedclosedate: "2026-06-30",
    });
    const status = statusColumns(
      {
        state: "error",
        lastError: "TEAM_REQUIRED: add a team member",
        referralId: "r1",
        coSellStage: "accepted",
      },
      c,
      18342,
    );
    expect(Object.keys(status)).not.toContain("name");
    expect(status).toMatchObject({
      [c.syncStatus]: 183420002,
      [c.lastSyncError]: "TEAM_REQUIRED: add a team member",
    });
    expect(syncStateOf(18342, syncStateValue(18342, "paused"))).toBe("paused");
  });
});

describe("helpers", () => {
  it("country names and codes", () => {
    expect(countryCode("United Kingdom")).toBe("GB");
    expect(countryCode("de")).toBe("DE");
    expect(countryCode("Narnia", { narnia: "NA" })).toBe("NA");
    expect(countryCode("Narnia")).toBeUndefined();
  });

  it("Retry-After in seconds or as an HTTP date", () => {
    expect(retryAfterMs("7")).toBe(7000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it("$batch bodies: change sets with Content-IDs, answers parsed per part", () => {
    const { contentType, body } = buildBatch([
      { kind: "request", op: { method: "GET", url: "https://x/api/data/v9.2/accounts" } },
      {
        kind: "changeset",
        ops: [
          { method: "POST", url: "https://x/api/data/v9.2/accounts", body: { name: "A" } },
          {
            method: "PATCH",
            url: "https://x/api/data/v9.2/opportunities(1)",
            body: { "parentaccountid@odata.bind": "$1" },
          },
        ],
      },
    ]);
    expect(contentType).toMatch(/^multipart\/mixed; boundary=batch_/);
    expect(body).toContain("Content-ID: 2");
    expect(body).toContain('"parentaccountid@odata.bind":"$1"');
    const answer = [
      "--batchresponse_1",
      "Content-Type: application/http",
      "",
      "HTTP/1.1 200 OK",
      "Content-Type: application/json",
      "",
      '{"value":[]}',
      "--batchresponse_1",
      "Content-Type: multipart/mixed; boundary=changesetresponse_2",
      "",
      "--changesetresponse_2",
      "Content-Type: application/http",
      "",
      "HTTP/1.1 204 No Content",
      "OData-EntityId: https://x/api/data/v9.2/accounts(9)",
      "",
      "",
      "--changesetresponse_2--",
      "--batchresponse_1--",
    ].join("\r\n");
    const parts = parseBatchResponse("multipart/mixed; boundary=batchresponse_1", answer);
    expect(parts.map((p) => p.map((r) => r.status))).toEqual([[200], [204]]);
    expect(parts[1]![0]!.headers["odata-entityid"]).toContain("accounts(9)");
  });
});

describe("the seller's response and the listed close reason", () => {
  const accept = choiceValue(SELLER_RESPONSE_CHOICE, 18342, "accept");
  const decline = choiceValue(SELLER_RESPONSE_CHOICE, 18342, "decline");
  const reason = (code: keyof typeof CLOSE_REASON_LABELS) => choiceValue(CLOSE_REASON_CHOICE, 18342, code);
  const received = (extra: Record<string, unknown>) =>
    row({ [c.direction]: dirV("inbound"), [c.coSellStatus]: stageV("received"), ...extra });

  it("option values are the prefix × 10000 plus fixed offsets", () => {
    expect([accept, decline]).toEqual([183420000, 183420001]);
    expect([reason("noCapacity"), reason("other")]).toEqual([183420000, 183420006]);
  });

  it("Accept on a received referral reads as accepted; on an outbound deal it says nothing", () => {
    expect(rowToRecord(received({ [c.response]: accept }), related(), c).deal.stage).toBe("accepted");
    expect(rowToRecord(received({}), related(), c).deal.stage).toBe("received");
    const outbound = row({ [c.coSellStatus]: stageV("received"), [c.response]: decline });
    expect(rowToRecord(outbound, related(), c)).toMatchObject({ deal: { stage: "received" } });
    expect(rowToRecord(outbound, related(), c).issues).toBeUndefined();
  });

  it("Decline with a listed reason reads as declined with the label and the details", () => {
    const rec = rowToRecord(
      received({
        [c.response]: decline,
        [c.closeReasonCode]: reason("notAFit"),
        [c.closeReason]: "We do not do on-premises.",
      }),
      related(),
      c,
    );
    expect(rec.issues).toBeUndefined();
    expect(rec.deal).toMatchObject({
      stage: "declined",
      closeReason: `${CLOSE_REASON_LABELS.notAFit}: We do not do on-premises.`,
    });
  });

  it("the seller's Decline without a reason (or Other without details) is an issue with the message to show", () => {
    for (const extra of [
      { [c.response]: decline },
      { [c.response]: decline, [c.closeReasonCode]: reason("other") },
      // Moving the stage: a received referral closed as Lost, with nothing typed in the close dialog.
      { statecode: 2 },
    ]) {
      const rec = rowToRecord(received(extra), related(), c);
      expect(rec.issues).toEqual([
        { code: "REASON_REQUIRED", path: "closeReason", message: CLOSE_REASON_REQUIRED },
      ]);
    }
  });

  it("a referral Partner Center already holds as declined is not flagged for a missing reason", () => {
    const closed = row({
      [c.direction]: dirV("inbound"),
      statecode: 2,
      [c.coSellStatus]: stageV("declined"),
    });
    expect(rowToRecord(closed, related(), c)).toMatchObject({ deal: { stage: "declined" } });
    expect(rowToRecord(closed, related(), c).issues).toBeUndefined();
    const open = received({ [c.coSellStatus]: stageV("declined"), [c.response]: decline });
    expect(rowToRecord(open, related(), c)).toMatchObject({ deal: { stage: "declined" } });
    expect(rowToRecord(open, related(), c).issues).toBeUndefined();
  });

  it("an option cosell did not create reads as absent, with a warning", () => {
    const warnings: MappingWarning[] = [];
    const rec = rowToRecord(
      received({ [c.response]: 183420009, [c.closeReasonCode]: 100000000, [c.closeReason]: "Busy." }),
      related(),
      c,
      { warn: (w) => warnings.push(w) },
    );
    expect(rec.deal.stage).toBe("received");
    expect(warnings.map((w) => [w.column, w.value])).toEqual([
      [c.response, 183420009],
      [c.closeReasonCode, 100000000],
    ]);
    const lost = rowToRecord(
      row({ statecode: 2, [c.closeReasonCode]: 100000000, [c.closeReason]: "Busy." }),
      related(),
      c,
    );
    expect(lost.deal.closeReason).toBe("Busy.");
  });

  /** The row a written deal leaves (the columns cosell writes for its stage), read back. */
  const roundTrip = (stage: Stage, direction: Direction, closeReason?: string) => {
    const deal = {
      ...rowToRecord(row(), related(), c).deal,
      stage,
      direction,
      ...(closeReason ? { closeReason } : {}),
    } as CoSellDeal;
    const written = row({
      statecode: stateOfStage(stage),
      [c.direction]: dirV(direction),
      [c.coSellStatus]: stageV(stage),
      ...answerColumns(deal, c, 18342),
    });
    return { written, read: rowToRecord(written, related(), c) };
  };

  it.each([
    ["received", "inbound", undefined],
    ["accepted", "inbound", undefined],
    ["won", "inbound", undefined],
    ["declined", "inbound", `${CLOSE_REASON_LABELS.duplicate}: Same as ACME-42.`],
    ["declined", "inbound", CLOSE_REASON_LABELS.noBudgetOrTiming],
    ["declined", "inbound", "The customer builds it in-house."],
    ["lost", "inbound", `${CLOSE_REASON_LABELS.lostToCompetitor}: Chose a rival.`],
    ["lost", "outbound", "Budget cut."],
    ["accepted", "outbound", undefined],
  ] as const)(
    "a %s %s deal written and read back is the same (reason %s)",
    (stage, direction, reasonText) => {
      const { read } = roundTrip(stage, direction, reasonText);
      expect(read.issues).toBeUndefined();
      expect(read.deal.stage).toBe(stage);
      expect(read.deal.closeReason).toBe(reasonText);
    },
  );

  it("writing shows Partner Center's answer in the response and splits the reason into its two columns", () => {
    expect(roundTrip("received", "inbound").written[c.response]).toBeNull();
    expect(roundTrip("won", "inbound").written[c.response]).toBe(accept);
    expect(roundTrip("lost", "outbound", "Budget cut.").written[c.response]).toBeNull();
    const { written } = roundTrip(
      "declined",
      "inbound",
      `${CLOSE_REASON_LABELS.duplicate}: Same as ACME-42.`,
    );
    expect([written[c.response], written[c.closeReasonCode], written[c.closeReason]]).toEqual([
      decline,
      reason("duplicate"),
      "Same as ACME-42.",
    ]);
    const free = roundTrip("declined", "inbound", "The customer builds it in-house.").written;
    expect([free[c.closeReasonCode], free[c.closeReason]]).toEqual([
      reason("other"),
      "The customer builds it in-house.",
    ]);
  });
});
