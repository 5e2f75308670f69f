import {
  ConflictError,
  createPartnerCenterClient,
  isMicrosoftInvitation,
  microsoftAnswerOf,
  NotFoundError,
  type PartnerCenterClient,
  type Referral,
  RemoteApiError,
} from "@cosell/core";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { partnerCenterClientConfig, type Sandbox } from "../../src/index.js";
import { newReferralBody, startFrozen } from "./helpers.js";

/**
 * core's Partner Center client, unmodified, against the sandbox: the credentials the sandbox hands
 * out are a valid client config, and every lifecycle action the client takes passes the sandbox's
 * checks (both read the same transition table).
 */
let sandbox: Sandbox;
let client: PartnerCenterClient;
const waits: number[] = [];

function clientFor(s: Sandbox, kind: "user" | "secret" | "certificate"): PartnerCenterClient {
  return createPartnerCenterClient(partnerCenterClientConfig(s.credentials.partnerCenter, kind), {
    now: () => s.clock.now(),
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
}

beforeAll(async () => {
  sandbox = await startFrozen();
  client = clientFor(sandbox, "user");
});
afterAll(() => sandbox.stop());

const newBody = (crmId: string) => {
  const { externalReferenceId: _x, ...body } = newReferralBody();
  return { ...body, name: `Deal ${crmId}` } as unknown as Parameters<
    PartnerCenterClient["createReferral"]
  >[0];
};

describe("core's createPartnerCenterClient against the sandbox", () => {
  it("creates idempotently by CRM id, reads, and lists by updatedDateTime", async () => {
    const created = await client.createReferral(newBody("crm-1"), { crmId: "crm-1" });
    expect([created.status, created.substatus, created.externalReferenceId]).toEqual([
      "Active",
      "Accepted",
      "crm-1",
    ]);
    const again = await client.createReferral(newBody("crm-1"), { crmId: "crm-1" });
    expect(again.id).toBe(created.id);
    expect((await client.getReferral(created.id)).eTag).toBe(created.eTag);
    const pages: Referral[][] = [];
    for await (const page of client.listReferrals({ updatedSince: new Date(0), pageSize: 1 }))
      pages.push(page);
    expect(pages.flat().map((r) => r.id)).toContain(created.id);
    await expect(client.getReferral("00000000-0000-0000-0000-000000000000")).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it("accepts and wins an inbound referral; declines another", async () => {
    const inbound = sandbox.partnerCenter.sendInboundReferral();
    const accepted = await client.accept(inbound.id, { crmId: "opp-9", name: "Fabrikam (accepted)" });
    expect([accepted.substatus, accepted.externalReferenceId, accepted.name]).toEqual([
      "Accepted",
      "opp-9",
      "Fabrikam (accepted)",
    ]);
    expect((await client.markWon(inbound.id)).substatus).toBe("Won");

    const other = sandbox.partnerCenter.sendInboundReferral();
    const declined = await client.decline(other.id, "Not our region", {
      text: "Try a partner in EMEA",
      by: "test",
    });
    expect([declined.substatus, declined.statusReason]).toEqual(["Declined", "Not our region"]);
  });

  it("invites Microsoft (auth.kind app with a certificate, app-only allowed), which Microsoft then engages on", async () => {
    sandbox.partnerCenter.allowAppOnlyTokens(true);
    onTestFinished(() => sandbox.partnerCenter.allowAppOnlyTokens(false));
    const certClient = clientFor(sandbox, "certificate");
    const created = await certClient.createReferral(newBody("crm-2"), { crmId: "crm-2" });
    const invitation = await certClient.inviteMicrosoft(created.id, { notes: "Need an Azure architect" });
    expect(isMicrosoftInvitation(invitation)).toBe(true);
    expect(invitation.engagementId).toBe(created.engagementId);
    expect((await certClient.getReferral(created.id)).type).toBe("Shared");
    expect(sandbox.partnerCenter.engage(created.id).trackingInfo?.microsoftMsxId).toBeTruthy();
    expect(microsoftAnswerOf(await certClient.getReferral(invitation.id))).toBe("accepted");
    expect((await certClient.markLost(created.id, "Customer chose a competitor")).substatus).toBe("Lost");
  });

  it("a stale eTag is a ConflictError carrying the current copy; a lifecycle refusal is a 409", async () => {
    const created = await client.createReferral(newBody("crm-3"), { crmId: "crm-3" });
    sandbox.partnerCenter.sendInboundReferral(); // unrelated traffic
    const fresh = await client.updateReferral(
      created.id,
      { ...created, name: "v2" },
      created.eTag ?? "",
      created,
    );
    const stale = await client
      .updateReferral(created.id, { ...created, name: "v3" }, created.eTag ?? "", created)
      .catch((e) => e);
    expect(stale).toBeInstanceOf(ConflictError);
    expect((stale as ConflictError).current).toMatchObject({ eTag: fresh.eTag, name: "v2" });

    const refused = await client
      .updateReferral(created.id, { ...fresh, status: "New", substatus: "Pending" }, fresh.eTag ?? "", fresh)
      .catch((e) => e);
    expect(refused).toBeInstanceOf(RemoteApiError);
    expect((refused as RemoteApiError).status).toBe(409);
  });

  it("retries an injected 429 after the Retry-After the sandbox sent", async () => {
    waits.length = 0;
    sandbox.faults.script({
      server: "partner-center",
      method: "GET",
      fault: { kind: "throttle", retryAfterSeconds: 3 },
    });
    const r = sandbox.partnerCenter.sendInboundReferral();
    expect((await client.getReferral(r.id)).id).toBe(r.id);
    expect(waits).toContain(3000);
    expect(sandbox.log.filter({ server: "partner-center", status: 429 }).at(-1)?.retryAfter).toBe(3);
  });

  it("registers cosell's webhook and refuses to cut off another receiver", async () => {
    const result = await client.registerWebhook({ url: "http://127.0.0.1:9/cosell" });
    expect(result.action).toBe("created");
    expect(sandbox.partnerCenter.webhooks.registration()?.url).toBe("http://127.0.0.1:9/cosell");
    await expect(client.registerWebhook({ url: "http://127.0.0.1:9/other" })).rejects.toMatchObject({
      code: "WEBHOOK_ALREADY_REGISTERED",
    });
    // The registration went to the webhook API's own host, with a token for its own audience.
    expect(sandbox.log.filter({ server: "partner-center-webhooks", method: "POST" })).toHaveLength(1);
  });
});
