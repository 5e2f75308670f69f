import { describe, expect, it } from "vitest";
import {
  CLOSE_REASON_LABELS,
  CloseReasonSchema,
  closeReasonText,
  responseForStage,
  StageSchema,
  splitCloseReason,
  stageWithResponse,
} from "../../src/index.js";

describe("seller response", () => {
  it("answers only a received referral", () => {
    expect(stageWithResponse("received", "accept")).toBe("accepted");
    expect(stageWithResponse("received", "decline")).toBe("declined");
    expect(stageWithResponse("received", undefined)).toBe("received");
    for (const s of StageSchema.options.filter((s) => s !== "received")) {
      expect(stageWithResponse(s, "accept")).toBe(s);
      expect(stageWithResponse(s, "decline")).toBe(s);
    }
  });

  it("shows the answer Partner Center holds, on inbound deals only", () => {
    expect(responseForStage("received", "inbound")).toBeUndefined();
    expect(responseForStage("expired", "inbound")).toBeUndefined();
    expect(responseForStage("accepted", "inbound")).toBe("accept");
    expect(responseForStage("won", "inbound")).toBe("accept");
    expect(responseForStage("lost", "inbound")).toBe("accept");
    expect(responseForStage("declined", "inbound")).toBe("decline");
    for (const s of StageSchema.options) expect(responseForStage(s, "outbound")).toBeUndefined();
  });

  it("reading back what the response says gives the stage it came from", () => {
    for (const s of StageSchema.options) {
      const shown = responseForStage(s, "inbound");
      expect(stageWithResponse(s, shown)).toBe(s);
    }
  });
});

describe("close reason", () => {
  it("sends the label, the label and the details, or other's details", () => {
    expect(closeReasonText("noCapacity", undefined)).toBe(CLOSE_REASON_LABELS.noCapacity);
    expect(closeReasonText("noCapacity", "  team booked until March ")).toBe(
      `${CLOSE_REASON_LABELS.noCapacity}: team booked until March`,
    );
    expect(closeReasonText("other", "Customer merged")).toBe("Customer merged");
    expect(closeReasonText("other", "  ")).toBeUndefined();
    expect(closeReasonText(undefined, undefined)).toBeUndefined();
    expect(closeReasonText(undefined, "typed by hand")).toBe("typed by hand");
  });

  it("splits any text so that it composes back to the same text", () => {
    const texts = [
      CLOSE_REASON_LABELS.duplicate,
      `${CLOSE_REASON_LABELS.lostToCompetitor}: went with a rival`,
      "Budget cut by the customer",
      "no capacity to take it on",
      "Other",
    ];
    for (const t of texts) {
      const { code, details } = splitCloseReason(t);
      expect(code).toBeDefined();
      expect(closeReasonText(code, details)?.toLowerCase()).toBe(t.toLowerCase());
    }
    expect(splitCloseReason("Budget cut by the customer")).toEqual({
      code: "other",
      details: "Budget cut by the customer",
    });
    expect(splitCloseReason(`${CLOSE_REASON_LABELS.notAFit}: wrong region`)).toEqual({
      code: "notAFit",
      details: "wrong region",
    });
    expect(splitCloseReason("  ")).toEqual({});
  });

  it("every reason has a label and the list ends with Other", () => {
    expect(CloseReasonSchema.options.at(-1)).toBe("other");
    for (const c of CloseReasonSchema.options) expect(CLOSE_REASON_LABELS[c].length).toBeGreaterThan(0);
  });
});
