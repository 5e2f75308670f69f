import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import {
  applyReferralPatch,
  type CoSellDeal,
  dealToReferral,
  type Referral,
  type ReferralPatchOperation,
  ReferralSchema,
  referralPatch,
  referralToDeal,
} from "../../src/index.js";
import { api, headerOf, makeClient, mockToken, REFERRALS } from "./helpers.js";

/**
 * Answers shaped like Partner Center's published ones (fixtures/real-answers: synthetic values, real
 * quirks). Each must parse as sent, read as the right stage and direction, and go back unchanged:
 * nothing cosell does not model is ever dropped or nulled, on a round trip or in a PATCH.
 */

const DIR = join(import.meta.dirname, "fixtures", "real-answers");
const expected = JSON.parse(readFileSync(join(DIR, "expected.json"), "utf8")) as Record<
  string,
  { stage: string; direction: string; fields: Record<string, unknown> }
>;

/** The canonical members issue 12 items 5 and 6 carry, as read (absent ones left out). */
function item6(deal: CoSellDeal): Record<string, unknown> {
  const all: Record<string, unknown> = {
    kind: deal.kind,
    favorite: deal.favorite,
    salesStage: deal.salesStage,
    expiresAt: deal.expiresAt,
    microsoftOpportunityId: deal.microsoftOpportunityId,
    registrationStatus: deal.registrationStatus,
    registrations: deal.registrations,
    sentBy: deal.sentBy,
    closeReason: deal.closeReason,
    consentToShareContact: deal.consentToShareContact,
    consentToContact: deal.consentToContact,
    helpType: deal.invitation.helpType,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}
const files = readdirSync(DIR).filter((f) => f.endsWith(".json") && f !== "expected.json");
const load = (f: string): Record<string, unknown> => JSON.parse(readFileSync(join(DIR, f), "utf8"));
const NOW = new Date("2026-02-12T00:00:00Z");

afterEach(() => {
  nock.cleanAll();
});

/** `doc` without the values at `paths` (JSON Pointers), to compare everything a patch did not name. */
function without(doc: unknown, paths: readonly string[]): unknown {
  const out = structuredClone(doc) as Record<string, unknown>;
  for (const p of paths) {
    const keys = p.split("/").slice(1);
    const last = keys.pop()!;
    let parent: Record<string, unknown> | undefined = out;
    for (const k of keys) parent = parent?.[k] as Record<string, unknown> | undefined;
    if (parent && typeof parent === "object") delete parent[last];
  }
  return out;
}

describe("referral answers as Partner Center really sends them", () => {
  it("every fixture has an expected reading (and there are fixtures)", () => {
    expect(files.length).toBeGreaterThanOrEqual(7);
    expect(files.sort()).toEqual(Object.keys(expected).sort());
  });

  describe.each(files)("%s", (file) => {
    const raw = load(file);

    it("parses exactly as sent: nulls, empty ids, region beside state and unknown fields kept", () => {
      const parsed = ReferralSchema.parse(raw);
      expect(parsed).toEqual(raw);
    });

    it("reads as the expected stage and direction", () => {
      const deal = referralToDeal(ReferralSchema.parse(raw), { now: NOW });
      expect({ stage: deal.stage, direction: deal.direction }).toEqual({
        stage: expected[file]!.stage,
        direction: expected[file]!.direction,
      });
    });

    it("carries Partner Center's fields (star, sales stage, respond-by, Microsoft's id, registration, sender, consents, help type)", () => {
      const deal = referralToDeal(ReferralSchema.parse(raw), { now: NOW });
      expect(item6(deal)).toEqual(expected[file]!.fields);
    });

    it("maps back unchanged, so an unchanged deal patches nothing", () => {
      const r = ReferralSchema.parse(raw);
      const back = dealToReferral(referralToDeal(r, { now: NOW }), r);
      expect(back).toEqual(raw);
      expect(referralPatch(r, back)).toEqual([]);
    });

    it("an edit of the notes patches the notes alone; everything else stays as sent", () => {
      const r = ReferralSchema.parse(raw);
      const deal = referralToDeal(r, { now: NOW });
      const ops = referralPatch(r, dealToReferral({ ...deal, notes: "Edited in the CRM" }, r));
      // Where `details` was null the whole object is added; otherwise only its notes.
      const path = r.details ? "/details/notes" : "/details";
      expect(ops.map((o) => o.path)).toEqual([path]);
      const applied = applyReferralPatch(raw, ops) as Referral;
      expect(applied.details?.notes).toBe("Edited in the CRM");
      expect(without(applied, [path])).toEqual(without(raw, [path]));
    });
  });

  it("the client's PATCH of an accept sends only the lifecycle's paths; unknown fields are neither dropped nor nulled", async () => {
    const raw = load("incoming-pending.json") as Referral;
    mockToken();
    let ops: ReferralPatchOperation[] = [];
    let ifMatch: string | undefined;
    api()
      .get(`${REFERRALS}/${raw.id}`)
      .reply(200, raw)
      .patch(`${REFERRALS}/${raw.id}`)
      .reply(function (_uri, body) {
        ops = body as ReferralPatchOperation[];
        ifMatch = headerOf(this.req.headers, "if-match");
        return [200, { ...applyReferralPatch(raw, ops), eTag: '"after"' }];
      });
    const { client } = makeClient({}, { now: () => NOW });
    const out = await client.accept(raw.id, { crmId: "006SYNTH01" });
    expect(ifMatch).toBe(raw.eTag);
    const paths = ops.map((o) => o.path).sort();
    expect(paths).toEqual(["/externalReferenceId", "/status", "/substatus"]);
    expect(ops.every((o) => o.op === "replace" || o.op === "add")).toBe(true);
    // What came back is the fixture with those three paths changed: every unmodelled field intact.
    expect(without({ ...out, eTag: raw.eTag }, paths)).toEqual(without(raw, paths));
    expect(out).toMatchObject({
      status: "Active",
      substatus: "Accepted",
      externalReferenceId: "006SYNTH01",
      salesStage: "Qualify",
      trackingInfo: { microsoftMsxId: "7-SYNTH0001" },
      target: [{ type: "BusinessProfileLocation", id: "0000001" }],
    });
  });
});
