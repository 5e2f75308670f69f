import { Writable } from "node:stream";
import { type CrmRecord, dealToReferral, MemoryStateStore, type Referral } from "@cosell/core";
import { completeDeal, sampleDeal, sampleInbound } from "@cosell/core/testing";
import { describe, expect, it } from "vitest";
import { findLinkCandidates } from "../src/backfill/match.js";
import { createProgress } from "../src/backfill/progress.js";

const now = new Date("2026-01-10T00:00:00Z");

function crm(crmId: string, customer: string, postalCode: string, referralId?: string): CrmRecord {
  const deal = completeDeal(
    sampleDeal({
      name: `Deal ${crmId}`,
      customer: { name: customer, address: { country: "US", postalCode } } as never,
    }),
    now,
  );
  return { crmId, optedIn: true, referralId, deal, modifiedAt: now.toISOString() };
}

function referral(id: string, customer: string, postalCode: string, externalReferenceId?: string): Referral {
  const deal = completeDeal(
    sampleInbound({ customer: { name: customer, address: { country: "US", postalCode } } as never }),
    now,
  );
  return { ...(dealToReferral(deal) as Referral), id, externalReferenceId } as Referral;
}

describe("backfill matching (link before create)", () => {
  it("matches by stored referral id, then CRM id, then customer name + postal code", () => {
    const store = new MemoryStateStore();
    const candidates = findLinkCandidates(
      [crm("c1", "A Corp", "1000", "r1"), crm("c2", "B Corp", "2000"), crm("c3", "Contoso, Ltd.", "98052")],
      [referral("r1", "Zeta", "9"), referral("r2", "Other", "1", "c2"), referral("r3", "contoso", "98052")],
      store,
    );
    expect(candidates.map((c) => [c.crmId, c.referralId, c.basis, c.needsApproval])).toEqual([
      ["c1", "r1", "stored ids", false],
      ["c2", "r2", "crm id", false],
      ["c3", "r3", "customer name + postal code", true],
    ]);
  });

  it("proposes nothing when two referrals fit the same customer and postal code", () => {
    const candidates = findLinkCandidates(
      [crm("c1", "Fabrikam", "10115")],
      [referral("r1", "Fabrikam", "10115"), referral("r2", "Fabrikam GmbH", "10115")],
      new MemoryStateStore(),
    );
    expect(candidates).toEqual([]);
  });

  it("needs the postal code too, and skips records and referrals already linked", () => {
    const store = new MemoryStateStore();
    const at = now.toISOString();
    store.putLink({
      linkId: "l1",
      crmId: "c9",
      referralId: "r9",
      direction: "inbound",
      state: "linked",
      createdAt: at,
      updatedAt: at,
    });
    const candidates = findLinkCandidates(
      [crm("c1", "Northwind", "1"), crm("c9", "Linked", "5", "r9")],
      [referral("r1", "Northwind", "2"), referral("r9", "Linked", "5")],
      store,
    );
    expect(candidates).toEqual([]);
  });
});

describe("backfill progress bar", () => {
  const sink = (isTTY: boolean) => {
    let text = "";
    const stream = Object.assign(
      new Writable({
        write(chunk, _e, cb) {
          text += String(chunk);
          cb();
        },
      }),
      { isTTY, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true },
    );
    return { stream, text: () => text };
  };

  it("shows done/total, rate and ETA on a terminal", () => {
    const s = sink(true);
    const p = createProgress(s.stream);
    p.start(10);
    p.tick(4);
    p.stop();
    expect(s.text()).toMatch(/4\/10 records/);
    expect(s.text()).toMatch(/\/s/);
    expect(s.text()).toMatch(/ETA/);
  });

  it("prints nothing when stderr is not a terminal", () => {
    const s = sink(false);
    const p = createProgress(s.stream);
    p.start(10);
    p.tick(10);
    p.stop();
    expect(s.text()).toBe("");
  });
});
