import { createServer, type IncomingMessage, type Server } from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SEED_IDS } from "../../src/dataverse/index.js";
import { sdkMessageFilterId, sdkMessageId } from "../../src/dataverse/seed.js";
import { type DataverseHarness, startDataverse } from "./harness.js";

interface Received {
  headers: IncomingMessage["headers"];
  url: string;
  body: Record<string, unknown>;
}

/** A receiver on 127.0.0.1 answering with `statuses` in turn (then 200). */
async function receiver(statuses: number[] = []): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => {
      raw += String(c);
    });
    req.on("end", () => {
      got.push({ headers: req.headers, url: req.url ?? "", body: JSON.parse(raw) });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hook`, got, server };
}

let h: DataverseHarness;
let rx: Awaited<ReturnType<typeof receiver>>;

async function register(
  options: { messages?: string[]; filtering?: string; mode?: number; statuses?: number[] } = {},
) {
  rx = await receiver(options.statuses);
  const ep = await h.call("POST", "serviceendpoints", {
    headers: { Prefer: "return=representation" },
    body: {
      name: "cosell",
      url: rx.url,
      contract: 8,
      authtype: 5,
      authvalue: '<settings><setting name="x-cosell-secret" value="s3cr&amp;t" /></settings>',
    },
  });
  expect(ep.status).toBe(201);
  const endpointId = ((await ep.json()) as { serviceendpointid: string }).serviceendpointid;
  for (const message of options.messages ?? ["Create", "Update", "Delete"]) {
    const step = await h.call("POST", "sdkmessageprocessingsteps", {
      body: {
        name: `cosell: ${message} of opportunity`,
        "sdkmessageid@odata.bind": `/sdkmessages(${sdkMessageId(message)})`,
        "sdkmessagefilterid@odata.bind": `/sdkmessagefilters(${sdkMessageFilterId(message, "opportunity")})`,
        "eventhandler_serviceendpoint@odata.bind": `/serviceendpoints(${endpointId})`,
        stage: 40,
        mode: options.mode ?? 1,
        rank: 1,
        ...(message === "Update" && options.filtering ? { filteringattributes: options.filtering } : {}),
      },
    });
    expect(step.status).toBe(204);
  }
}

beforeEach(async () => {
  h = await startDataverse({ webhooks: { retryDelaysMs: [5, 5, 5] } });
});
afterEach(async () => {
  await h.server.control.webhooks.idle();
  rx?.server.close();
  await h.close();
});

describe("Dataverse webhooks (service endpoints and steps)", () => {
  it("posts the RemoteExecutionContext of a Create with the documented headers and the header secret", async () => {
    await register();
    const id = h.server.control.insert("opportunities", {
      name: "Contoso",
      estimatedvalue: 1000,
    }).opportunityid;
    await h.server.control.webhooks.idle();
    expect(rx.got).toHaveLength(1);
    const { headers, body } = rx.got[0]!;
    expect(headers["x-cosell-secret"]).toBe("s3cr&t");
    expect(headers["x-ms-dynamics-entity-name"]).toBe("opportunity");
    expect(headers["x-ms-dynamics-request-name"]).toBe("Create");
    expect(headers["x-ms-correlation-request-id"]).toBeTruthy();
    expect(body).toMatchObject({
      MessageName: "Create",
      PrimaryEntityName: "opportunity",
      PrimaryEntityId: id,
      OrganizationId: SEED_IDS.organization,
      Stage: 40,
      Mode: 1,
      Depth: 1,
    });
    const target = (body.InputParameters as { key: string; value: Record<string, unknown> }[])[0]!;
    expect(target.key).toBe("Target");
    expect(target.value.LogicalName).toBe("opportunity");
    const attrs = target.value.Attributes as { key: string; value: unknown }[];
    expect(attrs).toContainEqual({ key: "name", value: "Contoso" });
    expect(attrs).toContainEqual({
      key: "estimatedvalue",
      value: { __type: "Money:http://schemas.microsoft.com/xrm/2011/Contracts", Value: 1000 },
    });
  });

  it("an Update step with filtering attributes runs only when one of them changes", async () => {
    await register({ messages: ["Update"], filtering: "name,estimatedvalue" });
    const id = String(h.server.control.insert("opportunities", { name: "A" }).opportunityid);
    h.server.control.update("opportunities", id, { description: "not filtered" });
    h.server.control.update("opportunities", id, { name: "B" });
    await h.server.control.webhooks.idle();
    expect(rx.got.map((g) => g.body.MessageName)).toEqual(["Update"]);
    const attrs = (rx.got[0]!.body.InputParameters as { value: { Attributes: { key: string }[] } }[])[0]!
      .value.Attributes;
    expect(attrs.map((a) => a.key)).toContain("name");
    expect(attrs.map((a) => a.key)).not.toContain("description");
  });

  it("a Delete posts an EntityReference target", async () => {
    await register({ messages: ["Delete"] });
    const id = String(h.server.control.insert("opportunities", { name: "A" }).opportunityid);
    h.server.control.delete("opportunities", id);
    await h.server.control.webhooks.idle();
    expect(rx.got).toHaveLength(1);
    const target = (rx.got[0]!.body.InputParameters as { value: Record<string, unknown> }[])[0]!.value;
    expect(target).toMatchObject({ LogicalName: "opportunity", Id: id });
    expect(String(target.__type)).toMatch(/^EntityReference:/);
  });

  it("retries a failed delivery until the endpoint answers 2xx, and records every attempt", async () => {
    await register({ messages: ["Create"], statuses: [500, 503] });
    h.server.control.insert("opportunities", { name: "A" });
    await h.server.control.webhooks.idle();
    expect(rx.got).toHaveLength(3);
    const [d] = h.server.control.webhooks.deliveries();
    expect(d?.ok).toBe(true);
    expect(d?.attempts.map((a) => a.status)).toEqual([500, 503, 200]);
  });

  it("a Web API create is delivered too; other tables and a disabled step are silent", async () => {
    await register({ messages: ["Create"] });
    h.server.control.insert("accounts", { name: "Not an opportunity" });
    await h.server.control.webhooks.idle();
    expect(rx.got).toHaveLength(0);
    const res = await h.call("POST", "opportunities", { body: { name: "Via the API" } });
    expect(res.status).toBe(204);
    await h.server.control.webhooks.idle();
    expect(rx.got).toHaveLength(1);
    const step = h.server.control.all("sdkmessageprocessingsteps")[0]!;
    h.server.control.update("sdkmessageprocessingsteps", String(step.sdkmessageprocessingstepid), {
      statecode: 1,
      statuscode: 2,
    });
    h.server.control.insert("opportunities", { name: "After disabling" });
    await h.server.control.webhooks.idle();
    expect(rx.got).toHaveLength(1);
  });
});
