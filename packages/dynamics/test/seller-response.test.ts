import type { Stage } from "@cosell/core";
import { CLOSE_REASON_LABELS, CLOSE_REASON_REQUIRED, MemoryStateStore } from "@cosell/core";
import { partnerCenterSide } from "@cosell/sandbox/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOSE_REASON_CHOICE, choiceValue, SELLER_RESPONSE_CHOICE, syncStateValue } from "../src/columns.js";
import { columnsFor, createDynamicsAdapter, type DynamicsAdapter } from "../src/index.js";
import { coSellStageValue } from "../src/mapping.js";
import { cycleOnce, type DynamicsSandbox, sandboxConfig, startDynamicsSandbox } from "./helpers.js";

/**
 * A seller answers an inbound referral on the Opportunity form with the response and close reason
 * choices; the engine runs against the Dataverse and Partner Center emulators (real HTTP).
 */

const c = columnsFor("cosell");
/** The co-sell stage choice's value of a stage. */
const stageValue = (stage: Stage) => coSellStageValue(stage, 18342);
const PREFIX = 18342;
const ACCEPT = choiceValue(SELLER_RESPONSE_CHOICE, PREFIX, "accept");
const DECLINE = choiceValue(SELLER_RESPONSE_CHOICE, PREFIX, "decline");
const reasonValue = (code: keyof typeof CLOSE_REASON_LABELS) =>
  choiceValue(CLOSE_REASON_CHOICE, PREFIX, code);

let sb: DynamicsSandbox;
let adapter: DynamicsAdapter;
let side: ReturnType<typeof partnerCenterSide>;
const store = new MemoryStateStore();
/** Opportunity id by referral id, for the three referrals Microsoft sends. */
const rows = new Map<string, string>();
const referralIds: string[] = [];

const cycle = () => cycleOnce(sb, adapter, side.partnerCenter, store);
const row = (referralId: string) => sb.dataverse.get("opportunities", rows.get(referralId)!)!;
const referral = (id: string) => sb.partnerCenter.all().find((r) => r.id === id)!;
/** A cycle after the one that settled things: nothing to write on either side. */
const expectQuiet = async () => {
  const summary = await cycle();
  expect(summary.errors).toEqual([]);
  expect(summary.apiCalls.crm.writes).toBe(0);
  expect(summary.apiCalls.partnerCenter.writes).toBe(0);
};

beforeAll(async () => {
  sb = await startDynamicsSandbox();
  adapter = createDynamicsAdapter(sandboxConfig(sb), { now: () => sb.clock.now() });
  side = partnerCenterSide(sb);
  await adapter.setup();
  sb.dataverse.activateKeys(); // Dataverse builds key indexes in the background
});
afterAll(async () => {
  await adapter?.close();
  await sb?.stop();
});

describe("sellers answer a referral from the Opportunity form", () => {
  it("a received inbound referral shows on an open opportunity with no response yet", async () => {
    for (let i = 0; i < 3; i++) referralIds.push(sb.partnerCenter.sendInboundReferral().id);
    const summary = await cycle();
    expect(summary.errors).toEqual([]);
    for (const r of sb.dataverse.all("opportunities"))
      if (typeof r[c.referralId] === "string") rows.set(String(r[c.referralId]), String(r.opportunityid));
    for (const id of referralIds) {
      expect(rows.has(id), id).toBe(true);
      expect(row(id).statecode).toBe(0);
      expect(row(id)[c.coSellStatus]).toBe(stageValue("received"));
      expect(row(id)[c.response] ?? null).toBeNull();
      expect(row(id)[c.closeReasonCode] ?? null).toBeNull();
    }
    await expectQuiet();
  });

  it("response Accept accepts the referral in Partner Center and moves the opportunity's stage", async () => {
    const id = referralIds[0]!;
    sb.dataverse.update("opportunities", rows.get(id)!, { [c.response]: ACCEPT });
    const summary = await cycle();
    expect(summary.errors).toEqual([]);
    expect({ status: referral(id).status, substatus: referral(id).substatus }).toEqual({
      status: "Active",
      substatus: "Accepted",
    });
    expect(row(id).statecode).toBe(0);
    expect(row(id)[c.coSellStatus]).toBe(stageValue("accepted"));
    expect(row(id)[c.response]).toBe(ACCEPT);
    expect(row(id)[c.syncStatus]).toBe(syncStateValue(PREFIX, "synced"));
    await expectQuiet();
  });

  it("response Decline without a reason marks the row with what to do and sends nothing", async () => {
    const id = referralIds[1]!;
    const before = referral(id);
    sb.dataverse.update("opportunities", rows.get(id)!, { [c.response]: DECLINE });
    await cycle();
    expect(row(id)[c.syncStatus]).toBe(syncStateValue(PREFIX, "error"));
    expect(String(row(id)[c.lastSyncError])).toContain(CLOSE_REASON_REQUIRED);
    const after = referral(id);
    expect({ status: after.status, substatus: after.substatus, eTag: after.eTag }).toEqual({
      status: before.status,
      substatus: before.substatus,
      eTag: before.eTag,
    });
  });

  it("then a listed reason with details declines the referral in Partner Center and clears the error", async () => {
    const id = referralIds[1]!;
    sb.dataverse.update("opportunities", rows.get(id)!, {
      [c.closeReasonCode]: reasonValue("noCapacity"),
      [c.closeReason]: "Our team is booked until Q3.",
    });
    const summary = await cycle();
    expect(summary.errors).toEqual([]);
    const after = referral(id);
    expect({ status: after.status, substatus: after.substatus, statusReason: after.statusReason }).toEqual({
      status: "Closed",
      substatus: "Declined",
      statusReason: `${CLOSE_REASON_LABELS.noCapacity}: Our team is booked until Q3.`,
    });
    const r = row(id);
    expect(r[c.syncStatus]).toBe(syncStateValue(PREFIX, "synced"));
    expect(r[c.lastSyncError] ?? null).toBeNull();
    expect(r[c.response]).toBe(DECLINE);
    expect(r[c.closeReasonCode]).toBe(reasonValue("noCapacity"));
    expect(r[c.closeReason]).toBe("Our team is booked until Q3.");
    expect(r[c.coSellStatus]).toBe(stageValue("declined"));
    // The decline also closed the opportunity as lost: the seller moves nothing by hand.
    expect(r.statecode).toBe(2);
    expect((await adapter.read([rows.get(id)!]))[0]?.deal).toMatchObject({
      stage: "declined",
      closeReason: `${CLOSE_REASON_LABELS.noCapacity}: Our team is booked until Q3.`,
    });
    await expectQuiet();
  });

  it("a referral declined in Partner Center with its own words shows reason Other and the words as details", async () => {
    const id = referralIds[2]!;
    await side.partnerCenter.decline(id, "The customer builds it in-house.");
    const summary = await cycle();
    expect(summary.errors).toEqual([]);
    const r = row(id);
    expect(r.statecode).toBe(2);
    expect(r[c.coSellStatus]).toBe(stageValue("declined"));
    expect(r[c.response]).toBe(DECLINE);
    expect(r[c.closeReasonCode]).toBe(reasonValue("other"));
    expect(r[c.closeReason]).toBe("The customer builds it in-house.");
    expect(r[c.syncStatus]).toBe(syncStateValue(PREFIX, "synced"));
    await expectQuiet();
  });
});
