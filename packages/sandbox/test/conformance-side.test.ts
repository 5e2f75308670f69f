import { referralToDeal } from "@cosell/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partnerCenterSide } from "../src/conformance/index.js";
import { type Sandbox, startSandbox } from "../src/index.js";

let sb: Sandbox<"partnerCenter">;
beforeAll(async () => {
  sb = await startSandbox({ systems: ["partnerCenter"] });
});
afterAll(async () => {
  await sb?.stop();
});

describe("partnerCenterSide: the Partner Center half of an adapter conformance fixture", () => {
  it("Microsoft's inbound referral, sent in-process, is what the HTTP client lists and reads", async () => {
    const side = partnerCenterSide(sb);
    const sent = await side.microsoft.sendInbound({ name: "Northwind retail analytics" });
    const seen: string[] = [];
    for await (const page of side.partnerCenter.listReferrals({})) seen.push(...page.map((r) => r.id ?? ""));
    expect(seen).toContain(sent.id);
    const read = await side.partnerCenter.getReferral(sent.id ?? "");
    expect(read.name).toBe("Northwind retail analytics");
    expect(referralToDeal(read).direction).toBe("inbound");
  });

  it("notes Microsoft edits and its engage/decline answers land in the emulator's state", async () => {
    const side = partnerCenterSide(sb);
    const sent = await side.microsoft.sendInbound();
    await side.microsoft.editNotes(sent.id ?? "", "Customer wants a pilot in March");
    expect((await side.microsoft.get(sent.id ?? ""))?.details?.notes).toBe("Customer wants a pilot in March");
  });

  it("the clock it hands out is the sandbox's clock", () => {
    const side = partnerCenterSide(sb);
    const before = sb.clock.now().getTime();
    side.clock.advance(60_000);
    expect(sb.clock.now().getTime() - before).toBeGreaterThanOrEqual(60_000);
  });
});
