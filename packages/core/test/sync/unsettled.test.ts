import { describe, expect, it } from "vitest";
import {
  type CrmRecord,
  type CrmWrite,
  type PartnerCenterPort,
  RemoteApiError,
  runCycle,
} from "../../src/index.js";
import type { MemoryAdapter } from "../../src/testing/index.js";
import { world } from "./harness.js";

/**
 * A CRM where the seller answers a referral through a response list (as the Salesforce and Dynamics
 * adapters offer): the record reads as declined while its own stage still says received, and says
 * so with `unsettled`. Here the memory CRM's stage is the CRM's own field; the answer is kept apart.
 */
function withResponses(
  inner: MemoryAdapter,
  answers: Map<string, { stage: "declined" | "accepted"; reason?: string }>,
) {
  const writes: CrmWrite[] = [];
  const answer = (r: CrmRecord): CrmRecord => {
    const a = answers.get(r.crmId);
    if (!a || r.deal.stage !== "received") return r;
    return {
      ...r,
      deal: { ...r.deal, stage: a.stage, ...(a.reason ? { closeReason: a.reason } : {}) },
      unsettled: ["stage"],
    };
  };
  const adapter: MemoryAdapter = {
    ...inner,
    async *changes(cursor, options) {
      for await (const page of inner.changes(cursor, options))
        yield { ...page, records: page.records.map(answer) };
    },
    read: async (ids) => (await inner.read(ids)).map(answer),
    apply: async (ws) => {
      writes.push(...ws);
      return inner.apply(ws);
    },
  };
  return { adapter, writes };
}

describe("unsettled fields (the seller answered through a list)", () => {
  it("sends the decline, then moves the record's own stage, then writes nothing more", async () => {
    const w = world();
    const referral = w.pc.sendInbound({ name: "Inbound deal" });
    await runCycle(w.deps());
    const crmId = w.crm.all().find((o) => o.referralId === referral.id)!.crmId;
    expect(w.crm.get(crmId)!.deal.stage).toBe("received");

    const answers = new Map([[crmId, { stage: "declined" as const, reason: "No capacity to take it on" }]]);
    const { adapter, writes } = withResponses(w.adapter, answers);
    w.adapter = adapter;
    w.crm.update(crmId, { notes: "seller looked at it" }); // the answer's save, in the change feed
    w.clock.advance(1000);
    const { summary } = await runCycle(w.deps());

    expect(summary.errors).toEqual([]);
    const pc = w.pc.all().find((r) => r.id === referral.id)!;
    expect(pc.status).toBe("Closed");
    expect(pc.substatus).toBe("Declined");
    expect(pc.statusReason).toBe("No capacity to take it on");
    // The stage went to the record in this cycle, with the reason: the seller moves nothing by hand.
    const stageWrite = writes.find((x) => x.op === "update" && x.crmId === crmId);
    expect(stageWrite && stageWrite.op === "update" && stageWrite.fields).toContain("stage");
    expect(w.crm.get(crmId)!.deal.stage).toBe("declined");
    expect(w.crm.get(crmId)!.deal.closeReason).toBe("No capacity to take it on");

    writes.length = 0;
    w.clock.advance(1000);
    const quiet = await runCycle(w.deps());
    expect(quiet.summary.errors).toEqual([]);
    expect(writes).toEqual([]);
    expect(quiet.summary.apiCalls.partnerCenter.writes).toBe(0);
  });

  it("leaves an unsettled field alone while Partner Center refuses the answer, and settles it once it lands", async () => {
    const w = world();
    const referral = w.pc.sendInbound({ name: "Inbound deal" });
    await runCycle(w.deps());
    const crmId = w.crm.all().find((o) => o.referralId === referral.id)!.crmId;

    const { adapter, writes } = withResponses(w.adapter, new Map([[crmId, { stage: "accepted" as const }]]));
    w.adapter = adapter;
    w.crm.update(crmId, { notes: "accepting" });
    // Partner Center refuses the accept once (as a 400 would).
    let refuse = true;
    const pc: PartnerCenterPort = Object.create(w.pc, {
      updateReferral: {
        value: (...args: Parameters<PartnerCenterPort["updateReferral"]>) => {
          if (refuse) {
            refuse = false;
            return Promise.reject(new RemoteApiError("PC_REFUSED", "Refused for the test.", { status: 400 }));
          }
          return w.pc.updateReferral(...args);
        },
      },
    });
    w.clock.advance(1000);
    const failed = await runCycle(w.deps({ partnerCenter: pc }));
    expect(failed.summary.errors.map((e) => e.code)).toEqual(["PC_REFUSED"]);
    expect(writes.some((x) => x.op === "update" && x.fields.includes("stage"))).toBe(false);
    expect(w.crm.get(crmId)!.deal.stage).toBe("received");

    w.crm.update(crmId, { notes: "accepting again" });
    w.clock.advance(1000);
    const ok = await runCycle(w.deps({ partnerCenter: pc }));
    expect(ok.summary.errors).toEqual([]);
    expect(w.pc.all().find((r) => r.id === referral.id)!.status).toBe("Active");
    expect(writes.some((x) => x.op === "update" && x.fields.includes("stage"))).toBe(true);
    expect(w.crm.get(crmId)!.deal.stage).toBe("accepted");
  });
});
