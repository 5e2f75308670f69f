import type { Connection } from "jsforce";
import { StreamingExtension } from "jsforce/api/streaming";
import { afterEach, describe, expect, it } from "vitest";
import { clientCredentials, startOrg, type TestOrg } from "./harness.js";

const CHANNEL = "/data/OpportunityChangeEvent";

interface Delivered {
  schema: string;
  payload: { ChangeEventHeader: Record<string, unknown> } & Record<string, unknown>;
  event: { replayId: number };
}

/** A faye client made by jsforce, unmodified, subscribed from `replayId`; collects what it receives. */
function subscribe(conn: Connection, replayId: number, channel = CHANNEL) {
  const received: Delivered[] = [];
  const failures: unknown[] = [];
  const client = conn.streaming.createClient([
    new StreamingExtension.Replay(channel, replayId),
    new StreamingExtension.AuthFailure((m: unknown) => failures.push(m)),
  ]);
  const subscription = client.subscribe(channel, (m: Delivered) => {
    received.push(m);
  });
  const ready = new Promise<void>((resolve, reject) => {
    subscription.then(resolve, reject);
  });
  // jsforce's bundled faye typings omit disconnect(), which faye's Client has.
  return { client: client as unknown as { disconnect(): unknown }, received, failures, ready };
}

async function until(what: () => boolean, label: string): Promise<void> {
  // Bounded by count, not by time: each turn yields to the event loop and the long poll.
  for (let i = 0; i < 2000; i++) {
    if (what()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never happened: ${label}`);
}

function opportunityId(org: TestOrg): string {
  return org.server.control.all("Opportunity")[0]!.Id as string;
}

describe("Salesforce sandbox: Change Data Capture over CometD", () => {
  let org: TestOrg | undefined;
  const clients: Array<{ disconnect(): unknown }> = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await org?.close();
    org = undefined;
  });

  it("publishes an OpportunityChangeEvent for each committed write, shaped as Salesforce documents it", async () => {
    org = await startOrg({ changeDataCapture: { selectedEntities: ["OpportunityChangeEvent"] } });
    const conn = await clientCredentials(org);
    const s = subscribe(conn, -1);
    clients.push(s.client);
    await s.ready;
    const id = opportunityId(org);
    org.clock.advance(1000);
    org.server.control.update("Opportunity", id, { StageName: "Negotiation/Review", Description: null });
    await until(() => s.received.length >= 1, "update event");
    const e = s.received[0]!;
    expect(typeof e.schema).toBe("string");
    expect(e.event.replayId).toBeGreaterThan(0);
    const h = e.payload.ChangeEventHeader;
    expect(h).toMatchObject({ entityName: "Opportunity", recordIds: [id], changeType: "UPDATE" });
    expect(h.changedFields).toEqual(expect.arrayContaining(["StageName", "LastModifiedDate"]));
    expect(h.changedFields).not.toContain("SystemModstamp");
    expect(typeof h.commitTimestamp).toBe("number");
    expect(typeof h.transactionKey).toBe("string");
    expect(e.payload.StageName).toBe("Negotiation/Review");
    // Fields that did not change are not in an update's payload.
    expect(e.payload).not.toHaveProperty("Name");
  });

  it("publishes writes through the REST API too (the connector's own writes), creates and deletes", async () => {
    org = await startOrg({ changeDataCapture: { selectedEntities: ["OpportunityChangeEvent"] } });
    const conn = await clientCredentials(org);
    const s = subscribe(conn, -1);
    clients.push(s.client);
    await s.ready;
    const account = org.server.control.all("Account")[0]!.Id as string;
    const created = await conn.sobject("Opportunity").create({
      Name: "CDC test",
      StageName: "Prospecting",
      CloseDate: "2025-06-30",
      AccountId: account,
    });
    const newId = (created as { id: string }).id;
    await conn.sobject("Opportunity").destroy(newId);
    await until(() => s.received.length >= 2, "create and delete events");
    expect(s.received.map((e) => e.payload.ChangeEventHeader.changeType)).toEqual(["CREATE", "DELETE"]);
    expect(s.received[0]!.payload.Name).toBe("CDC test");
    expect(s.received[1]!.payload.ChangeEventHeader.recordIds).toEqual([newId]);
  });

  it("an all-or-none request that rolls back publishes nothing", async () => {
    org = await startOrg({ changeDataCapture: { selectedEntities: ["OpportunityChangeEvent"] } });
    const conn = await clientCredentials(org);
    const [a, b] = org.server.control.all("Opportunity").map((o) => o.Id as string);
    const results = await conn.sobject("Opportunity").update(
      [
        { Id: a!, StageName: "Qualification" },
        { Id: b!, StageName: "No such stage" },
      ],
      { allOrNone: true },
    );
    expect(results.map((r) => r.success)).toEqual([false, false]);
    expect(org.server.control.changeEvents()).toHaveLength(0);
    await conn.sobject("Opportunity").update([{ Id: a!, StageName: "Qualification" }], { allOrNone: true });
    expect(org.server.control.changeEvents()).toHaveLength(1);
  });

  it("publishes nothing for an entity not selected for Change Data Capture", async () => {
    org = await startOrg();
    org.server.control.update("Opportunity", opportunityId(org), { StageName: "Qualification" });
    expect(org.server.control.changeEvents()).toHaveLength(0);
    org.server.control.selectChangeEvents("OpportunityChangeEvent");
    org.server.control.update("Opportunity", opportunityId(org), { StageName: "Prospecting" });
    expect(org.server.control.changeEvents()).toHaveLength(1);
  });

  it("replays the retained events after a replay id to that subscriber; -2 replays all", async () => {
    org = await startOrg({ changeDataCapture: { selectedEntities: ["OpportunityChangeEvent"] } });
    const id = opportunityId(org);
    for (const stage of ["Qualification", "Needs Analysis", "Value Proposition"])
      org.server.control.update("Opportunity", id, { StageName: stage });
    const ids = org.server.control.changeEvents().map((e) => e.data.event.replayId);
    expect(ids).toHaveLength(3);
    const conn = await clientCredentials(org);
    const after = subscribe(conn, ids[0]!);
    const all = subscribe(conn, -2);
    clients.push(after.client, all.client);
    await Promise.all([after.ready, all.ready]);
    await until(() => after.received.length >= 2 && all.received.length >= 3, "replayed events");
    expect(after.received.map((e) => e.event.replayId)).toEqual(ids.slice(1));
    expect(all.received.map((e) => e.event.replayId)).toEqual(ids);
    expect(after.received.map((e) => e.payload.StageName)).toEqual(["Needs Analysis", "Value Proposition"]);
  });

  it("refuses a replay id outside the retention window with Salesforce's error", async () => {
    org = await startOrg({ changeDataCapture: { selectedEntities: ["OpportunityChangeEvent"] } });
    const id = opportunityId(org);
    org.server.control.update("Opportunity", id, { StageName: "Qualification" });
    const [first] = org.server.control.changeEvents();
    org.clock.advance(73 * 3600 * 1000);
    org.server.control.update("Opportunity", id, { StageName: "Prospecting" });
    expect(org.server.control.changeEvents().map((e) => e.data.event.replayId)).not.toContain(
      first!.data.event.replayId,
    );
    const conn = await clientCredentials(org);
    const s = subscribe(conn, first!.data.event.replayId);
    clients.push(s.client);
    const err = await s.ready.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String((err as { message?: string })?.message ?? err)).toMatch(
      /replayId \{\d+\} you provided was invalid/,
    );
    // A replay id never published is just as invalid.
    const t = subscribe(conn, 999_999);
    clients.push(t.client);
    await expect(t.ready).rejects.toBeDefined();
  });

  it("refuses a handshake without a valid session (403::Handshake denied, reconnect none)", async () => {
    org = await startOrg({ changeDataCapture: { selectedEntities: ["OpportunityChangeEvent"] } });
    const conn = await clientCredentials(org);
    org.server.control.expireSessions();
    const s = subscribe(conn, -1);
    clients.push(s.client);
    await until(() => s.failures.length > 0, "auth failure");
    expect(s.failures[0]).toMatchObject({
      channel: "/meta/handshake",
      error: "403::Handshake denied",
      advice: { reconnect: "none" },
      ext: { sfdc: { failureReason: "401::Authentication invalid" } },
    });
  });

  it("answers 400 for a path without an API version", async () => {
    org = await startOrg();
    const res = await fetch(`${org.url}/cometd`, { method: "POST", body: "[]" });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/API version in the URI is mandatory/);
  });
});
