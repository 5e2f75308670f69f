import { describe, expect, it } from "vitest";
import {
  allowedActions,
  dealToReferral,
  expireIfDue,
  INVITATION_WINDOW_DAYS,
  isPastResponseWindow,
  microsoftAnswerOf,
  type NewReferral,
  RESPONSE_WINDOW_DAYS,
  referralToDeal,
  responseDeadline,
  transition,
} from "../../src/index.js";
import { MemoryPartnerCenter } from "../../src/testing/index.js";
import { at, DAY, deepFreeze, receivedDeal, SECOND, T0, validDeal } from "./factory.js";

/**
 * The clock is an argument (`now`) everywhere, so these tests step it to the second around each
 * 14-day window instead of waiting or faking timers.
 */
const FOURTEEN_DAYS = 14 * DAY;

describe("the response window of a received deal (injected clock)", () => {
  const received = deepFreeze(receivedDeal(T0));

  it("is 14 days from receipt", () => {
    expect(RESPONSE_WINDOW_DAYS).toBe(14);
    expect(responseDeadline(T0).getTime() - T0.getTime()).toBe(FOURTEEN_DAYS);
    expect(received.expiresAt).toBe(at(FOURTEEN_DAYS).toISOString());
  });

  describe("at 14 days − 1 s", () => {
    const now = at(FOURTEEN_DAYS - SECOND);

    it("can still be accepted", () => {
      const r = transition(received, "accept", {}, now);
      expect(r.ok && r.deal.stage).toBe("accepted");
    });

    it("can still be declined", () => {
      expect(transition(received, "decline", { reason: "No fit" }, now).ok).toBe(true);
    });

    it("cannot be expired yet", () => {
      const r = transition(received, "expire", {}, now);
      expect(!r.ok && r.error.code).toBe("NOT_YET_EXPIRED");
    });

    it("allows accept and decline", () => {
      expect(allowedActions(received, now)).toEqual(["accept", "decline"]);
    });

    it("expireIfDue leaves it as it is", () => {
      expect(isPastResponseWindow(received, now)).toBe(false);
      expect(expireIfDue(received, now)).toBe(received);
    });
  });

  describe("at 14 days + 1 s", () => {
    const now = at(FOURTEEN_DAYS + SECOND);

    it("accept fails with DEAL_EXPIRED", () => {
      const r = transition(received, "accept", {}, now);
      expect(!r.ok && r.error.code).toBe("DEAL_EXPIRED");
    });

    it("decline fails with DEAL_EXPIRED", () => {
      const r = transition(received, "decline", { reason: "No fit" }, now);
      expect(!r.ok && r.error.code).toBe("DEAL_EXPIRED");
    });

    it("only expire is allowed", () => {
      expect(allowedActions(received, now)).toEqual(["expire"]);
    });

    it("expireIfDue returns it expired, stamped now, without touching the input", () => {
      const expired = expireIfDue(received, now);
      expect(expired).toStrictEqual({ ...received, stage: "expired", updatedAt: now.toISOString() });
    });
  });

  // Current behaviour, documented: the window is closed *at* the deadline (now >= expiresAt), while
  // Microsoft's invitation window is still open at exactly 14 days (now > invitedAt + 14 d).
  it("at exactly 14 days the response window is closed", () => {
    expect(isPastResponseWindow(received, at(FOURTEEN_DAYS))).toBe(true);
    expect(expireIfDue(received, at(FOURTEEN_DAYS)).stage).toBe("expired");
  });

  it("expireIfDue leaves deals that are not received alone, however late", () => {
    const accepted = deepFreeze(validDeal({ expiresAt: T0.toISOString() }));
    expect(expireIfDue(accepted, at(100 * DAY))).toBe(accepted);
  });

  it("a received deal without expiresAt never expires", () => {
    const noDeadline = receivedDeal(T0, { expiresAt: undefined });
    expect(expireIfDue(noDeadline, at(365 * DAY))).toBe(noDeadline);
    expect(allowedActions(noDeadline, at(365 * DAY))).toEqual(["accept", "decline"]);
  });
});

describe("Microsoft's invitation window (injected clock, in-memory Partner Center)", () => {
  async function invited() {
    let now = T0;
    const pc = new MemoryPartnerCenter({ now: () => now });
    const { id: _id, version: _v, ...deal } = validDeal({ kind: "coSell" });
    const main = await pc.createReferral(dealToReferral(deal) as NewReferral, { crmId: "opp-1" });
    const invitation = await pc.createInvitation(main, { notes: "Need an Azure architect" });
    return { pc, main, invitation, setNow: (d: Date) => (now = d) };
  }

  it("is 14 days from the invitation", async () => {
    expect(INVITATION_WINDOW_DAYS).toBe(14);
    const { invitation } = await invited();
    expect(invitation.expirationDateTime).toBe(at(FOURTEEN_DAYS).toISOString());
    expect(microsoftAnswerOf(invitation)).toBe("pending");
  });

  it("at 14 days − 1 s Microsoft can engage", async () => {
    const { pc, main, invitation, setNow } = await invited();
    setNow(at(FOURTEEN_DAYS - SECOND));
    pc.engage(main.id);
    expect(microsoftAnswerOf(pc.get(invitation.id)!)).toBe("accepted");
  });

  it("at 14 days the invitation has expired and Microsoft can no longer answer", async () => {
    const { pc, main, invitation, setNow } = await invited();
    setNow(at(FOURTEEN_DAYS));
    expect(() => pc.engage(main.id)).toThrow(/already answered/);
    expect(microsoftAnswerOf(pc.get(invitation.id)!)).toBe("expired");
  });

  it("the partner can still win the deal after Microsoft's window closed", async () => {
    const { pc, main, setNow } = await invited();
    setNow(at(FOURTEEN_DAYS + SECOND));
    pc.expireDue();
    const current = pc.get(main.id)!;
    const won = dealToReferral({ ...referralToDeal(current), stage: "won" }, current);
    const after = await pc.updateReferral(main.id, won, current.eTag!, current);
    expect(after.substatus).toBe("Won");
  });
});
