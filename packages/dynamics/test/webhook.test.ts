import { createServer, type IncomingMessage, type Server } from "node:http";
import { ConfigError, CoSellError, type WebhookVerificationError } from "@cosell/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  columnsFor,
  createDynamicsAdapter,
  type DynamicsConfigInput,
  filteringAttributes,
  WEBHOOK_SECRET_HEADER,
} from "../src/index.js";
import { type DynamicsSandbox, sandboxConfig, startDynamicsSandbox } from "./helpers.js";

const SECRET = "a-long-shared-secret-0123456789";
let sb: DynamicsSandbox;
let server: Server;
let url: string;
const calls: { headers: IncomingMessage["headers"]; body: Buffer }[] = [];

const make = (extra: Partial<DynamicsConfigInput> = {}) =>
  createDynamicsAdapter(sandboxConfig(sb, { webhookUrl: url, webhookSecret: SECRET, ...extra }), {
    now: () => sb.clock.now(),
  });

beforeAll(async () => {
  sb = await startDynamicsSandbox();
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      calls.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/webhooks/dataverse`;
});
afterAll(async () => {
  await sb?.dataverse.webhooks.idle();
  server?.close();
  await sb?.stop();
});

describe("Dataverse webhook registration", () => {
  it("setup registers a header-secret service endpoint and async steps on Create, Update (mapped columns) and Delete; a second run creates nothing", async () => {
    const adapter = make();
    await expect(adapter.webhook.verify()).rejects.toThrow(/cosell setup/);
    const first = await adapter.setup();
    expect(first.created).toEqual(
      expect.arrayContaining([
        `Webhook service endpoint to ${url}`,
        "Webhook step on Create of opportunity",
        "Webhook step on Update of opportunity",
        "Webhook step on Delete of opportunity",
      ]),
    );
    const [endpoint] = sb.dataverse.all("serviceendpoints");
    expect(endpoint).toMatchObject({ url, contract: 8, authtype: 5 });
    const steps = sb.dataverse.all("sdkmessageprocessingsteps");
    expect(steps).toHaveLength(3);
    expect(steps.every((s) => s.mode === 1 && s.stage === 40)).toBe(true);
    const update = steps.find((s) => String(s.name).includes("Update"));
    expect(String(update?.filteringattributes).split(",")).toEqual(filteringAttributes(columnsFor("cosell")));
    // cosell's own status columns are not filtered on: its status write-back does not call back.
    expect(update?.filteringattributes).not.toContain("cosell_syncstatus");

    const again = await make().setup();
    expect(again.created).toEqual([]);
    expect(again.unchanged).toContain(`Webhook service endpoint to ${url} (secret refreshed)`);
    await expect(adapter.webhook.verify()).resolves.toBeUndefined();
  });

  it("a seller's edit reaches the receiver with the secret, and parse names the opportunity", async () => {
    const adapter = make();
    const id = String(sb.dataverse.insert("opportunities", { name: "Fabrikam" }).opportunityid);
    sb.dataverse.update("opportunities", id, { estimatedvalue: 5000 });
    await sb.dataverse.webhooks.idle();
    const mine = calls.filter((c) => JSON.parse(c.body.toString()).PrimaryEntityId === id);
    expect(mine.map((c) => c.headers["x-ms-dynamics-request-name"])).toEqual(["Create", "Update"]);
    for (const c of mine) {
      expect(c.headers[WEBHOOK_SECRET_HEADER]).toBe(SECRET);
      expect(adapter.webhook.parse(c.body, c.headers)).toEqual([{ side: "crm", id }]);
    }
  });

  it("parse refuses a missing or wrong secret with 401 and a malformed body with 400, never echoing the secret", () => {
    const adapter = make();
    const body = Buffer.from(
      JSON.stringify({
        MessageName: "Update",
        PrimaryEntityName: "opportunity",
        PrimaryEntityId: "00000000-0000-0000-0000-000000000001",
      }),
    );
    const refused = (headers: Record<string, string>, b = body) => {
      try {
        adapter.webhook.parse(b, headers);
      } catch (e) {
        return e as WebhookVerificationError;
      }
      throw new Error("accepted");
    };
    expect(refused({}).httpStatus).toBe(401);
    expect(refused({}).code).toBe("WEBHOOK_SECRET_MISSING");
    const wrong = refused({ [WEBHOOK_SECRET_HEADER]: "guess" });
    expect(wrong).toBeInstanceOf(CoSellError);
    expect([wrong.httpStatus, wrong.code]).toEqual([401, "WEBHOOK_BAD_SECRET"]);
    expect(wrong.message).not.toContain(SECRET);
    const ok = { [WEBHOOK_SECRET_HEADER]: SECRET };
    expect(refused(ok, Buffer.from("<xml/>")).httpStatus).toBe(400);
    expect(refused(ok, Buffer.from(JSON.stringify({ MessageName: "Update" }))).code).toBe("WEBHOOK_BAD_BODY");
    // Another table: accepted, nothing to sync.
    const account = Buffer.from(
      JSON.stringify({
        MessageName: "Update",
        PrimaryEntityName: "account",
        PrimaryEntityId: "00000000-0000-0000-0000-000000000002",
      }),
    );
    expect(adapter.webhook.parse(account, ok)).toEqual([]);
  });

  it("crm.webhookUrl without crm.webhookSecret is a ConfigError naming the key", () => {
    expect(() => make({ webhookSecret: undefined })).toThrow(ConfigError);
    expect(() => make({ webhookSecret: undefined })).toThrow(/crm\.webhookSecret/);
  });
});
