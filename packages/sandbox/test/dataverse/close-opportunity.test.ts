import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DataverseHarness, entityId, type Rows, startDataverse } from "./harness.js";

let h: DataverseHarness;
beforeAll(async () => {
  h = await startDataverse();
});
afterAll(() => h.close());

async function newOpportunity(value = 75000): Promise<string> {
  const res = await h.call("POST", "opportunities", {
    body: { name: "Closing test", estimatedvalue: value },
  });
  return entityId(res);
}

const closeBody = (id: string, status: number, extra: Record<string, unknown> = {}) => ({
  Status: status,
  OpportunityClose: {
    subject: "Closed",
    "opportunityid@odata.bind": `/opportunities(${id})`,
    actualrevenue: 70000,
    actualend: "2025-03-01T00:00:00Z",
    description: "Signed",
    ...extra,
  },
});

async function closeRows(id: string): Promise<Record<string, unknown>[]> {
  const { body } = await h.getJson<Rows>(
    `opportunitycloses?$filter=_opportunityid_value eq ${id}&$select=subject,actualrevenue,actualend,statecode,statuscode`,
  );
  return body.value;
}

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

describe("closing opportunities", () => {
  it("WinOpportunity answers 204, sets Won/3 and records an opportunityclose", async () => {
    const id = await newOpportunity();
    const res = await h.call("POST", "WinOpportunity", { body: closeBody(id, 3) });
    expect(res.status).toBe(204);
    const row = h.server.control.get("opportunities", id)!;
    expect([row.statecode, row.statuscode]).toEqual([1, 3]);
    expect(row.actualvalue).toBe(70000);
    expect(row.actualclosedate).toBe("2025-03-01");
    const closes = await closeRows(id);
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({
      subject: "Closed",
      actualrevenue: 70000,
      actualend: "2025-03-01T00:00:00Z",
      statecode: 1,
      statuscode: 2,
    });
  });

  it("LoseOpportunity answers 204 with Canceled (4) or Out-Sold (5)", async () => {
    for (const status of [4, 5]) {
      const id = await newOpportunity();
      const res = await h.call("POST", "LoseOpportunity", {
        body: closeBody(id, status, { actualrevenue: 0 }),
      });
      expect(res.status).toBe(204);
      const row = h.server.control.get("opportunities", id)!;
      expect([row.statecode, row.statuscode]).toEqual([2, status]);
      expect(await closeRows(id)).toHaveLength(1);
    }
  });

  it("refuses to PATCH statecode to Won or Lost with Dataverse's message", async () => {
    const id = await newOpportunity();
    const won = await h.call("PATCH", `opportunities(${id})`, { body: { statecode: 1, statuscode: 3 } });
    expect(won.status).toBe(400);
    expect(await errorOf(won)).toEqual({
      code: "0x80040203",
      message:
        "This message can not be used to set the state of opportunity to Won. In order to set the state of opportunity to Won, use the WinOpportunityRequest message instead.",
    });
    const lost = await h.call("PATCH", `opportunities(${id})`, { body: { statecode: 2 } });
    expect((await errorOf(lost)).message).toBe(
      "This message can not be used to set the state of opportunity to Lost. In order to set the state of opportunity to Lost, use the LoseOpportunityRequest message instead.",
    );
    const created = await h.call("POST", "opportunities", { body: { name: "born won", statecode: 1 } });
    expect(created.status).toBe(400);
    const wrongStatus = await h.call("PATCH", `opportunities(${id})`, { body: { statuscode: 3 } });
    expect(wrongStatus.status).toBe(400);
    expect((await errorOf(wrongStatus)).message).toBe(
      `3 is not a valid status code for state code OpportunityState.Open on opportunity with Id ${id}.`,
    );
    expect(h.server.control.get("opportunities", id)!.statecode).toBe(0);
  });

  it("keeps Won/Lost rows read-only until reopened with statecode 0", async () => {
    const id = await newOpportunity();
    await h.call("POST", "WinOpportunity", { body: closeBody(id, 3) });
    const edit = await h.call("PATCH", `opportunities(${id})`, { body: { name: "renamed" } });
    expect(edit.status).toBe(400);
    expect((await errorOf(edit)).message).toMatch(/is Won and read-only/);
    const winAgain = await h.call("POST", "WinOpportunity", { body: closeBody(id, 3) });
    expect(winAgain.status).toBe(400);
    expect(await closeRows(id)).toHaveLength(1);

    // Reopening and editing in one PATCH is refused (the strict reading; see reopenWithFields): the
    // row stays Won and unchanged.
    const combined = await h.call("PATCH", `opportunities(${id})`, {
      body: { statecode: 0, statuscode: 2, name: "reopened" },
    });
    expect(combined.status).toBe(400);
    expect((await errorOf(combined)).message).toMatch(/is Won and read-only. Reopen it first/);
    expect(h.server.control.get("opportunities", id)!.statecode).toBe(1);

    const reopen = await h.call("PATCH", `opportunities(${id})`, { body: { statecode: 0, statuscode: 2 } });
    expect(reopen.status).toBe(204);
    const edit2 = await h.call("PATCH", `opportunities(${id})`, { body: { name: "reopened" } });
    expect(edit2.status).toBe(204);
    const row = h.server.control.get("opportunities", id)!;
    expect([row.statecode, row.statuscode, row.name]).toEqual([0, 2, "reopened"]);
    // Reopening does not remove the earlier close activity (reported Dataverse behaviour).
    expect(await closeRows(id)).toHaveLength(1);
  });

  it("reopenWithFields: allow takes the lenient reading: one PATCH reopens and edits", async () => {
    const id = await newOpportunity();
    await h.call("POST", "LoseOpportunity", { body: closeBody(id, 4) });
    h.server.control.setReopenWithFields("allow");
    try {
      const combined = await h.call("PATCH", `opportunities(${id})`, {
        body: { statecode: 0, statuscode: 1, name: "back again" },
      });
      expect(combined.status).toBe(204);
      const row = h.server.control.get("opportunities", id)!;
      expect([row.statecode, row.name]).toEqual([0, "back again"]);
    } finally {
      h.server.control.setReopenWithFields("refuse");
    }
  });

  it("validates the action body and leaves nothing behind when it fails", async () => {
    const id = await newOpportunity();
    const wrongStatus = await h.call("POST", "LoseOpportunity", { body: closeBody(id, 3) });
    expect(wrongStatus.status).toBe(400);
    expect((await errorOf(wrongStatus)).message).toBe(
      `3 is not a valid status code for state code OpportunityState.Lost on opportunity with Id ${id}.`,
    );
    const noStatus = await h.call("POST", "WinOpportunity", {
      body: { OpportunityClose: closeBody(id, 3).OpportunityClose },
    });
    expect(noStatus.status).toBe(400);
    const noBind = await h.call("POST", "WinOpportunity", {
      body: { Status: 3, OpportunityClose: { subject: "x" } },
    });
    expect(noBind.status).toBe(400);
    const badColumn = await h.call("POST", "WinOpportunity", {
      body: closeBody(id, 3, { subject: "x".repeat(201) }),
    });
    expect(badColumn.status).toBe(400);
    expect(await closeRows(id)).toHaveLength(0);
    expect(h.server.control.get("opportunities", id)!.statecode).toBe(0);
    const getNotAllowed = await h.call("GET", "WinOpportunity");
    expect(getNotAllowed.status).toBe(405);
  });

  it("control.win / lose / reopen act like a user in the UI and follow the same rules", () => {
    const c = h.server.control;
    const id = c.insert("opportunities", { name: "UI deal", estimatedvalue: 1000 }).opportunityid as string;
    const won = c.win(id);
    expect([won.statecode, won.statuscode, won.actualvalue]).toEqual([1, 3, 1000]);
    expect(() => c.update("opportunities", id, { name: "nope" })).toThrow(/read-only/);
    c.reopen(id);
    const lost = c.lose(id, { status: 5 });
    expect([lost.statecode, lost.statuscode]).toEqual([2, 5]);
  });
});
