import type { Connection } from "jsforce";
import { afterEach, describe, expect, it } from "vitest";
import { clientCredentials, startOrg, type TestOrg } from "./harness.js";

const MEMBER = "PlatformEventChannelMember";
const opportunityMember = {
  FullName: "ChangeEvents_OpportunityChangeEvent",
  Metadata: { eventChannel: "ChangeEvents", selectedEntity: "OpportunityChangeEvent" },
};

async function post(conn: Connection, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${conn.instanceUrl}/services/data/v62.0/tooling/sobjects/${MEMBER}`, {
    method: "POST",
    headers: { authorization: `Bearer ${conn.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function members(conn: Connection, where = ""): Promise<Record<string, unknown>[]> {
  const r = await conn.tooling.query<Record<string, unknown>>(
    `SELECT Id, DeveloperName, EventChannel, SelectedEntity FROM ${MEMBER} ${where}`,
  );
  return r.records;
}

describe("Salesforce sandbox: Tooling API PlatformEventChannelMember (Change Data Capture selections)", () => {
  let org: TestOrg | undefined;
  afterEach(async () => {
    await org?.close();
    org = undefined;
  });

  it("creating the ChangeEvents member selects the entity: queried back, and writes publish from then on", async () => {
    org = await startOrg();
    const conn = await clientCredentials(org);
    expect(await members(conn)).toEqual([]);
    const created = await post(conn, opportunityMember);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ success: true, errors: [], warnings: [], infos: [] });
    const id = (created.json as { id: string }).id;
    const rows = await members(conn, "WHERE DeveloperName = 'ChangeEvents_OpportunityChangeEvent'");
    expect(rows).toEqual([
      {
        attributes: { type: MEMBER, url: `/services/data/v62.0/tooling/sobjects/${MEMBER}/${id}` },
        Id: id,
        DeveloperName: "ChangeEvents_OpportunityChangeEvent",
        EventChannel: "ChangeEvents",
        SelectedEntity: "OpportunityChangeEvent",
      },
    ]);
    const opp = org.server.control.all("Opportunity")[0]!.Id as string;
    org.server.control.update("Opportunity", opp, { StageName: "Qualification" });
    expect(org.server.control.changeEvents()).toHaveLength(1);

    // Deleting the member deselects it.
    const del = await fetch(`${conn.instanceUrl}/services/data/v62.0/tooling/sobjects/${MEMBER}/${id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${conn.accessToken}` },
    });
    expect(del.status).toBe(204);
    org.server.control.update("Opportunity", opp, { StageName: "Prospecting" });
    expect(org.server.control.changeEvents()).toHaveLength(1);
    expect(await members(conn)).toEqual([]);
  });

  it("a selection made in Setup shows as a member; selecting it again is refused", async () => {
    org = await startOrg();
    org.server.control.selectChangeEvents("OpportunityChangeEvent");
    const conn = await clientCredentials(org);
    expect((await members(conn)).map((m) => m.DeveloperName)).toEqual([
      "ChangeEvents_OpportunityChangeEvent",
    ]);
    const again = await post(conn, opportunityMember);
    expect(again.status).toBe(400);
    expect(again.json).toEqual([expect.objectContaining({ errorCode: "DUPLICATE_DEVELOPER_NAME" })]);
  });

  it("refuses missing fields, unknown entities, custom channels, and more entities than the allocation", async () => {
    org = await startOrg({
      changeDataCapture: { selectedEntities: ["AccountChangeEvent"], maxSelectedEntities: 2 },
    });
    const conn = await clientCredentials(org);
    const code = async (body: unknown) => {
      const r = await post(conn, body);
      expect(r.status).toBe(400);
      return (r.json as { errorCode: string }[])[0]!.errorCode;
    };
    expect(await code({ FullName: "ChangeEvents_X", Metadata: { eventChannel: "ChangeEvents" } })).toBe(
      "REQUIRED_FIELD_MISSING",
    );
    expect(
      await code({ Metadata: { eventChannel: "ChangeEvents", selectedEntity: "NoSuchObjectChangeEvent" } }),
    ).toBe("FIELD_INTEGRITY_EXCEPTION");
    expect(
      await code({ Metadata: { eventChannel: "Mine__chn", selectedEntity: "OpportunityChangeEvent" } }),
    ).toBe("FIELD_INTEGRITY_EXCEPTION");
    expect((await post(conn, opportunityMember)).status).toBe(201);
    expect(
      await code({ Metadata: { eventChannel: "ChangeEvents", selectedEntity: "ContactChangeEvent" } }),
    ).toBe("LIMIT_EXCEEDED");
  });

  it("a control write made as a user is stamped as that user, and its change event names them", async () => {
    org = await startOrg({ changeDataCapture: { selectedEntities: ["OpportunityChangeEvent"] } });
    const control = org.server.control;
    const seller = control.all("User").find((u) => u.Id !== control.integrationUser.id)!;
    const opp = control.all("Opportunity")[0]!.Id as string;
    control.update("Opportunity", opp, { StageName: "Qualification" }, { as: String(seller.Username) });
    expect(control.get("Opportunity", opp)?.LastModifiedById).toBe(seller.Id);
    control.update("Opportunity", opp, { StageName: "Prospecting" });
    expect(control.changeEvents().map((e) => e.data.payload.ChangeEventHeader.commitUser)).toEqual([
      seller.Id,
      control.integrationUser.id,
    ]);
  });
});
